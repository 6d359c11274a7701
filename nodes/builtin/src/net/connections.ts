/**
 * How nodes reach a workspace connection: the config field that names one, the data class a node declares, and
 * `openConnection`, which resolves the name (or a version-1 node's base URL and credential) through
 * `ctx.services.connections`, classifies what the call sends (personal data found in it raises the class), has
 * the resolver check and record the call, and hands back the connection's key and the egress client. A node never
 * sees a URL or a credential that a connection did not bind together. The PII detection that classifies a call
 * loads with the first call that needs it: the model nodes' definitions import this module, and a server that
 * serves only endpoints should not carry the detector's lexicons and models (issue 18).
 */
import {
  connectionNamePattern,
  dataClasses,
  matchLegacyEndpoint,
  type ConnectionKind,
  type LegacyEndpoint,
} from '@finflow/runtime';
import {
  NodeError,
  onFirstRun,
  z,
  type ConnectionInfo,
  type DataClass,
  type NodeContext,
} from '@finflow/sdk';
import { defaultEgress } from './egress.js';

const kindNames: Record<ConnectionKind, { en: string; zh: string }> = {
  openai: { en: 'OpenAI-compatible', zh: '兼容 OpenAI' },
  ollama: { en: 'Ollama', zh: 'Ollama' },
  finflow: { en: 'FinFlow server', zh: 'FinFlow 服务器' },
};

/** A config field naming a connection of the given kinds; the editor lists the workspace's connections. */
export function connectionField(
  kinds: readonly ConnectionKind[],
  meta: { title: string; group: string; zh: string; zhGroup?: string },
) {
  const en = kinds.map((k) => kindNames[k].en).join(' or ');
  const zh = kinds.map((k) => kindNames[k].zh).join(' 或 ');
  return z
    .string()
    .regex(connectionNamePattern, 'a connection name')
    .optional()
    .meta({
      title: meta.title,
      description: `A workspace connection (${en}): its base URL and credential are set by developers and admins`,
      widget: 'connection',
      connectionKinds: [...kinds],
      group: meta.group,
      zh: {
        title: meta.zh,
        description: `工作区连接（${zh}）：接口地址和凭证由开发者或管理员设置`,
      },
    });
}

export const dataClassChoices = ['auto', ...dataClasses] as const;
export type DataClassChoice = (typeof dataClassChoices)[number];

/** What a model node declares about the data it sends. */
export function dataClassField(group: string) {
  return z
    .enum(dataClassChoices)
    .default('auto')
    .meta({
      title: 'Data sent',
      description:
        "auto: the flow's data class, raised to personal when personal data (ID, card, phone numbers, names, addresses) is found in what is sent; otherwise the most sensitive class of data this node sends. Connections accept only the classes their writer allowed.",
      group,
      zh: {
        title: '发送的数据类别',
        description:
          '自动：取流程的数据类别；在发送内容中发现个人信息（证件号、卡号、电话、姓名、地址）时提升为个人数据。其他选项：此节点发送的最敏感数据类别。连接只接收其设置允许的类别。',
        options: {
          auto: '自动',
          public: '公开',
          internal: '内部',
          personal: '个人数据',
          confidential: '机密',
        },
      },
    });
}

export interface ClassifiedData {
  dataClass: DataClass;
  /** PII types found in the text (types only). */
  piiTypes: string[];
}

const piiDetection = onFirstRun(() => import('../compliance/pii/detect.js'));

/** The class of a text: `personal` when it holds personal data, else `base`. */
export async function classifyText(text: string, base: DataClass = 'internal'): Promise<ClassifiedData> {
  const { detectPii } = await piiDetection();
  const piiTypes = [...new Set(detectPii(text).map((e) => e.type))].sort();
  return {
    dataClass:
      piiTypes.length && dataClasses.indexOf(base) < dataClasses.indexOf('personal') ? 'personal' : base,
    piiTypes,
  };
}

export interface ConnectionCall {
  /** The connection the config names. */
  name?: string | undefined;
  /** A version-1 node's base URL and credential, standing for the connection that binds them. */
  legacy?: LegacyEndpoint | undefined;
  kinds: readonly ConnectionKind[];
  model?: string | undefined;
  dataClass: DataClassChoice;
  /** What the call sends, classified when `dataClass` is auto and the connection may not take personal data. */
  outgoing?: () => string;
  /** The class assumed for `auto` when the content cannot be read (audio is personal: a voice identifies). */
  assume?: DataClass;
  route?: { reasons: readonly string[] };
  /** PII types the caller already found (a routing node), recorded with the call. */
  piiTypes?: readonly string[];
}

export interface OpenedConnection {
  info: ConnectionInfo;
  /** The model to call: the config's, else the connection's first allowed model. */
  model: string | undefined;
  apiKey: string | undefined;
  /** The egress client, bound to the node's signal. */
  fetch: typeof globalThis.fetch;
  /** e.g. `openai:gpt-4o-mini via "cloud-llm"`, for messages and outputs. */
  label: string;
  dataClass: DataClass;
  piiTypes: string[];
}

/** The connection a name or a legacy endpoint stands for, from the run's resolver. */
export async function findConnection(
  ctx: NodeContext,
  call: Pick<ConnectionCall, 'name' | 'legacy'>,
): Promise<ConnectionInfo> {
  const resolver = ctx.services.connections;
  if (!resolver)
    throw new NodeError(
      'no workspace connections are available to this run (the server provides them; the CLI reads FINFLOW_CONNECTIONS)',
      'CONNECTION_NOT_FOUND',
    );
  const list = await resolver.list();
  if (call.name !== undefined) {
    const info = list.find((c) => c.name === call.name);
    if (!info)
      throw new NodeError(`the workspace has no connection named "${call.name}"`, 'CONNECTION_NOT_FOUND');
    return info;
  }
  if (call.legacy) {
    const m = matchLegacyEndpoint(list, call.legacy);
    if (!m.ok) throw new NodeError(m.message, m.code);
    return m.connection;
  }
  throw new NodeError('choose a connection', 'INVALID_CONFIG');
}

/** The class a call carries, as the node sees it (the resolver raises it to the flow's class). */
export async function callDataClass(
  info: ConnectionInfo,
  call: Pick<ConnectionCall, 'dataClass' | 'outgoing' | 'assume'>,
  flowClass: DataClass,
): Promise<ClassifiedData> {
  if (call.dataClass !== 'auto') return { dataClass: call.dataClass, piiTypes: [] };
  const base = call.assume ?? flowClass;
  // Scanning costs time on long prompts; it can only change the outcome where personal data is not accepted.
  if (!call.outgoing || info.dataClasses.includes('personal')) return { dataClass: base, piiTypes: [] };
  return classifyText(call.outgoing(), base);
}

function boundFetch(ctx: NodeContext): typeof globalThis.fetch {
  const egress = ctx.services.egress ?? defaultEgress();
  const signal = ctx.signal;
  return (input, init) =>
    egress.fetch(input, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, signal]) : signal });
}

/** Opens one call through a connection: resolved, classified, checked and recorded, with its key. */
export async function openConnection(ctx: NodeContext, call: ConnectionCall): Promise<OpenedConnection> {
  const found = await findConnection(ctx, call);
  const resolver = ctx.services.connections!;
  const classified = await callDataClass(found, call, resolver.flowDataClass);
  const dataClass = classified.dataClass;
  const piiTypes = call.piiTypes ? [...call.piiTypes] : classified.piiTypes;
  const model = call.model ?? found.models[0];
  const info = await resolver.open({
    name: found.name,
    nodeId: ctx.nodeId,
    kinds: call.kinds,
    model,
    dataClass,
    piiTypes,
    route: call.route,
  });
  const apiKey = info.credential ? await ctx.secret(info.credential) : undefined;
  return {
    info,
    model,
    apiKey,
    fetch: boundFetch(ctx),
    label: `${info.kind}:${model ?? '?'} via "${info.name}"`,
    dataClass,
    piiTypes,
  };
}
