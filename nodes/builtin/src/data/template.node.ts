/** data.template: fills `{{ name }}` placeholders in a text from the node's inputs and upstream results. */
import { defineNode, NodeError, port, z } from '@finflow/sdk';
import { portNamePattern } from '@finflow/runtime';

const placeholder = /\\\{\{|\{\{\s*([A-Za-z_][\w-]*(?:\.[\w-]+)*)\s*\}\}/g;

function lookup(root: Record<string, unknown>, path: string): unknown {
  let cur: unknown = root;
  for (const key of path.split('.')) {
    if (cur === null || typeof cur !== 'object' || !Object.hasOwn(cur, key)) return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

function show(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value, null, 2);
}

/** Names of the placeholders in a template, in order of first use. */
export function templateVariables(template: string): string[] {
  const names = new Set<string>();
  for (const m of template.matchAll(placeholder)) if (m[1]) names.add(m[1]);
  return [...names];
}

/** Renders a template; `missing` receives each placeholder without a value. */
export function renderTemplate(template: string, root: Record<string, unknown>, missing: (name: string) => string): string {
  return template.replace(placeholder, (match, name: string | undefined) => {
    if (name === undefined) return '{{'; // an escaped \{{
    const value = lookup(root, name);
    return value === undefined || value === null ? missing(name) : show(value);
  });
}

export const templateNode = defineNode({
  type: 'data.template',
  version: 1,
  meta: {
    title: 'Text template',
    category: 'data',
    description:
      'Fills {{ name }} placeholders from its inputs (one per listed variable), `input` and `nodes`; paths like {{ applicant.name }} reach inside values. Write \\{{ for a literal {{.',
    zh: { title: '文本模板', description: '用输入值、流程输入和上游结果填充 {{ 变量 }} 占位符。' },
    icon: 'text',
  },
  config: z.object({
    template: z.string().meta({ title: 'Template', widget: 'prompt', zh: { title: '模板' } }),
    variables: z
      .array(z.string().regex(portNamePattern))
      .max(64)
      .default([])
      .meta({ title: 'Variables', description: 'Each becomes an input of the node', zh: { title: '变量', description: '每个变量都会成为节点的一个输入' } }),
    onMissing: z
      .enum(['error', 'empty'])
      .default('error')
      .meta({ title: 'Missing values', description: 'error: fail the node; empty: leave the placeholder blank', zh: { title: '缺失值处理', description: '报错：节点执行失败；留空：占位符替换为空', options: { error: '报错', empty: '留空' } } }),
  }),
  outputs: { text: port('text', { title: 'Text', zh: { title: '文本' } }) },
  dynamicInputs: { path: 'variables', mode: 'items', type: 'any', required: false },
  timeoutMs: 5_000,
  validate(config, helpers) {
    const known = new Set(['input', 'nodes', ...config.variables]);
    for (const name of templateVariables(config.template)) {
      const head = name.split('.')[0] as string;
      if (!known.has(head)) {
        helpers.problem(`{{ ${name} }} reads "${head}", which is neither a variable nor input/nodes`, ['template']);
      }
    }
  },
  run(ctx, inputs, { template, variables, onMissing }) {
    const root: Record<string, unknown> = { input: ctx.scope.input, nodes: ctx.scope.nodes };
    for (const v of variables) if (inputs[v] !== undefined) root[v] = inputs[v];
    const missing: string[] = [];
    const text = renderTemplate(template, root, (name) => {
      missing.push(name);
      return '';
    });
    if (missing.length && onMissing === 'error') {
      throw new NodeError(`no value for ${missing.map((m) => `{{ ${m} }}`).join(', ')}`, 'TEMPLATE_VARIABLE_MISSING');
    }
    return { text };
  },
});
