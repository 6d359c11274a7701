/**
 * @finflow/nodes/federated: federated scorecard training (the coordinator, a data holder's side of the protocol)
 * and the scorecard maths it shares with risk.scorecard. An entry of its own so that a server loads it with the
 * first federated session, not at start (issue 18: idle memory); the risk nodes load it on their first run.
 */
export {
  HolderRefusal,
  HolderSession,
  joinSession,
  type HolderRefusalCode,
} from './risk/federated/holder.js';
export {
  trainFederated,
  HolderUnavailable,
  histogramAuc,
  type HolderClient,
  type FederatedOptions,
  type FederatedReport,
  type TranscriptEntry,
} from './risk/federated/coordinator.js';
export { readScorecardModel, scoreScorecard, trainScorecard } from './risk/ml/scorecard.js';
