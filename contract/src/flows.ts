/** The catalog, templates, flows and their versions (`/api/catalog`, `/api/templates`, `/api/flows`). */
import type { CatalogEntry as RuntimeCatalogEntry } from '@finflow/runtime/catalog';
import type { FlowDocument } from '@finflow/runtime/document';
import type { Coercion, PortType } from '@finflow/runtime/ports';
import { z } from 'zod';
import { localizedSchema, problemSchema, timestamp } from './common.js';

/** A flow document as stored (migrated and normalised): the runtime's `flowDocumentSchema` is its definition. */
const document = z.custom<FlowDocument>((v) => !!v && typeof v === 'object' && !Array.isArray(v));

/** Where a node type comes from: the built-in package or a plugin package, with its version. */
export const nodeOriginSchema = z.object({
  package: z.string(),
  version: z.string(),
  plugin: z.string().optional(),
  source: z.enum(['builtin', 'env', 'package', 'folder', 'dev']).optional(),
});
export type NodeOrigin = z.output<typeof nodeOriginSchema>;

/** A catalog entry: the runtime's `CatalogEntry` (its shape is defined there, once) and where the type comes from. */
export type CatalogEntry = RuntimeCatalogEntry & { origin?: NodeOrigin };

/** The node catalog: entries (meta, ports, config JSON Schema) built from the node definitions, and the plugins. */
export const catalogSchema = z.object({
  nodes: z.array(
    z.custom<CatalogEntry>(
      (v) =>
        !!v &&
        typeof v === 'object' &&
        nodeOriginSchema.optional().safeParse((v as CatalogEntry).origin).success,
    ),
  ),
  plugins: z
    .array(z.object({ id: z.string(), package: z.string(), version: z.string(), nodes: z.array(z.string()) }))
    .optional(),
  portTypes: z.array(z.object({ name: z.custom<PortType>((v) => typeof v === 'string'), color: z.string() })),
  coercions: z.array(
    z.object({
      from: z.custom<PortType>((v) => typeof v === 'string'),
      to: z.custom<PortType>((v) => typeof v === 'string'),
      coercion: z.custom<Coercion>((v) => typeof v === 'string'),
    }),
  ),
});
export type Catalog = z.output<typeof catalogSchema>;

export const templateFixtureSchema = z.object({
  name: z.string(),
  input: z.unknown(),
  expected: z.unknown().optional(),
});
export const templateSchema = z.object({
  id: z.string(),
  title: localizedSchema,
  description: localizedSchema,
  scenario: z.string(),
  tags: z.array(z.string()),
  icon: z.string(),
  regulations: z.array(z.string()),
  /** The template's flow document as written in its `flow.json`. */
  flow: document,
  fixtures: z.array(templateFixtureSchema),
});
export type Template = z.output<typeof templateSchema>;
export const templateListSchema = z.array(templateSchema);

export const flowSchema = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  tags: z.array(z.string()),
  latestVersion: z.number().int(),
  createdAt: timestamp,
  updatedAt: timestamp,
});
export type Flow = z.output<typeof flowSchema>;

export const flowSummarySchema = flowSchema.extend({
  updatedBy: z.object({ id: z.string(), name: z.string() }).nullable(),
  published: z.boolean(),
});
export type FlowSummary = z.output<typeof flowSummarySchema>;
export const flowListSchema = z.array(flowSummarySchema);

export const versionSchema = z.object({
  number: z.number().int(),
  hash: z.string(),
  author: z.object({ id: z.string().nullable(), name: z.string() }),
  message: z.string(),
  createdAt: timestamp,
});
export type Version = z.output<typeof versionSchema>;
export const versionListSchema = z.array(versionSchema);

const message = z.string().max(2000);
export const versionNumber = z.coerce.number().int().min(1);

export const searchQuery = z.object({ search: z.string().max(200).optional() });

/** A new flow: a document (validated as a flow document, not as a runnable flow), or a template's copy. */
export const createFlowBody = z.union([
  z.strictObject({ document: z.unknown(), message: message.optional() }),
  z.strictObject({
    templateId: z.string().min(1).max(100),
    name: z.string().min(1).max(200).optional(),
    /** The UI language the flow is made in: the copy takes the template's description in it (English otherwise). */
    language: z.enum(['en', 'zh-CN']).optional(),
  }),
]);
export type CreateFlowBody = z.input<typeof createFlowBody>;

export const flowCreatedSchema = z.object({ flow: flowSchema, version: versionSchema });
export const flowDetailSchema = z.object({ flow: flowSchema, version: versionSchema, document });
export type FlowDetail = z.output<typeof flowDetailSchema>;

export const saveFlowBody = z.strictObject({ document: z.unknown(), message: message.default('') });
export type SaveFlowBody = z.input<typeof saveFlowBody>;
/** `created` is false when the document did not change (no new version). */
export const flowSavedSchema = flowCreatedSchema.extend({ created: z.boolean() });

export const validateFlowBody = z.strictObject({ document: z.unknown() });
export const validationSchema = z.object({ ok: z.boolean(), problems: z.array(problemSchema) });

export const versionDetailSchema = z.object({ version: versionSchema, document });
export const restoreBody = z.strictObject({ message: message.optional() }).optional();

export const diffQuery = z.object({ from: versionNumber, to: versionNumber });
export const exportQuery = z.object({ version: versionNumber.optional() });

const fieldChange = z.object({ path: z.string(), before: z.unknown(), after: z.unknown() });
export type FieldChange = z.output<typeof fieldChange>;
/** What changed between two versions; canvas layout (`ui`) is not compared. */
export const flowDiffSchema = z.object({
  flow: z.object({ fields: z.array(fieldChange) }),
  nodes: z.object({
    added: z.array(z.string()),
    removed: z.array(z.string()),
    changed: z.array(z.object({ id: z.string(), fields: z.array(fieldChange) })),
  }),
  edges: z.object({ added: z.array(z.string()), removed: z.array(z.string()) }),
});
export type FlowDiff = z.output<typeof flowDiffSchema>;
