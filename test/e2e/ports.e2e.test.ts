/**
 * Ports in the UI language (issue 14 item 8): every built-in node's ports carry Chinese titles, which the canvas
 * shows in zh-CN (English in English), beside a run form in the same language. Screenshots in both languages.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launch, shot } from './browser.js';
import type { Catalog } from '@finflow/contract';
import { flowFromTemplate, pageApi, signedInPage, url } from './session.js';

let browser: Browser;
const pageErrors: string[] = [];

beforeAll(async () => {
  browser = await launch();
});
afterAll(async () => {
  await browser?.close();
});

const han = /[\u4e00-\u9fff]/;

describe('ports in the UI language', () => {
  it.each(['zh-CN', 'en'] as const)('names the ports on the canvas and the run form in %s', async (lang) => {
    const page = await signedInPage(browser, lang, pageErrors);
    const flowId = await flowFromTemplate(page, 'credit-approval', `ports ${lang}`);
    await page.goto(`${url}/#/flows/${flowId}`);
    await page.getByTestId('canvas').waitFor();
    await page.locator('.port-label').first().waitFor();
    await shot(page, `ports-canvas-${lang}`);
    const labels = (await page.locator('.port-label').allTextContents()).map((s) => s.trim());
    expect(labels.length).toBeGreaterThan(5);
    // The English titles of declared ports (ports a node derives from its config are named by the flow's author).
    const catalog = await pageApi<Catalog>(page, 'GET', '/api/catalog');
    const english = new Set(
      catalog.nodes.flatMap((n) => [...n.inputs, ...n.outputs].flatMap((p) => (p.title ? [p.title] : []))),
    );
    const declared = labels.filter((l) => english.has(l) || han.test(l));
    expect(declared.length).toBeGreaterThan(5);
    if (lang === 'zh-CN') {
      expect(labels).toContain('决策');
      expect(labels.filter((l) => english.has(l))).toEqual([]);
    } else {
      expect(labels).toContain('Decision');
      expect(labels.filter((l) => han.test(l))).toEqual([]);
    }
    // The tooltip names the port's type and whether it is optional in the same language.
    const tips = await page
      .locator('.port-row')
      .evaluateAll((els) => els.map((el) => (el as unknown as { title: string }).title));
    expect(tips.some((t) => t.includes(lang === 'zh-CN' ? '可选' : 'optional'))).toBe(true);

    // The run form beside it speaks the same language.
    await page.getByTestId('tab-run').click();
    const form = page.locator('.run-form');
    await form.waitFor();
    await shot(page, `ports-run-form-${lang}`);
    const fieldLabels = (await form.locator('.field-label').allTextContents()).map((s) => s.trim());
    expect(fieldLabels.length).toBeGreaterThan(5);
    if (lang === 'zh-CN') expect(fieldLabels.filter((l) => !han.test(l))).toEqual([]);
    else expect(fieldLabels.filter((l) => han.test(l))).toEqual([]);
    await page.context().close();
  });

  it('raised no page errors', () => {
    expect(pageErrors).toEqual([]);
  });
});
