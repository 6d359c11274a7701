/**
 * Test harness: a real server on 127.0.0.1 (random port) with a real SQLite file in a temporary folder, and an
 * HTTP client that keeps the session cookie and sends the CSRF token like the editor does.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io as connect, type Socket } from 'socket.io-client';
import type { AnyNodeDefinition, RunEvent } from '@finflow/runtime';
import { defaultConfig, type ServerConfig } from '../config.js';
import { createLogger, type Logger } from '../logger.js';
import { startServer, type FinflowServer } from '../server.js';
import type { RolloutOptions } from '../services/rollouts.js';
import { testNodes } from './nodes.js';

export interface TestServer {
  server: FinflowServer;
  url: string;
  dataDir: string;
  /** Stops the server (the data folder stays until `destroy`). */
  stop(): Promise<void>;
  destroy(): Promise<void>;
}

export function tempDir(prefix = 'finflow-server-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export async function startTestServer(
  options: {
    dataDir?: string;
    config?: Partial<ServerConfig>;
    extraNodes?: AnyNodeDefinition[];
    rollouts?: RolloutOptions;
    learning?: { tickMs?: number };
    /** Default: silent. */
    logger?: Logger;
  } = {},
): Promise<TestServer> {
  const dataDir = options.dataDir ?? tempDir();
  const config = defaultConfig({
    dataDir,
    port: 0,
    host: '127.0.0.1',
    logLevel: 'silent',
    shutdownGraceMs: 1_000,
    editorDir: join(dataDir, 'no-editor'),
    ...options.config,
  });
  const server = await startServer({
    config,
    extraNodes: options.extraNodes ?? testNodes,
    logger: options.logger ?? createLogger('silent'),
    onSetupToken: () => {},
    processMetrics: false,
    ...(options.rollouts ? { rollouts: options.rollouts } : {}),
    ...(options.learning ? { learning: options.learning } : {}),
  });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await server.close();
  };
  return {
    server,
    url: server.url,
    dataDir,
    stop,
    async destroy() {
      await stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Replies in tests are read field by field; a loose type keeps the assertions readable. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Loose = any;

export interface Reply<T = unknown> {
  status: number;
  body: T;
  headers: Headers;
  text: string;
}

export class Client {
  cookie: string | undefined;
  csrf: string | undefined;

  constructor(readonly base: string) {}

  async request<T = Loose>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Reply<T>> {
    const h: Record<string, string> = { ...headers };
    if (this.cookie) h['cookie'] = this.cookie;
    if (this.csrf && method !== 'GET' && h['x-csrf-token'] === undefined) h['x-csrf-token'] = this.csrf;
    let payload: string | undefined;
    if (body !== undefined) {
      payload = typeof body === 'string' ? body : JSON.stringify(body);
      h['content-type'] ??= 'application/json';
    }
    const res = await fetch(`${this.base}${path}`, {
      method,
      headers: h,
      ...(payload === undefined ? {} : { body: payload }),
    });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      if (pair?.startsWith('finflow_session=')) this.cookie = pair.endsWith('=') ? undefined : pair;
    }
    const text = await res.text();
    let parsed: unknown = text;
    if ((res.headers.get('content-type') ?? '').includes('json') && text) parsed = JSON.parse(text);
    return { status: res.status, body: parsed as T, headers: res.headers, text };
  }

  get<T = Loose>(path: string, headers?: Record<string, string>) {
    return this.request<T>('GET', path, undefined, headers);
  }
  post<T = Loose>(path: string, body?: unknown, headers?: Record<string, string>) {
    return this.request<T>('POST', path, body, headers);
  }
  put<T = Loose>(path: string, body?: unknown, headers?: Record<string, string>) {
    return this.request<T>('PUT', path, body, headers);
  }
  patch<T = Loose>(path: string, body?: unknown, headers?: Record<string, string>) {
    return this.request<T>('PATCH', path, body, headers);
  }
  delete<T = Loose>(path: string, headers?: Record<string, string>) {
    return this.request<T>('DELETE', path, undefined, headers);
  }

  async login(email: string, password: string): Promise<Reply<Loose>> {
    const r = await this.post('/api/auth/login', { email, password });
    if (r.status === 200) this.csrf = (r.body as { csrfToken: string }).csrfToken;
    return r;
  }

  /** A socket.io connection with this client's session cookie (over a websocket unless told otherwise). */
  socket(transports: ('websocket' | 'polling')[] = ['websocket']): Socket {
    return connect(this.base, {
      path: '/socket.io',
      transports,
      extraHeaders: this.cookie ? { cookie: this.cookie } : {},
      reconnection: false,
      forceNew: true,
    });
  }
}

export const ADMIN = { email: 'admin@bank.example', name: 'Ada Admin', password: 'correct horse battery' };

/** Creates the first admin with the setup token and returns a signed-in client. */
export async function setupAdmin(t: TestServer): Promise<Client> {
  const c = new Client(t.url);
  const r = await c.post('/api/auth/setup', { token: t.server.setupToken, ...ADMIN });
  if (r.status !== 201) throw new Error(`setup failed: ${r.status} ${r.text}`);
  c.csrf = (r.body as { csrfToken: string }).csrfToken;
  return c;
}

/** Adds a user with a role to the admin's current workspace and signs them in. */
export async function addUser(
  t: TestServer,
  admin: Client,
  role: string,
  email = `${role}@bank.example`,
): Promise<Client> {
  const password = `${role} password 123`;
  const r = await admin.post('/api/users', { email, name: `${role} user`, password, role });
  if (r.status !== 201) throw new Error(`adding ${role} failed: ${r.status} ${r.text}`);
  const c = new Client(t.url);
  const login = await c.login(email, password);
  if (login.status !== 200) throw new Error(`login of ${role} failed: ${login.status} ${login.text}`);
  return c;
}

export async function createFlow(
  c: Client,
  document: unknown,
  message = 'first',
): Promise<{ id: string; version: number }> {
  const r = await c.post('/api/flows', { document, message });
  if (r.status !== 201) throw new Error(`creating a flow failed: ${r.status} ${r.text}`);
  const body = r.body as { flow: { id: string }; version: { number: number } };
  return { id: body.flow.id, version: body.version.number };
}

/** Polls a run until it leaves `running`. */
export async function waitForRun(c: Client, runId: string, timeoutMs = 15_000): Promise<Loose> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const r = await c.get(`/api/runs/${runId}`);
    if (r.status === 200 && r.body.status !== 'running') return r.body;
    if (Date.now() > until) throw new Error(`run ${runId} still ${r.body?.status ?? r.status}`);
    await new Promise((res) => setTimeout(res, 25));
  }
}

/** Waits for a socket event matching `pred`. */
export function nextEvent(
  socket: Socket,
  pred: (e: RunEvent) => boolean,
  timeoutMs = 10_000,
): Promise<RunEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no matching run event arrived')), timeoutMs);
    const on = (e: RunEvent) => {
      if (!pred(e)) return;
      clearTimeout(timer);
      socket.off('run:event', on);
      resolve(e);
    };
    socket.on('run:event', on);
  });
}

export function emitAck<T = Loose>(socket: Socket, event: string, payload: unknown): Promise<T> {
  return new Promise((resolve) => socket.emit(event, payload, (answer: T) => resolve(answer)));
}

export function connected(socket: Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    if (socket.connected) resolve();
    socket.once('connect', () => resolve());
    socket.once('connect_error', (err) => reject(err));
  });
}
