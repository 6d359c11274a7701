/**
 * Shared steps of the browser tests: a signed-in page at 1440×900 and API calls made from it, an API client
 * signed in as any user (for setup the UI is not under test in), signing a page in as another user, and
 * publishing a flow with a key scoped to its endpoint.
 */
import type { Browser, Page } from 'playwright-core';
import { env } from './browser.js';

export const url = env('FINFLOW_E2E_URL');
export const email = env('FINFLOW_E2E_EMAIL');
export const password = env('FINFLOW_E2E_PASSWORD');

/** A new page in its own context (its own storage), signed in; `lang` is the UI language to use. */
export async function signedInPage(
  browser: Browser,
  lang: 'zh-CN' | 'en' = 'zh-CN',
  errors: string[] = [],
): Promise<Page> {
  const context = await browser.newContext({
    viewport: { width: 1440, height: 900 },
    locale: lang === 'en' ? 'en-US' : 'zh-CN',
  });
  const page = await context.newPage();
  page.on('pageerror', (e) => errors.push(e.message));
  page.setDefaultTimeout(20_000);
  await page.goto(url);
  await page.getByTestId('login-email').fill(email);
  await page.getByTestId('login-password').fill(password);
  await page.getByTestId('login-submit').click();
  await page.getByTestId('flows-page').waitFor();
  if ((await page.locator('html').getAttribute('lang')) !== lang) {
    await page.getByTestId('lang-switch').click();
    await page.locator(`html[lang="${lang}"]`).waitFor({ state: 'attached' });
  }
  return page;
}

/** Calls the API from the page (its session cookie, and the CSRF token for writes). */
export async function pageApi<T = unknown>(
  page: Page,
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  return page.evaluate(
    async ({ method, path, body }) => {
      const me = (await (await fetch('/api/auth/me')).json()) as { csrfToken: string };
      const res = await fetch(path, {
        method,
        headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': me.csrfToken },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
      return (text ? JSON.parse(text) : undefined) as unknown;
    },
    { method, path, body },
  ) as Promise<T>;
}

/** A flow made from a template through the API; returns its id. */
export async function flowFromTemplate(page: Page, templateId: string, name?: string): Promise<string> {
  const r = await pageApi<{ flow: { id: string } }>(page, 'POST', '/api/flows', {
    templateId,
    ...(name ? { name } : {}),
  });
  return r.flow.id;
}

/** An API call with a signed-in user's session cookie and CSRF token; throws on a non-2xx answer. */
export type Call = <T = unknown>(method: string, path: string, body?: unknown) => Promise<T>;

/** Signs `who` in over HTTP (as the editor does) and returns a client for their API calls. */
export async function apiAs(who: string, pw: string): Promise<Call> {
  const res = await fetch(`${url}/api/auth/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email: who, password: pw }),
  });
  if (!res.ok) throw new Error(`sign-in failed: ${res.status}`);
  const cookie = res.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');
  const { csrfToken } = (await res.json()) as { csrfToken: string };
  return async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const r = await fetch(`${url}${path}`, {
      method,
      headers: { Cookie: cookie, 'X-CSRF-Token': csrfToken, 'Content-Type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await r.text();
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  };
}

/**
 * Signs the page in as `who` through the sign-in form, and waits for the page it lands on (the flow list; an
 * account in no workspace lands on `no-workspace-page`).
 */
export async function signInAs(page: Page, who: string, pw: string, lands = 'flows-page'): Promise<void> {
  await page.goto(`${url}/#/login`);
  await page.getByTestId('login-form').waitFor();
  await page.getByTestId('login-email').fill(who);
  await page.getByTestId('login-password').fill(pw);
  await page.getByTestId('login-submit').click();
  await page.getByTestId(lands).waitFor();
}

/**
 * Publishes a version of a flow and creates an API key scoped to that endpoint alone (the browser tests share one
 * workspace, and other pages count keys per endpoint).
 */
export async function publish(
  call: Call,
  options: { flowId: string; slug: string; keyName: string; version?: number; rateLimitPerMinute?: number },
): Promise<{ endpoint: { id: string; url: string }; key: string }> {
  const { keyName, version = 1, ...rest } = options;
  const endpoint = await call<{ id: string; url: string }>('POST', '/api/endpoints', { ...rest, version });
  const { key } = await call<{ key: string }>('POST', '/api/keys', {
    name: keyName,
    endpoints: [endpoint.id],
  });
  return { endpoint, key };
}
