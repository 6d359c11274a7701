import { afterEach, describe, expect, it } from 'vitest';
import { startIdleGc } from './idle-gc.js';

const stops: (() => void)[] = [];
afterEach(() => {
  while (stops.length) stops.pop()?.();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Keeps the event loop busy for `ms`, in slices so the watch's timer still fires between them. */
async function busy(ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const slice = Date.now() + 20;
    while (Date.now() < slice) {
      /* spin */
    }
    await new Promise((r) => setImmediate(r));
  }
}

describe('collecting garbage after load', () => {
  it('collects once when a busy period is followed by a quiet one, and not while the server stays quiet', async () => {
    let collected = 0;
    stops.push(startIdleGc({ intervalMs: 100, gc: () => collected++ }));
    await sleep(500);
    expect(collected).toBe(0);
    await busy(400);
    const deadline = Date.now() + 10_000;
    while (collected === 0 && Date.now() < deadline) await sleep(50);
    expect(collected).toBe(1);
    await sleep(500);
    expect(collected).toBe(1);
  });
});
