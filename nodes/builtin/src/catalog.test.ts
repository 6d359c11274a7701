import { catalogEntry, createRegistry, nodeCategories } from '@finflow/runtime';
import { describe, expect, it } from 'vitest';
import { builtinNodes, createBuiltinRegistry } from './index.js';

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
    expect(JSON.parse(JSON.stringify(entry))).toEqual(entry);
  });
});
