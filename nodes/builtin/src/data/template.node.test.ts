import { describe, expect, it } from 'vitest';
import { runNode } from '@finflow/sdk/testing';
import { renderTemplate, templateNode, templateVariables } from './template.node.js';

describe('data.template', () => {
  it('fills placeholders from inputs, with paths into values', async () => {
    const r = await runNode(templateNode, {
      config: { template: '尊敬的{{ customer.name }}：您的额度为 {{ limit }} 元。\\{{ literal }}', variables: ['customer', 'limit'] },
      inputs: { customer: { name: '王芳' }, limit: 50000 },
    });
    expect(r.outputs).toEqual({ text: '尊敬的王芳：您的额度为 50000 元。{{ literal }}' });
  });

  it('fails on a missing value unless told to leave it blank', async () => {
    const cfg = { template: 'Hi {{ name }}', variables: ['name'] };
    expect(await runNode(templateNode, { config: cfg })).toMatchObject({ status: 'failed', error: { code: 'TEMPLATE_VARIABLE_MISSING' } });
    expect((await runNode(templateNode, { config: { ...cfg, onMissing: 'empty' } })).outputs).toEqual({ text: 'Hi ' });
  });

  it('rejects placeholders that read nothing declared', async () => {
    const r = await runNode(templateNode, { config: { template: '{{ who }}', variables: [] } });
    expect(r.error?.message).toContain('neither a variable nor input/nodes');
  });

  it('renders objects as JSON and lists variables', () => {
    expect(renderTemplate('{{ a }}', { a: { x: 1 } }, () => '')).toBe('{\n  "x": 1\n}');
    expect(templateVariables('{{ a.b }} {{c}} {{ a.b }}')).toEqual(['a.b', 'c']);
  });
});
