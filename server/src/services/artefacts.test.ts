/**
 * ArtefactService on its own: which node fields hold models (declared by the nodes), extraction of every model a
 * document holds (the fraud model and the text classifier as well as the scorecard), and reading them back exactly.
 */
import { builtinNodes } from '@finflow/nodes';
import { createRegistry, type FlowDocument } from '@finflow/runtime';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson, sha256 } from '../hash.js';
import { SqliteRepository } from '../repo/sqlite.js';
import { tempDir } from '../test-helpers/harness.js';
import { ArtefactService } from './artefacts.js';

const dir = tempDir('finflow-artefacts-');
const repo = SqliteRepository.open(dir, { auditKey: Buffer.alloc(32, 7) });
beforeAll(async () => {
  await repo.migrate();
});
afterAll(async () => {
  await repo.close();
  rmSync(dir, { recursive: true, force: true });
});
const service = new ArtefactService(repo, createRegistry(builtinNodes));

const fraud = { kind: 'fraud-model', trees: [[0.5, -1e-300, 3.14159]], thresholds: { review: 0.3 }, zeta: 1 };
const classifier = {
  kind: 'finflow.textClassifier',
  id: 'c1',
  vocabulary: { 转账: 0, card: 1 },
  weights: [[0.1, 0.2]],
};

const doc = (): FlowDocument =>
  ({
    schemaVersion: 1,
    id: 'flw_x',
    name: 'Models',
    description: '',
    nodes: [
      { id: 'f', type: 'risk.fraudScore', version: 1, config: { mode: 'score', model: fraud } },
      { id: 'c', type: 'model.classify', version: 2, config: { artifact: classifier } },
      { id: 'again', type: 'risk.fraudScore', version: 1, config: { mode: 'score', model: { ...fraud } } },
      { id: 't', type: 'data.transform', version: 1, config: { expression: '{ "kind": "not a model" }' } },
    ],
    edges: [],
  }) as unknown as FlowDocument;

describe('model artefacts of a document', () => {
  it('knows the model fields the built-in nodes declare, and none of other nodes', () => {
    expect(service.fieldsOf('risk.scorecard', 1)).toEqual(['model']);
    expect(service.fieldsOf('risk.fraudScore', 1)).toEqual(['model']);
    expect(service.fieldsOf('model.classify', 2)).toEqual(['artifact']);
    expect(service.fieldsOf('data.transform', 1)).toEqual([]);
    expect(service.fieldsOf('no.suchNode', 1)).toEqual([]);
  });

  it('extracts every model once, and resolves the stored document to the same models, key order included', async () => {
    const { stored, artefacts } = service.extract(doc());
    expect(artefacts.map((a) => [a.kind, a.nodeType]).sort()).toEqual([
      ['finflow.textClassifier', 'model.classify'],
      ['fraud-model', 'risk.fraudScore'],
    ]);
    expect(stored.nodes[0]?.config['model']).toEqual({
      kind: 'finflow.artefactRef',
      sha256: sha256(canonicalJson(fraud)),
      modelKind: 'fraud-model',
    });
    expect(stored.nodes[3]?.config).toEqual(doc().nodes[3]?.config);
    expect(service.references(stored).sort()).toEqual(artefacts.map((a) => a.sha256).sort());

    // Unknown to the store yet: reading fails rather than run without the model.
    await expect(service.resolve('ws_1', JSON.stringify(stored))).rejects.toMatchObject({
      code: 'ARTEFACT_NOT_FOUND',
    });
    await service.store('ws_1', artefacts, { flowId: 'flw_x', flowVersion: 1, createdBy: 'u1' });
    const back = JSON.parse(await service.resolve('ws_1', JSON.stringify(stored))) as FlowDocument;
    expect(JSON.stringify(back)).toBe(JSON.stringify(doc()));
    // Another workspace has none of them.
    await expect(service.resolve('ws_2', JSON.stringify(stored))).rejects.toMatchObject({
      code: 'ARTEFACT_NOT_FOUND',
    });
    // A document without references is returned as it is (an old version with inline models).
    const inline = JSON.stringify(doc());
    expect(await service.resolve('ws_1', inline)).toBe(inline);
  });
});
