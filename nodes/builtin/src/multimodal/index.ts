/**
 * The multimodal nodes, registered through builtinNodes: OCR, speech to text, document text and the intake
 * node that dispatches a customer message to them. Heavy engines (tesseract.js, sharp, pdf.js, mammoth) are
 * imported on first use, so loading the catalog stays light.
 */
import type { AnyNodeDefinition } from '@finflow/sdk';
import { documentNode } from './document.node.js';
import { intakeNode } from './intake.node.js';
import { disposeOcr } from './ocr-engine.js';
import { ocrNode } from './ocr.node.js';
import { speechToTextNode } from './speech-to-text.node.js';

export const multimodalNodes: AnyNodeDefinition[] = [ocrNode, speechToTextNode, documentNode, intakeNode];

export { ocrNode, speechToTextNode, documentNode, intakeNode };
export type { MultimodalServices } from './tools.js';

/** Releases what the multimodal nodes keep between runs (the OCR worker pool); call on server shutdown. */
export async function disposeMultimodal(): Promise<void> {
  await disposeOcr();
}
