import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRegistry, createRuntime } from '@finflow/runtime';
import { runNode, runNodeOk } from '@finflow/sdk/testing';
import { classifyNode } from './classify.node.js';
import { trainClassifierNode } from './train-classifier.node.js';
import { readBanking77 } from './test-helpers/datasets.js';
import { openAiCompletion, startMockServer, type MockServer } from './test-helpers/mock-llm.js';
import { openAiAt, withConnections } from './test-helpers/connections.js';

const complaints = [
  { text: 'I was charged twice for the same purchase', label: 'billing' },
  { text: 'There is a fee on my statement I do not recognise', label: 'billing' },
  { text: 'Why was my account debited two times', label: 'billing' },
  { text: 'The monthly charge is higher than agreed', label: 'billing' },
  { text: 'My card was stolen last night', label: 'fraud' },
  { text: 'Someone used my card without permission', label: 'fraud' },
  { text: 'There are transactions I did not make', label: 'fraud' },
  { text: 'I think my account has been hacked', label: 'fraud' },
  { text: 'How do I change my address', label: 'account' },
  { text: 'I want to update my phone number', label: 'account' },
  { text: 'Please close my savings account', label: 'account' },
  { text: 'How can I change the email on my profile', label: 'account' },
];

describe('model.classify, trained backend on BANKING77', () => {
  const train = readBanking77('train');
  const test = readBanking77('test');
  let artifact: Record<string, unknown>;
  let metrics: Record<string, number>;

  beforeAll(async () => {
    const out = await runNodeOk(trainClassifierNode, {
      config: { labelColumn: 'category' },
      inputs: { examples: train.map((e) => ({ text: e.text, category: e.label })) },
      timeoutMs: 120_000,
    });
    artifact = out['artifact'] as Record<string, unknown>;
    metrics = out['metrics'] as Record<string, number>;
    // Training time is reported, not asserted (benchmarks measure speed).
    console.info(
      `BANKING77: trained on ${metrics['examples']} examples in ${metrics['trainingMs']} ms, ${metrics['features']} features, artefact ${(metrics['artifactBytes'] ?? 0) / 1e6} MB`,
    );
  }, 120_000);

  it('reaches at least 0.88 accuracy on the 3,080 test utterances', async () => {
    expect(metrics['labels']).toBe(77);
    // The artefact goes through JSON as it would when stored in a flow.
    const stored = JSON.parse(JSON.stringify(artifact)) as Record<string, unknown>;
    const runtime = createRuntime({ registry: createRegistry([classifyNode]) });
    let correct = 0;
    for (const e of test) {
      const r = await runtime.runNode(
        { type: 'model.classify', config: {} },
        { text: e.text, artifact: stored },
      );
      if (r.outputs?.['label'] === e.label) correct++;
    }
    const accuracy = correct / test.length;
    console.info(`BANKING77 test accuracy ${accuracy.toFixed(4)} (${correct}/${test.length})`);
    expect(accuracy).toBeGreaterThanOrEqual(0.88);
  }, 120_000);

  it('gives a confidence and ranked alternatives', async () => {
    const out = await runNodeOk(classifyNode, {
      config: { alternatives: 2 },
      inputs: { text: 'My card still has not arrived, it has been two weeks', artifact },
    });
    expect(out['label']).toBe('card_arrival');
    const alternatives = out['alternatives'] as { label: string; confidence: number }[];
    expect(alternatives).toHaveLength(2);
    expect(out['confidence']).toBeGreaterThan(alternatives[0]?.confidence ?? 1);
    expect((alternatives[0]?.confidence ?? 0) >= (alternatives[1]?.confidence ?? 0)).toBe(true);
    expect(out['model']).toMatch(/^trained:tfidf-logreg [0-9a-f]{12}$/);
  });
});

describe('model.classify, trained backend on inline examples', () => {
  it('routes complaints and trains once for repeated runs', async () => {
    const first = await runNode(classifyNode, {
      config: { examples: complaints },
      inputs: { text: 'there is a transaction on my card that I did not make' },
    });
    expect(first.outputs?.['label']).toBe('fraud');
    const second = await runNode(classifyNode, {
      config: { examples: complaints },
      inputs: { text: 'I need to change my postal address' },
    });
    expect(second.outputs?.['label']).toBe('account');
    expect(second.outputs?.['model']).toBe(first.outputs?.['model']);
  });

  it('reads examples from an input table with its own column names', async () => {
    const rows = complaints.map((c) => ({ message: c.text, team: c.label }));
    const out = await runNodeOk(classifyNode, {
      config: { textColumn: 'message', labelColumn: 'team' },
      inputs: { text: 'you billed me two times this month', examples: rows },
    });
    expect(out['label']).toBe('billing');
  });

  it('falls back below the minimum confidence', async () => {
    const out = await runNodeOk(classifyNode, {
      config: { examples: complaints, minConfidence: 0.99, fallbackLabel: 'human_review' },
      inputs: { text: 'hello' },
    });
    expect(out['label']).toBe('human_review');
    expect(out['confidence']).toBeLessThan(0.99);
  });

  it('refuses bad training data and bad artefacts with clear codes', async () => {
    const one = await runNode(classifyNode, {
      config: { examples: complaints.filter((c) => c.label === 'fraud') },
      inputs: { text: 'x' },
    });
    expect(one.error?.code).toBe('INSUFFICIENT_TRAINING_DATA');
    expect(one.error?.message).toContain('at least two labels');
    const none = await runNode(classifyNode, { inputs: { text: 'x' } });
    expect(none.error?.code).toBe('INSUFFICIENT_TRAINING_DATA');
    const bad = await runNode(classifyNode, {
      inputs: { text: 'x', artifact: { kind: 'finflow.textClassifier', labels: ['a'] } },
    });
    expect(bad.error?.code).toBe('INVALID_ARTIFACT');
    const missing = await runNode(classifyNode, {
      config: { textColumn: 'body' },
      inputs: { text: 'x', examples: [{ text: 'a', label: 'b' }] },
    });
    expect(missing.error?.code).toBe('INVALID_INPUT');
    expect(missing.error?.message).toContain('column "body"');
  });
});

describe('model.trainClassifier', () => {
  it('reports hold-out accuracy on examples it did not train on', async () => {
    const labels = new Set([
      'card_arrival',
      'lost_or_stolen_card',
      'exchange_rate',
      'top_up_failed',
      'pin_blocked',
    ]);
    const rows = readBanking77('train').filter((e) => labels.has(e.label));
    const out = await runNodeOk(trainClassifierNode, {
      inputs: { examples: rows },
      config: { holdout: 0.2 },
    });
    const m = out['metrics'] as Record<string, number>;
    expect(m['labels']).toBe(5);
    expect(m['holdoutExamples']).toBeGreaterThan(0.15 * rows.length);
    expect((m['examples'] ?? 0) + (m['holdoutExamples'] ?? 0)).toBe(rows.length);
    expect(m['holdoutAccuracy']).toBeGreaterThanOrEqual(0.9);
    expect((out['artifact'] as { kind: string }).kind).toBe('finflow.textClassifier');
  });
});

describe('model.classify, LLM backend', () => {
  let server: MockServer;
  afterAll(() => server?.close());
  const labels = [
    { name: 'billing', description: 'charges, fees, double payments' },
    { name: 'fraud', description: 'stolen cards, unauthorised transactions' },
    { name: 'account', description: 'profile and account changes' },
  ];

  it('asks the model to choose among the labels and returns its choice', async () => {
    server = await startMockServer(() => ({
      json: openAiCompletion(
        JSON.stringify({
          label: 'fraud',
          confidence: 0.9,
          alternatives: [{ label: 'billing', confidence: 0.07 }],
        }),
      ),
    }));
    const out = await runNodeOk(classifyNode, {
      config: { backend: 'llm', labels, provider: 'connection', connection: 'llm', model: 'gpt-4o-mini' },
      inputs: { text: 'Someone spent money on my card in another country' },
      ...withConnections({ llm: openAiAt(server.url) }),
    });
    expect(out).toMatchObject({
      label: 'fraud',
      confidence: 0.9,
      alternatives: [{ label: 'billing', confidence: 0.07 }],
      model: 'openai:mock-gpt',
    });
    const body = server.requests[0]?.body as {
      messages: { content: string }[];
      response_format: { json_schema: { schema: { properties: { label: { enum: string[] } } } } };
    };
    expect(body.messages[0]?.content).toContain('- fraud: stolen cards, unauthorised transactions');
    expect(body.response_format.json_schema.schema.properties.label.enum).toEqual([
      'billing',
      'fraud',
      'account',
    ]);
  });

  it('rejects a label that is not one of the choices', async () => {
    const s = await startMockServer(() => ({
      json: openAiCompletion(JSON.stringify({ label: 'mortgage', confidence: 0.8 })),
    }));
    const r = await runNode(classifyNode, {
      config: { backend: 'llm', labels, provider: 'connection', connection: 'llm', model: 'gpt-4o-mini' },
      inputs: { text: 'x' },
      ...withConnections({ llm: openAiAt(s.url) }),
      retry: { maxAttempts: 1 },
    });
    await s.close();
    expect(r.error?.code).toBe('STRUCTURED_OUTPUT_INVALID');
    expect(r.error?.message).toContain('label');
  });

  it('says the offline model cannot do it', async () => {
    const r = await runNode(classifyNode, { config: { backend: 'llm', labels }, inputs: { text: 'x' } });
    expect(r.error?.code).toBe('INVALID_CONFIG');
    expect(r.error?.message).toContain('offline model is not an LLM');
  });
});
