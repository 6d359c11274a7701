/**
 * Connections: a workspace's outbound providers (an OpenAI-compatible or Ollama API for chat, embeddings or
 * transcription), each bound to one base URL and at most one credential, written by developers and admins. A node
 * names a connection and never holds a URL or a credential, so whoever edits a flow cannot send a stored key
 * anywhere else. A connection also says where it runs (the bank's own `private` deployment or a `cloud` one) and
 * which data classes it may receive.
 *
 * One rule (`connectionRefusal`) decides whether a call may use a connection; flow validation, the run-time
 * resolver of the server and the CLI's, and the test fakes all call it, so the check at save time and the check
 * at call time cannot drift.
 */
import { z } from 'zod';
import { dataClasses, type DataClass, type FlowDocument } from './document.js';
import { ErrorCodes, NodeError } from './errors.js';
import type { Problem } from './problems.js';
import type { PreparedFlow } from './validate.js';

export { dataClasses, type DataClass };

export {
  connectionKinds,
  connectionNamePattern,
  connectionSpecSchema,
  defaultDataClasses,
  deploymentClasses,
  legacyConnectionKinds,
  type ConnectionKind,
  type ConnectionSpec,
  type ConnectionSpecInput,
  type DeploymentClass,
  type LegacyConnectionKind,
} from './connection-spec.js';
import {
  legacyConnectionKinds,
  type ConnectionKind,
  type ConnectionSpec,
  type DeploymentClass,
  type LegacyConnectionKind,
} from './connection-spec.js';

const kindTitles: Record<ConnectionKind, string> = {
  openai: 'an OpenAI-compatible',
  ollama: 'an Ollama',
  finflow: 'a FinFlow',
};

/** A connection as nodes and validation see it: no secret, only the credential's name. */
export interface ConnectionInfo extends ConnectionSpec {
  name: string;
}

/** Where a flow saved before connections pointed a provider node (node config version 1). */
export interface LegacyEndpoint {
  provider: LegacyConnectionKind;
  baseUrl?: string | undefined;
  credential?: string | undefined;
}

export const legacyEndpointSchema = z
  .object({
    provider: z.enum(legacyConnectionKinds),
    baseUrl: z.string().max(2000).optional(),
    credential: z.string().max(200).optional(),
  })
  .meta({
    title: 'Saved before connections',
    description:
      'This node was saved with a base URL and credential of its own. It runs through the workspace connection with the same base URL and credential, if there is one; choose a connection to replace it.',
    widget: 'legacy-endpoint',
    zh: {
      title: '旧版接口设置',
      description:
        '此节点保存于“连接”功能之前，自带接口地址和凭证。运行时使用接口地址和凭证都相同的工作区连接（如有）；请改为选择一个连接。',
    },
  });

/** The base URL a version-1 node used when it set none. */
export function defaultLegacyBaseUrl(kind: LegacyConnectionKind): string {
  return kind === 'openai' ? 'https://api.openai.com/v1' : 'http://127.0.0.1:11434';
}

/** A base URL compared by destination: scheme and host in lower case, default port and trailing `/` dropped. */
export function destinationOf(baseUrl: string): string {
  try {
    const u = new URL(baseUrl);
    return `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, '')}`.toLowerCase();
  } catch {
    return baseUrl.trim().toLowerCase();
  }
}

export type ConnectionRefusal = {
  code:
    | typeof ErrorCodes.CONNECTION_NOT_FOUND
    | typeof ErrorCodes.CONNECTION_NOT_ALLOWED
    | typeof ErrorCodes.CONNECTION_REQUIRED
    | typeof ErrorCodes.CREDENTIAL_DESTINATION_MISMATCH;
  message: string;
};

/**
 * The connection a version-1 node's base URL and credential stand for: one of the same kind, destination and
 * credential. A credential that connections bind to other destinations is refused by name, so the author learns
 * which connection to choose; anything else asks for a connection.
 */
export function matchLegacyEndpoint(
  connections: readonly ConnectionInfo[],
  legacy: LegacyEndpoint,
): { ok: true; connection: ConnectionInfo } | ({ ok: false } & ConnectionRefusal) {
  const destination = destinationOf(legacy.baseUrl ?? defaultLegacyBaseUrl(legacy.provider));
  const credential = legacy.credential ?? null;
  const match = connections
    .filter(
      (c) =>
        c.kind === legacy.provider && destinationOf(c.baseUrl) === destination && c.credential === credential,
    )
    .sort((a, b) => a.name.localeCompare(b.name))[0];
  if (match) return { ok: true, connection: match };
  if (credential) {
    const bound = connections.filter((c) => c.credential === credential).map((c) => c.name);
    return {
      ok: false,
      code: ErrorCodes.CREDENTIAL_DESTINATION_MISMATCH,
      message: bound.length
        ? `the credential "${credential}" may only be sent through the connection${bound.length > 1 ? 's' : ''} ${bound.map((b) => `"${b}"`).join(', ')}, not to ${destination}: choose a connection instead of a base URL`
        : `no connection sends the credential "${credential}" to ${destination}: choose a connection (a developer or admin creates them)`,
    };
  }
  return {
    ok: false,
    code: ErrorCodes.CONNECTION_REQUIRED,
    message: `this node was saved with the base URL ${destination} and no workspace connection has it: choose a connection (a developer or admin creates them)`,
  };
}

/** The class a flow's data has: its `settings.dataClass`, at least `personal` when it marks personal data. */
export function flowDataClass(flow: Pick<FlowDocument, 'settings'>): DataClass {
  const s = flow.settings;
  const marked = !!s?.redact && (s.redact.inputPaths.length > 0 || s.redact.nodes.length > 0);
  return maxDataClass(s?.dataClass ?? 'internal', marked ? 'personal' : 'public');
}

export function maxDataClass(...classes: DataClass[]): DataClass {
  let best = 0;
  for (const c of classes) best = Math.max(best, dataClasses.indexOf(c));
  return dataClasses[best] as DataClass;
}

export interface ConnectionCheck {
  /** The kinds of API the node speaks. */
  kinds: readonly ConnectionKind[];
  model?: string | undefined;
  /** The class of the data the call carries; unchecked when absent. */
  dataClass?: DataClass | undefined;
}

/** Why a connection may not take a call, or undefined when it may. */
export function connectionRefusal(
  info: ConnectionInfo,
  check: ConnectionCheck,
): ConnectionRefusal | undefined {
  const code = ErrorCodes.CONNECTION_NOT_ALLOWED;
  if (!check.kinds.includes(info.kind))
    return {
      code,
      message: `the connection "${info.name}" is ${kindTitles[info.kind]} connection; this node needs ${check.kinds.join(' or ')}`,
    };
  if (check.model !== undefined && info.models.length > 0 && !info.models.includes(check.model))
    return {
      code,
      message: `the connection "${info.name}" does not allow the model "${check.model}" (allowed: ${info.models.join(', ')})`,
    };
  if (check.dataClass !== undefined && !info.dataClasses.includes(check.dataClass))
    return {
      code,
      message: `the connection "${info.name}" (${info.deployment}) may not receive ${check.dataClass} data (it accepts ${info.dataClasses.join(', ') || 'none'})`,
    };
  return undefined;
}

/** What a node's config says about the connections it calls, for validation (declared by the node type). */
export interface ConnectionUse {
  /** Config path of the field that names the connection (or holds the legacy endpoint). */
  path: (string | number)[];
  name?: string | undefined;
  legacy?: LegacyEndpoint | undefined;
  kinds: readonly ConnectionKind[];
  model?: string | undefined;
  /** The class the node declares it sends; the flow's class when absent. */
  dataClass?: DataClass | undefined;
  /** A routing node's target: the data class is decided per call, so it is not checked here. */
  routed?: boolean;
  /** The call needs a model name: from the node, else the connection's first allowed model. */
  needsModel?: boolean;
}

/** The connection a use names, or the refusal to report. */
export function resolveConnectionUse(
  connections: readonly ConnectionInfo[],
  use: Pick<ConnectionUse, 'name' | 'legacy'>,
): { ok: true; connection: ConnectionInfo } | ({ ok: false } & ConnectionRefusal) | undefined {
  if (use.name !== undefined) {
    const connection = connections.find((c) => c.name === use.name);
    return connection
      ? { ok: true, connection }
      : {
          ok: false,
          code: ErrorCodes.CONNECTION_NOT_FOUND,
          message: `the workspace has no connection named "${use.name}"`,
        };
  }
  if (use.legacy) return matchLegacyEndpoint(connections, use.legacy);
  return undefined;
}

/**
 * Connection problems of a valid flow against a workspace's connections: unknown names, unmatched legacy
 * endpoints, kinds, models and data classes. Nodes whose config holds expressions are checked when they run.
 */
export function connectionProblems(
  prepared: PreparedFlow,
  connections: readonly ConnectionInfo[],
): Problem[] {
  const problems: Problem[] = [];
  const flowClass = flowDataClass(prepared.flow);
  for (const node of prepared.nodes) {
    if (!node.def.connections || node.dynamic) continue;
    for (const use of node.def.connections(node.config)) {
      const resolved = resolveConnectionUse(connections, use);
      if (!resolved) continue;
      if (!resolved.ok) {
        problems.push({ code: resolved.code, message: resolved.message, nodeId: node.id, path: use.path });
        continue;
      }
      if (use.needsModel && use.model === undefined && resolved.connection.models.length === 0)
        problems.push({
          code: 'INVALID_CONFIG',
          message: `the connection "${resolved.connection.name}" allows any model: name one in the node`,
          nodeId: node.id,
          path: use.path,
        });
      const refusal = connectionRefusal(resolved.connection, {
        kinds: use.kinds,
        model: use.model,
        dataClass: use.routed ? undefined : maxDataClass(flowClass, use.dataClass ?? flowClass),
      });
      if (refusal)
        problems.push({ code: refusal.code, message: refusal.message, nodeId: node.id, path: use.path });
    }
  }
  return problems;
}

/** One call a node makes through a connection. */
export interface ConnectionRequest {
  name: string;
  nodeId: string;
  kinds: readonly ConnectionKind[];
  model?: string | undefined;
  /** The class of what the call sends, as the node sees it; the resolver raises it to the flow's class. */
  dataClass: DataClass;
  /** PII types found in what the call sends (types only, never values). */
  piiTypes?: readonly string[] | undefined;
  /** A routing node's decision: recorded on every call, with its reasons. */
  route?: { reasons: readonly string[] } | undefined;
}

/** What the resolver reports for the audit trail (never a secret, never the data). */
export interface ConnectionEvent {
  type: 'used' | 'refused' | 'routed';
  connection: string;
  nodeId: string;
  dataClass: DataClass;
  deployment?: DeploymentClass;
  model?: string;
  code?: string;
  reason?: string;
  piiTypes?: readonly string[];
  reasons?: readonly string[];
}

/** Connections as a run sees them (`ctx.services.connections`). */
export interface ConnectionResolver {
  /** The class of the run's flow: every call carries at least this. */
  readonly flowDataClass: DataClass;
  /** Every connection the run may name (no secrets). */
  list(): Promise<ConnectionInfo[]>;
  /** Checks one call (kind, model, data class) and records it; throws a NodeError when it is refused. */
  open(request: ConnectionRequest): Promise<ConnectionInfo>;
}

/**
 * A resolver over a list of connections. `record` receives every decision: refusals and routing decisions each
 * time, a connection's use once per run.
 */
export function createConnectionResolver(options: {
  list: () => Promise<readonly ConnectionInfo[]> | readonly ConnectionInfo[];
  flowDataClass?: DataClass;
  record?: (event: ConnectionEvent) => void;
}): ConnectionResolver {
  const flowClass = options.flowDataClass ?? 'internal';
  const used = new Set<string>();
  const record = options.record ?? (() => {});
  return {
    flowDataClass: flowClass,
    list: async () => [...(await options.list())],
    async open(request) {
      const dataClass = maxDataClass(flowClass, request.dataClass);
      const base = {
        connection: request.name,
        nodeId: request.nodeId,
        dataClass,
        ...(request.model === undefined ? {} : { model: request.model }),
        ...(request.piiTypes?.length ? { piiTypes: [...request.piiTypes] } : {}),
      };
      const info = (await options.list()).find((c) => c.name === request.name);
      const refusal: ConnectionRefusal | undefined = info
        ? connectionRefusal(info, { kinds: request.kinds, model: request.model, dataClass })
        : {
            code: ErrorCodes.CONNECTION_NOT_FOUND,
            message: `the workspace has no connection named "${request.name}"`,
          };
      if (refusal || !info) {
        const r = refusal as ConnectionRefusal;
        record({ type: 'refused', ...base, code: r.code, reason: r.message });
        throw new NodeError(r.message, r.code, { details: { connection: request.name, dataClass } });
      }
      if (request.route)
        record({ type: 'routed', ...base, deployment: info.deployment, reasons: [...request.route.reasons] });
      if (!used.has(info.name)) {
        used.add(info.name);
        record({ type: 'used', ...base, deployment: info.deployment });
      }
      return info;
    },
  };
}
