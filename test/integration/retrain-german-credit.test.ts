/**
 * Continuous learning on real data (issue 13): a deliberately under-trained scorecard (30 applicants) is retrained
 * from simulated feedback (the outcomes of 600 more), the retrained flow is evaluated against the under-trained
 * champion on a holdout neither saw, and it improves; the improvement the report states is the difference of the
 * two versions' own figures, and the paired interval of the accuracy gain excludes zero.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createRuntime, evaluateFlows, retrainNode, RetrainError, type FlowDocument } from '@finflow/runtime';
import { parseDataset, seededRandom, type EvaluationSpecInput } from '@finflow/runtime/evaluation';
import { createBuiltinRegistry } from '@finflow/nodes';
import { getTemplate } from '@finflow/templates';

const root = new URL('../../', import.meta.url);

describe('retraining the credit-approval scorecard from feedback', () => {
  it('improves an under-trained model on the holdout, by what the report says', async () => {
    const template = getTemplate('credit-approval');
    if (!template) throw new Error('the credit-approval template is missing');
    const config = JSON.parse(
      readFileSync(new URL('templates/credit-approval/train-config.json', root), 'utf8'),
    ) as {
      heldOutRows: number[];
      node: Record<string, unknown> & { crossValidate?: number };
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
    // A seeded shuffle: 300 applicants for the holdout; the first 30 of the rest train the under-trained model, and
    // those 30 with 600 more (their outcomes reported as feedback) train the retrained one.
    const random = seededRandom(13);
    const rows = all.filter((_, i) => !held.has(i)).map((r) => ({ r, k: random() }));
    rows.sort((a, b) => a.k - b.k);
    const shuffled = rows.map((x) => x.r);
    const holdout = shuffled.slice(0, 300);
    const early = shuffled.slice(300, 330);
    const feedback = shuffled.slice(300, 930);
    const runtime = createRuntime({ registry: createBuiltinRegistry() });
    // No cross-validation: the evaluation on the holdout is the measure here.
    const { crossValidate: _cv, ...trainConfig } = { ...config.node, thresholdFrom: 'costMatrix' };
    const flow = template.flow as unknown as FlowDocument;
    const champion = await retrainNode({ runtime, flow, nodeId: 'scorecard', rows: early, trainConfig });
    const challenger = await retrainNode({ runtime, flow, nodeId: 'scorecard', rows: feedback, trainConfig });
    expect((challenger.model as { training: { rows: number } }).training.rows).toBe(630);
    // The template's own flow is untouched: the retrained one is a new draft.
    expect(JSON.stringify(flow)).toBe(JSON.stringify(template.flow));

    const report = await evaluateFlows({
      runtime,
      versions: [
        { version: 'under-trained', flow: runtime.prepare(champion.flow) },
        { version: 'retrained', flow: runtime.prepare(challenger.flow) },
      ],
      rows: holdout,
      datasetName: 'german-credit holdout',
      spec: { ...spec, concurrency: 8, bootstrap: 500 },
    });
    const [a, b] = report.versions;
    const c = report.comparisons[0];
    if (!a?.quality.scores || !b?.quality.scores || !c?.auc)
      throw new Error('the report has no AUC comparison');
    expect(c.auc.estimate).toBeCloseTo(b.quality.scores.auc - a.quality.scores.auc, 12);
    // Measured: AUC 0.731 → 0.756 (the reviewed coarse classes keep even 30 applicants' model sound, so the
    // AUC gain's interval still holds 0); accuracy at the cost-based cut-off 0.07 higher, interval above 0.
    expect(c.auc.estimate).toBeGreaterThan(0);
    expect(b.quality.scores.auc).toBeGreaterThan(0.75);
    expect(c.accuracy.lo).toBeGreaterThan(0);
    expect(c.mcnemar.c).toBeGreaterThan(c.mcnemar.b);
    expect(c.accuracy.estimate).toBeCloseTo(b.quality.accuracy - a.quality.accuracy, 12);
    if (a.quality.cost && b.quality.cost && c.cost)
      expect(c.cost.estimate).toBeCloseTo(b.quality.cost.perRow - a.quality.cost.perRow, 12);
  }, 300_000);

  it('refuses a node that does not train', async () => {
    const runtime = createRuntime({ registry: createBuiltinRegistry() });
    const flow = getTemplate('credit-approval')?.flow as unknown as FlowDocument;
    await expect(
      retrainNode({ runtime, flow, nodeId: 'decide', rows: [], trainConfig: {} }),
    ).rejects.toBeInstanceOf(RetrainError);
    await expect(
      retrainNode({ runtime, flow, nodeId: 'nope', rows: [], trainConfig: {} }),
    ).rejects.toMatchObject({
      code: 'NODE_NOT_FOUND',
    });
  });
});
