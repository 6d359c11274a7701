/**
 * Across the business in the browser: the programme owner's rollout board lists the endpoints of every workspace
 * the admin belongs to (and opening one in another workspace switches there); a flow is promoted from the flow
 * list into another workspace with its connection mapped in the dialog. Screenshots in Chinese and English go to
 * test/e2e/screenshots/.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launch, shot } from './browser.js';
import { apiAs, email, password, signInAs, url } from './session.js';

let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

const chatFlow = {
  schemaVersion: 1,
  id: 'f',
  name: '零售客服问答（推广测试）',
  nodes: [
    {
      id: 'in',
      type: 'io.input',
      version: 1,
      config: { schema: { type: 'object', properties: { message: { type: 'string' } } } },
    },
    {
      id: 'ask',
      type: 'model.chat',
      version: 2,
      config: {
        prompt: '{{ message }}',
        variables: ['message'],
        provider: 'connection',
        connection: 'retail-llm-e2e',
        model: 'qwen2.5-72b',
      },
    },
    { id: 'out', type: 'io.output', version: 1, config: { name: 'answer' } },
  ],
  edges: [
    { id: 'e1', from: { node: 'in', port: 'value' }, to: { node: 'ask', port: 'message' } },
    { id: 'e2', from: { node: 'ask', port: 'text' }, to: { node: 'out', port: 'value' } },
  ],
};

const connection = {
  kind: 'openai',
  baseUrl: 'https://llm.bank.example/v1',
  deployment: 'private',
  models: ['qwen2.5-72b'],
};

let defaultWs = '';
let cardsWs = '';

beforeAll(async () => {
  browser = await launch();
  page = await browser.newPage({ viewport: { width: 1440, height: 1000 }, locale: 'zh-CN' });
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.setDefaultTimeout(30_000);

  const admin = await apiAs(email, password);
  defaultWs = (await admin<{ workspace: { id: string } }>('GET', '/api/auth/me')).workspace.id;
  await admin('PUT', '/api/connections/retail-llm-e2e', connection);
  await admin('POST', '/api/flows', { document: chatFlow, message: '试点版本' });
  const retail = await admin<{ flow: { id: string } }>('POST', '/api/flows', {
    templateId: 'credit-approval',
    name: 'Retail credit (board)',
  });
  const retailEp = await admin<{ id: string }>('POST', '/api/endpoints', {
    flowId: retail.flow.id,
    version: 1,
    slug: 'e2e-board-retail',
  });
  // Version 2 in pilot on the retail endpoint: the board shows its stage, split and gates.
  const flow = await admin<{ document: Record<string, unknown> }>('GET', `/api/flows/${retail.flow.id}`);
  await admin('PUT', `/api/flows/${retail.flow.id}`, {
    document: { ...flow.document, description: 'Scorecard recalibrated' },
    message: 'recalibrated',
  });
  await admin('POST', `/api/endpoints/${retailEp.id}/rollouts`, {
    challengerVersion: 2,
    reason: '零售试点',
    plan: { pilotShare: 20 },
  });

  // A second business line: the cards workspace, with its own connection and endpoint.
  cardsWs = (await admin<{ id: string }>('POST', '/api/workspaces', { name: '信用卡中心' })).id;
  await admin('POST', '/api/auth/workspace', { workspaceId: cardsWs });
  await admin('PUT', '/api/connections/cards-llm-e2e', connection);
  const cards = await admin<{ flow: { id: string } }>('POST', '/api/flows', {
    templateId: 'credit-approval',
    name: 'Cards credit (board)',
  });
  await admin('POST', '/api/endpoints', { flowId: cards.flow.id, version: 1, slug: 'e2e-board-cards' });
  await admin('POST', '/api/auth/workspace', { workspaceId: defaultWs });
});

afterAll(async () => {
  await browser?.close();
});

describe('across the business', () => {
  it('shows every workspace’s endpoints on the board, and opens one in its own workspace', async () => {
    await signInAs(page, email, password);
    await page.getByTestId('nav-board').click();
    await page.getByTestId('board-page').waitFor();
    const cardsRow = page.locator('[data-testid="board-row"][data-slug="e2e-board-cards"]');
    const retailRow = page.locator('[data-testid="board-row"][data-slug="e2e-board-retail"]');
    await cardsRow.waitFor();
    expect(await cardsRow.textContent()).toContain('信用卡中心');
    expect(await retailRow.locator('[data-testid="board-split"]').textContent()).toBe(
      'v1 现行版本 80 % · v2 挑战版本 20 %',
    );
    expect(await retailRow.textContent()).toContain('试点');
    expect(await retailRow.locator('[data-testid="board-gates"]').textContent()).toMatch(/样本不足/);
    expect(await cardsRow.locator('[data-testid="board-split"]').textContent()).toBe('v1 100 %');
    await shot(page, 'board-01-zh');

    await page.getByTestId('lang-switch').click();
    await expect.poll(() => page.locator('h1').textContent()).toBe('Rollout board');
    await shot(page, 'board-02-en');

    // Opening the cards endpoint moves the session to the cards workspace.
    await cardsRow.getByRole('button', { name: 'Open' }).click();
    await page.getByTestId('rollout-page').waitFor();
    await expect.poll(() => page.getByTestId('workspace-name').textContent()).toBe('信用卡中心');
    expect(pageErrors).toEqual([]);
  });

  it('promotes a flow from the flow list into another workspace with its connection mapped', async () => {
    // Back in the first workspace, through the API the editor uses, then reload.
    await page.evaluate(async (id) => {
      const me = (await (await fetch('/api/auth/me')).json()) as { csrfToken: string };
      await fetch('/api/auth/workspace', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': me.csrfToken },
        body: JSON.stringify({ workspaceId: id }),
      });
    }, defaultWs);
    await page.goto(`${url}/#/flows`);
    await page.reload();
    await page.getByTestId('flows-page').waitFor();
    await page.getByTestId('lang-switch').click();
    await expect.poll(() => page.locator('h1').textContent()).toBe('流程');
    const row = page.locator('[data-testid="flow-row"]', { hasText: '零售客服问答（推广测试）' });
    await row.getByTestId('promote-flow').click();
    const dialog = page.getByTestId('promote-dialog');
    await dialog.waitFor();
    await dialog.getByTestId('promote-target').selectOption({ label: '信用卡中心' });
    const select = dialog.getByTestId('promote-connection-retail-llm-e2e');
    await select.waitFor();
    // Nothing is chosen for the author: the names differ, so the mapping is theirs to give.
    expect(await dialog.getByTestId('promote-submit').isDisabled()).toBe(true);
    await select.selectOption('cards-llm-e2e');
    await dialog.locator('input.input').fill('零售试点通过，推广到信用卡中心');
    await shot(page, 'board-03-promote-zh');
    await dialog.getByTestId('promote-submit').click();
    await dialog.getByTestId('promote-done').waitFor();
    expect(await dialog.getByTestId('promote-done').textContent()).toContain('信用卡中心');
    await shot(page, 'board-04-promoted-zh');

    await dialog.getByTestId('promote-open').click();
    await expect.poll(() => page.getByTestId('workspace-name').textContent()).toBe('信用卡中心');
    const admin = await apiAs(email, password);
    await admin('POST', '/api/auth/workspace', { workspaceId: cardsWs });
    const flows = await admin<{ name: string }[]>('GET', '/api/flows');
    expect(flows.map((f) => f.name)).toContain('零售客服问答（推广测试）');
    await admin('POST', '/api/auth/workspace', { workspaceId: defaultWs });
    expect(pageErrors).toEqual([]);
  });
});
