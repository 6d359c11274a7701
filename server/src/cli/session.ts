/**
 * A signed-in session of a CLI command with a running server (cookie and CSRF token, as the editor has), signing
 * in again when it expires. Used by `finflow dev` and `finflow rollout`.
 */
import { CliError } from './main.js';

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

  post(path: string, payload: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
    return this.request('POST', path, payload);
  }

  get(path: string): Promise<{ status: number; body: Record<string, unknown> }> {
    return this.request('GET', path);
  }

  async request(
    method: 'GET' | 'POST',
    path: string,
    payload?: unknown,
  ): Promise<{ status: number; body: Record<string, unknown> }> {
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
