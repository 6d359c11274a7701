/**
 * Child process for releasing-map.test.ts (run with `--expose-gc`): a long-lived map with entries coming and going,
 * as the runs in flight do, each value holding about 4 KB. After one full collection (which moves the map's table
 * to the old generation), 2,000 entries pass through with a young-generation collection every 50, and the script
 * prints how much the old generation grew: what the young collections kept alive and promoted. With a Map this
 * happens in about half of the processes (it depends on the process, not on the try: within one process it
 * happens every time or never), so the test starts several.
 */
import { getHeapSpaceStatistics } from 'node:v8';
import { ReleasingMap } from '../releasing-map.js';

const kind = process.argv[2];
const gc = (globalThis as { gc?: (o?: { type: 'minor' | 'major' }) => void }).gc;
if (!gc) throw new Error('run with --expose-gc');

const oldSpace = () =>
  getHeapSpaceStatistics().find((s) => s.space_name === 'old_space')?.space_used_size ?? 0;
const value = (i: number) => Array.from({ length: 100 }, (_, j) => ({ i, j, s: `value ${i}.${j}` }));

function churn(): number {
  const map: Pick<Map<string, unknown>, 'set' | 'delete'> = kind === 'releasing'
    ? new ReleasingMap<string, unknown>()
    : new Map<string, unknown>();
  const ids: string[] = [];
  let next = 0;
  const add = () => {
    const id = `run-${next}`;
    map.set(id, value(next++));
    ids.push(id);
    if (ids.length > 10) map.delete(ids.shift() as string);
  };
  for (let i = 0; i < 10; i++) add();
  gc?.({ type: 'major' });
  const before = oldSpace();
  for (let i = 0; i < 2000; i++) {
    add();
    if (i % 50 === 49) gc?.({ type: 'minor' });
  }
  gc?.({ type: 'minor' });
  gc?.({ type: 'minor' });
  return oldSpace() - before;
}

process.stdout.write(`${JSON.stringify({ grew: churn() })}\n`);
