import { describe, expect, it } from 'vitest';
import { buildCatalog, createRegistry } from '@finflow/sdk';
import { complianceNodes } from './index.js';

describe('compliance catalog entries', () => {
  const catalog = buildCatalog(createRegistry(complianceNodes));

  it('registers the five compliance nodes', () => {
    expect(catalog.map((c) => c.type).sort()).toEqual([
      'compliance.dpAggregate',
      'compliance.marketingCheck',
      'compliance.piiDetect',
      'compliance.piiMask',
      'compliance.regulationChecklist',
    ]);
  });

  it('gives every node Chinese meta and every config field a title (the editor form labels)', () => {
    for (const entry of catalog) {
      expect(entry.meta.zh?.title, entry.type).toBeTruthy();
      expect(entry.meta.zh?.description, entry.type).toBeTruthy();
      const schema = entry.configSchema as { properties: Record<string, { title?: string }> };
      for (const [name, field] of Object.entries(schema.properties))
        expect(field.title, `${entry.type}.${name}`).toBeTruthy();
    }
  });
});
