import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { joinSession, HolderRefusal } from './holder.js';
import { updateRequestSchema, type UpdateRequest } from '@finflow/contract';
import {
  addWords,
  base64ToWords,
  decodeFixed,
  encodeFixed,
  maskWords,
  newAgreementKeys,
} from './secure-sum.js';
import { germanSpec, splitGerman } from './test-helpers/holders.js';

const split = splitGerman();
const rows = split.holders.get('bank-cars')!;

function joined(minParticipants = 3) {
  const session = randomUUID();
  const { session: s, response } = joinSession(
    rows,
    { session, holder: 'bank-cars', spec: germanSpec },
    { minParticipants },
  );
  return { s, response, session };
}

const peers = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ id: `peer-${i}`, publicKey: newAgreementKeys().publicKey }));

function stats(self: { id: string; publicKey: string }, others = peers(2), attempt = 1): UpdateRequest {
  return updateRequestSchema.parse({
    stage: 'stats',
    round: 0,
    attempt,
    participants: [self, ...others],
    layout: [{ column: 'duration', type: 'numeric' }],
  });
}

const refusal = (run: () => unknown) => {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(HolderRefusal);
    return (err as HolderRefusal).code;
  }
  throw new Error('no refusal');
};

describe('secure sum', () => {
  it('masks cancel in the sum of three holders, and one masked vector is unlike its plain one', () => {
    const keys = ['a', 'b', 'c'].map((id) => ({ id, ...newAgreementKeys() }));
    const participants = keys.map((k) => ({ id: k.id, publicKey: k.publicKey }));
    const plain = [
      [1.5, -2, 1e9],
      [0.25, 3, -1e9],
      [-1, 0.125, 42],
    ];
    const at = { session: randomUUID(), stage: 'newton', round: 1, attempt: 1 };
    const masked = keys.map((k, i) => maskWords(encodeFixed(plain[i]!), k, participants, at));
    const total = [...masked[0]!];
    addWords(total, masked[1]!);
    addWords(total, masked[2]!);
    expect(decodeFixed(total)).toEqual([0.75, 1.125, 42]);
    expect(decodeFixed(masked[0]!).some((v, j) => Math.abs(v - plain[0]![j]!) < 1)).toBe(false);
  });

  it('fixed-point words survive the wire form', () => {
    const words = encodeFixed([-3.25, 0, 123456.789]);
    const wire = Buffer.concat(
      words.map((w) => {
        const b = Buffer.alloc(16);
        b.writeBigUInt64LE(w & 0xffff_ffff_ffff_ffffn, 0);
        b.writeBigUInt64LE(w >> 64n, 8);
        return b;
      }),
    ).toString('base64');
    expect(decodeFixed(base64ToWords(wire, 3))).toEqual([-3.25, 0, 123456.789]);
    expect(() => base64ToWords(wire, 4)).toThrow(RangeError);
    expect(() => encodeFixed([Number.NaN])).toThrow(RangeError);
    expect(() => encodeFixed([1e30])).toThrow(RangeError);
  });
});

describe('a holder refuses what would expose its update', () => {
  it('a round with fewer participants than it accepts', () => {
    const { s } = joined(3);
    expect(refusal(() => s.update(stats({ id: 'bank-cars', publicKey: s.publicKey }, peers(1))))).toBe(
      'TOO_FEW_PARTICIPANTS',
    );
  });

  it('the same stage, round and attempt twice (a reused mask)', () => {
    const { s } = joined(2);
    const self = { id: 'bank-cars', publicKey: s.publicKey };
    const others = peers(2);
    s.update(stats(self, others));
    expect(refusal(() => s.update(stats(self, others)))).toBe('MASK_REUSED');
    // A new attempt has fresh masks.
    expect(s.update(stats(self, others, 2)).length).toBe(5);
  });

  it('a participant list without its key, or with a key listed twice', () => {
    const { s } = joined(2);
    expect(refusal(() => s.update(stats({ id: 'bank-cars', publicKey: newAgreementKeys().publicKey })))).toBe(
      'NOT_A_PARTICIPANT',
    );
    const self = { id: 'bank-cars', publicKey: s.publicKey };
    expect(refusal(() => s.update(stats(self, [{ id: 'peer', publicKey: s.publicKey }, ...peers(1)])))).toBe(
      'DUPLICATE_PARTICIPANT',
    );
  });

  it('statistics of a column outside the session, such as the target', () => {
    const { s } = joined(2);
    const request = updateRequestSchema.parse({
      ...stats({ id: 'bank-cars', publicKey: s.publicKey }),
      layout: [{ column: 'class', type: 'categorical', levels: ['1', '2'] }],
    });
    expect(refusal(() => s.update(request))).toBe('INVALID_MODEL');
  });

  it('a spec naming a column it does not have, or the target as a feature', () => {
    const session = randomUUID();
    expect(
      refusal(() =>
        joinSession(
          rows,
          { session, holder: 'h', spec: { ...germanSpec, features: ['salary'] } },
          { minParticipants: 2 },
        ),
      ),
    ).toBe('COLUMN_NOT_FOUND');
    expect(
      refusal(() =>
        joinSession(
          rows,
          { session, holder: 'h', spec: { ...germanSpec, features: ['class'] } },
          { minParticipants: 2 },
        ),
      ),
    ).toBe('INVALID_TRAINING_SPEC');
  });

  it('joining reveals the categories present, never how many rows hold each', () => {
    const { response } = joined();
    expect(response.columns['purpose']).toEqual({ type: 'categorical', levels: ['A40', 'A41'] });
    expect(response.columns['duration']).toEqual({ type: 'numeric' });
    expect(Object.keys(response).sort()).toEqual(['columns', 'publicKey']);
    for (const info of Object.values(response.columns))
      expect(Object.keys(info).every((k) => k === 'type' || k === 'levels')).toBe(true);
  });
});
