/**
 * The flow document: the persisted, versioned shape of a flow. One zod schema gives the TypeScript type, the
 * validation and the JSON Schema exported for editors and external tools. Documents carry `schemaVersion`;
 * older documents are brought forward by the migrations keyed by it, so a flow saved today loads in five years.
 *
 * Depends on zod only, so the editor can import it.
 */
import { z } from 'zod';

export const CURRENT_SCHEMA_VERSION = 1;

export const idPattern = /^[A-Za-z_][\w-]{0,63}$/;
const id = z
  .string()
  .regex(idPattern, 'ids start with a letter or _ and hold letters, digits, _ or - (at most 64)');

export const nodeTypePattern = /^[a-z][a-zA-Z0-9]*(\.[a-z][a-zA-Z0-9]*)+$/;

export const retryPolicySchema = z
  .object({
    maxAttempts: z.int().min(1).max(20).meta({ title: 'Max attempts', description: 'Including the first' }),
    initialDelayMs: z.int().min(0).max(600_000).meta({ title: 'Initial delay (ms)' }),
    backoff: z.number().min(1).max(10).meta({ title: 'Backoff factor' }),
    maxDelayMs: z.int().min(0).max(3_600_000).meta({ title: 'Max delay (ms)' }),
    nonRetryable: z
      .array(z.string().regex(/^[A-Z][A-Z0-9_]*$/))
      .meta({ title: 'Error codes that never retry' }),
  })
  .strict();
export type RetryPolicy = z.output<typeof retryPolicySchema>;

export const onErrorSchema = z.discriminatedUnion('action', [
  z.object({ action: z.literal('fail') }).strict(),
  z
    .object({
      action: z.literal('continue'),
      /** Values for the node's outputs when it fails; outputs not given are not taken. */
      fallback: z.record(z.string(), z.unknown()).optional(),
    })
    .strict(),
  z.object({ action: z.literal('route') }).strict(),
]);
export type OnError = z.output<typeof onErrorSchema>;

const position = z.object({ x: z.number(), y: z.number() }).strict();

/**
 * How sensitive data is, least first: a class includes what the ones before it may hold (personal data is also
 * internal). Connections list the classes they may receive; a flow and a model node say what they handle.
 */
export const dataClasses = ['public', 'internal', 'personal', 'confidential'] as const;
export type DataClass = (typeof dataClasses)[number];

export const flowNodeSchema = z
  .object({
    id,
    type: z.string().regex(nodeTypePattern, 'node types look like `category.camelName`'),
    version: z.int().min(1),
    config: z.record(z.string(), z.unknown()).default({}),
    label: z.string().max(200).optional(),
    description: z.string().max(4000).optional(),
    retry: retryPolicySchema.partial().optional(),
    timeoutMs: z.int().min(1).max(86_400_000).optional(),
    onError: onErrorSchema.optional(),
    ui: z.object({ position }).strict().optional(),
  })
  .strict();
export type FlowNode = z.output<typeof flowNodeSchema>;

const endpoint = z.object({ node: id, port: z.string().min(1).max(64) }).strict();
export const flowEdgeSchema = z.object({ id, from: endpoint, to: endpoint }).strict();
export type FlowEdge = z.output<typeof flowEdgeSchema>;

export const stickyNoteSchema = z
  .object({
    id,
    text: z.string().max(10_000),
    position,
    width: z.number().positive().optional(),
    height: z.number().positive().optional(),
    color: z.string().max(32).optional(),
  })
  .strict();

export const flowSettingsSchema = z
  .object({
    /** Whole-run deadline; the run fails with RUN_DEADLINE when it passes. */
    deadlineMs: z.int().min(1).max(86_400_000).optional(),
    /** Nodes of this flow running at once. */
    concurrency: z.int().min(1).max(256).optional(),
    /**
     * The most sensitive data the flow handles; its model calls may only use connections allowed that class.
     * Unset: `internal`, or `personal` when `redact` marks personal data.
     */
    dataClass: z.enum(dataClasses).optional(),
    /**
     * Where personal data flows: these input fields (dotted paths) and the inputs and outputs of these
     * nodes are masked before they are written to logs, audit entries or run records.
     */
    redact: z
      .object({
        inputPaths: z.array(z.string().min(1)).default([]),
        nodes: z.array(id).default([]),
      })
      .strict()
      .optional(),
    /**
     * Ground truth for this flow's decisions (feedback): the input field (dotted path) that names a case for the
     * callers, such as an application id; the JSON Schema a label must match; and the output (dotted path, such as
     * `decision.outcome`) that is the decision a label judges.
     */
    feedback: z
      .object({
        businessKey: z.string().min(1).max(200).optional(),
        labelSchema: z.record(z.string(), z.unknown()).optional(),
        predictionPath: z.string().min(1).max(200).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export const flowDocumentSchema = z
  .object({
    schemaVersion: z.literal(CURRENT_SCHEMA_VERSION),
    id,
    name: z.string().min(1).max(200),
    description: z.string().max(10_000).default(''),
    tags: z.array(z.string().max(64)).max(50).optional(),
    nodes: z.array(flowNodeSchema).max(20_000),
    edges: z.array(flowEdgeSchema).max(100_000),
    settings: flowSettingsSchema.optional(),
    ui: z
      .object({
        notes: z.array(stickyNoteSchema).default([]),
        viewport: z.object({ x: z.number(), y: z.number(), zoom: z.number().positive() }).strict().optional(),
      })
      .strict()
      .optional(),
  })
  .strict()
  .meta({ title: 'FinFlow flow document' });

export type FlowDocument = z.output<typeof flowDocumentSchema>;
/** A document as written by hand, before defaults are filled in. */
export type FlowDocumentInput = z.input<typeof flowDocumentSchema>;

/** JSON Schema (draft 2020-12) of the flow document, for editors and external tools. */
export function flowDocumentJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(flowDocumentSchema, { io: 'input', target: 'draft-2020-12' }) as Record<
    string,
    unknown
  >;
}

/** A migration takes a document of schema version `n` and returns one of version `n + 1`. */
export type FlowMigration = (doc: Record<string, unknown>) => Record<string, unknown>;

/**
 * Migrations keyed by the version they migrate from. Version 1 is the first published format, so the table is
 * empty; a format change adds `[1]: (doc) => ...` here together with a fixture of the old format.
 */
export const flowMigrations: Readonly<Record<number, FlowMigration>> = Object.freeze({});

export type MigrationResult =
  { ok: true; document: Record<string, unknown>; migratedFrom?: number } | { ok: false; message: string };

/** Brings a parsed JSON document up to the current schema version. */
export function migrateFlowDocument(
  doc: unknown,
  migrations: Readonly<Record<number, FlowMigration>> = flowMigrations,
  target: number = CURRENT_SCHEMA_VERSION,
): MigrationResult {
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) {
    return { ok: false, message: 'a flow document is a JSON object' };
  }
  let current = doc as Record<string, unknown>;
  const version = current['schemaVersion'];
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) {
    return { ok: false, message: '`schemaVersion` must be a positive integer' };
  }
  if (version > target) {
    return {
      ok: false,
      message: `schemaVersion ${version} was written by a newer FinFlow (this one reads up to ${target})`,
    };
  }
  for (let v = version; v < target; v++) {
    const step = migrations[v];
    if (!step) return { ok: false, message: `no migration from schemaVersion ${v} to ${v + 1}` };
    current = { ...step(current), schemaVersion: v + 1 };
  }
  return version === target
    ? { ok: true, document: current }
    : { ok: true, document: current, migratedFrom: version };
}

/**
 * Sticky-note colours: pale backgrounds under one dark text colour, each at least 7:1 (WCAG AA needs 4.5:1). A
 * note's `color` may name one (`yellow`), give its hex, or be any other colour from an older document, which is
 * drawn as the palette entry nearest in hue, so no note is ever saturated blue with unreadable text.
 */
export const noteColors = {
  yellow: '#fff4c2',
  blue: '#dbeafe',
  green: '#dcfce7',
  pink: '#fce7f3',
  purple: '#ede9fe',
  grey: '#eef1f5',
} as const;
export type NoteColorName = keyof typeof noteColors;
export const NOTE_TEXT_COLOR = '#1f2937';

function hexRgb(hex: string): [number, number, number] | null {
  const m = /^#?([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(hex.trim());
  if (!m?.[1]) return null;
  const h = m[1].length === 3 ? [...m[1]].map((c) => c + c).join('') : m[1];
  return [0, 2, 4].map((i) => parseInt(h.slice(i, i + 2), 16)) as [number, number, number];
}

/** The palette entry a note's `color` is drawn with. */
export function noteColorName(color: string | undefined): NoteColorName {
  if (!color) return 'yellow';
  const c = color.trim().toLowerCase();
  if (c === 'gray') return 'grey';
  if (c in noteColors) return c as NoteColorName;
  const exact = (Object.keys(noteColors) as NoteColorName[]).find((k) => noteColors[k] === c);
  if (exact) return exact;
  const rgb = hexRgb(c);
  if (!rgb) return 'yellow';
  const [r, g, b] = rgb.map((v) => v / 255) as [number, number, number];
  const max = Math.max(r, g, b);
  const min = Math.min(r, g, b);
  if (max - min < 0.08) return 'grey';
  const d = max - min;
  const hue =
    max === r
      ? (60 * ((g - b) / d) + 360) % 360
      : max === g
        ? 60 * ((b - r) / d) + 120
        : 60 * ((r - g) / d) + 240;
  if (hue < 20 || hue >= 320) return 'pink';
  if (hue < 75) return 'yellow';
  if (hue < 170) return 'green';
  if (hue < 255) return 'blue';
  return 'purple';
}

/** WCAG 2 contrast ratio of two hex colours. */
export function contrastRatio(a: string, b: string): number {
  const lum = (hex: string) => {
    const rgb = hexRgb(hex) ?? [0, 0, 0];
    const [r, g, bl] = rgb.map((v) => {
      const s = v / 255;
      return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
    }) as [number, number, number];
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  const [hi, lo] = [lum(a), lum(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

function overlaps(a: Box, b: Box, gap: number): boolean {
  return (
    a.x < b.x + b.width + gap &&
    b.x < a.x + a.width + gap &&
    a.y < b.y + b.height + gap &&
    b.y < a.y + a.height + gap
  );
}

/**
 * Notes that cover a node, moved into a row above the nodes (in their left-to-right order, clear of each other
 * and of the notes that stay): the new top-left of each moved note, by note id. Notes clear of every node keep
 * their place.
 */
export function notesOffNodes(
  notes: readonly (Box & { id: string })[],
  nodes: readonly Box[],
): Map<string, Box> {
  const gap = 16;
  const moved = new Map<string, Box>();
  if (!nodes.length) return moved;
  const top = Math.min(...nodes.map((n) => n.y));
  const placed: Box[] = notes.filter((n) => !nodes.some((b) => overlaps(n, b, gap)));
  const covering = notes.filter((n) => nodes.some((b) => overlaps(n, b, gap))).sort((a, b) => a.x - b.x);
  for (const note of covering) {
    const box = { x: note.x, y: top - note.height - 3 * gap, width: note.width, height: note.height };
    // Step right, then up a row, until the note is clear of everything already there.
    for (let tries = 0; tries < 200 && [...placed, ...nodes].some((b) => overlaps(box, b, gap)); tries++) {
      const blocker = [...placed, ...nodes].find((b) => overlaps(box, b, gap));
      if (blocker && tries % 20 !== 19) box.x = blocker.x + blocker.width + gap * 2;
      else {
        box.x = note.x;
        box.y -= note.height + gap * 2;
      }
    }
    placed.push(box);
    moved.set(note.id, box);
  }
  return moved;
}
