/**
 * model.structured: a chat-model call whose reply must be a JSON object conforming to a JSON Schema. The schema
 * goes to the provider through LangChain's structured output (JSON-schema response format, tool calling or JSON
 * mode), and the reply is validated here as well: a reply that does not conform is an error that says why.
 */
import type { BaseMessage } from '@langchain/core/messages';
import { defineNode, NodeError, port, z } from '@finflow/sdk';
import { validateJsonSchema } from '@finflow/runtime';
import {
  answeredBy,
  chatMessages,
  checkTemplates,
  messagesText,
  promptFields,
  renderPrompts,
  toLangChain,
  usageOf,
  maxTokensField,
  temperatureField,
} from './chat-run.js';
import { ModelErrorCodes, modelRetryPolicy, toModelError } from './errors.js';
import {
  chatModelFor,
  checkProviderConfig,
  migrateProviderConfigV1,
  providerConnectionUses,
  providerFields,
} from './services.js';

const methods = ['auto', 'jsonSchema', 'functionCalling', 'jsonMode'] as const;

function rawText(raw: BaseMessage | undefined): string {
  if (!raw) return '';
  const calls = (raw as { tool_calls?: { args?: unknown }[] }).tool_calls;
  if (calls?.[0]?.args !== undefined) return JSON.stringify(calls[0].args);
  return raw.text;
}

/** Why a reply could not be parsed, for the error message. */
function parseFailure(raw: BaseMessage | undefined): string {
  const text = rawText(raw).trim();
  if (!text) return 'the model returned an empty reply';
  const shown = text.length > 200 ? `${text.slice(0, 197)}...` : text;
  try {
    JSON.parse(text.replace(/^```(?:json)?\s*|\s*```$/g, ''));
    return `the model's reply could not be read as the requested object: ${shown}`;
  } catch (err) {
    return `the model's reply is not JSON (${err instanceof Error ? err.message : 'parse error'}): ${shown}`;
  }
}

export const structuredNode = defineNode({
  type: 'model.structured',
  version: 2,
  meta: {
    title: 'Structured output',
    category: 'model',
    description:
      'Asks a chat model for a JSON object that conforms to a JSON Schema and validates the reply; a reply that does not conform fails with the reasons. The offline default fills fields only from values it finds in the prompt (amounts, dates, percentages, listed values, sentences) and fails naming the fields it cannot fill.',
    zh: {
      title: '结构化输出',
      description:
        '让对话模型按 JSON Schema 输出对象并校验；不符合时报错并说明原因。离线默认模型只从提示词中找到的值填写字段，无法填写时报错并列出字段。',
    },
    icon: 'braces',
  },
  config: z.object({
    ...providerFields,
    ...promptFields,
    schema: z.record(z.string(), z.unknown()).meta({
      title: 'Output schema',
      description: 'A JSON Schema of type object',
      widget: 'json-schema',
      zh: { title: '输出 Schema', description: '类型为 object 的 JSON Schema' },
    }),
    schemaName: z
      .string()
      .regex(/^[A-Za-z_][\w-]{0,63}$/)
      .default('result')
      .meta({
        title: 'Schema name',
        description: 'The function or schema name the provider sees',
        group: 'Advanced',
        zh: { title: 'Schema 名称', description: '提供方看到的函数名或 Schema 名称' },
      }),
    method: z
      .enum(methods)
      .default('auto')
      .meta({
        title: 'Method',
        description: 'How the provider is asked for JSON (auto: its best method)',
        group: 'Advanced',
        zh: {
          title: '结构化输出方式',
          description: '如何要求提供方输出 JSON（自动：采用其最佳方式）',
          options: {
            auto: '自动',
            jsonSchema: 'JSON Schema',
            functionCalling: '函数调用',
            jsonMode: 'JSON 模式',
          },
        },
      }),
    temperature: temperatureField,
    maxTokens: maxTokensField(2048),
  }),
  outputs: {
    data: port('record', { title: 'Object', zh: { title: '对象' } }),
    usage: port('record', { title: 'Token usage', zh: { title: '词元用量' } }),
    latencyMs: port('number', { title: 'Latency (ms)', zh: { title: '耗时（毫秒）' } }),
    model: port('text', { title: 'Model', zh: { title: '模型' } }),
  },
  dynamicInputs: { path: 'variables', mode: 'items', type: 'any', required: false },
  timeoutMs: 120_000,
  retry: modelRetryPolicy,
  migrations: { 1: migrateProviderConfigV1 },
  connections: providerConnectionUses,
  validate(config, helpers) {
    checkProviderConfig(config, helpers.problem);
    checkTemplates({ system: config.system, prompt: config.prompt }, config.variables, helpers.problem);
    const { schema } = config;
    if (schema['type'] !== 'object')
      helpers.problem('the output schema must have "type": "object"', ['schema', 'type']);
    const props = schema['properties'];
    if (!props || typeof props !== 'object' || Array.isArray(props) || !Object.keys(props).length)
      helpers.problem('the output schema needs at least one property', ['schema', 'properties']);
  },
  async run(ctx, inputs, config) {
    const { schema } = config;
    if (schema['type'] !== 'object')
      throw new NodeError('the output schema must have "type": "object"', 'INVALID_CONFIG');
    const rendered = renderPrompts(ctx, inputs, config.variables, {
      system: config.system,
      prompt: config.prompt,
    });
    const { prompt } = rendered;
    // JSON mode constrains the syntax only; the schema has to be in the prompt (OpenAI also requires "JSON" there).
    const system =
      config.method === 'jsonMode'
        ? `${rendered.system}\n\nReply with one JSON object that conforms to this JSON Schema:\n${JSON.stringify(schema)}`.trim()
        : rendered.system;
    const messages = chatMessages(system, [], prompt);
    const resolved = await chatModelFor(
      ctx,
      config,
      { temperature: config.temperature, maxTokens: config.maxTokens },
      () => messagesText(messages),
    );
    const structured = resolved.model.withStructuredOutput(schema, {
      name: config.schemaName,
      includeRaw: true,
      ...(config.method === 'auto' ? {} : { method: config.method }),
    });
    const started = performance.now();
    let result: { raw: BaseMessage; parsed: unknown };
    try {
      result = (await structured.invoke(toLangChain(messages), { signal: ctx.signal })) as {
        raw: BaseMessage;
        parsed: unknown;
      };
    } catch (err) {
      // Some providers' clients parse the JSON themselves and throw on a reply that is not JSON.
      const name = err instanceof Error ? err.name : '';
      if (!ctx.signal.aborted && (name === 'SyntaxError' || name === 'OutputParserException'))
        throw new NodeError(
          `the model's reply is not JSON: ${(err as Error).message}`,
          ModelErrorCodes.STRUCTURED_OUTPUT_INVALID,
          { cause: err },
        );
      throw toModelError(err, resolved.label, ctx.signal, { remote: resolved.remote });
    }
    const latencyMs = Math.round(performance.now() - started);
    const { raw, parsed } = result;
    if (parsed === null || parsed === undefined || typeof parsed !== 'object' || Array.isArray(parsed))
      throw new NodeError(parseFailure(raw), ModelErrorCodes.STRUCTURED_OUTPUT_INVALID);
    const errors = validateJsonSchema(schema, parsed);
    if (errors.length) {
      const reasons = errors.slice(0, 5).map((e) => `${e.path || '(root)'}: ${e.message}`);
      throw new NodeError(
        `the model's reply does not conform to the output schema: ${reasons.join('; ')}${errors.length > 5 ? ` (and ${errors.length - 5} more)` : ''}`,
        ModelErrorCodes.STRUCTURED_OUTPUT_INVALID,
        { details: { errors } },
      );
    }
    const metadata = raw?.response_metadata;
    return {
      data: parsed as Record<string, unknown>,
      usage: { ...usageOf(raw, messages, rawText(raw)) },
      latencyMs,
      model: answeredBy(resolved, metadata),
    };
  },
});
