import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runNode, runNodeOk } from '@finflow/sdk/testing';
import { intakeNode, type PartReport } from './intake.node.js';
import { disposeOcr } from './ocr-engine.js';
import {
  buildDocx,
  characterErrorRate,
  dataUrl,
  expectedText,
  invoiceLines,
  renderDocument,
  speak,
  textPdf,
  wordErrorRate,
} from './test-helpers/media.js';
import { flowOf, inputNode, outputNode, runFlow } from '../test-helpers/flows.js';

const spoken = 'I was charged twice for the same invoice. Please refund the second payment.';

let invoice: Buffer;
let voice: Buffer;
let pdf: Buffer;
beforeAll(async () => {
  invoice = await renderDocument(invoiceLines, { font: 'DejaVu Sans' });
  voice = speak(spoken);
  pdf = await textPdf([['Direct debit mandate', 'Reference DD-88231'], ['Signed: J. Smith']]);
});
afterAll(() => disposeOcr());

describe('multimodal.intake', () => {
  it('turns a message with text, an image, a voice note and a PDF into one text and a report per part', async () => {
    const out = await runNodeOk(intakeNode, {
      inputs: {
        text: 'Hello, see the invoice and my voice note.',
        parts: [
          { kind: 'image', data: dataUrl('image/png', invoice), name: 'invoice.png' },
          { kind: 'audio', mimeType: 'audio/wav', data: voice.toString('base64'), name: 'note.wav' },
          {
            kind: 'document',
            mimeType: 'application/pdf',
            data: pdf.toString('base64'),
            name: 'mandate.pdf',
          },
        ],
      },
    });
    const text = out['text'] as string;
    const sections = text.split('\n\n[');
    expect(sections[0]).toBe('[Message]\nHello, see the invoice and my voice note.');
    expect(sections[1]).toMatch(/^Image 2 "invoice.png", OCR, confidence 0\.\d\d\]\nACME FINANCIAL/);
    expect(
      characterErrorRate(sections[1]!.split('\n').slice(1).join('\n'), expectedText(invoiceLines)),
    ).toBeLessThanOrEqual(0.02);
    expect(sections[2]).toMatch(/^Audio 3 "note.wav", transcript, basic quality \(offline\)\]\n/);
    // Offline recognition is basic: "twice" and "invoice" are often misheard in this sentence.
    expect(wordErrorRate(sections[2]!.split('\n')[1]!, spoken)).toBeLessThanOrEqual(0.25);
    expect(text).toContain('[Document 4 "mandate.pdf", 2 pages]\n[Page 1]\nDirect debit mandate');
    const parts = out['parts'] as unknown as PartReport[];
    expect(parts.map((p) => [p.index, p.kind, p.ok, p.engine])).toEqual([
      [1, 'text', true, undefined],
      [2, 'image', true, 'tesseract'],
      [3, 'audio', true, 'pocketsphinx'],
      [4, 'document', true, 'pdf.js'],
    ]);
    expect(parts[2]).toMatchObject({ quality: 'basic', mimeType: 'audio/wav' });
    expect(parts[2]!.durationSec).toBeGreaterThan(3);
    expect(parts[3]).toMatchObject({ pages: 2, mimeType: 'application/pdf' });
    expect(out['errorCount']).toBe(0);
  });

  it('keeps the readable parts when one attachment is broken, and says which', async () => {
    const out = await runNodeOk(intakeNode, {
      inputs: {
        parts: [
          'My card was blocked abroad.',
          {
            kind: 'image',
            mimeType: 'image/jpeg',
            data: Buffer.from('corrupted upload').toString('base64'),
            name: 'card.jpg',
          },
          { kind: 'document', url: 'https://example.com/statement.pdf' },
          {
            kind: 'document',
            mimeType: 'application/msword',
            data: Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 1, 2, 3, 4]).toString('base64'),
          },
        ],
      },
    });
    expect(out['errorCount']).toBe(3);
    const parts = out['parts'] as unknown as PartReport[];
    expect(parts.map((p) => [p.ok, p.error?.code])).toEqual([
      [true, undefined],
      [false, 'IMAGE_UNREADABLE'],
      [false, 'UNSUPPORTED_INPUT_URL'],
      [false, 'DOCUMENT_UNSUPPORTED_FORMAT'],
    ]);
    expect(out['text']).toBe(
      [
        '[Text 1]\nMy card was blocked abroad.',
        '[Image 2 "card.jpg": could not be read (IMAGE_UNREADABLE)]',
        '[Document 3: could not be read (UNSUPPORTED_INPUT_URL)]',
        '[Document 4: could not be read (DOCUMENT_UNSUPPORTED_FORMAT)]',
      ].join('\n\n'),
    );
  });

  it('fails the node on a broken part when configured so, and when nothing at all is readable', async () => {
    const broken = { kind: 'image', data: Buffer.from('junk').toString('base64'), mimeType: 'image/png' };
    const strict = await runNode(intakeNode, {
      config: { onPartError: 'fail' },
      inputs: { text: 'see attached', parts: [broken] },
    });
    expect(strict.error?.code).toBe('IMAGE_UNREADABLE');
    expect(strict.error?.message).toMatch(/^part 2 \(image\)/);
    const nothing = await runNode(intakeNode, { inputs: { parts: [broken, broken] } });
    expect(nothing.error?.code).toBe('INTAKE_NOTHING_READABLE');
    const empty = await runNode(intakeNode, { inputs: { text: '  ' } });
    expect(empty.error?.code).toBe('INVALID_INPUT');
    const tooMany = await runNode(intakeNode, {
      config: { maxParts: 2 },
      inputs: { parts: ['a', 'b', 'c'] },
    });
    expect(tooMany.error?.code).toBe('INVALID_INPUT');
  });

  it('trusts the bytes over the declared kind and accepts OpenAI-style content parts', async () => {
    const docx = buildDocx(['Complaint reference C-7781']);
    const out = await runNodeOk(intakeNode, {
      inputs: {
        parts: [
          { type: 'input_text', text: 'Two files attached.' },
          { kind: 'image', data: pdf.toString('base64'), name: 'scan.pdf' },
          { type: 'file', data: docx.toString('base64'), name: 'complaint.docx' },
          { type: 'image_url', image_url: { url: dataUrl('image/png', invoice) } },
        ],
      },
    });
    const parts = out['parts'] as unknown as PartReport[];
    expect(parts.map((p) => p.kind)).toEqual(['text', 'document', 'document', 'image']);
    expect(parts[1]!.declaredKind).toBe('image');
    expect(out['text']).toContain('Complaint reference C-7781');
    expect(out['text']).toContain('INV-2024-0117');
  });

  it('reads a single text message as is, without labels', async () => {
    const out = await runNodeOk(intakeNode, { inputs: { text: 'What is my balance?' } });
    expect(out['text']).toBe('What is my balance?');
  });

  it('takes the parts of a published request (JSON with data URLs) from a flow input', async () => {
    const flow = flowOf(
      [
        inputNode({
          message: { type: 'string' },
          attachments: { type: 'array', items: { type: 'object' } },
        }),
        { id: 'intake', type: 'multimodal.intake' },
        outputNode('text'),
        outputNode('parts'),
      ],
      [
        'in.message->intake.text',
        'in.attachments->intake.parts',
        'intake.text->text.value',
        'intake.parts->parts.value',
      ],
    );
    const r = await runFlow(flow, {
      message: 'Invoice attached',
      attachments: [{ kind: 'image', data: dataUrl('image/png', invoice), name: 'inv.png' }],
    });
    expect(r.status).toBe('succeeded');
    expect(r.outputs['text']).toMatch(/^\[Message\]\nInvoice attached\n\n\[Image 2 "inv.png", OCR/);
  });
});
