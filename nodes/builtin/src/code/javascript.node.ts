/**
 * code.javascript: the user's own JavaScript or TypeScript, run in the sandbox (isolated-vm in a separate
 * process; see sandbox-process.mjs and SECURITY.md). Its ports are declared in its config, each with a type from
 * the closed set, so connections are checked like any node's and the editor types the code from them.
 */
import { defineNode, z } from '@finflow/sdk';
import { ERROR_PORT, portNamePattern, portTypeSchema } from '@finflow/runtime';
import { defaultCodeSandbox, MIN_MEMORY_MB } from './sandbox-pool.js';
import { codeLanguages, codeNonRetryable } from './sandbox.js';

/** Largest code a node holds (characters). */
export const MAX_CODE_LENGTH = 100_000;
/** Most ports on either side. */
export const MAX_CODE_PORTS = 32;

export const defaultCode = `// Runs in a sandbox: no require, import, network, files or timers. The clock is fixed at the node's start
// and Math.random is seeded, so the same inputs give the same outputs. defineRun types \`inputs\` and the
// result from the node's ports; return one value per output port.
export default defineRun((inputs, ctx) => {
  ctx.log.info('received', { ports: Object.keys(inputs) });
  return { result: inputs.value };
});
`;

const portField = (side: 'input' | 'output') =>
  z.object({
    name: z
      .string()
      .regex(portNamePattern, 'a port name starts with a letter or _ and holds letters, digits, _ and -')
      .meta({ title: 'Name', zh: { title: '名称' } }),
    type: portTypeSchema.default('any').meta({
      title: 'Type',
      description: 'the port type; connections are checked against it',
      zh: { title: '类型', description: '端口类型；连线时按此检查' },
    }),
    required: z
      .boolean()
      .default(true)
      .meta(
        side === 'input'
          ? {
              title: 'Required',
              description: 'the node waits for a value on this port (and is skipped without one)',
              zh: { title: '必填', description: '节点需要此端口有值才运行（没有值时跳过）' },
            }
          : {
              title: 'Always produced',
              description: 'the code always returns this output; turn off for an output it may leave out',
              zh: { title: '总是输出', description: '代码总会返回此输出；若可能不返回请关闭' },
            },
      ),
    description: z
      .string()
      .max(200)
      .optional()
      .meta({ title: 'Description', zh: { title: '说明' } }),
  });

export const codeNode = defineNode({
  type: 'code.javascript',
  version: 1,
  meta: {
    title: 'Code',
    category: 'custom',
    description:
      'Your own JavaScript or TypeScript with typed inputs and outputs, run in an isolated sandbox with memory and CPU limits',
    zh: {
      title: '代码',
      description:
        '自定义 JavaScript 或 TypeScript 代码，输入输出有类型，在隔离沙箱中运行，限制内存和 CPU 时间',
    },
    icon: 'code',
    tags: ['javascript', 'typescript', 'script', 'sandbox'],
  },
  config: z.object({
    language: z
      .enum(codeLanguages)
      .default('javascript')
      .meta({
        title: 'Language',
        description: 'TypeScript is transpiled before it runs; errors point at your TypeScript lines',
        zh: {
          title: '语言',
          description: 'TypeScript 会先转译再运行；报错指向 TypeScript 源码的行列',
          options: { javascript: 'JavaScript', typescript: 'TypeScript' },
        },
      }),
    code: z
      .string()
      .min(1)
      .max(MAX_CODE_LENGTH)
      .default(defaultCode)
      .meta({
        title: 'Code',
        description:
          'an ES module whose default export is run(inputs, ctx), or defineRun((inputs, ctx) => ...), returning the outputs; ctx has log, now() and random()',
        widget: 'code',
        zh: {
          title: '代码',
          description:
            'ES 模块，默认导出 run(inputs, ctx) 或 defineRun((inputs, ctx) => ...)，返回各输出；ctx 提供 log、now() 和 random()',
        },
      }),
    inputs: z
      .array(portField('input'))
      .max(MAX_CODE_PORTS)
      .default([{ name: 'value', type: 'any', required: true }])
      .meta({ title: 'Inputs', zh: { title: '输入端口' } }),
    outputs: z
      .array(portField('output'))
      .max(MAX_CODE_PORTS)
      .default([{ name: 'result', type: 'any', required: true }])
      .meta({ title: 'Outputs', zh: { title: '输出端口' } }),
    memoryMb: z
      .number()
      .int()
      .min(MIN_MEMORY_MB)
      .max(4096)
      .default(64)
      .meta({
        title: 'Memory limit (MB)',
        description: 'heap of the sandbox; the server may set a lower ceiling',
        group: 'Limits',
        zh: { title: '内存上限（MB）', description: '沙箱堆内存；服务器可能设有更低的上限' },
      }),
    cpuMs: z
      .number()
      .int()
      .min(1)
      .max(600_000)
      .default(1_000)
      .meta({
        title: 'CPU time limit (ms)',
        description: 'CPU time of one run; the server may set a lower ceiling',
        group: 'Limits',
        zh: { title: 'CPU 时间上限（毫秒）', description: '单次运行的 CPU 时间；服务器可能设有更低的上限' },
      }),
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 32 - 1)
      .default(1)
      .meta({
        title: 'Random seed',
        description: 'seed of Math.random and ctx.random: the same seed gives the same numbers in every run',
        group: 'Limits',
        zh: {
          title: '随机种子',
          description: 'Math.random 与 ctx.random 的种子：相同种子每次运行得到相同序列',
        },
      }),
  }),
  dynamicInputs: {
    path: 'inputs',
    mode: 'items',
    nameKey: 'name',
    typeKey: 'type',
    requiredKey: 'required',
    descriptionKey: 'description',
    type: 'any',
  },
  dynamicOutputs: {
    path: 'outputs',
    mode: 'items',
    nameKey: 'name',
    typeKey: 'type',
    requiredKey: 'required',
    descriptionKey: 'description',
    type: 'any',
  },
  // No declared ports: every port comes from the config.
  inputs: {},
  outputs: {},
  timeoutMs: 30_000,
  retry: { nonRetryable: [...codeNonRetryable] },
  validate(config, helpers) {
    for (const side of ['inputs', 'outputs'] as const) {
      const seen = new Set<string>();
      config[side].forEach((p, i) => {
        if (seen.has(p.name)) helpers.problem(`two ${side} are named ${p.name}`, [side, i, 'name']);
        seen.add(p.name);
        if (side === 'outputs' && p.name === ERROR_PORT)
          helpers.problem(
            `"${ERROR_PORT}" is the output that carries routed errors; name the output differently`,
            [side, i, 'name'],
          );
      });
    }
  },
  async run(ctx, inputs, config) {
    const sandbox = ctx.services.codeSandbox ?? defaultCodeSandbox();
    const { maxMemoryMb, maxCpuMs } = sandbox.limits;
    if (config.memoryMb > maxMemoryMb)
      ctx.log.warn(`memory limit lowered to the server's ceiling of ${maxMemoryMb} MB`, {
        asked: config.memoryMb,
      });
    if (config.cpuMs > maxCpuMs)
      ctx.log.warn(`CPU time limit lowered to the server's ceiling of ${maxCpuMs} ms`, {
        asked: config.cpuMs,
      });
    const result = await sandbox.run({
      language: config.language,
      code: config.code,
      inputs: { ...inputs },
      memoryMb: config.memoryMb,
      cpuMs: config.cpuMs,
      now: ctx.services.clock.now(),
      seed: config.seed,
      meta: { runId: ctx.runId, nodeId: ctx.nodeId, attempt: ctx.attempt },
      signal: ctx.signal,
      onLog: (level, message, data) => ctx.log[level](message, data),
    });
    ctx.log.debug('sandbox run', {
      cpuMs: Math.round(result.cpuMs * 100) / 100,
      wallMs: Math.round(result.wallMs * 100) / 100,
    });
    return result.outputs;
  },
});
