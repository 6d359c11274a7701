/**
 * model.route: one chat call sent to the bank's private model or to a cheaper cloud model by the data it carries.
 * The class of the prompt is the most sensitive of the flow's class, the node's, a classification input and
 * personal data found in the prompt; a prompt the cloud connection may not receive goes to the private one, as
 * does one whose estimated cloud cost is over the budget. The decision and its reasons are an output and an audit
 * entry (through the connection resolver), with what the call cost and what it saved against the private model.
 */
import { dataClasses, type DataClass } from '@finflow/runtime';
import { defineNode, NodeError, port, z, type ConnectionInfo } from '@finflow/sdk';
import {
  classifyText,
  connectionField,
  dataClassField,
  findConnection,
  openConnection,
} from '../net/connections.js';
import {
  chatMessages,
  checkTemplates,
  messagesText,
  promptFields,
  renderPrompts,
  streamChat,
  tuningFields,
  type Usage,
} from './chat-run.js';
import { modelRetryPolicy } from './errors.js';
import { buildChatModel, chatConnectionKinds, connectionSpec } from './services.js';

const rank = (c: DataClass) => dataClasses.indexOf(c);
const money = (x: number) => Math.round(x * 1e6) / 1e6;

/** What a call costs on a connection, or undefined when it has no pricing. */
export function callCost(
  info: ConnectionInfo,
  tokens: { input: number; output: number },
): { amount: number; currency: string } | undefined {
  if (!info.pricing) return undefined;
  const p = info.pricing;
  return {
    amount: money((tokens.input / 1000) * p.inputPer1kTokens + (tokens.output / 1000) * p.outputPer1kTokens),
    currency: p.currency,
  };
}

export interface RouteDecision {
  target: 'private' | 'cloud';
  dataClass: DataClass;
  reasons: string[];
  piiTypes: string[];
  estimatedCloudCost?: number | undefined;
}

/** The routing rule, apart from the call: which connection a prompt of this class and size goes to, and why. */
export async function decideRoute(input: {
  cloud: ConnectionInfo;
  flowClass: DataClass;
  declared: DataClass | undefined;
  classified: DataClass | undefined;
  text: string;
  detectPii: boolean;
  maxTokens: number;
  maxCloudCost: number | undefined;
}): Promise<RouteDecision> {
  const reasons: string[] = [];
  let cls: DataClass = input.flowClass;
  if (rank(input.flowClass) > rank('internal')) reasons.push(`the flow handles ${input.flowClass} data`);
  if (input.declared && rank(input.declared) > rank(cls)) {
    cls = input.declared;
    reasons.push(`the node declares ${input.declared} data`);
  }
  if (input.classified) {
    reasons.push(`classified as ${input.classified}`);
    if (rank(input.classified) > rank(cls)) cls = input.classified;
  }
  let piiTypes: string[] = [];
  if (input.detectPii) {
    const found = await classifyText(input.text, cls);
    piiTypes = found.piiTypes;
    if (piiTypes.length) {
      reasons.push(`personal data found (${piiTypes.join(', ')})`);
      cls = found.dataClass;
    }
  }
  const estimate = callCost(input.cloud, {
    input: Math.ceil(input.text.length / 4),
    output: input.maxTokens,
  });
  const estimatedCloudCost = estimate?.amount;
  if (!input.cloud.dataClasses.includes(cls)) {
    reasons.push(`the cloud connection may not receive ${cls} data`);
    return { target: 'private', dataClass: cls, reasons, piiTypes, estimatedCloudCost };
  }
  if (input.maxCloudCost !== undefined && estimate && estimate.amount > input.maxCloudCost) {
    reasons.push(
      `the cloud call would cost up to ${estimate.amount} ${estimate.currency}, over the budget of ${input.maxCloudCost}`,
    );
    return { target: 'private', dataClass: cls, reasons, piiTypes, estimatedCloudCost };
  }
  reasons.push(`the cloud connection may receive ${cls} data`);
  return { target: 'cloud', dataClass: cls, reasons, piiTypes, estimatedCloudCost };
}

function parseClassification(value: string | undefined): DataClass | undefined {
  if (value === undefined || !value.trim()) return undefined;
  const v = value.trim().toLowerCase();
  if ((dataClasses as readonly string[]).includes(v)) return v as DataClass;
  throw new NodeError(
    `the classification input is "${value.slice(0, 40)}"; expected one of ${dataClasses.join(', ')}`,
    'INVALID_INPUT',
  );
}

export const routeNode = defineNode({
  type: 'model.route',
  version: 1,
  meta: {
    title: 'Route by sensitivity',
    category: 'model',
    description:
      "Sends a prompt to the private connection or the cloud connection by the data it carries: personal data found in it, a classification input, the flow's data class and a cloud cost budget. Outputs the reply, which connection answered and why, and the cost saved against the private model; every decision is audited.",
    zh: {
      title: '按敏感度路由',
      description:
        '根据提示词携带的数据选择私有部署连接或云端连接：发现的个人信息、分类输入、流程的数据类别以及云端费用预算。输出回答、所用连接及原因，以及相对私有模型节省的费用；每次决策都记入审计。',
    },
    icon: 'route',
    tags: ['privacy', 'routing', 'cost'],
  },
  config: z.object({
    private: connectionField(chatConnectionKinds, {
      title: 'Private connection',
      group: 'Routing',
      zh: '私有部署连接',
    }),
    privateModel: z
      .string()
      .min(1)
      .max(200)
      .optional()
      .meta({ title: 'Private model', group: 'Routing', zh: { title: '私有模型' } }),
    cloud: connectionField(chatConnectionKinds, {
      title: 'Cloud connection',
      group: 'Routing',
      zh: '云端连接',
    }),
    cloudModel: z
      .string()
      .min(1)
      .max(200)
      .optional()
      .meta({ title: 'Cloud model', group: 'Routing', zh: { title: '云端模型' } }),
    detectPii: z
      .boolean()
      .default(true)
      .meta({
        title: 'Look for personal data',
        description:
          'ID, card and phone numbers, e-mail addresses, names and addresses in the prompt make it personal',
        group: 'Routing',
        zh: {
          title: '检测个人信息',
          description: '提示词中出现证件号、卡号、电话、邮箱、姓名或地址时视为个人数据',
        },
      }),
    dataClass: dataClassField('Routing'),
    maxCloudCost: z
      .number()
      .min(0)
      .max(1_000_000)
      .optional()
      .meta({
        title: 'Cloud budget per call',
        description:
          "In the cloud connection's currency; a call whose estimate (prompt plus max tokens) is over it goes to the private connection",
        group: 'Routing',
        zh: {
          title: '单次云端预算',
          description: '以云端连接的币种计；预估费用（提示词加最大 token 数）超出时改用私有连接',
        },
      }),
    ...promptFields,
    ...tuningFields,
  }),
  inputs: {
    history: port('messages', { required: false, title: 'Earlier turns', zh: { title: '此前对话' } }),
    classification: port('text', {
      required: false,
      title: 'Data class',
      zh: { title: '数据级别' },
      description: 'public, internal, personal or confidential (from a classifier or the caller)',
    }),
  },
  outputs: {
    text: port('text', { title: 'Reply', zh: { title: '回复' } }),
    route: port('record', {
      title: 'Route',
      zh: { title: '路由' },
      description:
        'connection, deployment, dataClass, reasons, piiTypes, cost, baselineCost (the private connection), costSaved, currency',
    }),
    usage: port('record', { title: 'Token usage', zh: { title: '词元用量' } }),
    latencyMs: port('number', { title: 'Latency (ms)', zh: { title: '耗时（毫秒）' } }),
    model: port('text', { title: 'Model', zh: { title: '模型' } }),
  },
  dynamicInputs: { path: 'variables', mode: 'items', type: 'any', required: false },
  timeoutMs: 120_000,
  retry: modelRetryPolicy,
  connections(config) {
    const declared = config.dataClass === 'auto' ? undefined : config.dataClass;
    return [
      {
        path: ['private'],
        name: config.private,
        kinds: chatConnectionKinds,
        model: config.privateModel,
        dataClass: declared,
        needsModel: true,
      },
      {
        path: ['cloud'],
        name: config.cloud,
        kinds: chatConnectionKinds,
        model: config.cloudModel,
        routed: true,
        needsModel: true,
      },
    ];
  },
  validate(config, helpers) {
    if (!config.private) helpers.problem('choose the private connection', ['private']);
    if (!config.cloud) helpers.problem('choose the cloud connection', ['cloud']);
    if (config.private && config.private === config.cloud)
      helpers.problem('the private and the cloud connection are the same', ['cloud']);
    checkTemplates({ system: config.system, prompt: config.prompt }, config.variables, helpers.problem);
  },
  async run(ctx, inputs, config) {
    if (!config.private || !config.cloud)
      throw new NodeError('choose the private and the cloud connection', 'INVALID_CONFIG');
    const { system, prompt } = renderPrompts(ctx, inputs, config.variables, {
      system: config.system,
      prompt: config.prompt,
    });
    const messages = chatMessages(system, inputs.history ?? [], prompt);
    const [privateInfo, cloudInfo] = await Promise.all([
      findConnection(ctx, { name: config.private }),
      findConnection(ctx, { name: config.cloud }),
    ]);
    const decision = await decideRoute({
      cloud: cloudInfo,
      flowClass: ctx.services.connections!.flowDataClass,
      declared: config.dataClass === 'auto' ? undefined : config.dataClass,
      classified: parseClassification(inputs.classification),
      text: messagesText(messages),
      detectPii: config.detectPii,
      maxTokens: config.maxTokens,
      maxCloudCost: config.maxCloudCost,
    });
    const toCloud = decision.target === 'cloud';
    ctx.log.info(`routed to the ${decision.target} connection`, { reasons: decision.reasons });
    const opened = await openConnection(ctx, {
      name: toCloud ? config.cloud : config.private,
      kinds: chatConnectionKinds,
      model: toCloud ? config.cloudModel : config.privateModel,
      dataClass: decision.dataClass,
      piiTypes: decision.piiTypes,
      route: { reasons: decision.reasons },
    });
    const spec = connectionSpec(ctx, opened);
    spec.temperature = config.temperature;
    spec.maxTokens = config.maxTokens;
    const resolved = await buildChatModel(ctx, spec, opened.label);
    const result = await streamChat(ctx, resolved, messages, { stop: config.stop });
    const tokens = (u: Usage) => ({ input: u.inputTokens, output: u.outputTokens });
    const cost = callCost(opened.info, tokens(result.usage));
    const baseline = callCost(privateInfo, tokens(result.usage));
    const comparable = cost && baseline && cost.currency === baseline.currency;
    return {
      text: result.text,
      route: {
        connection: opened.info.name,
        deployment: opened.info.deployment,
        dataClass: decision.dataClass,
        reasons: decision.reasons,
        piiTypes: decision.piiTypes,
        ...(decision.estimatedCloudCost === undefined
          ? {}
          : { estimatedCloudCost: decision.estimatedCloudCost }),
        cost: cost?.amount ?? null,
        baselineCost: baseline?.amount ?? null,
        costSaved: comparable ? money(baseline.amount - cost.amount) : null,
        currency: cost?.currency ?? baseline?.currency ?? null,
        estimatedTokens: result.usage.estimated,
      },
      usage: { ...result.usage },
      latencyMs: result.latencyMs,
      model: result.model,
    };
  },
});
