/**
 * What a connection is, as its writer gives it (the API body of `PUT /api/connections/:name` and the CLI's
 * connection file): kinds, deployment classes, the spec schema and its defaults. Pure (zod and the document's data
 * classes), so the API contract and the editor can take the shape from here; connections.ts holds the rules.
 */
import { z } from 'zod';
import { dataClasses, type DataClass } from './document.js';

/**
 * `openai`: any OpenAI-compatible API (chat, embeddings, audio transcriptions); `ollama`: the native Ollama API;
 * `finflow`: another FinFlow server's public API (a data holder in federated training), its key an API key there.
 */
export const connectionKinds = ['openai', 'ollama', 'finflow'] as const;
export type ConnectionKind = (typeof connectionKinds)[number];

/** The kinds a version-1 model node could name by base URL (before connections). */
export const legacyConnectionKinds = ['openai', 'ollama'] as const;
export type LegacyConnectionKind = (typeof legacyConnectionKinds)[number];

export const deploymentClasses = ['private', 'cloud'] as const;
export type DeploymentClass = (typeof deploymentClasses)[number];

/** Connection and credential names: a letter, then letters, digits, `_ . -` (at most 64). */
export const connectionNamePattern = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;

/** What a new connection may receive when its writer does not say: everything on a private one. */
export function defaultDataClasses(deployment: DeploymentClass): DataClass[] {
  return deployment === 'private' ? [...dataClasses] : ['public', 'internal'];
}

const baseUrlSchema = z
  .url({ protocol: /^https?$/, error: 'an http:// or https:// URL' })
  .max(2000)
  .refine((u) => {
    const url = new URL(u);
    return !url.username && !url.password && !url.hash;
  }, 'a base URL carries no user name, password or #fragment (the key belongs in a credential)');

/** A connection as its writer gives it (the API body and the CLI's connection file). */
export const connectionSpecSchema = z
  .strictObject({
    kind: z.enum(connectionKinds),
    baseUrl: baseUrlSchema,
    /** The credential sent as `Authorization: Bearer`, only ever to `baseUrl`; none for keyless local servers. */
    credential: z.string().regex(connectionNamePattern, 'a credential name').nullable().default(null),
    /** Models the connection may be called with; empty: any. */
    models: z.array(z.string().min(1).max(200)).max(100).default([]),
    deployment: z.enum(deploymentClasses),
    /** Data classes a call may carry; default: all on a private connection, public and internal on a cloud one. */
    dataClasses: z.array(z.enum(dataClasses)).max(dataClasses.length).optional(),
    /** Price per 1,000 tokens, for routing budgets and the cost a routing node reports. */
    pricing: z
      .strictObject({
        currency: z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 code such as USD or CNY'),
        inputPer1kTokens: z.number().min(0).max(1000),
        outputPer1kTokens: z.number().min(0).max(1000),
      })
      .nullable()
      .default(null),
    description: z.string().max(2000).default(''),
  })
  .transform((c) => ({
    ...c,
    dataClasses: dataClasses.filter((d) => (c.dataClasses ?? defaultDataClasses(c.deployment)).includes(d)),
  }));
export type ConnectionSpec = z.output<typeof connectionSpecSchema>;
export type ConnectionSpecInput = z.input<typeof connectionSpecSchema>;
