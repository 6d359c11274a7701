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
  it('collects after start-up and after a busy period once it is quiet, until the young generation has shrunk', async () => {
    let collected = 0;
    let young = 32 * 1024 * 1024;
    // V8 shrinks the young generation on the third quiet collection here.
    const gc = () => {
      collected++;
      if (collected % 3 === 0) young = 1024 * 1024;
    };
    stops.push(startIdleGc({ intervalMs: 100, quietIntervals: 2, gc, youngGenerationBytes: () => young }));
    // Start-up counts as a busy period: collections until the young generation is small, then none.
    const deadline = Date.now() + 10_000;
    while (collected < 3 && Date.now() < deadline) await sleep(50);
    await sleep(500);
    expect(collected).toBe(3);

    young = 32 * 1024 * 1024;
    await busy(400);
    while (collected < 6 && Date.now() < deadline + 10_000) await sleep(50);
    await sleep(500);
    expect(collected).toBe(6);
  });

  it('leaves a pause between bursts alone and collects only once the server has stayed quiet', async () => {
    let collected = 0;
    let young = 32 * 1024 * 1024;
    const gc = () => {
      collected++;
      young = 1024 * 1024;
    };
    stops.push(startIdleGc({ intervalMs: 50, quietIntervals: 20, gc, youngGenerationBytes: () => young }));
    // Bursts with pauses of about 4 intervals (200 ms): never quiet for 20 in a row, so nothing is collected and
    // the compiled code of the busy path survives.
    for (let i = 0; i < 5; i++) {
      await busy(150);
      await sleep(200);
    }
    expect(collected).toBe(0);
    // Quiet for 20 intervals and more: collected.
    const deadline = Date.now() + 10_000;
    while (collected < 1 && Date.now() < deadline) await sleep(50);
    expect(collected).toBe(1);
  });

  it('stops trying after its limit when the young generation does not shrink', async () => {
    let collected = 0;
    stops.push(
      startIdleGc({
        intervalMs: 50,
        maxCollections: 2,
        quietIntervals: 1,
        gc: () => collected++,
        youngGenerationBytes: () => 32 * 1024 * 1024,
      }),
    );
    await sleep(800);
    expect(collected).toBe(2);
  });
});
