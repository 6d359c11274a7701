/**
 * The Evaluate tab in a real browser against the real server: an analyst opens the credit-approval template,
 * uploads German Credit, maps its columns to the application with the template's evaluation spec, starts the
 * evaluation of two versions, follows the progress bar and reads the report with its charts, in Chinese and in
 * English. Screenshots go to test/e2e/screenshots/.
 */
import { readFileSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launch, shot } from './browser.js';
import { email, flowFromTemplate, pageApi, password, signInAs, url } from './session.js';
const root = new URL('../../', import.meta.url);

let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

beforeAll(async () => {
  browser = await launch();
  page = await browser.newPage({ viewport: { width: 1440, height: 1000 }, locale: 'zh-CN' });
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.setDefaultTimeout(30_000);
});

afterAll(async () => {
  await browser?.close();
});

describe('the Evaluate tab', () => {
  it('evaluates two versions of the credit-approval flow on German Credit and shows the report', async () => {
    await signInAs(page, email, password);
    // The flow from the template, saved twice so there are two versions to compare.
    const flowId = await flowFromTemplate(page, 'credit-approval', 'Credit approval (evaluation)');
    const current = await pageApi<{ document: Record<string, unknown> }>(page, 'GET', `/api/flows/${flowId}`);
    await pageApi(page, 'PUT', `/api/flows/${flowId}`, {
      document: { ...current.document, description: 'second version' },
      message: 'v2',
    });
    await page.goto(`${url}/#/flows/${flowId}`);
    await page.getByTestId('canvas').waitFor();
    await page.getByTestId('tab-evaluate').click();
    await page.getByTestId('evaluate-panel').waitFor();
    expect(await page.getByTestId('tab-evaluate').textContent()).toContain('评估');

    const spec = JSON.parse(
      readFileSync(new URL('templates/credit-approval/evaluation/german-credit.json', root), 'utf8'),
    ) as Record<string, string>;
    // The first 300 applicants keep the browser test short.
    const csv = readFileSync(new URL('datasets/german-credit/german-credit.csv', root), 'utf8')
      .split('\n')
      .slice(0, 301)
      .join('\n');
    await page
      .getByTestId('eval-dataset')
      .setInputFiles({ name: 'german-credit.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    // Both versions: v1 is the baseline. The list arrives from the server after the panel shows.
    await page.getByTestId('evaluate-panel').locator('.eval-versions input').nth(1).waitFor();
    for (const box of await page.getByTestId('evaluate-panel').locator('.eval-versions input').all())
      if (!(await box.isChecked())) await box.check();
    await page.getByTestId('eval-label').fill('class');
    await page.getByTestId('eval-prediction').fill(spec['prediction'] as string);
    await page.getByTestId('eval-score').fill(spec['score'] as string);
    await page.getByTestId('eval-positive').fill('2');
    await page.getByLabel('漏判正类').fill('5');
    await page.getByLabel('误报').fill('1');
    await page.getByTestId('eval-group').fill('foreign_worker');
    await page.getByTestId('eval-favourable').fill('1');
    await page.getByTestId('eval-input').fill(spec['input'] as string);
    await shot(page, '30-evaluate-form-zh');
    await page.getByTestId('eval-start').click();
    await page.getByTestId('eval-progress').waitFor();
    await shot(page, '31-evaluate-progress-zh');
    const quality = page.getByTestId('eval-quality');
    await quality.waitFor({ timeout: 180_000 });
    // Two versions, each with its AUC and interval; the comparison of identical models is zero.
    const rows = await quality.locator('tbody tr').allTextContents();
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatch(/^v1/);
    expect(rows[0]).toMatch(/0\.\d{3} \[0\.\d{3}, 0\.\d{3}\]/);
    expect(await page.getByTestId('eval-comparisons').locator('tbody tr').first().textContent()).toContain(
      '0.000 [0.000, 0.000]',
    );
    expect(await page.getByTestId('eval-adverse').textContent()).toContain('不利影响比率');
    expect(await page.getByTestId('eval-charts').first().locator('svg').count()).toBe(2);
    await shot(page, '32-evaluate-report-zh');
    await page.getByTestId('eval-result').scrollIntoViewIfNeeded();
    await page.getByTestId('eval-charts').first().scrollIntoViewIfNeeded();
    await shot(page, '33-evaluate-charts-zh');
    await page.getByTestId('lang-switch').click();
    await expect.poll(() => page.getByTestId('tab-evaluate').textContent()).toContain('Evaluate');
    expect(await page.getByTestId('eval-adverse').textContent()).toContain('adverse-impact ratio');
    await page.getByTestId('evaluate-panel').locator('.section-title').first().scrollIntoViewIfNeeded();
    await shot(page, '34-evaluate-report-en');
    await page.getByTestId('eval-charts').first().scrollIntoViewIfNeeded();
    await shot(page, '35-evaluate-charts-en');
    await page.getByTestId('lang-switch').click();
    expect(pageErrors).toEqual([]);
  });
});
