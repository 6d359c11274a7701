// Checkpoints the SQLite WAL from a worker thread, so copying pages back into the database file and its fsyncs
// never stall the event loop that serves requests. The server turns automatic checkpoints off on its own
// connections and starts this worker (see repo/sqlite.ts). Plain JavaScript: it runs as-is from src/ and dist/.
//
// A thread is an isolate of its own (about 9 MiB resident), so the worker does not stay for a server gone
// quiet: once the WAL has had no new frames for `idleStopMs` and all of it is checkpointed, it says `idle` and
// ends; the repository starts it again with the next commit.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const db = new Database(workerData.file);
db.pragma('busy_timeout = 5000');
db.pragma('synchronous = FULL');

const idleStopMs = workerData.idleStopMs ?? 0;
let lastLog = -1;
let quietSince = Date.now();

function checkpoint() {
  try {
    const [result] = db.pragma('wal_checkpoint(PASSIVE)');
    parentPort.postMessage({ type: 'checkpoint', result });
    return result;
  } catch (err) {
    parentPort.postMessage({ type: 'error', message: String(err?.message ?? err) });
    return undefined;
  }
}

function stop() {
  clearInterval(timer);
  db.close();
  parentPort.close();
}

function tick() {
  const result = checkpoint();
  if (!result || !idleStopMs) return;
  // A WAL that was written to since the last tick has another frame count (or restarted from its beginning).
  if (result.log !== lastLog || result.checkpointed !== result.log) {
    lastLog = result.log;
    quietSince = Date.now();
  } else if (Date.now() - quietSince >= idleStopMs) {
    parentPort.postMessage({ type: 'idle' });
    stop();
  }
}

const timer = setInterval(tick, workerData.intervalMs);
parentPort.on('message', (message) => {
  if (message === 'stop') {
    checkpoint();
    stop();
  } else if (message === 'releaseMemory') {
    globalThis.gc?.();
    db.pragma('shrink_memory');
  }
});
