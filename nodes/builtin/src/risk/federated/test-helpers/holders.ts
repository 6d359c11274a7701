/**
 * Test helpers for federated training: German Credit split into a held-out test set and three holders by loan
 * purpose, and holders reached in process through the same JSON messages the HTTP API carries (requests and
 * answers go through JSON and the protocol schemas, so nothing but what is on the wire crosses).
 */
import type { Row } from '../../ml/encoding.js';
import { seededRandom, shuffleInPlace } from '../../ml/random.js';
import { loadGermanCredit } from '../../ml/test-helpers/datasets.js';
import { HolderUnavailable, type HolderClient } from '../coordinator.js';
import { HolderRefusal, joinSession, type HolderSession } from '../holder.js';
import { joinRequestSchema, updateRequestSchema } from '@finflow/contract';

export const germanSpec = {
  target: 'class',
  positiveClass: '2',
  features: [
    'checking_status',
    'duration',
    'credit_history',
    'purpose',
    'credit_amount',
    'savings_status',
    'employment',
    'installment_commitment',
    'personal_status',
    'other_parties',
    'residence_since',
    'property_magnitude',
    'age',
    'other_payment_plans',
    'housing',
    'existing_credits',
    'job',
    'num_dependents',
    'own_telephone',
    'foreign_worker',
  ],
  categorical: [],
  numeric: [],
};

/** Which holder has a loan of each purpose: cars, radio and television, everything else. */
export const holderOfPurpose = (purpose: string) =>
  purpose === 'A40' || purpose === 'A41' ? 'bank-cars' : purpose === 'A43' ? 'bank-retail' : 'bank-general';

export interface GermanSplit {
  train: Row[];
  test: Row[];
  holders: Map<string, Row[]>;
}

/** 70 % for training (split across the holders by purpose), 30 % held out, shuffled with a fixed seed. */
export function splitGerman(): GermanSplit {
  const rows = shuffleInPlace([...loadGermanCredit().rows] as Row[], seededRandom(19));
  const cut = Math.round(rows.length * 0.7);
  const train = rows.slice(0, cut);
  const holders = new Map<string, Row[]>();
  for (const row of train) {
    const id = holderOfPurpose(String(row['purpose']));
    holders.set(id, [...(holders.get(id) ?? []), row]);
  }
  return { train, test: rows.slice(cut), holders };
}

const wire = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

export interface InProcessHolder extends HolderClient {
  sessions: Map<string, HolderSession>;
  /** Makes the holder stop answering (as a crashed server) before the given update call (1-based). */
  failAt?: number;
  calls: number;
}

export function inProcessHolder(id: string, rows: Row[], minParticipants = 2): InProcessHolder {
  const holder: InProcessHolder = {
    id,
    sessions: new Map(),
    calls: 0,
    async join(request) {
      const parsed = joinRequestSchema.parse(wire(request));
      const { session, response } = joinSession(rows, parsed, { minParticipants });
      holder.sessions.set(parsed.session, session);
      return wire(response);
    },
    async update(session, request) {
      holder.calls++;
      if (holder.failAt !== undefined && holder.calls >= holder.failAt)
        throw new HolderUnavailable('connection reset');
      const s = holder.sessions.get(session);
      if (!s) throw new HolderRefusal('no such session', 'NOT_A_PARTICIPANT');
      return wire(s.update(updateRequestSchema.parse(wire(request))));
    },
    async leave(session) {
      holder.sessions.delete(session);
    },
  };
  return holder;
}
