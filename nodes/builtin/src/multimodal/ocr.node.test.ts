import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runNode, runNodeOk } from '@finflow/sdk/testing';
import { ocrNode } from './ocr.node.js';
import { disposeOcr, ocrPoolStats } from './ocr-engine.js';
import {
  bankNoticeSimplified,
  bankNoticeTraditional,
  characterErrorRate,
  dataUrl,
  degrade,
  expectedText,
  invoiceLines,
  renderDocument,
} from './test-helpers/media.js';
import { flowOf, inputNode, outputNode, runFlow } from '../test-helpers/flows.js';

const image = (png: Buffer, mimeType = 'image/png') => ({ mimeType, data: png.toString('base64') });

let invoice: Buffer;

beforeAll(async () => {
  invoice = await renderDocument(invoiceLines, { font: 'DejaVu Sans' });
});
afterAll(() => disposeOcr());

describe('multimodal.ocr', () => {
  it('reads an English invoice with its table rows, lines and boxes', async () => {
    const out = await runNodeOk(ocrNode, { inputs: { image: image(invoice) } });
    const cer = characterErrorRate(out['text'] as string, expectedText(invoiceLines));
    console.info(`OCR CER, English invoice: ${(cer * 100).toFixed(2)}%`);
    expect(cer).toBeLessThanOrEqual(0.02);
    expect(out['text']).toMatch(/Total due \(GBP\)\s+2,340\.00/);
    expect(out['language']).toBe('eng');
    expect(out['confidence']).toBeGreaterThan(0.8);
    const lines = out['lines'] as {
      text: string;
      bbox: { x0: number; y0: number; x1: number; y1: number };
    }[];
    expect(lines.map((l) => l.text)).toHaveLength(invoiceLines.length);
    const total = lines.find((l) => l.text.startsWith('Total due'))!;
    // Rows are rendered 44 px apart from y = 60; the total is row 10 (baseline 456).
    expect(total.bbox.y0).toBeGreaterThan(420);
    expect(total.bbox.y1).toBeLessThan(470);
    expect(total.bbox.x1).toBeGreaterThan(1000);
  });

  it('keeps the worker between runs (the second page is warm)', async () => {
    await runNodeOk(ocrNode, { inputs: { image: image(invoice) } });
    const out = await runNodeOk(ocrNode, { inputs: { image: image(invoice) } });
    expect((out['meta'] as { coldStart: boolean }).coldStart).toBe(false);
    expect(ocrPoolStats().busy).toBe(0);
  });

  it('reads a simplified Chinese bank notice with eng+chi_sim', async () => {
    const png = await renderDocument(bankNoticeSimplified, { font: 'Noto Sans CJK SC', size: 30 });
    const out = await runNodeOk(ocrNode, {
      config: { languages: ['eng', 'chi_sim'] },
      inputs: { image: image(png) },
    });
    const cer = characterErrorRate(out['text'] as string, expectedText(bankNoticeSimplified));
    console.info(`OCR CER, simplified Chinese notice: ${(cer * 100).toFixed(2)}%`);
    expect(cer).toBeLessThanOrEqual(0.02);
    expect(out['text']).toContain('36,842.17');
    expect(out['language']).toBe('eng+chi_sim');
  });

  it('reads a traditional Chinese notice with chi_tra', async () => {
    const png = await renderDocument(bankNoticeTraditional, { font: 'Noto Sans CJK TC', size: 30 });
    const out = await runNodeOk(ocrNode, {
      config: { languages: ['chi_tra', 'eng'] },
      inputs: { image: image(png) },
    });
    const cer = characterErrorRate(out['text'] as string, expectedText(bankNoticeTraditional));
    console.info(`OCR CER, traditional Chinese notice: ${(cer * 100).toFixed(2)}%`);
    expect(cer).toBeLessThanOrEqual(0.02);
    expect(out['text']).toContain('帳戶');
  });

  it('reads a photocopy-quality JPEG of the invoice', async () => {
    const out = await runNodeOk(ocrNode, { inputs: { image: image(await degrade(invoice), 'image/jpeg') } });
    const cer = characterErrorRate(out['text'] as string, expectedText(invoiceLines));
    console.info(
      `OCR CER, fax-quality invoice (60% resolution, rotated, noisy, JPEG q35): ${(cer * 100).toFixed(2)}%`,
    );
    expect(cer).toBeLessThanOrEqual(0.05);
  });

  it('takes a data URL through the text-to-image coercion in a flow', async () => {
    const flow = flowOf(
      [
        inputNode({ scan: { type: 'string' } }, ['scan']),
        { id: 'ocr', type: 'multimodal.ocr' },
        outputNode('out'),
      ],
      ['in.scan->ocr.image', 'ocr.text->out.value'],
    );
    const r = await runFlow(flow, { scan: dataUrl('image/png', invoice) });
    expect(r.status).toBe('succeeded');
    expect(r.outputs['out']).toContain('INV-2024-0117');
  });

  it('fails with a code on an unreadable image, bad base64 and a blank page', async () => {
    const junk = await runNode(ocrNode, {
      inputs: { image: { mimeType: 'image/png', data: Buffer.from('not an image').toString('base64') } },
    });
    expect(junk.error?.code).toBe('IMAGE_UNREADABLE');
    const truncated = await runNode(ocrNode, { inputs: { image: image(invoice.subarray(0, 2000)) } });
    expect(truncated.error?.code).toBe('IMAGE_UNREADABLE');
    const bad = await runNode(ocrNode, { inputs: { image: { mimeType: 'image/png', data: '***' } } });
    expect(bad.error?.code).toBe('INVALID_INPUT');
    const blank = await renderDocument([], { font: 'DejaVu Sans' });
    const empty = await runNode(ocrNode, { inputs: { image: image(blank) } });
    expect(empty.error?.code).toBe('OCR_NO_TEXT');
    const allowed = await runNodeOk(ocrNode, {
      config: { allowEmpty: true },
      inputs: { image: image(blank) },
    });
    expect(allowed['text']).toBe('');
  });

  it('fails below the minimum confidence', async () => {
    const r = await runNode(ocrNode, {
      config: { minConfidence: 0.99 },
      inputs: { image: image(await degrade(invoice)) },
    });
    expect(r.error?.code).toBe('OCR_LOW_CONFIDENCE');
  });

  it('queues pages beyond the pool size and switches language sets without losing any', async () => {
    const zh = await renderDocument(bankNoticeSimplified.slice(0, 2), { font: 'Noto Sans CJK SC', size: 30 });
    const jobs = [
      runNodeOk(ocrNode, { inputs: { image: image(invoice) } }),
      runNodeOk(ocrNode, { config: { languages: ['eng', 'chi_sim'] }, inputs: { image: image(zh) } }),
      runNodeOk(ocrNode, { inputs: { image: image(invoice) } }),
      runNodeOk(ocrNode, { config: { languages: ['chi_sim'] }, inputs: { image: image(zh) } }),
    ];
    const pending = Promise.all(jobs);
    await new Promise((r) => setTimeout(r, 50));
    expect(ocrPoolStats().workers).toBeLessThanOrEqual(2);
    const results = await pending;
    expect(results.map((r) => (r['text'] as string).includes('INV-2024-0117'))).toEqual([
      true,
      false,
      true,
      false,
    ]);
    expect(results[1]!['text']).toContain('账户变动通知');
    expect(results[3]!['text']).toContain('账户变动通知');
    expect(ocrPoolStats()).toMatchObject({ busy: 0, queued: 0 });
    expect(ocrPoolStats().workers).toBeLessThanOrEqual(2);
  });

  it('stops the worker when the run is cancelled, and the next page still reads', async () => {
    const controller = new AbortController();
    const pending = runNode(ocrNode, { inputs: { image: image(invoice) }, signal: controller.signal });
    setTimeout(() => controller.abort(new Error('user cancelled')), 30);
    const r = await pending;
    expect(r.error?.code).toBe('CANCELLED');
    expect(ocrPoolStats().busy).toBe(0);
    const again = await runNodeOk(ocrNode, { inputs: { image: image(invoice) } });
    expect(again['text']).toContain('INV-2024-0117');
  });
});
