import { describe, expect, it } from 'vitest';
import { actionForKey, editorActions, matchesKey, type KeyLike } from './actions.js';

const key = (k: string, mods: Partial<KeyLike> = {}): KeyLike => ({
  key: k,
  ctrlKey: false,
  metaKey: false,
  shiftKey: false,
  altKey: false,
  ...mods,
});

describe('editor actions', () => {
  it('match their keys exactly: modifiers, letters in either case, punctuation typed with Shift', () => {
    expect(matchesKey(key('z', { ctrlKey: true }), 'Mod+Z')).toBe(true);
    expect(matchesKey(key('Z', { metaKey: true, shiftKey: true }), 'Mod+Shift+Z')).toBe(true);
    expect(matchesKey(key('Z', { ctrlKey: true, shiftKey: true }), 'Mod+Z')).toBe(false);
    expect(matchesKey(key('z'), 'Mod+Z')).toBe(false);
    expect(matchesKey(key('L', { shiftKey: true }), 'Shift+L')).toBe(true);
    expect(matchesKey(key('l'), 'Shift+L')).toBe(false);
    expect(matchesKey(key('?', { shiftKey: true }), '?')).toBe(true);
    expect(matchesKey(key('Delete'), 'Delete')).toBe(true);
    expect(matchesKey(key('Enter', { ctrlKey: true }), 'Mod+Enter')).toBe(true);
  });

  it('picks the action for a key, respecting fields and read-only editors', () => {
    const undo = key('z', { ctrlKey: true });
    expect(actionForKey(undo, { inField: false, readOnly: false })?.id).toBe('undo');
    // Typing in a field keeps its own undo; save and run work from anywhere.
    expect(actionForKey(undo, { inField: true, readOnly: false })).toBeUndefined();
    expect(actionForKey(key('s', { ctrlKey: true }), { inField: true, readOnly: false })?.id).toBe('save');
    // A read-only editor neither deletes nor saves, but still fits the view.
    expect(actionForKey(key('Delete'), { inField: false, readOnly: true })).toBeUndefined();
    expect(actionForKey(key('F', { shiftKey: true }), { inField: false, readOnly: true })?.id).toBe('fit');
    // Copy and paste are the browser's clipboard events, listed only.
    expect(actionForKey(key('c', { ctrlKey: true }), { inField: false, readOnly: false })).toBeUndefined();
  });

  it('gives every key to one action only, and every runnable action something to run', () => {
    const keys = editorActions.flatMap((a) => a.keys);
    expect(new Set(keys).size).toBe(keys.length);
    for (const a of editorActions) expect(a.listOnly || typeof a.run === 'function', a.id).toBe(true);
  });
});
