/**
 * The rollout dashboard end to end: credit-approval is published, a developer starts a pilot of a new version,
 * loan applications are called through the endpoint, the approver watches the gates hold on the dashboard and
 * advances the pilot to expansion with a reason; the history shows who did it and why. A second pilot holds every
 * challenger decision for a reviewer before release and needs an evaluation report to expand: the dashboard shows
 * both, CPU per call of each side, and refuses the advance naming the missing report. Screenshots in Chinese and
 * English go to test/e2e/screenshots/.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launch, shot } from './browser.js';
import { apiAs, email, password, publish, signInAs, url } from './session.js';

const developer = { email: 'rollout.dev@bank.example', name: '张伟', password: 'rollout-Dev-Pass-42' };
const approver = { email: 'rollout.approver@bank.example', name: '陈静', password: 'rollout-Appr-Pass-42' };

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

describe('a pilot driven to expansion on the rollout dashboard', () => {
  let endpointId = '';

  it('starts a pilot of a new credit-approval version and sends it traffic', async () => {
    const admin = await apiAs(email, password);
    await admin('POST', '/api/users', { ...developer, role: 'developer' });
    await admin('POST', '/api/users', { ...approver, role: 'approver' });
    const created = await admin<{ flow: { id: string } }>('POST', '/api/flows', {
      templateId: 'credit-approval',
      name: 'Credit approval (rollout)',
    });
    const flowId = created.flow.id;
    const { endpoint, key } = await publish(admin, {
      flowId,
      slug: 'e2e-credit-rollout',
      keyName: 'loan system',
    });
    endpointId = endpoint.id;

    // The developer saves version 2 (the challenger) and starts its pilot: half the applicants, sticky on the
    // application id, one error-rate gate that needs 20 samples.
    const dev = await apiAs(developer.email, developer.password);
    const flow = await dev<{ document: Record<string, unknown> }>('GET', `/api/flows/${flowId}`);
    const doc = { ...flow.document, description: 'Scorecard retrained on 2026 Q3 outcomes' };
    const saved = await dev<{ version: { number: number } }>('PUT', `/api/flows/${flowId}`, {
      document: doc,
      message: 'retrained scorecard',
    });
    await dev('POST', `/api/endpoints/${endpointId}/rollouts`, {
      challengerVersion: saved.version.number,
      reason: '试点：新评分卡先服务一半申请人',
      plan: {
        pilotShare: 50,
        subjectPath: 'application.id',
        minStageMs: 0,
        gates: [{ metric: 'errorRate', threshold: 0.1, minSamples: 20, action: 'rollback' }],
      },
    });

    const templates = await admin<
      { id: string; fixtures: { name: string; input: Record<string, unknown> }[] }[]
    >('GET', '/api/templates');
    const approve = templates
      .find((t) => t.id === 'credit-approval')
      ?.fixtures.find((f) => f.name === 'approve-established-customer');
    expect(approve).toBeDefined();
    for (let i = 0; i < 60; i++) {
      const input = structuredClone(approve?.input) as { application: { id: string } };
      input.application.id = `APP-2026-${200_000 + i}`;
      const res = await fetch(`${url}${endpoint.url}`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
        body: JSON.stringify(input),
      });
      expect(res.status).toBe(200);
    }
  });

  it('shows the approver the pilot with its gates, and advances it to expansion with a reason', async () => {
    await signInAs(page, approver.email, approver.password);
    await page.goto(`${url}/#/endpoints`);
    await page.getByTestId('rollout-link-e2e-credit-rollout').click();
    await page.getByTestId('rollout-page').waitFor();
    await expect
      .poll(() => page.locator('.stage-timeline li.current .stage-name').textContent())
      .toBe('试点');
    await page.getByTestId('awaiting-approval').waitFor();
    await expect.poll(() => page.getByTestId('gate-errorRate').locator('.pill').textContent()).toBe('达标');
    await shot(page, 'rollout-01-pilot-zh');

    await page.getByTestId('rollout-reason').fill('试点 60 笔申请无错误，进入扩展');
    await page.getByRole('button', { name: /批准：推进到扩展 5%/ }).click();
    await expect
      .poll(() => page.locator('.stage-timeline li.current .stage-name').textContent())
      .toBe('扩展');
    const history = page.getByTestId('rollout-history');
    await expect.poll(() => history.locator('tbody tr').first().textContent()).toContain('陈静');
    expect(await history.locator('tbody tr').first().textContent()).toContain(
      '试点 60 笔申请无错误，进入扩展',
    );
    // The new stage's window has no calls yet: its charts say so rather than draw an empty frame.
    await expect.poll(() => page.getByTestId('chart-empty').count()).toBeGreaterThan(0);
    expect(await page.getByTestId('chart-empty').first().textContent()).toContain('尚无调用');
    await shot(page, 'rollout-02-expansion-zh');

    await page.getByTestId('lang-switch').click();
    await expect
      .poll(() => page.locator('.stage-timeline li.current .stage-name').textContent())
      .toBe('Expansion');
    expect(await page.getByTestId('rollout-split').textContent()).toContain('5 %');
    await shot(page, 'rollout-03-expansion-en');

    // The Endpoints list shows the stage and the split.
    await page.goto(`${url}/#/endpoints`);
    await expect
      .poll(() => page.getByTestId('rollout-link-e2e-credit-rollout').textContent())
      .toBe('Expansion · 5%');
    expect(pageErrors).toEqual([]);
  });
});

describe('a pilot that reviews before release and needs an evaluation report to expand', () => {
  it('shows the review, the missing report and CPU per call, and refuses the advance naming what is missing', async () => {
    const admin = await apiAs(email, password);
    const flows = await admin<{ id: string; name: string }[]>('GET', '/api/flows');
    const flowId = flows.find((f) => f.name === 'Credit approval (rollout)')?.id as string;
    const { endpoint, key } = await publish(admin, {
      flowId,
      slug: 'e2e-credit-held',
      keyName: 'held loans',
    });
    const dev = await apiAs(developer.email, developer.password);
    await dev('POST', `/api/endpoints/${endpoint.id}/rollouts`, {
      challengerVersion: 2,
      reason: '试点：每个新评分卡决策放行前人工审核',
      plan: {
        pilotShare: 100,
        subjectPath: 'application.id',
        minStageMs: 0,
        predictionPath: 'decision.outcome',
        review: { beforeRelease: true, sampleAfterRelease: 0.1, queue: 'pilot-review' },
        requireEvaluation: { dataset: 'german-credit.csv', margin: 0.02, stages: ['expansion'] },
        gates: [
          { metric: 'errorRate', threshold: 0.1, minSamples: 3, action: 'rollback' },
          { metric: 'cpuMsPerCall', threshold: 2000, minSamples: 3, action: 'block', statistic: 'mean' },
        ],
      },
    });
    const templates = await admin<
      { id: string; fixtures: { name: string; input: Record<string, unknown> }[] }[]
    >('GET', '/api/templates');
    const approve = templates
      .find((t) => t.id === 'credit-approval')
      ?.fixtures.find((f) => f.name === 'approve-established-customer');
    for (let i = 0; i < 3; i++) {
      const input = structuredClone(approve?.input) as { application: { id: string } };
      input.application.id = `APP-2026-${300_000 + i}`;
      const res = await fetch(`${url}${endpoint.url}`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
        body: JSON.stringify(input),
      });
      // Held for the reviewer: the caller gets the run id to poll, not the decision.
      expect(res.status).toBe(202);
      expect(((await res.json()) as { status: string }).status).toBe('waiting');
    }

    await page.goto(`${url}/#/endpoints/${endpoint.id}/rollout`);
    await page.getByTestId('rollout-page').waitFor();
    await expect.poll(() => page.getByTestId('rollout-review').textContent()).toContain('pilot-review');
    expect(await page.getByTestId('rollout-review').textContent()).toContain('Review before release');
    expect(await page.getByTestId('rollout-review').textContent()).toContain('10 % reviewed after release');
    await expect
      .poll(() => page.getByTestId('rollout-evaluation').locator('.pill').textContent())
      .toBe('Missing');
    expect(await page.getByTestId('rollout-evaluation').textContent()).toContain('german-credit.csv');
    await expect
      .poll(() => page.getByTestId('gate-cpuMsPerCall').locator('.pill').textContent())
      .toBe('Holds');
    expect(await page.getByTestId('rollout-cpu').textContent()).toMatch(/challenger \d+\.\d{2} ms/);
    await expect.poll(() => page.locator('.rollout-summary').textContent()).toContain('3 open review tasks');
    await shot(page, 'rollout-04-held-pilot-en');

    await page.getByTestId('rollout-reason').fill('pilot reviewed, expand');
    await page.getByRole('button', { name: /Approve: advance to Expansion/ }).click();
    await expect.poll(() => page.getByTestId('rollout-error').textContent()).toContain('EVALUATION_REQUIRED');
    expect(await page.getByTestId('rollout-error').textContent()).toContain('german-credit.csv');

    await page.getByTestId('lang-switch').click();
    await expect
      .poll(() => page.getByTestId('rollout-evaluation').locator('.pill').textContent())
      .toBe('缺少');
    expect(await page.getByTestId('rollout-review').textContent()).toContain('放行前审核');
    expect(await page.getByTestId('rollout-cpu').textContent()).toContain('单次调用 CPU');
    await shot(page, 'rollout-05-held-pilot-zh');
    expect(pageErrors).toEqual([]);
  });
});
