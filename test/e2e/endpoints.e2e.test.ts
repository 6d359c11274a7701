/**
 * The endpoints page: a key created for one endpoint (shown once) calls it; rotating the key gives a new one that
 * works while the old one stops at once. Screenshots in Chinese and English.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launch, shot } from './browser.js';
import { flowFromTemplate, pageApi, signedInPage, url } from './session.js';

let browser: Browser;
let page: Page;
const pageErrors: string[] = [];
const slug = 'e2e-keys-anti-fraud';
let input: unknown;

async function call(key: string): Promise<number> {
  const res = await fetch(`${url}/v1/endpoints/${slug}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(input),
  });
  return res.status;
}

beforeAll(async () => {
  browser = await launch();
  page = await signedInPage(browser, 'zh-CN', pageErrors);
  const flowId = await flowFromTemplate(page, 'anti-fraud');
  await pageApi(page, 'POST', '/api/endpoints', { flowId, version: 1, slug });
  const templates = await pageApi<{ id: string; fixtures: { input: unknown }[] }[]>(
    page,
    'GET',
    '/api/templates',
  );
  input = templates.find((t) => t.id === 'anti-fraud')?.fixtures[0]?.input;
});

afterAll(async () => {
  await browser?.close();
});

describe('endpoint keys', () => {
  let first = '';

  it('creates a key for one endpoint, shown once, that calls it', async () => {
    await page.goto(`${url}/#/endpoints`);
    const row = page.locator(`[data-testid=endpoint-row][data-slug="${slug}"]`);
    await row.waitFor();
    await row.getByTestId('new-key').click();
    await page.getByTestId('new-key-dialog').waitFor();
    await page.getByTestId('new-key-name').fill('核心系统');
    await shot(page, 'endpoints-zh-new-key');
    await page.getByTestId('confirm-new-key').click();
    first = ((await page.getByTestId('revealed-key').textContent()) ?? '').trim();
    expect(first).toMatch(/^ffk_/);
    await shot(page, 'endpoints-zh-key-shown-once');
    expect(await call(first)).toBe(200);
    await page.getByTestId('key-reveal-done').click();
    await expect.poll(() => row.getByTestId('endpoint-key-count').textContent()).toContain('1 个有效密钥');
  });

  it('rotates the key: the new one works, the old one stops at once', async () => {
    await page.getByTestId('lang-switch').click();
    const row = page.locator(`[data-testid=endpoint-row][data-slug="${slug}"]`);
    await row.getByTestId('endpoint-key-count').click();
    await page.getByTestId('key-filter').waitFor();
    const keyRow = page.locator('[data-testid=key-row][data-revoked=false]', { hasText: '核心系统' });
    await keyRow.getByTestId('rotate-key').click();
    await page.getByTestId('rotate-dialog').waitFor();
    await shot(page, 'endpoints-en-rotate');
    await page.getByTestId('confirm-rotate').click();
    const second = ((await page.getByTestId('revealed-key').textContent()) ?? '').trim();
    expect(second).toMatch(/^ffk_/);
    expect(second).not.toBe(first);
    expect(await call(first)).toBe(401);
    expect(await call(second)).toBe(200);
    await page.getByTestId('key-reveal-done').click();
    await expect.poll(() => page.locator('[data-testid=key-row]', { hasText: '核心系统' }).count()).toBe(2);
    expect(
      await page.locator('[data-testid=key-row][data-revoked=true]', { hasText: '核心系统' }).count(),
    ).toBe(1);
    await shot(page, 'endpoints-en-after-rotation');
    expect(pageErrors).toEqual([]);
  });
});
