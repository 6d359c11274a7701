/**
 * What a newcomer hit on the canvas (issue 14), checked in the browser: the first visit in the browser's language;
 * unsaved edits kept whatever way one leaves the editor; running unsaved or invalid edits without creating a
 * version, with the problems translated on the nodes; a canvas that opens legible, with readable notes clear of
 * the nodes; results next to the canvas (a node clicked on the Run tab shows its result, a resizable panel);
 * attribution values clear of the feature names; a ranking score drawn as a ranking; no serious accessibility
 * violations (axe-core) on the main screens. In Chinese and English, with screenshots.
 */
import { createRequire } from 'node:module';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launch, shot } from './browser.js';
import { flowFromTemplate, pageApi, signedInPage, url } from './session.js';

const require = createRequire(import.meta.url);
const axeSource: string = (require('axe-core') as { source: string }).source;

/**
 * What the callbacks given to page.evaluate use of the page (they run there; the tests compile without the DOM's
 * iterable types).
 */
interface PageBox {
  left: number;
  right: number;
  top: number;
  bottom: number;
}
interface PageElement {
  getBoundingClientRect(): PageBox;
  querySelectorAll(selector: string): ArrayLike<PageElement>;
}
interface PageGlobals {
  document: PageElement;
  axe?: { run: (ctx: unknown, o: unknown) => Promise<unknown> };
  getComputedStyle(el: unknown): { backgroundColor: string; color: string };
}

let browser: Browser;
const pageErrors: string[] = [];

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

/** axe-core's serious and critical violations on the page as it is now (WCAG 2.x A and AA rules). */
async function seriousViolations(page: Page): Promise<string[]> {
  // Evaluated through the DevTools protocol: the app's CSP (script-src 'self') rightly refuses an inline script tag.
  if (!(await page.evaluate(() => 'axe' in globalThis))) await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const g = globalThis as unknown as PageGlobals;
    const r = (await g.axe?.run(g.document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
    })) as { violations: AxeViolation[] };
    return r.violations;
  });
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

async function versionCount(page: Page, flowId: string): Promise<number> {
  const versions = await pageApi<unknown[]>(page, 'GET', `/api/flows/${flowId}/versions`);
  return versions.length;
}

async function openFlow(page: Page, flowId: string): Promise<void> {
  await page.goto(`${url}/#/flows/${flowId}`);
  await page.getByTestId('canvas').waitFor();
  await expect.poll(() => page.getByTestId('save-state').textContent()).toContain('v1');
}

/** The canvas zoom (React Flow's viewport transform). */
async function zoom(page: Page): Promise<number> {
  const t = await page
    .locator('.react-flow__viewport')
    .evaluate((el) => (el as unknown as { style: { transform: string } }).style.transform);
  return Number(/scale\(([\d.]+)\)/.exec(t)?.[1] ?? NaN);
}

beforeAll(async () => {
  browser = await launch();
});

afterAll(async () => {
  await browser?.close();
});

describe('a newcomer on the canvas', () => {
  it('opens in the browser language on the first visit', async () => {
    for (const [locale, lang] of [
      ['en-US', 'en'],
      ['zh-CN', 'zh-CN'],
    ] as const) {
      const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, locale });
      const page = await context.newPage();
      await page.goto(url);
      await page.getByTestId('login-form').waitFor();
      expect(await page.locator('html').getAttribute('lang')).toBe(lang);
      await shot(page, `newcomer-first-visit-${lang}`);
      await context.close();
    }
  });

  it.each(['zh-CN', 'en'] as const)(
    'runs unsaved edits as a draft and shows why an invalid draft cannot run (%s)',
    async (lang) => {
      const page = await signedInPage(browser, lang, pageErrors);
      const flowId = await flowFromTemplate(page, 'credit-approval', `draft run ${lang}`);
      await openFlow(page, flowId);
      // An edit, not saved: the run runs it and no version is made.
      await page.getByTestId('flow-name').fill(`draft run ${lang} (edited)`);
      await page.getByTestId('tab-run').click();
      await page.getByTestId('start-run').click();
      await page.getByTestId('run-draft-notice').waitFor();
      const summary = page.getByTestId('run-summary');
      await expect
        .poll(() => summary.getAttribute('data-run-status'), { timeout: 90_000 })
        .not.toBe('running');
      expect(await summary.getAttribute('data-run-status')).toBe('succeeded');
      expect(await versionCount(page, flowId)).toBe(1);
      await expect(page.getByTestId('save-state').textContent()).resolves.not.toContain('v2');

      // Deleting the node that feeds the credit policy leaves a required input unconnected.
      await page.locator('[data-node-id="policyFacts"] .flow-node-header').click();
      await page.keyboard.press('Delete');
      await page.getByTestId('tab-run').click();
      await page.getByTestId('start-run').click();
      const blocked = page.getByTestId('run-blocked');
      await blocked.waitFor();
      // Each problem worded in the UI language (its code is only a detail beside the node's name).
      const messages = await blocked.locator('.problem-msg').allTextContents();
      expect(messages.length).toBeGreaterThan(0);
      for (const m of messages) {
        expect(m).not.toMatch(/^[A-Z]+(_[A-Z]+)+$/);
        if (lang === 'zh-CN') expect(m).toMatch(/[\u4e00-\u9fff]/);
        else expect(m).not.toMatch(/[\u4e00-\u9fff]/);
      }
      await page.locator('[data-node-id="policy"] [data-testid=node-problems]').waitFor();
      expect(await versionCount(page, flowId)).toBe(1);
      await shot(page, `newcomer-run-blocked-${lang}`);
      await page.context().close();
    },
  );

  it('keeps unsaved edits when the header link leaves the editor, and offers them back', async () => {
    const page = await signedInPage(browser, 'zh-CN', pageErrors);
    const flowId = await flowFromTemplate(page, 'anti-fraud', 'draft kept');
    await openFlow(page, flowId);
    await page.getByTestId('flow-name').fill('draft kept, renamed');
    // Leaving through the header's Flows link (no reload, so no beforeunload prompt).
    await page.locator('header a[href="#/flows"]').last().click();
    await page.getByTestId('flows-page').waitFor();
    await openFlow(page, flowId);
    await page.getByTestId('draft-banner').waitFor();
    await shot(page, 'newcomer-draft-offered-zh');
    expect(await page.getByTestId('flow-name').inputValue()).toBe('draft kept');
    await page.getByTestId('draft-restore').click();
    expect(await page.getByTestId('flow-name').inputValue()).toBe('draft kept, renamed');
    expect(await page.getByTestId('save-state').textContent()).not.toContain('v1');

    // Saving drops the kept copy: the next visit offers nothing.
    await page.getByTestId('save').click();
    await page.getByTestId('confirm-save').click();
    await expect.poll(() => page.getByTestId('save-state').textContent()).toContain('v2');
    await page.locator('header a[href="#/flows"]').last().click();
    await page.getByTestId('flows-page').waitFor();
    await page.goto(`${url}/#/flows/${flowId}`);
    await expect.poll(() => page.getByTestId('save-state').textContent()).toContain('v2');
    await page.waitForTimeout(300);
    expect(await page.getByTestId('draft-banner').count()).toBe(0);

    // Discarding forgets it.
    await page.getByTestId('flow-name').fill('to be discarded');
    await page.waitForTimeout(600);
    await page.goto(`${url}/#/flows`);
    await page.getByTestId('flows-page').waitFor();
    await page.goto(`${url}/#/flows/${flowId}`);
    await page.getByTestId('draft-discard').click();
    await page.reload();
    await expect.poll(() => page.getByTestId('save-state').textContent()).toContain('v2');
    await page.waitForTimeout(300);
    expect(await page.getByTestId('draft-banner').count()).toBe(0);
    expect(await page.getByTestId('flow-name').inputValue()).toBe('draft kept, renamed');
    await page.context().close();
  });

  it.each(['zh-CN', 'en'] as const)(
    'opens every template legible, with readable notes clear of the nodes (%s)',
    async (lang) => {
      const page = await signedInPage(browser, lang, pageErrors);
      const templates = await pageApi<{ id: string }[]>(page, 'GET', '/api/templates');
      for (const { id } of templates) {
        const flowId = await flowFromTemplate(page, id, `${id} legible`);
        await openFlow(page, flowId);
        await page.waitForTimeout(400);
        expect(await zoom(page), id).toBeGreaterThanOrEqual(0.7);
        // Node titles are drawn (not the low-detail boxes of a far zoom).
        expect(await page.locator('.canvas.lod-low').count(), id).toBe(0);
        const notes = await page.locator('[data-testid=note-node]').evaluateAll((els) =>
          els.map((el) => {
            const s = (globalThis as unknown as PageGlobals).getComputedStyle(el);
            return { bg: s.backgroundColor, fg: s.color };
          }),
        );
        for (const n of notes) expect(contrast(n.bg, n.fg), `${id} note ${n.bg}`).toBeGreaterThanOrEqual(4.5);
        const overlaps = await page.evaluate(() => {
          const boxes = (sel: string) =>
            Array.from((globalThis as unknown as PageGlobals).document.querySelectorAll(sel)).map((e) =>
              e.getBoundingClientRect(),
            );
          const nodes = boxes('.react-flow__node-finflow');
          return boxes('.react-flow__node-note').filter((a) =>
            nodes.some((b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom),
          ).length;
        });
        expect(overlaps, `${id}: notes over nodes`).toBe(0);
        if (id === 'robo-advisory' || id === 'anti-fraud') await shot(page, `newcomer-open-${id}-${lang}`);
      }
      await page.context().close();
    },
  );

  it.each(['zh-CN', 'en'] as const)(
    'shows results beside the canvas: a node clicked on the Run tab, a wider panel, readable attributions (%s)',
    async (lang) => {
      const page = await signedInPage(browser, lang, pageErrors);
      const flowId = await flowFromTemplate(page, 'credit-approval', `results ${lang}`);
      await openFlow(page, flowId);
      await page.getByTestId('tab-run').click();
      await page.getByTestId('fixture-select').selectOption('decline-scorecard');
      await page.getByTestId('start-run').click();
      const summary = page.getByTestId('run-summary');
      await summary.waitFor();
      await expect
        .poll(() => summary.getAttribute('data-run-status'), { timeout: 90_000 })
        .not.toBe('running');

      // The input form folds away once a run is shown; the node clicked shows its result on the Run tab.
      expect(await page.getByTestId('toggle-run-form').getAttribute('aria-expanded')).toBe('false');
      await page.locator('[data-node-id="scorecard"] .flow-node-header').click();
      await page.getByTestId('run-node-result').waitFor();
      expect(await page.getByTestId('tab-run').getAttribute('aria-selected')).toBe('true');
      await page.getByTestId('run-node-result').getByTestId('node-outputs').waitFor();

      // Dragging the panel's edge widens it.
      const panel = page.locator('aside.side-panel');
      const before = (await panel.boundingBox())?.width ?? 0;
      const edge = await page.getByTestId('panel-resizer').boundingBox();
      if (!edge) throw new Error('no panel resizer');
      await page.mouse.move(edge.x + 2, edge.y + 300);
      await page.mouse.down();
      await page.mouse.move(edge.x - 300, edge.y + 300, { steps: 8 });
      await page.mouse.up();
      const after = (await panel.boundingBox())?.width ?? 0;
      expect(after).toBeGreaterThan(before + 250);

      // Attribution values sit clear of the feature names.
      const chart = page.getByTestId('run-node-result').getByTestId('risk-picture').first();
      await chart.getByTestId('attribution-value').first().waitFor();
      const clashes = await chart.evaluate((el) => {
        const ticks = Array.from(
          (el as unknown as PageElement).querySelectorAll(
            '.recharts-yAxis .recharts-cartesian-axis-tick text',
          ),
        ).map((t) => t.getBoundingClientRect());
        const values = Array.from(
          (el as unknown as PageElement).querySelectorAll('[data-testid=attribution-value]'),
        ).map((t) => t.getBoundingClientRect());
        return values.filter((v) =>
          ticks.some((t) => v.left < t.right && t.left < v.right && v.top < t.bottom && t.top < v.bottom),
        ).length;
      });
      expect(clashes).toBe(0);
      await page.getByTestId('run-node-result').scrollIntoViewIfNeeded();
      await shot(page, `newcomer-node-result-${lang}`);
      await page.context().close();
    },
  );

  it.each(['zh-CN', 'en'] as const)(
    'defines the flow input with the field builder, and the run form follows (%s)',
    async (lang) => {
      const page = await signedInPage(browser, lang, pageErrors);
      const flowId = await flowFromTemplate(page, 'anti-fraud', `builder ${lang}`);
      await openFlow(page, flowId);
      await page.locator('[data-node-id="in"] .flow-node-header').click();
      const builder = page.getByTestId('schema-builder');
      await builder.waitFor();
      const before = await builder.getByTestId('builder-field').count();
      expect(before).toBeGreaterThan(0);
      await builder.getByTestId('builder-add').click();
      const row = builder.getByTestId('builder-field').last();
      await row.getByTestId('builder-name').fill('bad name');
      await row.locator('.field-error').waitFor();
      await row.getByTestId('builder-name').fill('channel');
      await row.getByTestId('builder-type').selectOption('enum');
      await row.getByTestId('builder-choices').fill('app, branch');
      await row.getByTestId('builder-required').check();
      await row
        .getByTestId('builder-description')
        .fill(lang === 'en' ? 'Where the payment started' : '交易发起渠道');
      await shot(page, `newcomer-field-builder-${lang}`);
      // The schema it wrote: the JSON view shows it, and the run form asks for the new field.
      await page.getByTestId('tab-run').click();
      const form = page.getByTestId('run-panel');
      await form.getByText(lang === 'en' ? 'Where the payment started' : '交易发起渠道').waitFor();
      await form.getByText('branch', { exact: true }).first().waitFor();
      await page.getByTestId('save').click();
      await page.getByTestId('confirm-save').click();
      await expect.poll(() => page.getByTestId('save-state').textContent()).toContain('v2');
      const saved = await pageApi<{ document: { nodes: { id: string; config: Record<string, unknown> }[] } }>(
        page,
        'GET',
        `/api/flows/${flowId}`,
      );
      const schema = saved.document.nodes.find((n) => n.id === 'in')?.config['schema'] as {
        properties: Record<string, unknown>;
        required: string[];
      };
      expect(schema.properties['channel']).toEqual({
        type: 'string',
        enum: ['app', 'branch'],
        description: lang === 'en' ? 'Where the payment started' : '交易发起渠道',
      });
      expect(schema.required).toContain('channel');
      expect(Object.keys(schema.properties)).toHaveLength(before + 1);
      await page.context().close();
    },
  );

  it('draws the wealth ranking score as a ranking, not a risk', async () => {
    const page = await signedInPage(browser, 'zh-CN', pageErrors);
    const flowId = await flowFromTemplate(page, 'wealth-recommendation', 'ranking');
    await openFlow(page, flowId);
    await page.getByTestId('tab-run').click();
    await page.getByTestId('start-run').click();
    const summary = page.getByTestId('run-summary');
    await expect.poll(() => summary.getAttribute('data-run-status'), { timeout: 90_000 }).toBe('succeeded');
    const outputs = page.getByTestId('run-outputs');
    const scored = outputs.locator('[data-score-meaning]');
    await scored.first().waitFor();
    const meanings = await scored.evaluateAll((els) => els.map((e) => e.getAttribute('data-score-meaning')));
    expect(meanings).toContain('ranking');
    expect(await outputs.locator('[data-score-meaning=ranking]').first().textContent()).toContain('排序得分');
    expect(await outputs.textContent()).not.toContain('风险分');
    await shot(page, 'newcomer-wealth-ranking-zh');
    await page.context().close();
  });

  it.each(['zh-CN', 'en'] as const)(
    'has no serious accessibility violations on the main screens (%s)',
    async (lang) => {
      const context = await browser.newContext({
        viewport: { width: 1440, height: 900 },
        locale: lang === 'en' ? 'en-US' : 'zh-CN',
      });
      const login = await context.newPage();
      await login.goto(url);
      await login.getByTestId('login-form').waitFor();
      expect(await seriousViolations(login), 'sign-in').toEqual([]);
      await context.close();

      const page = await signedInPage(browser, lang, pageErrors);
      expect(await seriousViolations(page), 'flow list').toEqual([]);
      const flowId = await flowFromTemplate(page, 'anti-fraud', `a11y ${lang}`);
      await openFlow(page, flowId);
      expect(await seriousViolations(page), 'editor').toEqual([]);
      await page.getByTestId('tab-run').click();
      await page.getByTestId('start-run').click();
      await expect
        .poll(() => page.getByTestId('run-summary').getAttribute('data-run-status'), { timeout: 90_000 })
        .not.toBe('running');
      expect(await seriousViolations(page), 'run result').toEqual([]);
      await page.goto(`${url}/#/endpoints`);
      await page.getByTestId('endpoints-page').waitFor();
      expect(await seriousViolations(page), 'endpoints').toEqual([]);
      await page.context().close();
    },
  );

  it('raised no page errors', () => {
    expect(pageErrors).toEqual([]);
  });
});

/** WCAG contrast of two CSS rgb()/rgba() colours (opaque backgrounds). */
function contrast(a: string, b: string): number {
  const lum = (c: string) => {
    const [r, g, bl] = (c.match(/[\d.]+/g) ?? ['0', '0', '0']).slice(0, 3).map((v) => {
      const s = Number(v) / 255;
      return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
    }) as [number, number, number];
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  const [hi, lo] = [lum(a), lum(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}
