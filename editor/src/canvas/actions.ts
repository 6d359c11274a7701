/**
 * The editor's keyboard actions, declared once: each has its keys, its label and what it does. The canvas's key
 * handler runs them, the shortcut overlay lists them, and toolbar buttons take their tooltips from them, so a key
 * cannot work without being listed, or be listed without working.
 */
import type { TFunction } from 'i18next';

/** What actions act on; the canvas supplies it. */
export interface ActionContext {
  readOnly: boolean;
  undo(): void;
  redo(): void;
  selectAll(): void;
  deleteSelection(): void;
  quickAdd(): void;
  autoLayout(): void;
  fitView(): void;
  addNote(): void;
  save(): void;
  run(): void;
  escape(): void;
  toggleHelp(): void;
}

export interface EditorAction {
  id: string;
  /** Key combinations: `Mod` is Ctrl (⌘ on a Mac); e.g. `Mod+Z`, `Shift+L`, `Delete`, `?`. */
  keys: readonly string[];
  /** Translation key of what it does. */
  label: string;
  /** It changes the flow: not run in a read-only editor. */
  edits?: boolean;
  /** Also runs while typing in a field (save, run). */
  inFields?: boolean;
  /** Listed in the overlay only: the browser's clipboard events or the mouse do it (copy, multi-select). */
  listOnly?: boolean;
  run?(ctx: ActionContext): void;
}

export const editorActions: readonly EditorAction[] = [
  { id: 'undo', keys: ['Mod+Z'], label: 'shortcuts.undo', edits: true, run: (c) => c.undo() },
  { id: 'redo', keys: ['Mod+Shift+Z', 'Mod+Y'], label: 'shortcuts.redo', edits: true, run: (c) => c.redo() },
  { id: 'copyPaste', keys: ['Mod+C', 'Mod+X', 'Mod+V'], label: 'shortcuts.copyPaste', listOnly: true },
  { id: 'selectAll', keys: ['Mod+A'], label: 'shortcuts.selectAll', run: (c) => c.selectAll() },
  { id: 'multiSelect', keys: ['Shift+click', 'Shift+drag'], label: 'shortcuts.multiSelect', listOnly: true },
  {
    id: 'delete',
    keys: ['Delete', 'Backspace'],
    label: 'shortcuts.delete',
    edits: true,
    run: (c) => c.deleteSelection(),
  },
  { id: 'quickAdd', keys: ['/'], label: 'shortcuts.quickAdd', edits: true, run: (c) => c.quickAdd() },
  { id: 'layout', keys: ['Shift+L'], label: 'shortcuts.layout', edits: true, run: (c) => c.autoLayout() },
  { id: 'fit', keys: ['Shift+F'], label: 'shortcuts.fit', run: (c) => c.fitView() },
  { id: 'note', keys: ['Shift+N'], label: 'shortcuts.note', edits: true, run: (c) => c.addNote() },
  { id: 'save', keys: ['Mod+S'], label: 'shortcuts.save', edits: true, inFields: true, run: (c) => c.save() },
  { id: 'run', keys: ['Mod+Enter'], label: 'shortcuts.run', inFields: true, run: (c) => c.run() },
  { id: 'escape', keys: ['Escape'], label: 'shortcuts.escape', run: (c) => c.escape() },
  { id: 'help', keys: ['?'], label: 'shortcuts.help', run: (c) => c.toggleHelp() },
];

export function actionById(id: string): EditorAction {
  const a = editorActions.find((x) => x.id === id);
  if (!a) throw new Error(`no editor action ${id}`);
  return a;
}

export interface KeyLike {
  key: string;
  ctrlKey: boolean;
  metaKey: boolean;
  shiftKey: boolean;
  altKey: boolean;
}

/**
 * Whether a key event is a combination. Letters compare case-insensitively and Shift must match; for a
 * punctuation key (`?`, `/`) Shift is part of typing it on some layouts, so it is not compared.
 */
export function matchesKey(e: KeyLike, combo: string): boolean {
  const parts = combo.split('+');
  const key = parts.pop() ?? '';
  const mods = new Set(parts);
  if (mods.has('click') || mods.has('drag') || key === 'click' || key === 'drag') return false;
  if ((e.ctrlKey || e.metaKey) !== mods.has('Mod') || e.altKey !== mods.has('Alt')) return false;
  const letter = /^[a-z]$/i.test(key);
  const named = key.length > 1;
  if ((letter || named) && e.shiftKey !== mods.has('Shift')) return false;
  return letter ? e.key.toLowerCase() === key.toLowerCase() : e.key === key;
}

/** The action a key event asks for, if any. */
export function actionForKey(
  e: KeyLike,
  opts: { inField: boolean; readOnly: boolean },
  actions: readonly EditorAction[] = editorActions,
): EditorAction | undefined {
  return actions.find(
    (a) =>
      !a.listOnly &&
      (!opts.inField || a.inFields) &&
      !(opts.readOnly && a.edits) &&
      a.keys.some((k) => matchesKey(e, k)),
  );
}

const isMac = () => typeof navigator !== 'undefined' && /Mac|iPhone|iPad/.test(navigator.platform);

/** Keys as people read them (`Ctrl+Z`, or `⌘Z` on a Mac). */
export function formatKey(combo: string, t?: TFunction): string {
  const mac = isMac();
  return combo
    .split('+')
    .map((p) => {
      if (p === 'Mod') return mac ? '⌘' : 'Ctrl';
      if ((p === 'click' || p === 'drag') && t) return t(`shortcuts.${p}`);
      return p;
    })
    .join(mac ? '' : '+');
}

/** A button's tooltip: what the action does and its first key. */
export function actionTitle(t: TFunction, id: string): string {
  const a = actionById(id);
  return `${t(a.label)} (${formatKey(a.keys[0] ?? '', t)})`;
}
