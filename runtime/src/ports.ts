/**
 * Port types: the closed set of value types that travel along edges, their zod schemas, the one coercion
 * table that both the editor (at connect time) and the runtime (at run time) use, and the resolution of
 * ports that a node derives from its config (switch cases, template variables, the input schema's fields).
 *
 * This module depends on zod only, so the editor can import it.
 */
import { z } from 'zod';

const binary = (prefix: string) =>
  z.object({
    mimeType: z.string().regex(new RegExp(`^${prefix}/[\\w.+-]+$`), `expected a ${prefix}/* MIME type`),
    /** Base64 bytes. */
    data: z.string().min(1),
    name: z.string().optional(),
  });

/** Zod schema of each port type. The names are the whole closed set. */
export const portSchemas = {
  any: z.unknown(),
  text: z.string(),
  number: z.number(),
  boolean: z.boolean(),
  record: z.record(z.string(), z.unknown()),
  list: z.array(z.unknown()),
  table: z.array(z.record(z.string(), z.unknown())),
  messages: z.array(z.object({ role: z.enum(['system', 'user', 'assistant', 'tool']), content: z.string() })),
  document: z
    .object({
      mimeType: z.string().min(1),
      /** Base64 bytes of a binary document (PDF, DOCX, ...). */
      data: z.string().optional(),
      /** The text of a plain-text or Markdown document. */
      text: z.string().optional(),
      name: z.string().optional(),
    })
    .refine((d) => d.data !== undefined || d.text !== undefined, 'a document needs `data` or `text`'),
  image: binary('image'),
  audio: binary('audio'),
  decision: z.looseObject({
    outcome: z.string().min(1),
    reasons: z.array(z.string()).optional(),
  }),
  score: z.looseObject({ value: z.number() }),
  artifact: z.looseObject({ kind: z.string().min(1) }),
  error: z.object({
    message: z.string(),
    code: z.string(),
    nodeId: z.string(),
    attempts: z.number().int(),
  }),
} as const;

export type PortType = keyof typeof portSchemas;
export const portTypes = Object.keys(portSchemas) as PortType[];

/** Whether a value names one of the port types. */
export function isPortType(value: unknown): value is PortType {
  return typeof value === 'string' && Object.hasOwn(portSchemas, value);
}
export const portTypeSchema = z.enum(portTypes as [PortType, ...PortType[]]);

/** TypeScript value type of a port type. */
export type PortValue<T extends PortType> = z.output<(typeof portSchemas)[T]>;

/** Palette colours of port handles (shared so the editor and documentation agree). */
export const portColors: Record<PortType, string> = {
  any: '#8a94a6',
  text: '#2f80ed',
  number: '#27ae60',
  boolean: '#9b51e0',
  record: '#f2994a',
  list: '#e2b93b',
  table: '#d35400',
  messages: '#56ccf2',
  document: '#6d4c41',
  image: '#eb5757',
  audio: '#bb6bd9',
  decision: '#219653',
  score: '#2d9cdb',
  artifact: '#4f4f4f',
  error: '#c0392b',
};

export interface PortSpec {
  type: PortType;
  title?: string;
  description?: string;
  /** Chinese title and description for the zh-CN editor (as a node's `meta.zh` and its config fields' `zh`). */
  zh?: { title: string; description?: string };
  /**
   * Inputs: the node cannot run without a value on this port (default true).
   * Outputs: the node always produces this port (default true); a conditional output such as a branch's
   * `true`/`false` is `required: false`, and edges from an output the node did not produce are not taken.
   */
  required?: boolean;
}

/** A port as declared by a node definition, with its name. */
export interface NamedPort extends PortSpec {
  name: string;
  required: boolean;
}

/**
 * Ports a node derives from its config. `path` is a dotted path into the config;
 * `mode: 'items'` takes one port per array item (the item itself if it is a string, else `item[nameKey]`);
 * `mode: 'keys'` takes one port per key of the object at `path`, and with `typeFromJsonSchema` the port type
 * is derived from the JSON Schema found at that key.
 *
 * Items that are objects may also declare their port's type and requiredness (`typeKey`, `requiredKey`): a code
 * node's config lists `{ name, type, required }` for each port. A type outside the closed set falls back to
 * `type`, so a config that has not been validated yet still yields ports; validation reports the bad type.
 */
export interface DynamicPortsSpec {
  path: string;
  mode: 'items' | 'keys';
  nameKey?: string;
  /** Items mode: the item key holding the port's type (one of the closed set). */
  typeKey?: string;
  /** Items mode: the item key holding whether the port is required (a boolean; `required` when absent). */
  requiredKey?: string;
  /** Items mode: the item key holding the port's description. */
  descriptionKey?: string;
  type: PortType;
  typeFromJsonSchema?: boolean;
  required?: boolean;
  description?: string;
}

export type Coercion =
  | 'identity'
  /** Statically unknown: the value is checked against the target schema at run time. */
  | 'checked'
  | 'toText'
  | 'scoreToNumber'
  | 'textToMessages'
  | 'textToDocument'
  | 'dataUrlToBinary';

/**
 * The explicit coercion table, `from -> to -> coercion`. Same-type connections and anything into `any` are
 * identity; `any` into a typed port is checked at run time. Everything not listed is refused.
 */
const coercionTable: Partial<Record<PortType, Partial<Record<PortType, Coercion>>>> = {
  number: { text: 'toText' },
  boolean: { text: 'toText' },
  text: {
    messages: 'textToMessages',
    document: 'textToDocument',
    image: 'dataUrlToBinary',
    audio: 'dataUrlToBinary',
  },
  table: { list: 'identity' },
  list: { table: 'checked' },
  messages: { list: 'identity' },
  score: { number: 'scoreToNumber', record: 'identity' },
  decision: { record: 'identity' },
  artifact: { record: 'identity' },
  error: { record: 'identity' },
  document: { record: 'identity' },
  image: { record: 'identity' },
  audio: { record: 'identity' },
  record: {
    decision: 'checked',
    score: 'checked',
    artifact: 'checked',
    document: 'checked',
    image: 'checked',
    audio: 'checked',
  },
};

export type ConnectCheck = { ok: true; coercion: Coercion } | { ok: false; reason: string };

/** Whether an output of type `from` may feed an input of type `to`, and how the value is converted. */
export function canConnect(from: PortType, to: PortType): ConnectCheck {
  if (from === to || to === 'any') return { ok: true, coercion: 'identity' };
  if (from === 'any') return { ok: true, coercion: 'checked' };
  const coercion = coercionTable[from]?.[to];
  if (coercion) return { ok: true, coercion };
  return { ok: false, reason: `a ${from} output cannot feed a ${to} input` };
}

/** Every (from, to) pair that connects, for documentation and the editor's legend. */
export function coercionPairs(): { from: PortType; to: PortType; coercion: Coercion }[] {
  const pairs: { from: PortType; to: PortType; coercion: Coercion }[] = [];
  for (const from of portTypes)
    for (const to of portTypes) {
      const c = canConnect(from, to);
      if (c.ok) pairs.push({ from, to, coercion: c.coercion });
    }
  return pairs;
}

const dataUrl = /^data:([\w.+-]+\/[\w.+-]+)(;[\w=.+-]+)*;base64,([A-Za-z0-9+/=\s]+)$/;

/**
 * Applies a coercion and validates the result against the target port type.
 * Returns the value, or a message saying why it does not fit.
 */
export function coerceValue(
  value: unknown,
  coercion: Coercion,
  to: PortType,
): { ok: true; value: unknown } | { ok: false; message: string } {
  let v = value;
  switch (coercion) {
    case 'identity':
      // Statically guaranteed when the producer validated its own output; no second check.
      return { ok: true, value };
    case 'toText':
      v = String(value);
      break;
    case 'scoreToNumber':
      v = (value as { value: number }).value;
      break;
    case 'textToMessages':
      v = [{ role: 'user', content: value }];
      break;
    case 'textToDocument':
      v = { mimeType: 'text/plain', text: value };
      break;
    case 'dataUrlToBinary': {
      const m = typeof value === 'string' ? dataUrl.exec(value) : null;
      if (!m) return { ok: false, message: `expected a base64 data URL for a ${to} input` };
      v = { mimeType: m[1], data: (m[3] ?? '').replace(/\s+/g, '') };
      break;
    }
    case 'checked':
      break;
  }
  return checkPortValue(to, v);
}

/**
 * Values of the simplest port types that their zod schemas certainly accept, recognised without running zod
 * (whose record schema copies the object): every node output is checked on every run.
 */
function plainlyValid(type: PortType, value: unknown): boolean {
  switch (type) {
    case 'text':
      return typeof value === 'string';
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'list':
      return Array.isArray(value);
    case 'record':
      return plainRecord(value);
    case 'table': {
      if (!Array.isArray(value)) return false;
      // An index loop, not every(): a hole is an undefined row, which the schema refuses.
      for (let i = 0; i < value.length; i++) if (!plainRecord(value[i])) return false;
      return true;
    }
    default:
      return false;
  }
}

/** An object zod's record schema accepts as it is: a plain object with string keys only. */
function plainRecord(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Object.hasOwn(value, 'constructor')) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return (proto === Object.prototype || proto === null) && Object.getOwnPropertySymbols(value).length === 0;
}

/** Validates a value against a port type; the message names the first problem and its path. */
export function checkPortValue(
  type: PortType,
  value: unknown,
): { ok: true; value: unknown } | { ok: false; message: string } {
  if (type === 'any') return value === undefined ? { ok: false, message: 'no value' } : { ok: true, value };
  if (plainlyValid(type, value)) return { ok: true, value };
  const r = portSchemas[type].safeParse(value);
  // Port schemas have no transforms or defaults, so the original value is kept (and no copy is handed on).
  if (r.success) return { ok: true, value };
  const issue = r.error.issues[0];
  const where = issue && issue.path.length ? ` at ${issue.path.join('.')}` : '';
  return { ok: false, message: `not a valid ${type}${where}: ${issue?.message ?? 'invalid'}` };
}

function getPath(obj: unknown, path: string): unknown {
  let cur = obj;
  for (const key of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

/** Port type for a JSON Schema, used by the input node's per-field outputs. */
export function portTypeForJsonSchema(schema: unknown): PortType {
  if (!schema || typeof schema !== 'object') return 'any';
  const s = schema as { type?: unknown; items?: { type?: unknown }; format?: unknown };
  const t = Array.isArray(s.type) ? s.type.find((x) => x !== 'null') : s.type;
  switch (t) {
    case 'string':
      return 'text';
    case 'number':
    case 'integer':
      return 'number';
    case 'boolean':
      return 'boolean';
    case 'object':
      return 'record';
    case 'array':
      return s.items && s.items.type === 'object' ? 'table' : 'list';
    default:
      return 'any';
  }
}

/** The ports a dynamic spec yields for a given config. Names that are not valid port names are dropped. */
export function resolveDynamicPorts(spec: DynamicPortsSpec, config: unknown): NamedPort[] {
  const at = getPath(config, spec.path);
  const ports: NamedPort[] = [];
  const push = (
    name: unknown,
    type: PortType,
    required = spec.required ?? true,
    description = spec.description,
    labels?: Pick<PortSpec, 'title' | 'zh'>,
  ) => {
    if (typeof name !== 'string' || !portNamePattern.test(name)) return;
    // The first declaration of a name wins, as with declared ports: a port name is unique on its side.
    if (ports.some((p) => p.name === name)) return;
    const port: NamedPort = { name, type, required };
    if (labels?.title) port.title = labels.title;
    if (description) port.description = description;
    if (labels?.zh) port.zh = labels.zh;
    ports.push(port);
  };
  if (spec.mode === 'items' && Array.isArray(at)) {
    for (const item of at) {
      if (typeof item === 'string') {
        push(item, spec.type);
        continue;
      }
      if (!item || typeof item !== 'object') continue;
      const fields = item as Record<string, unknown>;
      const declared = spec.typeKey === undefined ? undefined : fields[spec.typeKey];
      const required = spec.requiredKey === undefined ? undefined : fields[spec.requiredKey];
      const description = spec.descriptionKey === undefined ? undefined : fields[spec.descriptionKey];
      push(
        fields[spec.nameKey ?? 'name'],
        isPortType(declared) ? declared : spec.type,
        typeof required === 'boolean' ? required : (spec.required ?? true),
        typeof description === 'string' && description ? description : spec.description,
      );
    }
  } else if (spec.mode === 'keys' && at && typeof at === 'object' && !Array.isArray(at)) {
    for (const [key, sub] of Object.entries(at)) {
      if (!spec.typeFromJsonSchema) {
        push(key, spec.type);
        continue;
      }
      // A JSON Schema field (an input node's) titles its port as it titles its form field: `title` and
      // `description`, with the Chinese beside them in `zh: { title, description }` (the convention of node
      // config fields and template input schemas).
      const field = (sub && typeof sub === 'object' ? sub : {}) as Record<string, unknown>;
      const text = (v: unknown) => (typeof v === 'string' && v.trim() ? v : undefined);
      const zh = (field['zh'] && typeof field['zh'] === 'object' ? field['zh'] : {}) as Record<
        string,
        unknown
      >;
      const zhTitle = text(zh['title']);
      const zhDescription = text(zh['description']);
      const title = text(field['title']);
      push(
        key,
        portTypeForJsonSchema(sub),
        spec.required ?? true,
        text(field['description']) ?? spec.description,
        {
          ...(title ? { title } : {}),
          ...(zhTitle
            ? { zh: { title: zhTitle, ...(zhDescription ? { description: zhDescription } : {}) } }
            : {}),
        },
      );
    }
  }
  return ports;
}

export const portNamePattern = /^[A-Za-z_][\w-]{0,63}$/;

/** The structural description of a node's ports, as in a catalog entry. */
export interface PortLayout {
  inputs: NamedPort[];
  outputs: NamedPort[];
  dynamicInputs?: DynamicPortsSpec;
  dynamicOutputs?: DynamicPortsSpec;
}

/** The name of the output that carries a node's error when its `onError` is `route`. */
export const ERROR_PORT = 'error';

/**
 * All ports of a node with a given config: the declared ones, then the ones derived from its config (a derived
 * port never shadows a declared one), plus the `error` output when errors are routed.
 */
export function resolvePorts(
  layout: PortLayout,
  config: unknown,
  opts: { routeErrors?: boolean } = {},
): { inputs: NamedPort[]; outputs: NamedPort[] } {
  const inputs = [...layout.inputs];
  const outputs = [...layout.outputs];
  if (layout.dynamicInputs) {
    for (const p of resolveDynamicPorts(layout.dynamicInputs, config))
      if (!inputs.some((q) => q.name === p.name)) inputs.push(p);
  }
  if (layout.dynamicOutputs) {
    for (const p of resolveDynamicPorts(layout.dynamicOutputs, config))
      if (!outputs.some((q) => q.name === p.name)) outputs.push(p);
  }
  if (opts.routeErrors && !outputs.some((p) => p.name === ERROR_PORT)) {
    outputs.push({ name: ERROR_PORT, type: 'error', required: false, title: 'Error' });
  }
  return { inputs, outputs };
}
