import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { createRegistry, createRuntime } from '@finflow/runtime';
import { builtinNodes } from '../index.js';
import { chatNode } from '../model/chat.node.js';
import { disposeMultimodal } from './index.js';
import { characterErrorRate, expectedText, invoiceLines } from './test-helpers/media.js';

const fixture = (name: string) =>
  JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8'));

afterAll(() => disposeMultimodal());

describe('invoice image -> OCR -> model.chat (offline) -> output', () => {
  it('runs the fixture flow on the sample invoice', async () => {
    // model.chat is registered by the model category; until then the test adds it itself.
    const nodes = builtinNodes.some((n) => n.type === 'model.chat')
      ? builtinNodes
      : [...builtinNodes, chatNode];
    const runtime = createRuntime({ registry: createRegistry(nodes) });
    const r = await runtime.run(fixture('invoice-ocr-flow.json'), fixture('invoice-ocr-input.json'));
    expect(r.error).toBeUndefined();
    expect(r.status).toBe('succeeded');
    const cer = characterErrorRate(r.outputs['ocrText'] as string, expectedText(invoiceLines));
    expect(cer).toBeLessThanOrEqual(0.02);
    expect(r.outputs['ocrConfidence']).toBeGreaterThan(0.8);
    const answer = r.outputs['answer'] as string;
    console.info(answer);
    expect(answer).toContain('[offline extractive model: no LLM]');
    expect(answer).toContain('2,340.00');
  });
});
