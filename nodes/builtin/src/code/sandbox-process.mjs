// @ts-check
/**
 * The sandbox process for the code node: user code runs here, in isolated-vm, never in the server process. The
 * server (sandbox-pool.ts) forks this file with `node --no-node-snapshot`, an empty environment and an IPC
 * channel; each run gets a fresh V8 isolate (its own heap, its own globals) that is disposed when the run ends.
 *
 * Inside an isolate there is nothing but the JavaScript language: no require, import, process, file system,
 * network, timers or host objects. The only capabilities are a frozen `ctx` of copies and primitives (the run's
 * ids, a fixed clock, a seeded random) and a logger whose arguments are turned into strings inside the isolate
 * before they cross. Inputs enter as a JSON string parsed inside the isolate; outputs leave as a JSON string
 * produced inside the isolate (so getters, toJSON, proxies and thenables run in there, under its limits) and are
 * checked here for size, depth and `__proto__` keys before they go back to the server.
 *
 * Limits: a memory limit per isolate, a CPU-time limit (isolated-vm's timeout on every entry, plus a watchdog on
 * the isolate's CPU clock for work spread over many entries), and a wall-clock limit (code cannot wait for
 * anything, so a run that is still pending then is waiting on a promise nothing will settle).
 *
 * This file is plain JavaScript so that the server can fork it from its sources and from a build alike.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
/** @type {typeof import('isolated-vm')} */
const ivm = require('isolated-vm');

/** Runs at the start of every isolate, before the user's module. Returns `{ setup, invoke }` (never global). */
const BOOTSTRAP = String.raw`(() => {
  'use strict';
  const log = globalThis.__finflowLog;
  delete globalThis.__finflowLog;
  const { stringify, parse } = JSON;
  const S = String;
  const freeze = Object.freeze;
  const defineProperty = Object.defineProperty;
  const apply = Reflect.apply;
  const RealDate = Date;
  const positions = new WeakMap();
  const USER_FILE = globalThis.__finflowFile;
  delete globalThis.__finflowFile;

  // Stack traces: our formatter, fixed in place, records where in the user's file an error was thrown (the
  // first frame in it) and formats the trace as V8 does. The user cannot swap it for one of their own.
  const formatStack = (error, frames) => {
    try {
      for (const f of frames) {
        if (f.getFileName() === USER_FILE) {
          positions.set(error, [f.getLineNumber(), f.getColumnNumber()]);
          break;
        }
      }
      let head;
      try { head = S(error); } catch { head = 'Error'; }
      return head + frames.map((f) => '\n    at ' + S(f)).join('');
    } catch {
      return 'Error';
    }
  };
  defineProperty(Error, 'prepareStackTrace', { value: formatStack, writable: false, configurable: false });

  // Nothing below is a capability of the host: no code generation is reachable from here that is not already
  // reachable from the language, and WebAssembly is removed to keep the surface small.
  delete globalThis.WebAssembly;
  delete globalThis.console;

  const text = (value) => {
    if (typeof value === 'string') return value;
    try {
      const json = stringify(value);
      return json === undefined ? S(value) : json;
    } catch {
      try { return S(value); } catch { return '[unprintable]'; }
    }
  };
  const emit = (level) => (message, data) => {
    let d;
    if (data !== undefined) {
      try { d = stringify(data); } catch { d = undefined; }
    }
    log(level, text(message), typeof d === 'string' ? d : undefined);
  };
  const logger = freeze({ debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') });
  const joined = (level) => (...args) => log(level, args.map(text).join(' '), undefined);
  globalThis.console = freeze({
    log: joined('info'), info: joined('info'), debug: joined('debug'), warn: joined('warn'), error: joined('error'),
  });

  // The editor types the run function through defineRun (code-typings.ts in the editor); at run time it is the
  // identity.
  defineProperty(globalThis, 'defineRun', { value: (run) => run, writable: false, configurable: false });

  let ready = false;
  let context;

  const setup = (now, seed, runId, nodeId, attempt) => {
    if (ready) throw new Error('setup runs once');
    ready = true;
    // A fixed clock: every reading of the time inside a run is the moment the node started.
    const FixedDate = new Proxy(RealDate, {
      construct: (target, args, newTarget) => Reflect.construct(target, args.length ? args : [now], newTarget),
      apply: () => new RealDate(now).toString(),
      get: (target, key, receiver) => (key === 'now' ? () => now : Reflect.get(target, key, receiver)),
    });
    globalThis.Date = FixedDate;
    // Intl formats "now" when given no date: the fixed clock there too.
    const dtf = Intl.DateTimeFormat.prototype;
    const getFormat = Object.getOwnPropertyDescriptor(dtf, 'format').get;
    defineProperty(dtf, 'format', {
      get() {
        const format = apply(getFormat, this, []);
        return (date) => format(date === undefined ? now : date);
      },
      configurable: true,
    });
    const formatToParts = dtf.formatToParts;
    defineProperty(dtf, 'formatToParts', {
      value: function (date) { return apply(formatToParts, this, [date === undefined ? now : date]); },
      writable: true, configurable: true,
    });
    // A seeded random (mulberry32): the same seed gives the same numbers in every run.
    let state = seed >>> 0;
    const random = () => {
      state = (state + 0x6d2b79f5) >>> 0;
      let t = state;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    defineProperty(Math, 'random', { value: random, writable: true, configurable: true });
    context = freeze({ runId, nodeId, attempt, now: () => now, random, log: logger });
  };

  const describe = (error) => {
    let name = 'Error';
    let message = '';
    let stack = '';
    let code;
    try {
      if (error !== null && (typeof error === 'object' || typeof error === 'function')) {
        try { name = S(error.name); } catch {}
        try { message = S(error.message); } catch {}
        try { stack = S(error.stack); } catch {}
        try { if (typeof error.code === 'string') code = error.code; } catch {}
      } else {
        name = 'Thrown';
        message = text(error);
      }
    } catch {}
    const at = positions.get(error);
    return stringify({ ok: false, name, message, stack, code, line: at && at[0], column: at && at[1] });
  };

  const invoke = async (run, inputsJson) => {
    if (typeof run !== 'function') {
      return stringify({ ok: false, name: 'TypeError', message: 'the code must export a function: export default function run(inputs, ctx) { ... }', missing: true });
    }
    try {
      const outputs = await run(freeze(parse(inputsJson)), context);
      const json = stringify(outputs === undefined ? null : outputs);
      return '{"ok":true,"outputs":' + (json === undefined ? 'null' : json) + '}';
    } catch (error) {
      return describe(error);
    }
  };

  return { setup, invoke };
})()`;

const MAX_DEPTH = 64;
const ISOLATE_FILE = { javascript: 'code.js', typescript: 'code.ts' };

/** @typedef {{ t: 'run', id: number, language: 'javascript' | 'typescript', code: string, inputs: string,
 *   memoryMb: number, cpuMs: number, wallMs: number, now: number, seed: number,
 *   meta: { runId: string, nodeId: string, attempt: number }, maxOutputBytes: number, maxLogs: number,
 *   maxLogBytes: number }} RunMessage */

/** @param {unknown} message */
function send(message) {
  if (process.connected) process.send?.(message);
}

// ---- TypeScript ----------------------------------------------------------------------------------------

/** @type {typeof import('typescript') | undefined} */
let ts;
/** @type {typeof import('@jridgewell/trace-mapping') | undefined} */
let traceMapping;
/** Transpiled sources by content hash (a flow's code node runs many times with the same code). */
const compiled = new Map();
const COMPILED_MAX = 200;

/**
 * Transpiles TypeScript to JavaScript with a source map (types are erased; nothing is type-checked at run time:
 * the editor checks types as the code is written). Syntax errors come back with their line and column.
 * @param {string} source
 */
function transpile(source) {
  const key = createHash('sha256').update(source).digest('base64');
  const hit = compiled.get(key);
  if (hit) return hit;
  ts ??= require('typescript');
  traceMapping ??= require('@jridgewell/trace-mapping');
  const out = ts.transpileModule(source, {
    fileName: ISOLATE_FILE.typescript,
    reportDiagnostics: true,
    compilerOptions: {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      sourceMap: true,
      inlineSourceMap: false,
      removeComments: false,
    },
  });
  const first = out.diagnostics?.find((d) => d.category === ts.DiagnosticCategory.Error);
  /** @type {{ js: string, map?: import('@jridgewell/trace-mapping').TraceMap, error?: { message: string, line?: number, column?: number } }} */
  let entry;
  if (first) {
    const pos =
      first.file && first.start !== undefined
        ? first.file.getLineAndCharacterOfPosition(first.start)
        : undefined;
    entry = {
      js: '',
      error: {
        message: ts.flattenDiagnosticMessageText(first.messageText, '\n'),
        ...(pos ? { line: pos.line + 1, column: pos.character + 1 } : {}),
      },
    };
  } else {
    entry = {
      js: out.outputText.replace(/\/\/# sourceMappingURL=.*\s*$/, ''),
      map: new traceMapping.TraceMap(/** @type {string} */ (out.sourceMapText)),
    };
  }
  compiled.set(key, entry);
  if (compiled.size > COMPILED_MAX) compiled.delete(compiled.keys().next().value);
  return entry;
}

/**
 * A position in the transpiled file, as a position in the user's TypeScript.
 * @param {import('@jridgewell/trace-mapping').TraceMap | undefined} map
 * @param {number | undefined} line
 * @param {number | undefined} column
 */
function originalPosition(map, line, column) {
  if (line === undefined || column === undefined) return {};
  if (!map || !traceMapping) return { line, column };
  const p = traceMapping.originalPositionFor(map, { line, column: Math.max(0, column - 1) });
  return p.line === null ? {} : { line: p.line, column: p.column + 1 };
}

// ---- Isolates ------------------------------------------------------------------------------------------

/**
 * @typedef {{ isolate: import('isolated-vm').Isolate, context: import('isolated-vm').Context,
 *   setup: import('isolated-vm').Reference, invoke: import('isolated-vm').Reference, memoryMb: number,
 *   file: string, logTo: { run: RunState | undefined } }} Fresh
 * @typedef {{ id: number, fresh: Fresh, logs: number, logBytes: number, truncatedLogs: boolean,
 *   finished: boolean, stop?: (code: string, message: string) => void }} RunState
 */

/**
 * A new isolate with the bootstrap run in it and nothing else: no user code has touched it.
 * @param {number} memoryMb
 * @param {'javascript' | 'typescript'} language
 * @returns {Promise<Fresh>}
 */
async function freshIsolate(memoryMb, language) {
  const isolate = new ivm.Isolate({ memoryLimit: memoryMb });
  try {
    const context = await isolate.createContext();
    /** @type {{ run: RunState | undefined }} */
    const logTo = { run: undefined };
    const file = `file:///${ISOLATE_FILE[language]}`;
    // The one function of the host an isolate can call. Its arguments are strings made inside the isolate;
    // it never throws (a host exception would carry the host's stack into the isolate) and returns nothing.
    const log = new ivm.Callback(
      /** @param {unknown} level @param {unknown} message @param {unknown} data */
      (level, message, data) => {
        try {
          const run = logTo.run;
          if (run) forwardLog(run, level, message, data);
        } catch {
          // Nothing reaches the isolate.
        }
      },
      { ignored: true },
    );
    await context.global.set('__finflowLog', log);
    await context.global.set('__finflowFile', file);
    const boot = await isolate.compileScript(BOOTSTRAP, { filename: 'file:///finflow-bootstrap.js' });
    const api = await boot.run(context, { reference: true, timeout: 1000 });
    const setup = await api.get('setup', { reference: true });
    const invoke = await api.get('invoke', { reference: true });
    return { isolate, context, setup, invoke, memoryMb, file, logTo };
  } catch (err) {
    if (!isolate.isDisposed) isolate.dispose();
    throw err;
  }
}

/** One fresh isolate kept ready per (memory limit, language) last asked for, so a run does not wait for one. */
/** @type {Map<string, Promise<Fresh>>} */
const spares = new Map();

/** @param {number} memoryMb @param {'javascript' | 'typescript'} language */
async function takeIsolate(memoryMb, language) {
  const key = `${memoryMb}:${language}`;
  const spare = spares.get(key);
  spares.delete(key);
  let fresh;
  if (spare) fresh = await spare.catch(() => undefined);
  fresh ??= await freshIsolate(memoryMb, language);
  if (spares.size >= 4) {
    const [oldKey, old] = /** @type {[string, Promise<Fresh>]} */ (spares.entries().next().value);
    spares.delete(oldKey);
    void old.then((f) => f.isolate.isDisposed || f.isolate.dispose()).catch(() => undefined);
  }
  const next = freshIsolate(memoryMb, language);
  next.catch(() => spares.delete(key));
  spares.set(key, next);
  return fresh;
}

/**
 * @param {RunState} run
 * @param {unknown} level
 * @param {unknown} message
 * @param {unknown} data
 */
function forwardLog(run, level, message, data) {
  if (run.finished || run.truncatedLogs) return;
  const limits = /** @type {RunMessage} */ (runs.get(run.id)?.message);
  if (!limits) return;
  const lvl = level === 'debug' || level === 'warn' || level === 'error' ? level : 'info';
  let text = typeof message === 'string' ? message : '';
  let json = typeof data === 'string' ? data : undefined;
  const size = text.length + (json?.length ?? 0);
  if (run.logs >= limits.maxLogs || run.logBytes + size > limits.maxLogBytes) {
    run.truncatedLogs = true;
    send({
      t: 'log',
      id: run.id,
      level: 'warn',
      message: `further log lines were dropped (at most ${limits.maxLogs} lines, ${limits.maxLogBytes} bytes)`,
    });
    return;
  }
  run.logs++;
  run.logBytes += size;
  /** @type {unknown} */
  let parsed;
  if (json !== undefined) {
    try {
      parsed = JSON.parse(json);
    } catch {
      parsed = undefined;
    }
  }
  const record =
    parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)
      ? parsed
      : parsed === undefined
        ? undefined
        : { value: parsed };
  send(
    record === undefined
      ? { t: 'log', id: run.id, level: lvl, message: text }
      : { t: 'log', id: run.id, level: lvl, message: text, data: record },
  );
}

/**
 * Checks a JSON text is data the server may take: at most MAX_DEPTH deep and without `__proto__` keys (which
 * JSON.parse keeps as own properties, but which assigning code elsewhere would treat as a prototype).
 * @param {unknown} value
 * @returns {string | undefined} the problem, if any
 */
function dataProblem(value) {
  /** @type {[unknown, number][]} */
  const stack = [[value, 0]];
  while (stack.length) {
    const [v, depth] = /** @type {[unknown, number]} */ (stack.pop());
    if (v === null || typeof v !== 'object') continue;
    if (depth >= MAX_DEPTH) return `it is nested deeper than ${MAX_DEPTH} levels`;
    if (Array.isArray(v)) {
      for (const item of v) stack.push([item, depth + 1]);
    } else {
      for (const key of Object.keys(v)) {
        if (key === '__proto__') return 'it has a "__proto__" key';
        stack.push([/** @type {Record<string, unknown>} */ (v)[key], depth + 1]);
      }
    }
  }
  return undefined;
}

/** @type {Map<number, { message: RunMessage, state?: RunState }>} */
const runs = new Map();

/** @param {RunMessage} msg */
async function execute(msg) {
  const t0 = performance.now();
  /** @param {string} code @param {string} message @param {Record<string, unknown>} [details] */
  const fail = (code, message, details) => ({ ok: false, code, message, ...(details ? { details } : {}) });

  /** @type {{ js: string, map?: import('@jridgewell/trace-mapping').TraceMap }} */
  let source = { js: msg.code };
  if (msg.language === 'typescript') {
    let entry;
    try {
      entry = transpile(msg.code);
    } catch (err) {
      return fail(
        'CODE_COMPILE_ERROR',
        `the TypeScript could not be transpiled: ${/** @type {Error} */ (err).message}`,
      );
    }
    if (entry.error) {
      const where = entry.error.line ? ` (line ${entry.error.line}, column ${entry.error.column})` : '';
      return fail('CODE_COMPILE_ERROR', `SyntaxError: ${entry.error.message}${where}`, {
        line: entry.error.line,
        column: entry.error.column,
      });
    }
    source = entry;
  }

  let fresh;
  try {
    fresh = await takeIsolate(msg.memoryMb, msg.language);
  } catch (err) {
    return fail('SANDBOX_UNAVAILABLE', `no isolate could be created: ${/** @type {Error} */ (err).message}`);
  }
  const { isolate } = fresh;
  /** @type {RunState} */
  const state = { id: msg.id, fresh, logs: 0, logBytes: 0, truncatedLogs: false, finished: false };
  const entry = runs.get(msg.id);
  if (entry) entry.state = state;
  fresh.logTo.run = state;

  /** @type {{ code: string, message: string } | undefined} */
  let stopped;
  /** @param {string} code @param {string} message */
  const stop = (code, message) => {
    if (stopped || state.finished) return;
    stopped = { code, message };
    if (!isolate.isDisposed) isolate.dispose();
  };
  state.stop = stop;
  const cpuNs = BigInt(msg.cpuMs) * 1_000_000n;
  const watchdog = setInterval(() => {
    if (isolate.isDisposed) return;
    try {
      if (isolate.cpuTime > cpuNs)
        stop('CODE_CPU_LIMIT', `the code used more than its ${msg.cpuMs} ms of CPU time`);
    } catch {
      // Disposed between the check and the read.
    }
    if (performance.now() - t0 > msg.wallMs)
      stop(
        'CODE_TIME_LIMIT',
        `the code did not finish within ${msg.wallMs} ms; it may be waiting on a promise that nothing settles (the sandbox has no timers or I/O)`,
      );
  }, 10);

  /** @param {unknown} err */
  const failure = (err) => {
    if (stopped) return fail(stopped.code, stopped.message);
    const message = err instanceof Error ? err.message : String(err);
    if (isolate.isDisposed || /memory limit/i.test(message))
      return fail('CODE_MEMORY_LIMIT', `the code used more than its ${msg.memoryMb} MB of memory`);
    if (/execution timed out/i.test(message))
      return fail('CODE_CPU_LIMIT', `the code used more than its ${msg.cpuMs} ms of CPU time`);
    if (/array buffer allocation failed/i.test(message))
      return fail(
        'CODE_MEMORY_LIMIT',
        `the code used more than its ${msg.memoryMb} MB of memory (${message})`,
      );
    return undefined;
  };

  try {
    await fresh.setup.apply(
      undefined,
      [msg.now, msg.seed, msg.meta.runId, msg.meta.nodeId, msg.meta.attempt],
      { timeout: 1000 },
    );
    let mod;
    try {
      mod = await isolate.compileModule(source.js, { filename: fresh.file });
    } catch (err) {
      const known = failure(err);
      if (known) return known;
      const m = /^(.*) \[[^\]]*:(\d+):(\d+)\]$/.exec(/** @type {Error} */ (err).message);
      const where = m ? originalPosition(source.map, Number(m[2]), Number(m[3])) : {};
      const text = m ? m[1] : /** @type {Error} */ (err).message;
      return fail(
        'CODE_COMPILE_ERROR',
        `SyntaxError: ${text}${where.line ? ` (line ${where.line}, column ${where.column})` : ''}`,
        where,
      );
    }
    try {
      await mod.instantiate(fresh.context, (specifier) => {
        throw new Error(
          `imports are not available in the code node (import "${String(specifier).slice(0, 100)}")`,
        );
      });
    } catch (err) {
      const known = failure(err);
      if (known) return known;
      return fail('CODE_IMPORT_DENIED', /** @type {Error} */ (err).message.replace(/\s*\[[^\]]*\]$/, ''));
    }
    await mod.evaluate({ timeout: msg.cpuMs });
    const run = await mod.namespace.get('default', { reference: true });
    const answer = await fresh.invoke.apply(undefined, [run.derefInto(), msg.inputs], {
      timeout: msg.cpuMs,
      result: { promise: true, copy: true },
    });
    if (stopped) return fail(stopped.code, stopped.message);
    if (typeof answer !== 'string')
      return fail('CODE_OUTPUT_NOT_DATA', 'the code returned something that is not data');
    if (answer.length > msg.maxOutputBytes)
      return fail('CODE_OUTPUT_TOO_LARGE', `the outputs are larger than ${msg.maxOutputBytes} bytes as JSON`);
    /** @type {any} */
    let parsed;
    try {
      parsed = JSON.parse(answer);
    } catch {
      return fail('CODE_OUTPUT_NOT_DATA', 'the outputs could not be read as JSON');
    }
    if (parsed.ok === true) {
      const outputs = parsed.outputs;
      if (outputs === null || typeof outputs !== 'object' || Array.isArray(outputs))
        return fail(
          'CODE_OUTPUT_NOT_DATA',
          'the code must return an object with one value per output port, e.g. return { result: 42 }',
        );
      const problem = dataProblem(outputs);
      if (problem) return fail('CODE_OUTPUT_NOT_DATA', `the outputs are not plain data: ${problem}`);
      const cpuMs = Number(isolate.cpuTime) / 1e6;
      return {
        ok: true,
        outputs: answer.slice('{"ok":true,"outputs":'.length, -1),
        cpuMs,
        wallMs: performance.now() - t0,
      };
    }
    if (parsed.missing) return fail('CODE_NO_FUNCTION', String(parsed.message));
    const where = originalPosition(
      source.map,
      typeof parsed.line === 'number' ? parsed.line : undefined,
      typeof parsed.column === 'number' ? parsed.column : undefined,
    );
    const name = String(parsed.name ?? 'Error').slice(0, 100);
    const message = String(parsed.message ?? '').slice(0, 2000);
    const details = { name, ...where };
    if (typeof parsed.code === 'string' && /^[A-Z][A-Z0-9_]{0,63}$/.test(parsed.code))
      details.userCode = parsed.code;
    return fail(
      'CODE_ERROR',
      `${name}: ${message}${where.line ? ` (line ${where.line}, column ${where.column})` : ''}`,
      details,
    );
  } catch (err) {
    const known = failure(err);
    if (known) return known;
    const message = /** @type {Error} */ (err)?.message ?? String(err);
    // Errors raised by the engine itself while the user's module evaluated (top-level code).
    const m = /\(?file:\/\/\/code\.[jt]s:(\d+):(\d+)\)?/.exec(/** @type {Error} */ (err)?.stack ?? '');
    const where = m ? originalPosition(source.map, Number(m[1]), Number(m[2])) : {};
    return fail(
      'CODE_ERROR',
      `${/** @type {Error} */ (err)?.name ?? 'Error'}: ${message}${where.line ? ` (line ${where.line}, column ${where.column})` : ''}`,
      where,
    );
  } finally {
    state.finished = true;
    clearInterval(watchdog);
    fresh.logTo.run = undefined;
    if (!isolate.isDisposed) isolate.dispose();
  }
}

process.on('message', (/** @type {any} */ msg) => {
  if (!msg || typeof msg !== 'object') return;
  if (msg.t === 'run') {
    runs.set(msg.id, { message: msg });
    void execute(msg)
      .catch((err) => ({
        ok: false,
        code: 'SANDBOX_ERROR',
        message: `the sandbox failed: ${err?.message ?? err}`,
      }))
      .then((result) => {
        runs.delete(msg.id);
        send({ t: 'done', id: msg.id, ...result });
      });
  } else if (msg.t === 'cancel') {
    runs.get(msg.id)?.state?.stop?.('CANCELLED', 'cancelled');
  } else if (msg.t === 'stats') {
    send({ t: 'stats', id: msg.id, memory: process.memoryUsage(), spares: spares.size, runs: runs.size });
  }
});
// The server went away: nothing here may outlive it.
process.on('disconnect', () => process.exit(0));
send({ t: 'ready', pid: process.pid });
