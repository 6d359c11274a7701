/**
 * Server configuration: environment variables (documented in the README) read once into one typed object, so
 * nothing else in the server reads `process.env`. Tests build configs directly.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

export interface ServerConfig {
  port: number;
  host: string;
  /** Folder of the SQLite database (and, by default, the master key file). */
  dataDir: string;
  /** `postgres://...` selects the Postgres repository (not available in this build); empty means SQLite. */
  databaseUrl: string | undefined;
  /** The master key from FINFLOW_SECRET_KEY (32 bytes, hex or base64), if set. */
  secretKey: string | undefined;
  /** Where the master key file lives when FINFLOW_SECRET_KEY is not set. */
  secretKeyFile: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** `auto`: Secure cookies when the request came over HTTPS (behind `trustProxy`, from X-Forwarded-Proto). */
  secureCookies: 'auto' | 'always' | 'never';
  /** Express `trust proxy` setting (hops or a list of addresses); false when the server faces clients itself. */
  trustProxy: boolean | number | string;
  /** Built editor (index.html and assets); served at / when it exists. */
  editorDir: string;
  /** Largest JSON body accepted by /api routes. */
  apiMaxBodyBytes: number;
  /** How long shutdown waits for runs in flight before marking them interrupted. */
  shutdownGraceMs: number;
  sessionTtlMs: number;
  sessionIdleMs: number;
  /** Bearer token of /metrics; without one, /metrics is off (404). */
  metricsToken: string | undefined;
  /** Deepest nesting accepted in JSON bodies, socket.io packets and CLI arguments. */
  jsonMaxDepth: number;
  /** Failed sign-ins per account, and per client address, allowed within `loginWindowMs` before 429. */
  loginFailuresPerAccount: number;
  loginFailuresPerAddress: number;
  loginWindowMs: number;
  /** Extra node packages: module specifiers or paths exporting `plugin` (see `definePlugin`). */
  plugins: string[];
  /** Origins allowed to open socket.io connections besides the server's own. */
  allowedOrigins: string[];
  /** Folder of template folders; default: the templates shipped with FinFlow. */
  templatesDir: string | undefined;
  /**
   * When a run's record and audit entry count as stored, and so when a run finishes and an endpoint answers:
   * `full` once fsynced (survives a power cut), `normal` once written to the OS (survives a crash of the
   * process; the fsync follows within milliseconds).
   */
  durability: 'full' | 'normal';
  /** The code node's sandbox: processes, runs per process, and server-wide ceilings on what a node may ask. */
  codeSandbox: {
    processes: number;
    concurrency: number;
    maxMemoryMb: number;
    maxCpuMs: number;
    /** Largest input and output of one code-node run, each, as JSON bytes. */
    maxDataBytes: number;
  };
  /** Folder of plugin packages loaded at start (default `<data dir>/plugins`). */
  pluginsDir: string;
  /** Load packages in node_modules whose package.json declares `"finflow": { "plugin": ... }`. */
  discoverPlugins: boolean;
  /** Let admins and developers reload a plugin package into the running server (`finflow dev`). Off in production. */
  devReload: boolean;
  /**
   * What calls leaving the server (model, embeddings, transcription providers) may reach besides public
   * addresses: `loopback`, `private`, IP addresses, CIDR ranges and host names, comma-separated. Empty: public
   * addresses only; loopback, private, link-local, shared and metadata addresses are refused.
   */
  egressAllow: string;
}

const serverRoot = fileURLToPath(new URL('..', import.meta.url));

export const defaultEditorDir = resolve(serverRoot, '..', 'editor', 'dist');

const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65_535).default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  FINFLOW_DATA_DIR: z.string().min(1).optional(),
  DATABASE_URL: z.string().optional(),
  FINFLOW_SECRET_KEY: z.string().optional(),
  FINFLOW_SECRET_KEY_FILE: z.string().optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  FINFLOW_SECURE_COOKIES: z.enum(['auto', 'always', 'never']).default('auto'),
  FINFLOW_TRUST_PROXY: z.string().optional(),
  FINFLOW_EDITOR_DIR: z.string().optional(),
  FINFLOW_API_MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(5 * 1024 * 1024),
  FINFLOW_SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).default(10_000),
  FINFLOW_SESSION_TTL_HOURS: z.coerce
    .number()
    .positive()
    .default(24 * 7),
  FINFLOW_SESSION_IDLE_HOURS: z.coerce.number().positive().default(24),
  FINFLOW_METRICS_TOKEN: z.string().min(16).optional(),
  FINFLOW_JSON_MAX_DEPTH: z.coerce.number().int().min(8).max(1000).default(64),
  FINFLOW_LOGIN_FAILURES_PER_ACCOUNT: z.coerce.number().int().min(1).max(10_000).default(10),
  FINFLOW_LOGIN_FAILURES_PER_ADDRESS: z.coerce.number().int().min(1).max(100_000).default(20),
  FINFLOW_PLUGINS: z.string().optional(),
  FINFLOW_ALLOWED_ORIGINS: z.string().optional(),
  FINFLOW_TEMPLATES_DIR: z.string().optional(),
  FINFLOW_DURABILITY: z.enum(['full', 'normal']).default('full'),
  FINFLOW_CODE_SANDBOXES: z.coerce.number().int().min(1).max(16).default(1),
  FINFLOW_CODE_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
  FINFLOW_CODE_MAX_MEMORY_MB: z.coerce.number().int().min(8).max(8192).default(256),
  FINFLOW_CODE_MAX_CPU_MS: z.coerce.number().int().min(10).max(600_000).default(10_000),
  FINFLOW_CODE_MAX_DATA_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(256 * 1024 * 1024)
    .default(8 * 1024 * 1024),
  FINFLOW_PLUGINS_DIR: z.string().optional(),
  FINFLOW_DISCOVER_PLUGINS: z.enum(['true', 'false']).default('true'),
  FINFLOW_DEV_RELOAD: z.enum(['true', 'false', '1', '0']).default('false'),
  // Parsed (and refused when malformed) by the server at start, with the node package that applies it.
  FINFLOW_EGRESS_ALLOW: z.string().max(10_000).default(''),
});

function parseTrustProxy(value: string | undefined): boolean | number | string {
  if (value === undefined || value === '' || value === 'false') return false;
  if (value === 'true') return true;
  if (/^\d+$/.test(value)) return Number(value);
  return value;
}

const list = (v: string | undefined) =>
  (v ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** Reads the configuration from environment variables; throws with every problem listed. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): ServerConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`invalid configuration: ${problems}`);
  }
  const e = parsed.data;
  const dataDir = resolve(cwd, e.FINFLOW_DATA_DIR ?? '.data');
  return {
    port: e.PORT,
    host: e.HOST,
    dataDir,
    databaseUrl: e.DATABASE_URL || undefined,
    secretKey: e.FINFLOW_SECRET_KEY || undefined,
    secretKeyFile: resolve(cwd, e.FINFLOW_SECRET_KEY_FILE ?? resolve(dataDir, 'secret.key')),
    logLevel: e.LOG_LEVEL,
    secureCookies: e.FINFLOW_SECURE_COOKIES,
    trustProxy: parseTrustProxy(e.FINFLOW_TRUST_PROXY),
    editorDir: resolve(cwd, e.FINFLOW_EDITOR_DIR ?? defaultEditorDir),
    apiMaxBodyBytes: e.FINFLOW_API_MAX_BODY_BYTES,
    shutdownGraceMs: e.FINFLOW_SHUTDOWN_GRACE_MS,
    sessionTtlMs: e.FINFLOW_SESSION_TTL_HOURS * 3_600_000,
    sessionIdleMs: e.FINFLOW_SESSION_IDLE_HOURS * 3_600_000,
    metricsToken: e.FINFLOW_METRICS_TOKEN,
    jsonMaxDepth: e.FINFLOW_JSON_MAX_DEPTH,
    loginFailuresPerAccount: e.FINFLOW_LOGIN_FAILURES_PER_ACCOUNT,
    loginFailuresPerAddress: e.FINFLOW_LOGIN_FAILURES_PER_ADDRESS,
    loginWindowMs: 15 * 60_000,
    plugins: list(e.FINFLOW_PLUGINS),
    allowedOrigins: list(e.FINFLOW_ALLOWED_ORIGINS),
    templatesDir: e.FINFLOW_TEMPLATES_DIR ? resolve(cwd, e.FINFLOW_TEMPLATES_DIR) : undefined,
    durability: e.FINFLOW_DURABILITY,
    codeSandbox: {
      processes: e.FINFLOW_CODE_SANDBOXES,
      concurrency: e.FINFLOW_CODE_CONCURRENCY,
      maxMemoryMb: e.FINFLOW_CODE_MAX_MEMORY_MB,
      maxCpuMs: e.FINFLOW_CODE_MAX_CPU_MS,
      maxDataBytes: e.FINFLOW_CODE_MAX_DATA_BYTES,
    },
    pluginsDir: resolve(cwd, e.FINFLOW_PLUGINS_DIR ?? resolve(dataDir, 'plugins')),
    discoverPlugins: e.FINFLOW_DISCOVER_PLUGINS === 'true',
    devReload: e.FINFLOW_DEV_RELOAD === 'true' || e.FINFLOW_DEV_RELOAD === '1',
    egressAllow: e.FINFLOW_EGRESS_ALLOW,
  };
}

/** The JSON nesting limit from the environment alone (the CLI, which does not load the server's configuration). */
export function jsonMaxDepthFrom(env: NodeJS.ProcessEnv = process.env): number {
  const r = envSchema.shape.FINFLOW_JSON_MAX_DEPTH.safeParse(env['FINFLOW_JSON_MAX_DEPTH']);
  return r.success ? r.data : 64;
}

/** A configuration for tests and embedding: defaults with a data folder of the caller's choosing. */
export function defaultConfig(overrides: Partial<ServerConfig> & { dataDir: string }): ServerConfig {
  const base = loadConfig({}, overrides.dataDir);
  return {
    ...base,
    secretKeyFile: resolve(overrides.dataDir, 'secret.key'),
    pluginsDir: resolve(overrides.dataDir, 'plugins'),
    ...overrides,
  };
}
