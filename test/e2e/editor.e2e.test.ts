/**
 * The editor in a real browser against the real server, as an analyst uses it: sign in, create a flow from a
 * template, run it on its sample data and read the result, publish it and call the endpoint with the API key;
 * then build a flow by hand (drag from the palette, a refused connection, a config edit, undo and redo) and
 * switch the language. Screenshots go to test/e2e/screenshots/ (CI artefacts, not committed).
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { env, launch, shot } from './browser.js';

const url = env('FINFLOW_E2E_URL');
const email = env('FINFLOW_E2E_EMAIL');
const password = env('FINFLOW_E2E_PASSWORD');

let browser: Browser;
let page: Page;
const pageErrors: string[] = [];
/** Console messages about the Content Security Policy (Monaco's workers must work without eval). */
const cspViolations: string[] = [];

interface TemplateInfo {
  id: string;
  flow: { nodes: unknown[] };
  fixtures: { name: string; input: unknown }[];
}

/** Calls the API from the page, with its session cookie. */
function apiGet<T>(path: string): Promise<T> {
  return page.evaluate(async (p) => {
    const res = await fetch(p, { headers: { Accept: 'application/json' } });
    return (await res.json()) as unknown;
  }, path) as Promise<T>;
}

async function nodeCount(): Promise<number> {
  return page.locator('[data-testid=flow-node]').count();
}
async function edgeCount(): Promise<number> {
  return page.locator('.react-flow__edge').count();
}

async function centre(selector: string): Promise<{ x: number; y: number }> {
  const box = await page.locator(selector).first().boundingBox();
  if (!box) throw new Error(`${selector} is not visible`);
  return { x: box.x + box.width / 2, y: box.y + box.height / 2 };
}

/** Drags a connection from one handle to another with the mouse, calling `during` while over the target. */
async function dragConnection(from: string, to: string, during?: () => Promise<void>): Promise<void> {
  const a = await centre(from);
  const b = await centre(to);
  await page.mouse.move(a.x, a.y);
  await page.mouse.down();
  await page.mouse.move((a.x + b.x) / 2, (a.y + b.y) / 2, { steps: 6 });
  await page.mouse.move(b.x, b.y, { steps: 6 });
  if (during) await during();
  await page.mouse.up();
}

/** Drops a palette entry on the canvas and returns the new node's id. */
async function dropFromPalette(type: string, at: { x: number; y: number }): Promise<string> {
  const before = new Set(
    await page
      .locator('[data-testid=flow-node]')
      .evaluateAll((els) => els.map((e) => e.getAttribute('data-node-id'))),
  );
  await page.getByTestId('palette-search').fill(type);
  await page
    .locator(`[data-testid=palette-item][data-node-type="${type}"]`)
    .dragTo(page.getByTestId('canvas'), { targetPosition: at });
  await page.getByTestId('palette-search').fill('');
  const ids = await page
    .locator(`[data-testid=flow-node][data-node-type="${type}"]`)
    .evaluateAll((els) => els.map((e) => e.getAttribute('data-node-id')));
  const id = ids.find((x) => x && !before.has(x));
  if (!id) throw new Error(`dropping ${type} added no node`);
  return id;
}

beforeAll(async () => {
  browser = await launch();
  page = await browser.newPage({ viewport: { width: 1440, height: 900 }, locale: 'zh-CN' });
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => {
    if (/Content Security Policy|unsafe-eval/i.test(m.text())) cspViolations.push(m.text());
  });
  page.setDefaultTimeout(20_000);
});

afterAll(async () => {
  await browser?.close();
});

describe('the editor against the real server', () => {
  let template: TemplateInfo;
  let templateFlowUrl = '';
  let initialRate = '';
  // The page is in Chinese, so config fields carry their Chinese titles (`zh.title` in the node's meta).
  const riskFreeRate = () =>
    page.locator('.field', { has: page.getByText('无风险利率', { exact: true }) }).locator('input');

  it('signs in', async () => {
    await page.goto(url);
    await page.getByTestId('login-form').waitFor();
    await page.getByTestId('login-email').fill(email);
    await page.getByTestId('login-password').fill('wrong password');
    await page.getByTestId('login-submit').click();
    await expect(page.getByTestId('login-error').textContent()).resolves.toBeTruthy();
    await page.getByTestId('login-password').fill(password);
    await shot(page, '01-sign-in');
    await page.getByTestId('login-submit').click();
    await page.getByTestId('flows-page').waitFor();
    await shot(page, '02-flow-list');
  });

  it('creates a flow from a template in the gallery', async () => {
    const templates = await apiGet<TemplateInfo[]>('/api/templates');
    expect(templates.length).toBeGreaterThanOrEqual(6);
    template = templates.find((t) => t.id === 'credit-approval') ?? (templates[0] as TemplateInfo);
    await page.getByTestId('new-flow').click();
    await page.locator('[data-testid=template-card]').first().waitFor();
    expect(await page.locator('[data-testid=template-card]').count()).toBe(templates.length);
    await shot(page, '03-template-gallery');
    await page.locator(`[data-testid=template-card][data-template-id="${template.id}"]`).click();
    await page.getByTestId('canvas').waitFor();
    await expect.poll(nodeCount).toBe(template.flow.nodes.length);
    expect(await edgeCount()).toBeGreaterThan(0);
    templateFlowUrl = page.url();
    await shot(page, '04-template-flow');
  });

  it('runs the flow on its sample input and shows live statuses and outputs', async () => {
    await page.getByTestId('tab-run').click();
    if (template.fixtures.length)
      await expect
        .poll(() => page.getByTestId('fixture-select').inputValue())
        .toBe(template.fixtures[0]?.name);
    await page.getByTestId('start-run').click();
    const summary = page.getByTestId('run-summary');
    await summary.waitFor();
    await expect.poll(() => summary.getAttribute('data-run-status'), { timeout: 90_000 }).not.toBe('running');
    expect(await summary.getAttribute('data-run-status')).toBe('succeeded');
    const statuses = await page
      .locator('[data-testid=node-status]')
      .evaluateAll((els) => els.map((e) => e.getAttribute('data-status')));
    expect(statuses.length).toBeGreaterThan(0);
    expect(statuses.every((s) => s === 'succeeded' || s === 'skipped')).toBe(true);
    expect(statuses).toContain('succeeded');
    await page.getByTestId('run-outputs').waitFor();
    await page.getByTestId('gantt').waitFor();
    await shot(page, '05-run-result');

    // Clicking a node shows what it received and produced.
    const nodeId = await page
      .locator('[data-testid=node-status][data-status=succeeded]')
      .first()
      .evaluate((el) => el.closest('[data-node-id]')?.getAttribute('data-node-id'));
    await page.locator(`[data-node-id="${nodeId}"] .flow-node-header`).click();
    await page.getByTestId('node-run-view').waitFor();
    await page.getByTestId('node-outputs').waitFor();
    await shot(page, '06-node-inspection');
  });

  it('publishes the flow and calls the endpoint with the API key shown once', async () => {
    await page.getByTestId('publish').click();
    await page.getByTestId('publish-dialog').waitFor();
    await page.getByTestId('publish-slug').fill(`e2e-${template.id}`);
    await page.getByTestId('confirm-publish').click();
    await page.getByTestId('publish-result').waitFor();
    const endpointUrl = (await page.getByTestId('endpoint-url').textContent())?.trim() ?? '';
    const key = (await page.getByTestId('api-key').textContent())?.trim() ?? '';
    expect(endpointUrl).toContain(`/v1/endpoints/e2e-${template.id}`);
    expect(key.length).toBeGreaterThan(16);
    expect(await page.getByTestId('curl-example').textContent()).toContain(endpointUrl);
    await shot(page, '07-publish');

    const input = template.fixtures[0]?.input ?? {};
    const res = await fetch(endpointUrl, {
      method: 'POST',
      headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(input),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { runId: string; outputs: Record<string, unknown> };
    expect(body.runId).toBeTruthy();
    expect(Object.keys(body.outputs).length).toBeGreaterThan(0);
    const refused = await fetch(endpointUrl, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{}',
    });
    expect(refused.status).toBe(401);

    // The OpenAPI document is served to API keys; the dialog fetches it with the key it just created.
    const openapi = await fetch(`${endpointUrl}/openapi.json`, {
      headers: { Authorization: `Bearer ${key}` },
    });
    expect(openapi.status).toBe(200);
    expect(((await openapi.json()) as { openapi?: string }).openapi).toMatch(/^3\.1/);
    await page.getByTestId('openapi-load').click();
    await page.getByTestId('openapi-doc').waitFor();

    await page.keyboard.press('Escape');
    await page.getByTestId('publish-dialog').waitFor({ state: 'detached' });
    await page.goto(`${url}/#/endpoints`);
    await page.getByTestId('endpoint-list').getByText(`e2e-${template.id}`).waitFor();
    await shot(page, '08-endpoints');
  });

  it('drags nodes from the palette onto a new flow', async () => {
    await page.goto(`${url}/#/flows`);
    await page.getByTestId('new-flow').click();
    await page.getByTestId('new-flow-name').fill('手工流程 e2e');
    await page.getByTestId('create-empty').click();
    await page.getByTestId('canvas').waitFor();
    await expect.poll(nodeCount).toBe(2);
    const text = await dropFromPalette('data.template', { x: 260, y: 420 });
    const portfolio = await dropFromPalette('risk.portfolio', { x: 620, y: 520 });
    expect(await nodeCount()).toBe(4);
    expect(text).toBe('template_1');
    expect(portfolio).toBe('portfolio_1');
    await shot(page, '09-dragged-nodes');
  });

  it('refuses a mismatched connection with a visible reason, and accepts a matching one', async () => {
    const from = '[data-node-id="template_1"] .react-flow__handle[data-port="text"]';
    const to = '[data-node-id="portfolio_1"] .react-flow__handle[data-port="prices"]';
    let reason = '';
    await dragConnection(from, to, async () => {
      await page.getByTestId('connect-reason').waitFor();
      reason = (await page.getByTestId('connect-reason').textContent()) ?? '';
      await shot(page, '10-refused-connection');
    });
    expect(reason).toContain('text');
    expect(reason).toContain('table');
    expect(await page.getByTestId('toast').textContent()).toContain('table');
    expect(await edgeCount()).toBe(0);

    await dragConnection(from, '[data-node-id="output"] .react-flow__handle[data-port="value"]');
    await expect.poll(edgeCount).toBe(1);
  });

  it('edits a config field with inline validation', async () => {
    await page.locator('[data-node-id="portfolio_1"] .flow-node-header').click();
    await page.getByTestId('inspector').waitFor();
    const field = riskFreeRate();
    initialRate = await field.inputValue();
    await field.fill('0.035');
    expect(await field.inputValue()).toBe('0.035');
    const target = page
      .locator('.field', { has: page.getByText('目标波动率', { exact: true }) })
      .locator('input');
    await target.fill('-1');
    await page.getByTestId('field-error').first().waitFor();
    await shot(page, '11-config-edit');
    await target.fill('');
    await expect.poll(() => page.getByTestId('field-error').count()).toBe(0);
  });

  it('undoes and redoes edits', async () => {
    const field = riskFreeRate();
    expect(await field.inputValue()).toBe('0.035');
    // Undo with the toolbar until the rate is back (the target-volatility edits come off first), then redo it.
    for (let i = 0; i < 4 && (await field.inputValue()) !== initialRate; i++)
      await page.getByTestId('undo').click();
    expect(await field.inputValue()).toBe(initialRate);
    await page.keyboard.press('Control+Shift+Z');
    await expect.poll(() => field.inputValue()).toBe('0.035');
    await page.keyboard.press('Control+Z');
    await expect.poll(() => field.inputValue()).toBe(initialRate);
    // One more step back removes the connection; redo brings it back.
    const edgesBefore = await edgeCount();
    await page.keyboard.press('Control+Z');
    await expect.poll(edgeCount).toBe(edgesBefore - 1);
    await page.keyboard.press('Control+Y');
    await expect.poll(edgeCount).toBe(edgesBefore);
    await shot(page, '12-undo-redo');
  });

  it('checks a code node against its ports in Monaco, under the server CSP', async () => {
    // A TypeScript code node whose result gives the number output a string: only the port typings can tell.
    const flowId = await page.evaluate(async () => {
      const me = (await (await fetch('/api/auth/me')).json()) as { csrfToken: string };
      const document = {
        schemaVersion: 1,
        id: 'fee-code',
        name: 'Fee (code node)',
        nodes: [
          {
            id: 'in',
            type: 'io.input',
            version: 1,
            config: { schema: { type: 'object', properties: { amount: { type: 'number' } } } },
            ui: { position: { x: 0, y: 80 } },
          },
          {
            id: 'fee',
            type: 'code.javascript',
            version: 1,
            config: {
              language: 'typescript',
              inputs: [{ name: 'amount', type: 'number', required: true }],
              outputs: [{ name: 'fee', type: 'number', required: true }],
              code: [
                '// The fee on an amount, at least 5.',
                'export default defineRun(({ amount }, ctx) => {',
                "  ctx.log.info('fee', { amount });",
                '  return { fee: String(Math.max(5, amount * 0.0125)) };',
                '});',
                '',
              ].join('\n'),
            },
            ui: { position: { x: 320, y: 80 } },
          },
          {
            id: 'out',
            type: 'io.output',
            version: 1,
            config: { name: 'fee' },
            ui: { position: { x: 640, y: 80 } },
          },
        ],
        edges: [
          { id: 'e1', from: { node: 'in', port: 'amount' }, to: { node: 'fee', port: 'amount' } },
          { id: 'e2', from: { node: 'fee', port: 'fee' }, to: { node: 'out', port: 'value' } },
        ],
      };
      const res = await fetch('/api/flows', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': me.csrfToken },
        body: JSON.stringify({ document, message: 'code node' }),
      });
      return ((await res.json()) as { flow: { id: string } }).flow.id;
    });
    await page.goto(`${url}/#/flows/${encodeURIComponent(flowId)}`);
    await page.getByTestId('canvas').waitFor();
    await page.locator('[data-node-id="fee"] .flow-node-header').click();
    await page.getByTestId('inspector').waitFor();
    expect(await page.getByTestId('node-origin').textContent()).toContain('@finflow/nodes');
    const editor = page.getByTestId('inspector').locator('.monaco-editor').first();
    await editor.waitFor({ timeout: 30_000 });
    // The TypeScript worker reports the string given to the number output (a semantic error from the typings).
    await expect
      .poll(() => editor.locator('.squiggly-error').count(), { timeout: 45_000 })
      .toBeGreaterThan(0);
    await editor.scrollIntoViewIfNeeded();
    await shot(page, '13a-code-node-zh');
    await page.getByTestId('lang-switch').click();
    await expect.poll(() => page.getByTestId('tab-run').textContent()).toContain('Run');
    await shot(page, '13b-code-node-en');
    await page.getByTestId('lang-switch').click();
    expect(cspViolations).toEqual([]);
  });

  it('switches the language between Chinese and English', async () => {
    await page.goto(templateFlowUrl);
    await page.getByTestId('canvas').waitFor();
    expect(await page.getByTestId('tab-run').textContent()).toContain('运行');
    await page.getByTestId('lang-switch').click();
    await expect.poll(() => page.getByTestId('tab-run').textContent()).toContain('Run');
    expect(await page.getByTestId('palette-search').getAttribute('placeholder')).toBe('Search nodes');
    await shot(page, '13-english');
    await page.getByTestId('lang-switch').click();
    await expect.poll(() => page.getByTestId('tab-run').textContent()).toContain('运行');
    expect(pageErrors).toEqual([]);
  });

  it('sets up connections, and a model node chooses one instead of a base URL and key', async () => {
    // A credential for the connection to send (the editor has no credential screen; the API is the way).
    await page.evaluate(async () => {
      const me = (await (await fetch('/api/auth/me')).json()) as { csrfToken: string };
      await fetch('/api/credentials/llm-key', {
        method: 'PUT',
        headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': me.csrfToken },
        body: JSON.stringify({ value: 'sk-e2e-0123456789abcdef' }),
      });
    });
    await page.goto(`${url}/#/connections`);
    await page.getByTestId('connections-page').waitFor();
    const add = async (name: string, baseUrl: string, models: string, cloud: boolean) => {
      await page.getByTestId('new-connection').click();
      await page.getByTestId('connection-form').waitFor();
      await page.getByTestId('connection-name').fill(name);
      await page.getByTestId('connection-url').fill(baseUrl);
      await page.getByTestId('connection-credential').selectOption('llm-key');
      await page.locator('[data-testid=connection-form] input[placeholder^="qwen"]').fill(models);
      if (cloud) await page.getByRole('radio', { name: '云端' }).click();
      if (name === 'cloud-llm') await shot(page, '14-connection-form');
      await page.getByTestId('connection-save').click();
      await page.getByTestId('connection-form').waitFor({ state: 'detached' });
    };
    await add('bank-llm', 'https://llm.bank.example/v1', 'qwen2.5-72b', false);
    await add('cloud-llm', 'https://api.openai.com/v1', 'gpt-4o-mini', true);
    const rows = page.getByTestId('connection-list').locator('tbody tr');
    await expect.poll(() => rows.count()).toBe(2);
    expect(await rows.nth(1).textContent()).toContain('公开、内部');
    await shot(page, '15-connections');
    await page.getByTestId('lang-switch').click();
    await expect.poll(() => page.locator('h1').textContent()).toBe('Connections');
    await shot(page, '16-connections-en');
    await page.getByTestId('lang-switch').click();

    // A flow saved before connections: the node shows its old endpoint and offers the connections.
    const imported = await page.evaluate(async () => {
      const me = (await (await fetch('/api/auth/me')).json()) as { csrfToken: string };
      const res = await fetch('/api/flows/import', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': me.csrfToken },
        body: JSON.stringify({
          schemaVersion: 1,
          id: 'legacy',
          name: '旧版模型流程',
          nodes: [
            { id: 'in', type: 'io.input', version: 1, config: {} },
            {
              id: 'chat',
              type: 'model.chat',
              version: 1,
              config: {
                provider: 'openai',
                model: 'qwen2.5-72b',
                baseUrl: 'http://10.9.9.9:8000/v1',
                credential: 'llm-key',
                prompt: '总结客户的问题',
              },
              ui: { position: { x: 280, y: 80 } },
            },
            {
              id: 'out',
              type: 'io.output',
              version: 1,
              config: { name: 'text' },
              ui: { position: { x: 600, y: 80 } },
            },
          ],
          edges: [{ id: 'e1', from: { node: 'chat', port: 'text' }, to: { node: 'out', port: 'value' } }],
        }),
      });
      return (await res.json()) as { flow: { id: string } };
    });
    await page.goto(`${url}/#/flows/${imported.flow.id}`);
    await page.getByTestId('canvas').waitFor();
    await page.locator('[data-node-id="chat"] .flow-node-header').click();
    await page.getByTestId('legacy-endpoint').waitFor();
    const legacy = (await page.getByTestId('legacy-endpoint').textContent()) ?? '';
    expect(legacy).toContain('http://10.9.9.9:8000/v1');
    // The server's validation (it follows the first edit or load) says why it cannot run as it is, on the field.
    await expect
      .poll(() => page.getByTestId('legacy-endpoint').textContent(), { timeout: 10_000 })
      .toContain('"bank-llm"');
    await page.getByTestId('legacy-endpoint').scrollIntoViewIfNeeded();
    await shot(page, '17-legacy-model-node');
    await page.getByTestId('connection-select').selectOption('bank-llm');
    await page.getByTestId('connection-summary').waitFor();
    expect(await page.getByTestId('connection-summary').textContent()).toContain(
      'https://llm.bank.example/v1',
    );
    await page.getByText('移除旧设置').click();
    await page.getByTestId('legacy-endpoint').waitFor({ state: 'detached' });
    await page.getByTestId('connection-select').scrollIntoViewIfNeeded();
    await shot(page, '18-model-node-connection');
    await page.getByTestId('lang-switch').click();
    await expect.poll(() => page.getByTestId('tab-run').textContent()).toContain('Run');
    await page.getByTestId('connection-select').scrollIntoViewIfNeeded();
    await shot(page, '19-model-node-connection-en');
    await page.getByTestId('lang-switch').click();
    expect(pageErrors).toEqual([]);
  });
});
