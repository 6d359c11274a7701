/**
 * Unsaved drafts kept in the browser: whatever way the analyst leaves the editor (the header's links, the back
 * button, signing out, closing the tab), the edits stay in localStorage until they are saved or discarded, and the
 * editor offers to restore them when the flow is opened again.
 */
import type { FlowDocument } from '../api/types.js';

const PREFIX = 'finflow.draft.';

export interface KeptDraft {
  /** The version the draft was edited from (null: the flow had none). */
  baseVersion: number | null;
  savedAt: number;
  document: FlowDocument;
}

interface Storage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

function storage(): Storage | null {
  try {
    return globalThis.localStorage ?? null;
  } catch {
    // Storage may be unavailable (private mode); drafts then live only as long as the page.
    return null;
  }
}

export function keepDraft(flowId: string, draft: KeptDraft, store: Storage | null = storage()): boolean {
  try {
    store?.setItem(PREFIX + flowId, JSON.stringify(draft));
    return !!store;
  } catch {
    // Quota exceeded: the beforeunload warning still protects the edits.
    return false;
  }
}

export function readDraft(flowId: string, store: Storage | null = storage()): KeptDraft | null {
  const raw = store?.getItem(PREFIX + flowId);
  if (!raw) return null;
  try {
    const d = JSON.parse(raw) as Partial<KeptDraft>;
    if (
      !d ||
      typeof d !== 'object' ||
      typeof d.savedAt !== 'number' ||
      !d.document ||
      typeof d.document !== 'object'
    )
      return null;
    return {
      baseVersion: typeof d.baseVersion === 'number' ? d.baseVersion : null,
      savedAt: d.savedAt,
      document: d.document,
    };
  } catch {
    // Written by something else, or cut short: not a draft we can offer.
    return null;
  }
}

export function dropDraft(flowId: string, store: Storage | null = storage()): void {
  try {
    store?.removeItem(PREFIX + flowId);
  } catch {
    // Nothing to drop.
  }
}
