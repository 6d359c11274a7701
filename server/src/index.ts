/**
 * @finflow/server: the FinFlow server (HTTP API, socket.io, published endpoints) and its CLI commands.
 */
export { startServer, loadTemplates } from './server.js';
export { loadPlugins, pluginSpecs } from './plugins.js';
export { openRepository } from './repo/open.js';
export type { FinflowServer, StartOptions } from './server.js';
export { loadConfig, defaultConfig } from './config.js';
export type { ServerConfig } from './config.js';
export { SqliteRepository, openDatabase, DATABASE_FILE } from './repo/sqlite.js';
export type * from './repo/types.js';
export { roles } from './repo/types.js';
export { createAdmin, permissions, can } from './services/auth.js';
export { diffFlows } from './diff.js';
export type { FlowDiff, FieldChange } from './diff.js';
export { RunMasker, REDACTED } from './masking.js';
export { ChainVerifier, chainHash, GENESIS_HASH } from './audit-chain.js';
export { endpointOpenApi } from './openapi.js';
export { serveCommand } from './cli/serve.js';
export { adminCommand } from './cli/admin.js';
