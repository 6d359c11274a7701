/** Credit and fraud scoring nodes. */
import type { AnyNodeDefinition } from '@finflow/sdk';
import { fraudScoreNode } from './fraud-score.node.js';
import { federatedScorecardNode } from './federated-scorecard.node.js';
import { scorecardNode } from './scorecard.node.js';

export const scoringNodes: AnyNodeDefinition[] = [scorecardNode, federatedScorecardNode, fraudScoreNode];
