import { catalogEntry, createRegistry, nodeCategories } from '@finflow/runtime';
import { describe, expect, it } from 'vitest';
import { builtinNodes, createBuiltinRegistry } from './index.js';

/** JSON pointers of the sub-schemas that have an English `title` (or `description`) but no Chinese one in `zh`. */
function untranslated(schema: unknown, field: 'title' | 'description', at = '#'): string[] {
  if (!schema || typeof schema !== 'object') return [];
  const s = schema as Record<string, unknown>;
  const zh = s['zh'] as Record<string, unknown> | undefined;
  const own = typeof s[field] === 'string' && !(typeof zh?.[field] === 'string' && zh[field]) ? [at] : [];
  const children: [string, unknown][] = [];
  for (const key of ['properties', '$defs'])
    for (const [name, sub] of Object.entries((s[key] as Record<string, unknown> | undefined) ?? {}))
      children.push([`${key}/${name}`, sub]);
  for (const key of ['items', 'additionalProperties', 'prefixItems', 'anyOf', 'oneOf', 'allOf']) {
    const sub = s[key];
    if (Array.isArray(sub)) sub.forEach((x, i) => children.push([`${key}/${i}`, x]));
    else children.push([key, sub]);
  }
  return [...own, ...children.flatMap(([path, sub]) => untranslated(sub, field, `${at}/${path}`))];
}

describe('built-in node catalog', () => {
  it('registers each node type and version once', () => {
    expect(() => createBuiltinRegistry()).not.toThrow();
    expect(() => createRegistry([...builtinNodes, builtinNodes[0]!])).toThrow(/registered twice/);
  });

  it.each(builtinNodes.map((d) => [d.type, d] as const))('%s has a complete catalog entry', (_type, def) => {
    const entry = catalogEntry(def);
    expect(entry.configSchema['type']).toBe('object');
    expect(nodeCategories).toContain(entry.meta.category);
    expect(entry.meta.title.length).toBeGreaterThan(2);
    expect(entry.meta.description.length).toBeGreaterThan(10);
    expect(entry.meta.zh?.title, 'a Chinese title for the zh-CN editor').toBeTruthy();
    // Every config field has a title: the editor's form labels come from it.
    const properties = (entry.configSchema['properties'] ?? {}) as Record<string, { title?: string }>;
    for (const [name, field] of Object.entries(properties))
      expect(field.title, `${def.type} config field ${name}`).toBeTruthy();
    // ...and, at every depth, a Chinese title beside it (`.meta({ zh: { title } })`) for the zh-CN editor.
    expect(untranslated(entry.configSchema, 'title'), `${def.type}: fields without zh.title`).toEqual([]);
    // The form shows a field's help under it: in Chinese too.
    expect(
      untranslated(entry.configSchema, 'description'),
      `${def.type}: fields without zh.description`,
    ).toEqual([]);
    expect(JSON.parse(JSON.stringify(entry))).toEqual(entry);
  });

  it.each(builtinNodes.map((d) => [d.type, d] as const))(
    '%s names and explains every port in Chinese for the zh-CN canvas, inspector and run form',
    (_type, def) => {
      const { inputs, outputs } = catalogEntry(def);
      for (const p of [...inputs, ...outputs]) {
        const zh = p.zh?.title.trim() ?? '';
        expect(zh, `${def.type} port ${p.name}: zh.title`).not.toBe('');
        // A Chinese title, not the English one (or the port's name) copied over.
        expect(zh, `${def.type} port ${p.name}`).not.toBe(p.title ?? p.name);
        expect(zh, `${def.type} port ${p.name}`).toMatch(/[\u4e00-\u9fff]/);
        // The canvas and the inspector show a port's help beside its title: in Chinese too.
        if (p.description !== undefined)
          expect(p.zh?.description, `${def.type} port ${p.name}: zh.description`).toMatch(/[\u4e00-\u9fff]/);
      }
    },
  );
});
