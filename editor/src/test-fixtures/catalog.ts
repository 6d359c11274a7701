/** A small catalog in the server's shape, for the editor's unit tests (the real one comes from GET /api/catalog). */
import type { CatalogEntry } from '../api/types.js';

const retry = { maxAttempts: 1, initialDelayMs: 500, backoff: 2, maxDelayMs: 30_000, nonRetryable: [] };

function entry(e: Partial<CatalogEntry> & Pick<CatalogEntry, 'type' | 'inputs' | 'outputs'>): CatalogEntry {
  return {
    version: 1,
    meta: {
      title: e.type,
      category: e.type.split('.')[0] as CatalogEntry['meta']['category'],
      description: '',
    },
    configSchema: { type: 'object', properties: {} },
    defaultConfig: {},
    timeoutMs: 5_000,
    retry,
    ...e,
  };
}

export const testCatalog: CatalogEntry[] = [
  entry({
    type: 'io.input',
    inputs: [],
    outputs: [{ name: 'value', type: 'record', required: true }],
    dynamicOutputs: {
      path: 'schema.properties',
      mode: 'keys',
      type: 'any',
      typeFromJsonSchema: true,
      required: false,
    },
  }),
  entry({ type: 'io.output', inputs: [{ name: 'value', type: 'any', required: true }], outputs: [] }),
  entry({
    type: 'risk.scorecard',
    inputs: [
      { name: 'table', type: 'table', required: true },
      { name: 'model', type: 'artifact', required: false },
    ],
    outputs: [
      { name: 'scores', type: 'table', required: true },
      { name: 'model', type: 'artifact', required: false },
    ],
    configSchema: {
      type: 'object',
      properties: {
        mode: { type: 'string', enum: ['train', 'score'], default: 'score' },
        threshold: { type: 'number', minimum: 0, maximum: 1, title: 'Threshold' },
        target: { type: 'string', minLength: 1 },
      },
      required: ['threshold'],
    },
    defaultConfig: { mode: 'score' },
  }),
  entry({
    type: 'model.chat',
    inputs: [{ name: 'messages', type: 'messages', required: false }],
    outputs: [
      { name: 'text', type: 'text', required: true },
      { name: 'latencyMs', type: 'number', required: true },
    ],
    configSchema: {
      type: 'object',
      properties: {
        prompt: { type: 'string', widget: 'prompt' },
        apiKey: { type: 'string', widget: 'secret' },
      },
    },
  }),
  entry({
    type: 'logic.switch',
    inputs: [{ name: 'value', type: 'any', required: true }],
    outputs: [{ name: 'default', type: 'any', required: false }],
    dynamicOutputs: { path: 'cases', mode: 'items', nameKey: 'name', type: 'any', required: false },
  }),
  entry({
    type: 'code.javascript',
    inputs: [],
    outputs: [],
    dynamicInputs: {
      path: 'inputs',
      mode: 'items',
      nameKey: 'name',
      typeKey: 'type',
      requiredKey: 'required',
      type: 'any',
    },
    dynamicOutputs: {
      path: 'outputs',
      mode: 'items',
      nameKey: 'name',
      typeKey: 'type',
      requiredKey: 'required',
      type: 'any',
    },
    configSchema: { type: 'object', properties: { code: { type: 'string', widget: 'code' } } },
  }),
];

export const testByType = new Map(testCatalog.map((e) => [e.type, e]));
