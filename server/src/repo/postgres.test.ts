import { describe, expect, it } from 'vitest';
import { mergeRuns } from './postgres.js';
import { emptyBatch, type WriteBatch } from './types.js';

const batch = (fill: (b: WriteBatch) => void): WriteBatch => {
  const b = emptyBatch();
  fill(b);
  return b;
};

describe('merging a group of batches', () => {
  it('joins consecutive plain batches in order and keeps conditional review writes apart, in place', () => {
    const claim = batch((b) => b.resumeClaims.push({ runId: 'r1', token: 't', cancel: false }));
    const merged = mergeRuns([
      batch((b) => {
        b.audit.push({
          workspaceId: 'w',
          at: 1,
          actor: { type: 'system' },
          action: 'a1',
          target: 't',
          details: {},
        });
        b.keyUsage.set('k1', 50);
      }),
      batch((b) => {
        b.audit.push({
          workspaceId: 'w',
          at: 2,
          actor: { type: 'system' },
          action: 'a2',
          target: 't',
          details: {},
        });
        b.keyUsage.set('k1', 10);
        b.credentialUsage.set('w/c', { workspaceId: 'w', name: 'c', at: 5 });
      }),
      claim,
      batch((b) => b.runUpdates.push({ id: 'r1', status: 'succeeded', finishedAt: 3, ms: 1 })),
    ]);
    expect(merged).toHaveLength(3);
    expect(merged[0]?.audit.map((a) => a.action)).toEqual(['a1', 'a2']);
    // The latest use wins, whichever batch reported it.
    expect(merged[0]?.keyUsage.get('k1')).toBe(50);
    expect(merged[0]?.credentialUsage.get('w/c')?.at).toBe(5);
    expect(merged[1]).toBe(claim);
    expect(merged[2]?.runUpdates.map((u) => u.id)).toEqual(['r1']);
  });
});
