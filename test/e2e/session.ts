/** Shared steps of the browser tests: a signed-in page at 1440×900, and API calls made from it. */
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
