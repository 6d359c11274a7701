/**
 * The check on real data of issue 13: evaluating the credit-approval template on German Credit reproduces what its
 * scorecard node says about itself. On the 993 rows it was trained on, the flow's AUC is the node's training AUC
 * (so the template's input mapping and feature row feed the model exactly as training did), and the node's
 * 10-fold cross-validated AUC and cost under the 5:1 matrix lie within the evaluation's 95% bootstrap intervals.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createRuntime, evaluateFlows } from '@finflow/runtime';
import { parseDataset, reportToMarkdown, type EvaluationSpecInput } from '@finflow/runtime/evaluation';
import { createBuiltinRegistry } from '@finflow/nodes';
import { getTemplate } from '@finflow/templates';

const root = new URL('../../', import.meta.url);

interface Training {
  auc: number;
  crossValidation: { auc: number; cost: number; accuracy: number };
}

describe('finflow eval of the credit-approval scorecard on German Credit', () => {
  it('reproduces the node’s training AUC in sample and its cross-validated AUC and cost within sampling error', async () => {
    const template = getTemplate('credit-approval');
    if (!template) throw new Error('the credit-approval template is missing');
    const flow = template.flow as { nodes: { id: string; config: { model?: { training: Training } } }[] };
    const training = flow.nodes.find((n) => n.id === 'scorecard')?.config.model?.training as Training;
    const config = JSON.parse(
      readFileSync(new URL('templates/credit-approval/train-config.json', root), 'utf8'),
    ) as {
      heldOutRows: number[];
    };
    const spec = JSON.parse(
      readFileSync(new URL('templates/credit-approval/evaluation/german-credit.json', root), 'utf8'),
    ) as EvaluationSpecInput & { $comment?: string };
    delete spec.$comment;
    const all = parseDataset(
      readFileSync(new URL('datasets/german-credit/german-credit.csv', root), 'utf8'),
      'csv',
    );
    const held = new Set(config.heldOutRows);
    const rows = all.filter((_, i) => !held.has(i));
    expect(rows).toHaveLength(993);
    const runtime = createRuntime({ registry: createBuiltinRegistry() });
    const progress: number[] = [];
    const report = await evaluateFlows({
      runtime,
      versions: [{ version: 'credit-approval', flow: runtime.prepare(template.flow) }],
      rows,
      datasetName: 'german-credit.csv',
      spec: { ...spec, concurrency: 8, bootstrap: 500 },
      onProgress: (p) => progress.push(p.done),
    });
    const v = report.versions[0];
    if (!v) throw new Error('no version in the report');
    expect(progress.at(-1)).toBe(993);
    expect(v.performance).toMatchObject({ runs: 993, failed: 0, waiting: 0 });
    const scores = v.quality.scores;
    if (!scores?.aucInterval || !v.quality.cost?.interval) throw new Error('no AUC or cost in the report');
    // In sample: the flow's probabilities are the model's (rounded to 4 places by the template's decide step).
    expect(Math.abs(scores.auc - training.auc)).toBeLessThan(1e-3);
    // Out of sample, the node's own 10-fold figures, inside the evaluation's 95% intervals.
    const cv = training.crossValidation;
    expect(cv.auc).toBeGreaterThan(scores.aucInterval.lo);
    expect(cv.auc).toBeLessThan(scores.aucInterval.hi);
    expect(cv.cost).toBeGreaterThan(v.quality.cost.interval.lo);
    expect(cv.cost).toBeLessThan(v.quality.cost.interval.hi);
    // The Bayes rule of the 5:1 matrix catches most bad loans at the price of many declined good ones.
    expect(v.quality.binary?.recall).toBeGreaterThan(0.85);
    // foreign_worker is held out of the model; the report states the four-fifths reading for it.
    expect(v.quality.adverseImpact?.groups.map((g) => g.group).sort()).toEqual(['A201', 'A202']);
    expect(reportToMarkdown(report)).toContain('| scorecard |');
  }, 300_000);
});
