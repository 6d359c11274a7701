/**
 * A signed-in session of a CLI command with a running server (cookie and CSRF token, as the editor has), signing
 * in again when it expires, and what the commands that use one share: signing in from the environment, a refusal as
 * the error a command exits with, and finding an endpoint by slug or id. Used by `finflow dev`, `flow`, `rollout`
 * and `retrain`.
 */
import { CliError } from './main.js';

/** A server's answer as a command reads it. */
export type Answer = { status: number; body: Record<string, unknown> };

/** A refusal's error body, as every route answers it. */
export type Refusal = { code?: string; message?: string; details?: Record<string, unknown> };

/**
 * The session a command signs in with: FINFLOW_EMAIL and FINFLOW_PASSWORD, to the server given by `--server`,
 * FINFLOW_URL or the local default. `why` says what the account is needed for when they are missing.
 */
export function sessionFromEnv(
  server: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  why = 'to sign in',
): Session {
  const email = env['FINFLOW_EMAIL'];
  const password = env['FINFLOW_PASSWORD'];
  if (!email || !password) throw new CliError(`set FINFLOW_EMAIL and FINFLOW_PASSWORD ${why}`);
  return new Session(
    (server ?? env['FINFLOW_URL'] ?? 'http://127.0.0.1:3000').replace(/\/+$/, ''),
    email,
    password,
  );
}

/** A refused answer as the error the command exits with (1): the server's code and message, or `describe`'s lines. */
export function refusal(answer: Answer, describe?: (error: Refusal) => string): CliError {
  const error = answer.body['error'] as Refusal | undefined;
  if (error && describe) return new CliError(describe(error), 1);
  return new CliError(`${error?.code ?? answer.status}: ${error?.message ?? 'the server refused'}`, 1);
}

/** The endpoint a command names, by slug or id, in the signed-in account's workspace. */
export async function findEndpoint(session: Session, ref: string): Promise<{ id: string; slug: string }> {
  const list = await session.get('/api/endpoints');
  if (list.status !== 200) throw refusal(list);
  const found = (list.body as unknown as { id: string; slug: string }[]).find(
    (e) => e.slug === ref || e.id === ref,
  );
  if (!found) throw new CliError(`no endpoint ${ref} in this workspace`, 1);
  return found;
}

/** A signed-in session with the server (cookie and CSRF token), signing in again when it expires. */
export class Session {
  private cookie: string | undefined;
  private csrf: string | undefined;

  constructor(
    readonly base: string,
    private readonly email: string,
    private readonly password: string,
  ) {}

  private async login(): Promise<void> {
    const res = await fetch(`${this.base}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: this.email, password: this.password }),
    });
    const body = (await res.json().catch(() => ({}))) as { csrfToken?: string; error?: { message?: string } };
    if (res.status !== 200 || !body.csrfToken)
      throw new CliError(
        `signing in to ${this.base} as ${this.email} failed: ${body.error?.message ?? res.status}`,
        1,
      );
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith('finflow_session='));
    this.cookie = cookie?.split(';')[0];
    this.csrf = body.csrfToken;
  }

  post(path: string, payload: unknown): Promise<Answer> {
    return this.request('POST', path, payload);
  }

  get(path: string): Promise<Answer> {
    return this.request('GET', path);
  }

  async request(method: 'GET' | 'POST', path: string, payload?: unknown): Promise<Answer> {
    for (let attempt = 0; attempt < 2; attempt++) {
      if (!this.cookie || !this.csrf) await this.login();
      const res = await fetch(`${this.base}${path}`, {
        method,
        headers: {
          'content-type': 'application/json',
          cookie: this.cookie ?? '',
          'x-csrf-token': this.csrf ?? '',
        },
        ...(payload === undefined ? {} : { body: JSON.stringify(payload) }),
      });
      const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
      if (res.status === 401 && attempt === 0) {
        this.cookie = undefined;
        continue;
      }
      return { status: res.status, body };
    }
    throw new CliError('the server keeps refusing the session', 1);
  }
}
