import { createRuntime } from '@finflow/runtime';
import { createBuiltinRegistry } from '@finflow/nodes';
import { describe, expect, it } from 'vitest';
import { listTemplates } from './index.js';
import { goldenDiff, runFixture, runFixtureReviewed, writeExpected } from './testing.js';

const templates = listTemplates();
const update = process.env['FINFLOW_UPDATE_GOLDEN'] === '1';

describe('templates', () => {
  it('are all six scenarios', () => {
    expect(templates.map((t) => t.meta.id).sort()).toEqual([
      'anti-fraud',
      'compliance-automation',
      'credit-approval',
      'multimodal-customer-service',
      'robo-advisory',
      'wealth-recommendation',
    ]);
  });

  describe.each(templates.map((t) => [t.meta.id, t] as const))('%s', (_id, template) => {
    it('is a valid flow laid out for reading, with fixtures that have expected outputs', () => {
      const runtime = createRuntime({ registry: createBuiltinRegistry() });
      expect(runtime.validate(template.flow)).toEqual([]);
      const nodes = (template.flow['nodes'] ?? []) as { id: string; ui?: { position?: unknown } }[];
      for (const n of nodes) expect(n.ui?.position, `node ${n.id} has a canvas position`).toBeDefined();
      expect(template.fixtures.length).toBeGreaterThanOrEqual(3);
      for (const f of template.fixtures) expect(f.expected, `${f.name}.expected.json`).toBeDefined();
      for (const f of template.fixtures)
        expect(runtime.checkInput(runtime.prepare(template.flow), f.input), f.name).toEqual([]);
    });

    it.each(template.fixtures.map((f) => [f.name, f] as const))(
      'fixture %s gives its expected outputs (deterministic test model)',
      async (_name, fixture) => {
        const { result, reviewed } = await runFixtureReviewed(template, fixture, 'deterministic');
        // A fixture with reviewers' decisions is a case a person decides: it waited for each of them. The others
        // take the automated path and never wait.
        expect(reviewed.map((r) => r.nodeId).sort()).toEqual(Object.keys(fixture.decisions ?? {}).sort());
        expect(result.error, JSON.stringify(result.error)).toBeUndefined();
        expect(result.status).toBe('succeeded');
        if (update) writeExpected(template, fixture, result.outputs);
        else expect(goldenDiff(result.outputs, fixture.expected)).toEqual([]);
      },
    );

    it.each(template.fixtures.map((f) => [f.name, f] as const))(
      'fixture %s runs with the offline default model',
      async (_name, fixture) => {
        const result = await runFixture(template, fixture, 'offline');
        expect(result.error, JSON.stringify(result.error)).toBeUndefined();
        expect(result.status).toBe('succeeded');
        expect(Object.keys(result.outputs).sort()).toEqual(Object.keys(fixture.expected as object).sort());
      },
    );
  });
});
