/**
 * The escape corpus: hostile code that tries to reach the host (the server process, its environment, files,
 * network, modules), to leak across runs, or to hang or kill what runs it. A canary secret sits in this process's
 * environment and a canary file on disk; neither may appear in anything a run returns (outputs, errors, logs),
 * every attack must end within its limits, and the sandbox must keep serving runs afterwards.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { fixedClock, runNode } from '@finflow/sdk/testing';
import type { SingleNodeResult } from '@finflow/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codeNode } from './javascript.node.js';
import { SandboxPool } from './sandbox-pool.js';

const CANARY = `canary-${randomBytes(12).toString('hex')}`;
const FILE_CANARY = `file-canary-${randomBytes(12).toString('hex')}`;
const canaryFile = join(tmpdir(), `finflow-canary-${process.pid}.txt`);
let pool: SandboxPool;

beforeAll(() => {
  // In the environment of the process that starts the sandbox, as a server's credentials would be.
  process.env['FINFLOW_TEST_CANARY'] = CANARY;
  writeFileSync(canaryFile, FILE_CANARY);
  pool = new SandboxPool({ limits: { maxMemoryMb: 64, maxCpuMs: 3_000, maxDataBytes: 256 * 1024 } });
});
afterAll(async () => {
  delete process.env['FINFLOW_TEST_CANARY'];
  rmSync(canaryFile, { force: true });
  await pool.dispose();
});

async function attack(code: string, extra: Record<string, unknown> = {}): Promise<SingleNodeResult> {
  const result = await runNode(codeNode, {
    services: { codeSandbox: pool, clock: fixedClock(0) },
    inputs: { value: { canaryFile } },
    config: {
      outputs: [{ name: 'result', type: 'any', required: false }],
      code,
      cpuMs: 300,
      memoryMb: 32,
      ...extra,
    },
    timeoutMs: 30_000,
  });
  const seen = JSON.stringify(result);
  expect(seen).not.toContain(CANARY);
  expect(seen).not.toContain(FILE_CANARY);
  // No host paths or host frames: nothing of the sandbox process or the server is described to the code.
  expect(seen).not.toContain(process.cwd());
  expect(seen).not.toMatch(/sandbox-process|node:internal|isolated-vm/);
  // The sandbox's own limits end every attack, not the runtime's node timeout (its last resort).
  expect(result.error?.code).not.toBe('TIMEOUT');
  return result;
}

const result = (r: SingleNodeResult) => r.outputs?.['result'];

describe('code sandbox escape corpus', () => {
  it('constructor chains reach only the isolate: no process, require, module, fetch or host globals', async () => {
    const r = await attack(`export default function () {
      const F = (() => {}).constructor;
      const G = this?.constructor?.constructor ?? ({}).constructor.constructor;
      const probes = {};
      for (const [name, src] of Object.entries({
        process: 'return typeof process', env: 'return process.env', require: 'return typeof require',
        module: 'return typeof module', global: 'return typeof global', fetch: 'return typeof fetch',
        xhr: 'return typeof XMLHttpRequest', ws: 'return typeof WebSocket', timers: 'return typeof setTimeout + typeof setInterval + typeof setImmediate',
        buffer: 'return typeof Buffer', wasm: 'return typeof WebAssembly', bun: 'return typeof Deno + typeof Bun',
      })) {
        try { probes[name] = F(src)(); } catch (e) { probes[name] = 'threw ' + e.name; }
      }
      probes.viaG = G('return typeof process')();
      probes.viaEval = eval('typeof process');
      probes.asyncCtor = typeof (async () => {}).constructor('return process');
      probes.globals = Object.getOwnPropertyNames(globalThis).filter((k) => !/^[A-Z]/.test(k) || /^(Buffer|WebAssembly|XMLHttpRequest|WebSocket)$/.test(k)).sort();
      return { result: probes };
    }`);
    expect(r.status).toBe('succeeded');
    expect(result(r)).toMatchObject({
      process: 'undefined',
      env: 'threw ReferenceError',
      require: 'undefined',
      module: 'undefined',
      global: 'undefined',
      fetch: 'undefined',
      xhr: 'undefined',
      ws: 'undefined',
      timers: 'undefinedundefinedundefined',
      buffer: 'undefined',
      wasm: 'undefined',
      bun: 'undefinedundefined',
      viaG: 'undefined',
      viaEval: 'undefined',
      asyncCtor: 'function',
    });
    // Only the language's own lower-case globals, the logger stand-in and the typing identity.
    expect((result(r) as { globals: string[] }).globals).toEqual(
      [
        'console',
        'defineRun',
        'decodeURI',
        'decodeURIComponent',
        'encodeURI',
        'encodeURIComponent',
        'escape',
        'eval',
        'globalThis',
        'isFinite',
        'isNaN',
        'parseFloat',
        'parseInt',
        'undefined',
        'unescape',
      ].sort(),
    );
  });

  it('Error.prepareStackTrace cannot be replaced to harvest call sites, and stacks show only the code', async () => {
    const r = await attack(`export default function () {
      let replaced;
      try { Error.prepareStackTrace = (e, frames) => frames.map((f) => [f.getThis(), f.getFunction(), f.getFileName()]); replaced = 'yes'; }
      catch (e) { replaced = e.name; }
      let defined;
      try { Object.defineProperty(Error, 'prepareStackTrace', { value: () => 'mine' }); defined = 'yes'; } catch (e) { defined = e.name; }
      const stack = new Error('probe').stack;
      const holder = {};
      Error.captureStackTrace(holder);
      return { result: { replaced, defined, stack, captured: holder.stack } };
    }`);
    expect(result(r)).toMatchObject({ replaced: 'TypeError', defined: 'TypeError' });
    const { stack } = result(r) as { stack: string };
    expect(stack).toMatch(/^Error: probe\n {4}at default \(file:\/\/\/code\.js:7:21\)/);
  });

  it('host errors never come back in: the logger cannot be made to throw a host exception', async () => {
    const r = await attack(`export default function (inputs, ctx) {
      const seen = [];
      const hostile = { toString() { throw new Error('to string'); }, toJSON() { throw new Error('to json'); } };
      for (const arg of [Symbol('s'), () => 1, hostile, new Proxy({}, { get() { throw new Error('trap'); } }), 10n]) {
        try { ctx.log.info(arg, arg); console.log(arg); seen.push('ok'); } catch (e) { seen.push(String(e && e.stack)); }
      }
      seen.push(typeof globalThis.__finflowLog, typeof globalThis.__finflowFile);
      try { ctx.log.info = () => 'mine'; } catch (e) { seen.push(e.name); }
      return { result: seen };
    }`);
    expect(r.status).toBe('succeeded');
    expect(result(r)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'undefined', 'undefined', 'TypeError']);
    expect(r.logs.filter((l) => l.level === 'info').length).toBeGreaterThanOrEqual(8);
  });

  it('proxies, getters and toJSON in the outputs run inside the isolate and come out as plain data or limits', async () => {
    const getter = await attack(
      `export default () => ({ get result() { return { via: 'getter', proc: typeof process }; } })`,
    );
    expect(result(getter)).toEqual({ via: 'getter', proc: 'undefined' });

    const toJson = await attack(`export default () => {
      Object.prototype.toJSON = function () { return this === globalThis ? 'global' : Object.assign({}, this); };
      return { result: { x: 1 } };
    }`);
    expect(toJson.status).toBe('succeeded');

    const proxy = await attack(`export default () => ({ result: new Proxy({}, {
      ownKeys: () => ['a', 'b'], getOwnPropertyDescriptor: () => ({ value: 1, enumerable: true, configurable: true }),
      get: (_t, k) => (k === 'toJSON' ? undefined : 'from trap ' + String(k)),
    }) })`);
    expect(result(proxy)).toEqual({ a: 'from trap a', b: 'from trap b' });
    expect(Object.getPrototypeOf(result(proxy))).toBe(Object.prototype);

    const spinningTrap = await attack(
      `export default () => ({ result: new Proxy({}, { ownKeys() { for (;;) {} } }) })`,
    );
    expect(spinningTrap.error?.code).toBe('CODE_CPU_LIMIT');

    const throwingGetter = await attack(
      `export default () => ({ get result() { throw new Error('poisoned'); } })`,
    );
    expect(throwingGetter.error).toMatchObject({
      code: 'CODE_ERROR',
      message: expect.stringMatching(/poisoned/),
    });
  });

  it('thenables and Promise species or a patched then cannot smuggle anything out or hang the run', async () => {
    const thenable = await attack(
      `export default () => ({ then(resolve) { resolve({ result: 'from thenable' }); } })`,
    );
    expect(result(thenable)).toBe('from thenable');

    const species = await attack(`export default () => {
      class Evil extends Promise { static get [Symbol.species]() { return function (exec) { exec(() => {}, () => {}); }; } }
      return Evil.resolve({ result: 'species' });
    }`);
    expect(species.status === 'succeeded' || species.error?.code.startsWith('CODE_')).toBe(true);

    const patched = await attack(`export default () => {
      Promise.prototype.then = function () { return 'hijacked'; };
      return { result: 1 };
    }`);
    expect(String(patched.status === 'succeeded' ? result(patched) : patched.error?.code)).toMatch(
      /^(1|CODE_.*)$/,
    );

    const never = await attack(`export default () => new Promise(() => {})`, { cpuMs: 100 });
    expect(never.error?.code).toBe('CODE_TIME_LIMIT');
  });

  it('inspect hooks and symbols do not survive the copy out', async () => {
    const r = await attack(`export default () => ({ result: {
      value: 1,
      [Symbol.for('nodejs.util.inspect.custom')]: () => { throw new Error('ran on the host'); },
      inspect: 'a plain string',
    } })`);
    const out = result(r) as Record<string | symbol, unknown>;
    expect(Object.getOwnPropertySymbols(out)).toEqual([]);
    expect(inspect(out)).toBe("{ value: 1, inspect: 'a plain string' }");
  });

  it('prototype pollution stays in its run: the next run and the host see clean prototypes', async () => {
    const a = await attack(`export default () => {
      Object.prototype.polluted = 'yes';
      Array.prototype.map = () => 'hijacked';
      JSON.parse = () => ({ result: 'hijacked' });
      globalThis.leftover = 'from run A';
      return { result: 'polluted' };
    }`);
    expect(result(a)).toBe('polluted');
    const b = await attack(
      `export default () => ({ result: [({}).polluted, [1].map((x) => x + 1), typeof globalThis.leftover] })`,
    );
    expect(result(b)).toEqual([null, [2], 'undefined']);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();

    const protoKey = await attack(
      `export default () => ({ result: JSON.parse('{"__proto__": {"polluted": true}}') })`,
    );
    expect(protoKey.error).toMatchObject({
      code: 'CODE_OUTPUT_NOT_DATA',
      message: expect.stringMatching(/__proto__/),
    });
  });

  it('infinite loops, synchronous or in microtasks, and blocking waits stop at the CPU limit', async () => {
    for (const code of [
      'export default () => { for (;;) {} }',
      'export default async () => { for (;;) await null; }',
      'export default () => { const f = () => Promise.resolve().then(f); f(); return { result: 1 }; }',
      'export default () => { Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0); }',
      'export default () => { const f = () => f(); f(); }',
      'for (;;) {}\nexport default () => ({})',
    ]) {
      const r = await attack(code);
      expect(r.error?.code, code).toMatch(/^CODE_(CPU_LIMIT|ERROR)$/);
      if (r.error?.code === 'CODE_ERROR') expect(r.error.message).toMatch(/Maximum call stack/);
    }
  });

  it('async work cannot outlive its run: the isolate is gone and the sandbox process goes idle', async () => {
    const r = await attack(`export default () => {
      let n = 0;
      const spin = () => { n++; return Promise.resolve().then(spin); };
      queueMicrotask?.(spin);
      new FinalizationRegistry(() => { for (;;) {} }).register({}, 1);
      return { result: 'returned' };
    }`);
    expect(['returned', undefined]).toContain(result(r));
    const [pid] = pool.pids();
    const cpuOf = () => {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      return Number(fields[11]) + Number(fields[12]);
    };
    await new Promise((res) => setTimeout(res, 200));
    const before = cpuOf();
    await new Promise((res) => setTimeout(res, 1_000));
    // Clock ticks (1/100 s): an isolate still spinning would use up to 100 in a second (20 even on a busy machine).
    expect(cpuOf() - before).toBeLessThan(10);
  });

  it('memory exhaustion fails the run, not the sandbox process', async () => {
    const [pid] = pool.pids();
    for (const code of [
      'export default () => { const a = []; for (;;) a.push(new Array(1e5).fill(1.5)); }',
      'export default () => { const a = []; for (;;) a.push(new ArrayBuffer(1e7)); }',
      "export default () => { let s = 'x'; for (;;) s += s; }",
    ]) {
      const r = await attack(code, { memoryMb: 16, cpuMs: 2_000 });
      expect(r.error?.code, code).toMatch(/^CODE_(MEMORY_LIMIT|ERROR)$/);
      if (r.error?.code === 'CODE_ERROR')
        expect(r.error.message).toMatch(/Invalid string length|allocation failed/i);
    }
    expect(pool.pids()).toEqual([pid]);

    // A hash table that doubles past the heap makes V8 abort the process before the isolate can be disposed:
    // the run still fails with the memory code, and a new process serves the next run.
    const map = await attack(
      'export default () => { const m = new Map(); for (let i = 0; ; i++) m.set(i, { i, s: String(i) }); }',
      {
        memoryMb: 16,
        cpuMs: 2_000,
      },
    );
    expect(map.error).toMatchObject({
      code: 'CODE_MEMORY_LIMIT',
      message: expect.stringMatching(/stopped the sandbox process; it is restarted/),
    });
    const next = await attack('export default () => ({ result: "still serving" })');
    expect(result(next)).toBe('still serving');
    expect(pool.pids()).not.toContain(pid);
  });

  it('modules, the network and the file system are out of reach', async () => {
    const dynamic = await attack(`export default async (inputs) => {
      const tries = {};
      for (const spec of ['node:fs', 'fs', 'child_process', 'file://' + inputs.value.canaryFile, 'data:text/javascript,export default 1']) {
        try { await import(spec); tries[spec.slice(0, 12)] = 'loaded'; } catch (e) { tries[spec.slice(0, 12)] = e.name; }
      }
      tries.meta = typeof import.meta.url;
      return { result: tries };
    }`);
    expect(dynamic.status).toBe('succeeded');
    for (const [key, outcome] of Object.entries(result(dynamic) as Record<string, string>))
      if (key !== 'meta') expect(outcome, key).not.toBe('loaded');
    expect((result(dynamic) as { meta: string }).meta).toBe('undefined');

    const staticImport = await attack(
      `import { readFileSync } from 'node:fs';\nexport default () => ({ result: readFileSync('/etc/passwd', 'utf8') })`,
    );
    expect(staticImport.error).toMatchObject({
      code: 'CODE_IMPORT_DENIED',
      message: expect.stringMatching(/imports are not available/),
    });

    const typescriptImport = await attack(
      `import * as net from 'node:net';\nexport default (): { result: unknown } => ({ result: typeof net })`,
      {
        language: 'typescript',
      },
    );
    expect(typescriptImport.error?.code).toBe('CODE_IMPORT_DENIED');
  });

  it('the sandbox process has none of the server environment', async () => {
    await attack('export default () => ({ result: 1 })');
    const [pid] = pool.pids();
    const environ = readFileSync(`/proc/${pid}/environ`, 'utf8');
    expect(process.env['FINFLOW_TEST_CANARY']).toBe(CANARY);
    expect(environ).not.toContain(CANARY);
    // Only what Node's fork adds to describe the IPC channel.
    expect(environ.split('\0').filter((v) => v && !v.startsWith('NODE_CHANNEL_'))).toEqual([]);
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    expect(cmdline).toContain('--no-node-snapshot');
  });

  it('outputs and logs are bounded: too large, too deep, or too chatty', async () => {
    const big = await attack(`export default () => ({ result: 'x'.repeat(300 * 1024) })`);
    expect(big.error?.code).toBe('CODE_OUTPUT_TOO_LARGE');
    const deep = await attack(
      `export default () => { let v = 1; for (let i = 0; i < 100; i++) v = [v]; return { result: v }; }`,
    );
    expect(deep.error).toMatchObject({
      code: 'CODE_OUTPUT_NOT_DATA',
      message: expect.stringMatching(/deeper than 64/),
    });
    const chatty = await attack(
      `export default (inputs, ctx) => { for (let i = 0; i < 100; i++) ctx.log.info('y'.repeat(10_000)); return { result: 1 }; }`,
    );
    expect(chatty.status).toBe('succeeded');
    const bytes = chatty.logs.reduce((s, l) => s + l.message.length, 0);
    expect(bytes).toBeLessThan(64 * 1024 + 200);
  });

  it('inputs too large for the sandbox are refused before they are sent', async () => {
    const r = await runNode(codeNode, {
      services: { codeSandbox: pool },
      inputs: { value: 'z'.repeat(300 * 1024) },
      config: { code: 'export default (i) => ({ result: i.value.length })' },
    });
    expect(r.error?.code).toBe('CODE_INPUT_TOO_LARGE');
  });
});

describe('the sandbox process failing', () => {
  it('a killed sandbox process fails its run with SANDBOX_CRASHED and a new one serves the next run', async () => {
    const crashPool = new SandboxPool({ limits: { maxCpuMs: 5_000 } });
    try {
      await crashPool.warm();
      const [pid] = crashPool.pids();
      const running = runNode(codeNode, {
        services: { codeSandbox: crashPool },
        inputs: { value: 1 },
        config: { code: 'export default () => { for (;;) {} }', cpuMs: 5_000 },
      });
      await new Promise((res) => setTimeout(res, 150));
      process.kill(pid!, 'SIGKILL');
      const r = await running;
      expect(r.error).toMatchObject({
        code: 'SANDBOX_CRASHED',
        message: expect.stringMatching(/stopped during the run \(killed by SIGKILL\); it is restarted/),
      });
      const next = await runNode(codeNode, {
        services: { codeSandbox: crashPool },
        inputs: { value: 20 },
        config: { code: 'export default ({ value }) => ({ result: value + 1 })' },
      });
      expect(next.outputs).toEqual({ result: 21 });
      expect(crashPool.pids()).not.toContain(pid);
      expect(crashPool.restarts).toBe(1);
    } finally {
      await crashPool.dispose();
    }
  });

  it('a sandbox process that stops answering is killed after its grace period and replaced', async () => {
    const hangPool = new SandboxPool({ graceMs: 300, limits: { maxCpuMs: 100 } });
    try {
      await hangPool.warm();
      const [pid] = hangPool.pids();
      const running = runNode(codeNode, {
        services: { codeSandbox: hangPool },
        inputs: { value: 1 },
        config: { code: 'export default () => ({ result: 1 })', cpuMs: 100 },
      });
      // Frozen as a wedged process would be: it neither answers nor exits.
      process.kill(pid!, 'SIGSTOP');
      const r = await running;
      expect(r.error).toMatchObject({
        code: 'SANDBOX_CRASHED',
        message: expect.stringMatching(/did not finish/),
      });
      const next = await runNode(codeNode, {
        services: { codeSandbox: hangPool },
        inputs: { value: 1 },
        config: { code: 'export default () => ({ result: "fresh" })' },
      });
      expect(next.outputs).toEqual({ result: 'fresh' });
    } finally {
      await hangPool.dispose();
    }
  });

  it('runs beyond a process concurrency wait their turn instead of failing', async () => {
    const small = new SandboxPool({ concurrency: 2 });
    try {
      const runs = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          runNode(codeNode, {
            services: { codeSandbox: small },
            inputs: { value: i },
            config: {
              code: 'export default ({ value }) => { let s = 0; for (let i = 0; i < 2e6; i++) s += i; return { result: value }; }',
            },
          }),
        ),
      );
      expect(runs.map((r) => r.outputs?.['result'])).toEqual([0, 1, 2, 3, 4, 5]);
    } finally {
      await small.dispose();
    }
  });
});
