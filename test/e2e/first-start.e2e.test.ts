/**
 * A fresh server, as a newcomer meets it: the setup form for the first admin shows the server's password rule
 * (the one the server checks), says what is wrong in the UI language (a short password, a wrong setup token),
 * and creates the admin with the printed token. Screenshots in Chinese and English.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launch, shot } from './browser.js';
import { startServer } from './harness.mjs';

let browser: Browser;
let server: Awaited<ReturnType<typeof startServer>>;
let context: BrowserContext;
let page: Page;
const pageErrors: string[] = [];

beforeAll(async () => {
  [browser, server] = await Promise.all([launch(), startServer({ admin: null, quiet: true })]);
  context = await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: 'zh-CN' });
  page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.setDefaultTimeout(20_000);
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

const error = () => page.getByTestId('login-error').textContent();

describe('first start', () => {
  it('shows the password rule the server checks, and explains mistakes in Chinese', async () => {
    await page.goto(server.url);
    await page.getByTestId('setup-token').waitFor();
    expect(await page.getByTestId('password-rule').textContent()).toContain('至少 10 个字符');
    expect(await page.getByTestId('login-password').getAttribute('minlength')).toBe('10');
    await page.getByTestId('setup-token').fill('not-the-token');
    await page.getByLabel('姓名').fill('王敏');
    await page.getByTestId('login-email').fill('wang.min@bank.example');
    // Nine characters: the form once allowed eight while the server wanted ten.
    await page.getByTestId('login-password').fill('nine-char');
    await page.getByTestId('login-submit').click();
    await expect.poll(error).toContain('至少需要 10 个字符');
    await shot(page, 'first-start-zh-short-password');

    await page.getByTestId('login-password').fill('correct horse battery');
    await page.getByTestId('login-submit').click();
    await expect.poll(error).toContain('设置令牌不正确');
    await shot(page, 'first-start-zh-wrong-token');
  });

  it('says the same in English', async () => {
    await page.getByTestId('lang-switch').click();
    await expect
      .poll(() => page.getByTestId('password-rule').textContent())
      .toContain('At least 10 characters');
    await page.getByTestId('login-submit').click();
    await expect.poll(error).toContain('The setup token is not right');
    await shot(page, 'first-start-en-wrong-token');
  });

  it('creates the first admin with the printed token and signs in', async () => {
    await page.getByTestId('setup-token').fill(server.token);
    await page.getByTestId('login-submit').click();
    await page.getByTestId('flows-page').waitFor();
    expect(pageErrors).toEqual([]);
  });
});
