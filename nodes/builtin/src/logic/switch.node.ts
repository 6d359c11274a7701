/** logic.switch: routes its value to the named case whose condition holds (or to `default`). */
import { defineNode, NodeError, port, z } from '@finflow/sdk';
import { portNamePattern } from '@finflow/runtime';

export const switchNode = defineNode({
  type: 'logic.switch',
  version: 1,
  meta: {
    title: 'Switch',
    category: 'logic',
    description:
      'Sends its value to the first case whose condition holds (or every such case), else to "default". Each case is an output.',
    zh: {
      title: '多路分支',
      description: '把值送往第一个条件成立的分支（或所有成立的分支），否则送往 "default"。',
    },
    icon: 'switch',
  },
  config: z.object({
    cases: z
      .array(
        z.object({
          name: z
            .string()
            .regex(portNamePattern, 'case names are port names')
            .meta({ title: 'Case', zh: { title: '分支名称' } }),
          when: z
            .string()
            .min(1)
            .meta({ title: 'Condition', widget: 'expression', zh: { title: '条件' } }),
        }),
      )
      .min(1)
      .meta({ title: 'Cases', zh: { title: '分支' } }),
    mode: z
      .enum(['first', 'all'])
      .default('first')
      .meta({
        title: 'Match',
        description: 'first: the first case that holds; all: every case that holds',
        zh: {
          title: '匹配方式',
          description: '首个匹配：仅第一个成立的分支；全部匹配：所有成立的分支',
          options: { first: '首个匹配', all: '全部匹配' },
        },
      }),
  }),
  inputs: { value: port('any', { title: 'Value', zh: { title: '值' } }) },
  outputs: { default: port('any', { title: 'Default', zh: { title: '默认' }, required: false }) },
  dynamicOutputs: { path: 'cases', mode: 'items', nameKey: 'name', type: 'any', required: false },
  timeoutMs: 5_000,
  validate(config, helpers) {
    const seen = new Set<string>();
    config.cases.forEach((c, i) => {
      helpers.expression(c.when, ['cases', i, 'when']);
      if (c.name === 'default')
        helpers.problem('"default" is the fallback output; name the case differently', ['cases', i, 'name']);
      if (seen.has(c.name)) helpers.problem(`two cases are named ${c.name}`, ['cases', i, 'name']);
      seen.add(c.name);
    });
  },
  run(ctx, { value }, { cases, mode }) {
    const data = { value, input: ctx.scope.input, nodes: ctx.scope.nodes };
    const out: Record<string, unknown> = {};
    const done = () => {
      if (Object.keys(out).length === 0) out['default'] = value;
      return out;
    };
    /** True when the search is over. */
    const take = (c: (typeof cases)[number], r: unknown): boolean => {
      if (r !== undefined && typeof r !== 'boolean') {
        throw new NodeError(`case ${c.name}: the condition must give true or false`, 'CONDITION_NOT_BOOLEAN');
      }
      if (r !== true) return false;
      out[c.name] = value;
      return mode === 'first';
    };
    // Cases are tried in order; synchronously while the inline evaluator answers, then awaiting the pool.
    const from = async (start: number, pending: Promise<unknown>) => {
      if (take(cases[start] as (typeof cases)[number], await pending)) return done();
      for (let i = start + 1; i < cases.length; i++) {
        const c = cases[i] as (typeof cases)[number];
        if (take(c, await ctx.evaluate(c.when, data))) break;
      }
      return done();
    };
    for (let i = 0; i < cases.length; i++) {
      const c = cases[i] as (typeof cases)[number];
      const r = ctx.evaluate(c.when, data);
      if (r instanceof Promise) return from(i, r);
      if (take(c, r)) break;
    }
    return done();
  },
});
