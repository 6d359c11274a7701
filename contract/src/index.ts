/**
 * @finflow/contract: the HTTP and socket.io API of the server, as zod schemas. The server parses requests with
 * them and types its answers by them; the editor's client takes its types from the same schemas, so the two
 * cannot drift. Shapes the runtime defines (flow documents, catalog entries, run states and events) are taken
 * from the runtime's pure modules, not restated. Depends on zod and those modules only, so the editor can import it.
 */
export * from './common.js';
export * from './auth.js';
export * from './flows.js';
export * from './runs.js';
export * from './endpoint-calls.js';
export * from './manage.js';
export * from './rollouts.js';
export * from './evaluations.js';
export * from './programme.js';
export * from './federated.js';
export * from './federated-protocol.js';
export * from './reviews.js';
export * from './learning.js';
