/**
 * Human review end to end: a borderline credit application called through a published endpoint waits (202), its
 * run view shows the waiting review, the task lands in an approver's inbox with the case pictures, the approver
 * decides with a reason, the run completes, and the endpoint's poll returns the final decision. Screenshots in
 * Chinese and English go to test/e2e/screenshots/.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launch, shot } from './browser.js';
import { apiAs, email, password, publish, signInAs, url } from './session.js';

const approver = { email: 'underwriter@bank.example', name: '李敏', password: 'underwriter-Pass-42' };

let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

beforeAll(async () => {
  browser = await launch();
  page = await browser.newPage({ viewport: { width: 1440, height: 900 }, locale: 'zh-CN' });
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.setDefaultTimeout(20_000);
});

afterAll(async () => {
  await browser?.close();
});

describe('a borderline credit application reviewed by an underwriter', () => {
  let endpointUrl = '';
  let key = '';
  let runId = '';
  let flowId = '';

  it('is called through a published endpoint and answered 202 waiting', async () => {
    const admin = await apiAs(email, password);
    // The underwriting desk gets a workspace of its own, so that review tasks left open by other browser tests
    // (their runs of the same templates) are not in this approver's inbox, whatever order the files run in.
    const home = (await admin<{ workspace: { id: string } }>('GET', '/api/auth/me')).workspace.id;
    const desk = (await admin<{ id: string }>('POST', '/api/workspaces', { name: '信贷审批' })).id;
    await admin('POST', '/api/auth/workspace', { workspaceId: desk });
    await admin('POST', '/api/users', { ...approver, role: 'approver' });
    const created = await admin<{ flow: { id: string } }>('POST', '/api/flows', {
      templateId: 'credit-approval',
      name: 'Credit approval (reviewed)',
    });
    flowId = created.flow.id;
    const published = await publish(admin, { flowId, slug: 'e2e-credit-review', keyName: 'loan system' });
    endpointUrl = `${url}${published.endpoint.url}`;
    key = published.key;
    const templates = await admin<{ id: string; fixtures: { name: string; input: unknown }[] }[]>(
      'GET',
      '/api/templates',
    );
    // The admin's next sign-in (in the files after this one) lands where it was.
    await admin('POST', '/api/auth/workspace', { workspaceId: home });
    const borderline = templates
      .find((t) => t.id === 'credit-approval')
      ?.fixtures.find((f) => f.name === 'borderline-review');
    const res = await fetch(endpointUrl, {
      method: 'POST',
      headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(borderline?.input),
    });
    expect(res.status).toBe(202);
    const body = (await res.json()) as { runId: string; status: string; reviews: { queue: string }[] };
    expect(body.status).toBe('waiting');
    expect(body.reviews).toEqual([expect.objectContaining({ queue: 'credit-underwriting' })]);
    runId = body.runId;
    const poll = await fetch(`${url}/v1/runs/${runId}`, { headers: { Authorization: `Bearer ${key}` } });
    expect(((await poll.json()) as { status: string }).status).toBe('waiting');
  });

  it('shows the waiting run and its task to the approver, in the run view and the inbox', async () => {
    await signInAs(page, approver.email, approver.password);
    await expect.poll(() => page.getByTestId('nav-reviews').textContent()).toMatch(/1$/);

    await page.goto(`${url}/#/flows/${flowId}/runs/${runId}`);
    await page.getByTestId('run-waiting').waitFor();
    expect(await page.getByTestId('run-status').textContent()).toContain('等待人工审核');
    await expect
      .poll(() =>
        page.locator('[data-node-id="underwriter"] [data-testid=node-status]').getAttribute('data-status'),
      )
      .toBe('waiting');
    await page.getByTestId('run-waiting').scrollIntoViewIfNeeded();
    await shot(page, 'review-01-run-waiting-zh');
    // The review step's settings, as the inspector shows them (a form from the node's config schema).
    await page.locator('[data-node-id="underwriter"] .flow-node-header').click();
    await page.getByTestId('tab-inspector').click();
    await page.getByTestId('inspector-tab-config').click();
    await expect.poll(() => page.getByTestId('inspector').textContent()).toContain('审核队列');
    await shot(page, 'review-01b-review-node-settings-zh');
    await page.getByTestId('tab-run').click();

    await page.getByTestId('run-waiting-task').click();
    await page.getByTestId('reviews-page').waitFor();
    const task = page.getByTestId('review-task');
    await task.waitFor();
    expect(await page.locator('[data-testid=review-item]').count()).toBe(1);
    expect(await task.getAttribute('data-task-status')).toBe('open');
    // The case with the run view's pictures: the decision so far and its reasons, the summary, the checklist.
    await page.getByTestId('review-summary').waitFor();
    expect(await page.getByTestId('review-summary').textContent()).toContain('probabilityOfDefault');
    await page.getByTestId('review-decision-so-far').locator('[data-picture=decision]').waitFor();
    expect(await page.getByTestId('review-decision-so-far').textContent()).toContain(
      'Borderline credit score',
    );
    expect(await page.locator('[data-testid=review-checklist] input[type=checkbox]').count()).toBe(3);
    // No personal data of the applicant reaches the reviewer unmasked.
    const text = (await task.textContent()) ?? '';
    for (const personal of ['330106197811192643', '刘芳', '13957128834', '文三路'])
      expect(text).not.toContain(personal);
    await shot(page, 'review-02-inbox-task-zh');

    await page.getByTestId('lang-switch').click();
    await expect.poll(() => page.locator('.reviews-page h1').textContent()).toBe('Reviews');
    await page.getByTestId('decision-form').waitFor();
    await page.getByRole('radio', { name: 'Override' }).click();
    await page.getByTestId('override-outcome').waitFor();
    await shot(page, 'review-03-override-en');
    await page.getByRole('radio', { name: 'Approve' }).click();
  });

  it('takes the approver’s decision, after which the run completes and the poll gives the final decision', async () => {
    const submit = page.getByTestId('decision-submit');
    expect(await submit.isDisabled()).toBe(true);
    await page
      .getByTestId('decision-reason')
      .fill('Payslips confirm the income; the credit report matches the declared debts.');
    await submit.click();
    await page.getByTestId('review-decided').waitFor();
    expect(await page.getByTestId('review-task').getAttribute('data-task-status')).toBe('decided');
    expect(await page.getByTestId('review-decided').textContent()).toContain('李敏');
    await shot(page, 'review-04-decided-en');

    let final: { status: string; outputs?: { humanReview?: Record<string, unknown> } } = {
      status: 'waiting',
    };
    await expect
      .poll(
        async () => {
          const r = await fetch(`${url}/v1/runs/${runId}`, { headers: { Authorization: `Bearer ${key}` } });
          final = (await r.json()) as typeof final;
          return final.status;
        },
        { timeout: 30_000 },
      )
      .toBe('succeeded');
    expect(final.outputs?.humanReview).toMatchObject({
      queue: 'credit-underwriting',
      outcome: 'approve',
      reason: 'Payslips confirm the income; the credit report matches the declared debts.',
      reviewers: [expect.objectContaining({ name: '李敏' })],
    });

    // The run view shows the finished run; the inbox's history has the decided task.
    await page.goto(`${url}/#/flows/${flowId}/runs/${runId}`);
    await expect
      .poll(() => page.getByTestId('run-summary').getAttribute('data-run-status'))
      .toBe('succeeded');
    await page.getByTestId('run-outputs').waitFor();
    await page.getByTestId('run-summary').scrollIntoViewIfNeeded();
    await shot(page, 'review-05-run-finished-en');
    await page.goto(`${url}/#/reviews`);
    await page.getByTestId('reviews-empty').waitFor();
    await page.getByRole('radio', { name: 'Decided' }).click();
    await page.locator('[data-testid=review-item]').first().waitFor();
    await page.getByTestId('lang-switch').click();
    await shot(page, 'review-06-history-zh');
    expect(pageErrors).toEqual([]);
  });
});
