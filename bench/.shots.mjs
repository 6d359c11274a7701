// scratch: screenshots of a template canvas in both languages, default zoom and zoomed out
import { chromium } from 'playwright-core';
import { apiClient, chromiumArgs, startServer } from '../test/e2e/harness.mjs';
const admin = { email: 'bench@example.com', name: 'Bench', password: 'bench-Correct-Horse-1' };
const out = process.env.SHOTS ?? '/tmp/canvas-work/shots';
const server = await startServer({ admin, quiet: true });
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: chromiumArgs });
try {
  const api = await apiClient(server.url, admin.email, admin.password);
  const { flow } = await api('POST', '/api/flows', { templateId: process.env.TEMPLATE ?? 'credit-approval' });
  for (const lang of ['en', 'zh-CN']) {
    const page = await (await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: lang === 'en' ? 'en-US' : 'zh-CN' })).newPage();
    page.on('pageerror', (e) => console.log('PAGEERROR', e.message));
    page.on('console', (m) => m.type() === 'error' && console.log('CONSOLE', m.text()));
    await page.goto(server.url);
    await page.getByTestId('login-email').fill(admin.email);
    await page.getByTestId('login-password').fill(admin.password);
    await page.getByTestId('login-submit').click();
    await page.getByTestId('flows-page').waitFor();
    if ((await page.locator('html').getAttribute('lang')) !== lang) {
      await page.getByTestId('lang-switch').click();
      await page.locator(`html[lang="${lang}"]`).waitFor({ state: 'attached' });
    }
    await page.goto(`${server.url}/#/flows/${flow.id}`);
    await page.locator('.react-flow__node').first().waitFor();
    await page.waitForTimeout(800);
    await page.screenshot({ path: `${out}-${lang}-default.png` });
    await page.locator('.react-flow__node').first().screenshot({ path: `${out}-${lang}-node.png` });
    const vp = page.locator('.react-flow__pane');
    const b = await vp.boundingBox();
    await page.mouse.move(b.x + b.width / 2, b.y + b.height / 2);
    for (let i = 0; i < 6; i++) { await page.mouse.wheel(0, 300); await page.waitForTimeout(150); }
    await page.waitForTimeout(500);
    await page.screenshot({ path: `${out}-${lang}-out.png` });
    const zoom = await page.evaluate(() => document.querySelector('.react-flow__viewport').style.transform);
    console.log(lang, zoom, await page.evaluate(() => document.querySelector('.canvas').className));
    await page.context().close();
  }
} finally { await browser.close(); await server.stop(); }
