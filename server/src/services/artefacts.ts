/**
 * Model artefacts: trained models (a scorecard, a fraud model, a text classifier) as immutable, content-addressed
 * objects of a workspace, which flow versions reference instead of holding the model inline. Saving a version
 * moves every inline model into the store and leaves a reference (`{ kind: 'finflow.artefactRef', sha256 }`) in
 * the stored document; reading a version puts the exact models back, so running, publishing and rolling back a
 * version use exactly its models. Old versions stored with inline models read as they are (versions are
 * immutable; their next save stores the models as artefacts).
 *
 * Which config fields hold a model is declared by the node (`.meta({ artefact: true })` on the field), so plugin
 * nodes take part the same way.
 */
import { catalogEntry, type FlowDocument, type NodeRegistry } from '@finflow/runtime';
import { z } from 'zod';
import { canonicalJson, sha256 } from '../hash.js';
import type { ArtefactRecord, ArtefactSummary, Repository } from '../repo/types.js';
import { NotDoneError, NotFoundError } from './errors.js';

export const ARTEFACT_REF_KIND = 'finflow.artefactRef';

/** What a stored version holds in place of a model. */
export const artefactRefSchema = z.strictObject({
  kind: z.literal(ARTEFACT_REF_KIND),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** The model's own kind, so a reader of the stored document knows what it stands for. */
  modelKind: z.string().min(1).max(200),
});
export type ArtefactRef = z.output<typeof artefactRefSchema>;

export const artefactHashSchema = z.string().regex(/^[0-9a-f]{64}$/, 'an artefact id is 64 hex digits');

/** An artefact as the API shows it (content only when fetched one at a time). */
export const artefactView = (a: ArtefactSummary) => ({
  sha256: a.sha256,
  kind: a.kind,
  nodeType: a.nodeType,
  bytes: a.bytes,
  flowId: a.flowId,
  flowVersion: a.flowVersion,
  createdAt: a.createdAt,
  createdBy: a.createdBy,
});

/** An artefact extracted from a document, not yet stored. */
export interface ExtractedArtefact {
  sha256: string;
  kind: string;
  nodeType: string;
  content: string;
}

const isModel = (v: unknown): v is Record<string, unknown> & { kind: string } =>
  typeof v === 'object' &&
  v !== null &&
  !Array.isArray(v) &&
  typeof (v as { kind?: unknown }).kind === 'string';

export class ArtefactService {
  private readonly fields = new Map<string, readonly string[]>();

  constructor(
    private readonly repo: Repository,
    private readonly registry: NodeRegistry,
  ) {}

  /** The config fields of a node type (at a version) that hold a trained model. */
  fieldsOf(type: string, version: number): readonly string[] {
    const key = `${type}@${version}`;
    let known = this.fields.get(key);
    if (!known) {
      const def = this.registry.get(type, version);
      const props = def
        ? ((catalogEntry(def).configSchema['properties'] ?? {}) as Record<string, Record<string, unknown>>)
        : {};
      known = Object.entries(props)
        .filter(([, schema]) => schema['artefact'] === true)
        .map(([name]) => name);
      this.fields.set(key, known);
    }
    return known;
  }

  /** Forgets what it learnt of node types (a plugin was reloaded). */
  invalidate(): void {
    this.fields.clear();
  }

  /**
   * The document as it is stored: every inline model replaced by a reference, with the models to store. A
   * reference already there (a document read back without resolving) is kept.
   */
  extract(doc: FlowDocument): { stored: FlowDocument; artefacts: ExtractedArtefact[] } {
    const artefacts = new Map<string, ExtractedArtefact>();
    const nodes = doc.nodes.map((node) => {
      const fields = this.fieldsOf(node.type, node.version);
      if (!fields.length) return node;
      let config = node.config;
      for (const field of fields) {
        const value = config[field];
        if (!isModel(value) || value.kind === ARTEFACT_REF_KIND) continue;
        // The hash covers the canonical form (key order does not matter); the text stored is the model as the
        // node held it, so reading it back gives the very same object, key order included.
        const hash = sha256(canonicalJson(value));
        artefacts.set(hash, {
          sha256: hash,
          kind: value.kind,
          nodeType: node.type,
          content: JSON.stringify(value),
        });
        const ref: ArtefactRef = { kind: ARTEFACT_REF_KIND, sha256: hash, modelKind: value.kind };
        config = { ...config, [field]: ref };
      }
      return config === node.config ? node : { ...node, config };
    });
    return { stored: { ...doc, nodes }, artefacts: [...artefacts.values()] };
  }

  /** Stores extracted artefacts (those already there stay as they are: artefacts never change). */
  async store(
    workspaceId: string,
    artefacts: readonly ExtractedArtefact[],
    origin: { flowId: string | null; flowVersion: number | null; createdBy: string | null },
  ): Promise<void> {
    const at = Date.now();
    for (const a of artefacts) {
      await this.repo.putArtefact({
        workspaceId,
        ...a,
        bytes: Buffer.byteLength(a.content),
        ...origin,
        createdAt: at,
      });
    }
  }

  /** The hashes a stored document references. */
  references(document: unknown): string[] {
    const out = new Set<string>();
    const nodes = (document as { nodes?: unknown } | null)?.nodes;
    if (!Array.isArray(nodes)) return [];
    for (const node of nodes as { config?: Record<string, unknown> }[]) {
      for (const value of Object.values(node.config ?? {})) {
        const ref = artefactRefSchema.safeParse(value);
        if (ref.success) out.add(ref.data.sha256);
      }
    }
    return [...out];
  }

  /**
   * A stored document with every reference replaced by its model, read from the workspace's store and checked
   * against its hash. Text without references comes back unchanged (old versions with inline models).
   */
  async resolve(workspaceId: string, text: string): Promise<string> {
    if (!text.includes(ARTEFACT_REF_KIND)) return text;
    const doc = JSON.parse(text) as { nodes?: { config?: Record<string, unknown> }[] };
    for (const node of doc.nodes ?? []) {
      const config = node.config;
      if (!config) continue;
      for (const [field, value] of Object.entries(config)) {
        const ref = artefactRefSchema.safeParse(value);
        if (!ref.success) continue;
        config[field] = JSON.parse((await this.content(workspaceId, ref.data.sha256)).content) as unknown;
      }
    }
    return JSON.stringify(doc);
  }

  /** An artefact with its content, verified; NotFoundError when the workspace has none with this hash. */
  async content(workspaceId: string, hash: string): Promise<ArtefactRecord> {
    const a = await this.repo.getArtefact(workspaceId, hash);
    if (!a) throw new NotFoundError('ARTEFACT_NOT_FOUND', `artefact ${hash} not found`);
    // Content-addressed: a row whose content no longer matches its hash was changed behind the server's back.
    if (sha256(canonicalJson(JSON.parse(a.content))) !== a.sha256) {
      throw new NotDoneError('ARTEFACT_CORRUPT', `artefact ${hash} does not match its hash`);
    }
    return a;
  }

  list(workspaceId: string, limit: number, before?: number): Promise<ArtefactSummary[]> {
    return this.repo.listArtefacts(workspaceId, limit, before);
  }
}
