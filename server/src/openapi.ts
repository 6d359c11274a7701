/**
 * OpenAPI 3.1 documents of published endpoints, generated from the deployed version's input schema (the io.input
 * node's JSON Schema) and output schemas (each io.output node's optional `schema`). OpenAPI 3.1 uses JSON Schema
 * 2020-12, so the flow's schemas go in unchanged.
 */
import {
  apiErrorSchema,
  endpointAcceptedSchema,
  endpointFeedbackBody,
  endpointOutputsSchema,
  endpointResultSchema,
  endpointReviewsSchema,
  endpointRunSchema,
} from '@finflow/contract';
import { z } from 'zod';
import type { EndpointRecord } from './repo/types.js';
import type { PreparedVersion } from './services/flows.js';

/** A contract schema as the document's JSON Schema (2020-12, which OpenAPI 3.1 uses), so the two cannot drift. */
function fromContract(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const { $schema: _dialect, ...json } = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io,
    unrepresentable: 'any',
  });
  return json;
}

const errorSchema = fromContract(apiErrorSchema, 'output');

/**
 * The answers' components, generated together so that shared parts become `$ref`s (`Outputs`, which each document
 * then details from its flow, and `Reviews`). Generated as the wire form a client reads (`io: 'input'`): objects
 * stay open, so a field added to an answer later does not break a client that validates strictly.
 */
function answerComponents(): Record<string, Record<string, unknown>> {
  const registry = z.registry<{ id: string }>();
  registry.add(endpointOutputsSchema, { id: 'Outputs' });
  registry.add(endpointResultSchema, { id: 'Result' });
  registry.add(endpointAcceptedSchema, { id: 'Accepted' });
  registry.add(endpointReviewsSchema, { id: 'Reviews' });
  registry.add(endpointRunSchema, { id: 'Run' });
  const { schemas } = z.toJSONSchema(registry, {
    target: 'draft-2020-12',
    io: 'input',
    unrepresentable: 'any',
    uri: (id) => `#/components/schemas/${id}`,
  });
  return Object.fromEntries(
    Object.entries(schemas).map(([id, { $schema: _dialect, $id: _id, ...json }]) => [id, json]),
  );
}
const answers = answerComponents();
const feedbackBodySchema = fromContract(endpointFeedbackBody, 'input') as {
  properties: Record<string, unknown>;
};

const errorResponse = (description: string, headers?: Record<string, unknown>) => ({
  description,
  ...(headers ? { headers } : {}),
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
});

const SCHEMA_MAPS = new Set(['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas']);
const SCHEMA_ONE = new Set([
  'items',
  'additionalProperties',
  'not',
  'if',
  'then',
  'else',
  'contains',
  'propertyNames',
  'unevaluatedItems',
  'unevaluatedProperties',
]);
const SCHEMA_LISTS = new Set(['allOf', 'anyOf', 'oneOf', 'prefixItems']);

/**
 * A flow's JSON Schema as OpenAPI publishes it: the editor's translations (`zh: { title, description }` beside a
 * schema's own) become the extension `x-zh`, since OpenAPI tools refuse keywords they do not know. Only schema
 * positions are walked: a property that happens to be named `zh` keeps its name.
 */
export function publishedSchema(schema: unknown): unknown {
  if (!schema || typeof schema !== 'object' || Array.isArray(schema)) return schema;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema as Record<string, unknown>)) {
    if (key === 'zh') out['x-zh'] = value;
    else if (SCHEMA_MAPS.has(key) && value && typeof value === 'object' && !Array.isArray(value))
      out[key] = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, publishedSchema(v)]));
    else if (SCHEMA_ONE.has(key)) out[key] = publishedSchema(value);
    else if (SCHEMA_LISTS.has(key) && Array.isArray(value)) out[key] = value.map(publishedSchema);
    else out[key] = value;
  }
  return out;
}

export function endpointOpenApi(endpoint: EndpointRecord, plan: PreparedVersion, baseUrl: string) {
  const flow = plan.prepared.flow;
  const outputProps: Record<string, unknown> = {};
  for (const { node, name } of plan.prepared.outputNodes) {
    const config = (node.config ?? {}) as { schema?: Record<string, unknown>; description?: string };
    outputProps[name] = {
      ...((publishedSchema(config.schema) as Record<string, unknown> | undefined) ?? {}),
      ...(config.description ? { description: config.description } : {}),
    };
  }
  const inputSchema = publishedSchema(plan.prepared.inputSchema ?? { type: 'object' });
  const path = `/v1/endpoints/${endpoint.slug}`;
  return {
    openapi: '3.1.0',
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    info: {
      title: flow.name,
      version: String(plan.version),
      description:
        `${flow.description ? `${flow.description}\n\n` : ''}` +
        `FinFlow endpoint \`${endpoint.slug}\` serving version ${plan.version} of flow ${flow.id}.`,
      // The flow is the publishing organisation's, not open source. Validators want an SPDX `identifier` (or a
      // `url`); `LicenseRef-` is SPDX's form for terms of one's own.
      license: { name: 'Proprietary', identifier: 'LicenseRef-Proprietary' },
    },
    servers: [{ url: baseUrl }],
    security: [{ apiKey: [] }],
    paths: {
      [path]: {
        post: {
          operationId: `call_${endpoint.slug.replace(/-/g, '_')}`,
          summary: `Run ${flow.name}`,
          parameters: [
            {
              name: 'Idempotency-Key',
              in: 'header',
              required: false,
              description:
                'A repeat with the same key and body returns the first answer without running again',
              schema: { type: 'string', minLength: 1, maxLength: 255 },
            },
            {
              name: 'mode',
              in: 'query',
              required: false,
              description:
                '`async` answers 202 at once with a run URL to poll (also `Prefer: respond-async`)',
              schema: { type: 'string', enum: ['sync', 'async'] },
            },
          ],
          requestBody: { required: true, content: { 'application/json': { schema: inputSchema } } },
          responses: {
            '200': {
              // A Media Type Object has no `description`: what each media type carries is said here.
              description:
                'The flow ran: its outputs as JSON; or, with `Accept: text/event-stream`, the run events as ' +
                'server-sent events as they happen, ending with `event: result` (a run that waits for a human ' +
                'review sends `event: waiting` and the stream stays open until the result)',
              content: {
                'application/json': { schema: { $ref: '#/components/schemas/Result' } },
                'text/event-stream': { schema: { type: 'string' } },
              },
            },
            '202': {
              description:
                'Accepted (async mode, status running), or the run waits for a human review (status waiting, with its review queues); poll the run URL',
              content: { 'application/json': { schema: { $ref: '#/components/schemas/Accepted' } } },
            },
            '400': errorResponse(
              'The input does not match the input schema (details.fields lists each field)',
            ),
            '401': errorResponse('Missing, unknown or revoked API key'),
            '403': errorResponse('The key is not scoped to this endpoint'),
            '404': errorResponse('Unknown or disabled endpoint'),
            '409': errorResponse(
              'Idempotency-Key reused with a different body, or its first request still runs',
            ),
            '413': errorResponse(`Body larger than ${endpoint.maxBodyBytes} bytes`),
            '415': errorResponse('The body is not application/json'),
            '429': errorResponse(`More than ${endpoint.rateLimitPerMinute} calls a minute with this key`, {
              'Retry-After': { schema: { type: 'integer' }, description: 'Seconds to wait' },
            }),
            '500': errorResponse('The flow failed (details.cause is the node error code)'),
            '504': errorResponse(`The flow did not finish within ${endpoint.timeoutMs} ms`),
          },
        },
      },
      ...(plan.feedback?.labelSchema
        ? {
            [`${path}/feedback`]: {
              post: {
                operationId: `feedback_${endpoint.slug.replace(/-/g, '_')}`,
                summary: 'Attach a ground-truth outcome to a past decision',
                parameters: [
                  {
                    name: 'Idempotency-Key',
                    in: 'header',
                    required: false,
                    description:
                      'A repeat with the same key and label is the same report; another label is 409',
                    schema: { type: 'string', minLength: 1, maxLength: 255 },
                  },
                ],
                requestBody: {
                  required: true,
                  content: {
                    'application/json': {
                      // The contract's body, with the flow's label schema and the name of its business key.
                      schema: {
                        ...feedbackBodySchema,
                        required: ['label'],
                        properties: {
                          ...feedbackBodySchema.properties,
                          businessKey: {
                            ...(feedbackBodySchema.properties['businessKey'] as object),
                            description: `The decision's ${plan.feedback.businessKey ?? 'business key'} (give this or runId)`,
                          },
                          label: plan.feedback.labelSchema,
                        },
                      },
                    },
                  },
                },
                responses: {
                  '201': { description: 'Recorded' },
                  '200': { description: 'The same report was recorded before' },
                  '400': errorResponse('The label does not match its schema, or the body is malformed'),
                  '404': errorResponse('No decision of this endpoint matches the run or business key'),
                  '409': errorResponse(
                    'The run has not decided yet, or the Idempotency-Key was used with another label',
                  ),
                },
              },
            },
          }
        : {}),
      '/v1/runs/{runId}': {
        get: {
          operationId: 'get_run',
          summary: 'Status and outputs of a run started through an endpoint',
          parameters: [{ name: 'runId', in: 'path', required: true, schema: { type: 'string' } }],
          responses: {
            '200': {
              description: 'The run',
              content: { 'application/json': { schema: { $ref: '#/components/schemas/Run' } } },
            },
            '401': errorResponse('Missing, unknown or revoked API key'),
            '404': errorResponse('Unknown run, or not started through an endpoint this key may call'),
          },
        },
      },
    },
    components: {
      securitySchemes: {
        apiKey: { type: 'http', scheme: 'bearer', description: 'A FinFlow API key (ffk_...)' },
      },
      schemas: {
        Error: errorSchema,
        Outputs: { ...answers['Outputs'], type: 'object', properties: outputProps },
        Result: answers['Result'],
        Accepted: answers['Accepted'],
        Reviews: answers['Reviews'],
        Run: answers['Run'],
      },
    },
  };
}
