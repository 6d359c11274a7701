import { mkdtempSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { bufferedDestination, createLogger, LOG_FLUSH_MS } from './logger.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function logFile(): { path: string; fd: number } {
  const dir = mkdtempSync(join(tmpdir(), 'finflow-log-'));
  dirs.push(dir);
  const path = join(dir, 'out.log');
  return { path, fd: openSync(path, 'w') };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits (up to a busy machine's patience) until the file holds what `done` wants. */
async function until(path: string, done: (text: string) => boolean): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const text = readFileSync(path, 'utf8');
    if (done(text)) return text;
    await sleep(50);
  }
  return readFileSync(path, 'utf8');
}

describe('buffered log destination', () => {
  it('writes a lone line without waiting for the buffer to fill, and later bursts too', async () => {
    const { path, fd } = logFile();
    const logger = createLogger('info', bufferedDestination(fd));
    logger.info({ route: '/readyz' }, 'first');
    // Below the 4 KiB buffer: nothing written at once.
    expect(readFileSync(path, 'utf8')).toBe('');
    const first = await until(path, (t) => t.includes('"msg":"first"'));
    expect(first.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(first)).toMatchObject({ service: 'finflow', route: '/readyz', msg: 'first' });
    logger.info('second');
    logger.info('third');
    const later = await until(path, (t) => t.includes('"msg":"third"'));
    expect(
      later
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { msg: string }).msg),
    ).toEqual(['first', 'second', 'third']);
  });

  it('makes no write while nothing is logged (an idle server does not wake to flush nothing)', async () => {
    const { path, fd } = logFile();
    const dest = bufferedDestination(fd);
    const logger = createLogger('info', dest);
    logger.info('only');
    await until(path, (t) => t.includes('"msg":"only"'));
    // Count the writes that reach the file descriptor from now on, empty ones included.
    let writes = 0;
    const stream = dest as unknown as { fd: number; _actualWrite: () => void };
    const actual = stream._actualWrite.bind(stream);
    stream._actualWrite = () => {
      writes++;
      actual();
    };
    await sleep(LOG_FLUSH_MS * 5);
    expect(writes).toBe(0);
    expect(statSync(path).size).toBeGreaterThan(0);
  });

  it('a destination ended with lines buffered writes them and its timer does not throw afterwards', async () => {
    const { path, fd } = logFile();
    const dest = bufferedDestination(fd);
    const logger = createLogger('info', dest);
    logger.info('last words');
    const stream = dest as unknown as { on(event: 'close', f: () => void): void; end(): void };
    await new Promise<void>((resolve) => {
      stream.on('close', () => resolve());
      stream.end();
    });
    expect(readFileSync(path, 'utf8')).toContain('"msg":"last words"');
    // The flush timer of the line above would have fired by now: a throw would fail the test run.
    await sleep(LOG_FLUSH_MS * 2);
  });
});
