/**
 * Connections for provider tests: each mock server on 127.0.0.1 is reached through a named connection, checked by
 * the same rule as the server's, with an egress client whose policy allows loopback explicitly (the default
 * policy refuses it).
 */
import type { ConnectionEvent, ConnectionSpecInput, DataClass, Services } from '@finflow/sdk';
import { fakeConnections } from '@finflow/sdk/testing';
import { createEgress, parseEgressAllowList } from '../../net/egress.js';

export const loopbackEgress = createEgress(parseEgressAllowList('loopback'));

/** A private OpenAI-compatible connection to a mock server's `/v1`. */
export function openAiAt(url: string, extra: Partial<ConnectionSpecInput> = {}): ConnectionSpecInput {
  return { kind: 'openai', baseUrl: `${url}/v1`, deployment: 'private', ...extra };
}

/** Services that reach the given connections (and record what the server would audit in `events`). */
export function withConnections(
  specs: Record<string, ConnectionSpecInput>,
  options: { flowDataClass?: DataClass; events?: ConnectionEvent[] } = {},
): { services: Partial<Services> } {
  return { services: { connections: fakeConnections(specs, options), egress: loopbackEgress } };
}
