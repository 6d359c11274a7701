/**
 * Invitations in a real browser against the real server: an account that belongs to no workspace signs in and
 * sees its invitations (in Chinese, then in English), declines one and accepts another, which opens that
 * workspace; a later invitation shows in the header with its count, and is answered from the dialog.
 * The instance owner (the first admin) prepares the accounts and workspaces through the API.
 * Screenshots go to test/e2e/screenshots/.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launch, shot } from './browser.js';
import { apiAs, email as ownerEmail, password as ownerPassword, signInAs, type Call } from './session.js';

const invitee = {
  email: `zhou.min.${Date.now()}@bank.example`,
  name: '周敏',
  password: 'invitee-Password-7',
};

let browser: Browser;
let page: Page;
/** The owner's API session (its own cookie, apart from the invitee's in the page). */
let ownerCall: Call;
const pageErrors: string[] = [];

/** A workspace of the owner's with the invitee invited to it. */
async function inviteToNewWorkspace(name: string, role: string): Promise<void> {
  const ws = await ownerCall<{ id: string }>('POST', '/api/workspaces', { name });
  await ownerCall('POST', '/api/auth/workspace', { workspaceId: ws.id });
  await ownerCall('POST', '/api/users', { email: invitee.email, role });
}

beforeAll(async () => {
  browser = await launch();
  ownerCall = await apiAs(ownerEmail, ownerPassword);
  await ownerCall('POST', '/api/admin/users', invitee);
  await inviteToNewWorkspace('风险管理部', 'analyst');
  await inviteToNewWorkspace('Treasury desk', 'viewer');
  page = await browser.newPage({ viewport: { width: 1280, height: 800 }, locale: 'zh-CN' });
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.setDefaultTimeout(20_000);
});

afterAll(async () => {
  await browser?.close();
});

describe('invitations in the editor', () => {
  it('shows an account without a workspace its invitations, in Chinese and in English', async () => {
    await signInAs(page, invitee.email, invitee.password, 'no-workspace-page');
    await expect.poll(() => page.getByTestId('invitation').count()).toBe(2);
    await expect(page.getByTestId('no-workspace-page').textContent()).resolves.toContain(
      '尚未加入任何工作区',
    );
    await shot(page, 'invitations-01-no-workspace-zh');
    await page.getByTestId('lang-switch').click();
    await expect(page.getByTestId('no-workspace-page').textContent()).resolves.toContain('No workspace yet');
    await shot(page, 'invitations-02-no-workspace-en');
  });

  it('declines one and accepts the other, which opens that workspace', async () => {
    await page.getByRole('button', { name: 'Decline the invitation to Treasury desk' }).click();
    await expect.poll(() => page.getByTestId('invitation').count()).toBe(1);
    await page.getByRole('button', { name: 'Accept the invitation to 风险管理部' }).click();
    await page.getByTestId('flows-page').waitFor();
    await expect.poll(() => page.getByTestId('workspace-name').textContent()).toBe('风险管理部');
    expect(await page.getByTestId('invitations-button').count()).toBe(0);
  });

  it('shows a later invitation in the header, and answers it from the dialog', async () => {
    await inviteToNewWorkspace('合规部', 'approver');
    await page.reload();
    await page.getByTestId('invitations-button').waitFor();
    await expect.poll(() => page.getByTestId('invitations-button').textContent()).toContain('1');
    await page.getByTestId('invitations-button').click();
    await page.getByTestId('invitations-dialog').waitFor();
    await shot(page, 'invitations-03-dialog-en');
    // The language switch is in the header, behind the modal: close it, switch, open it again.
    await page.keyboard.press('Escape');
    await page.getByTestId('lang-switch').click();
    await page.getByTestId('invitations-button').click();
    await page.getByTestId('invitations-dialog').waitFor();
    await expect(page.getByTestId('invitations-dialog').textContent()).resolves.toContain('工作区邀请');
    await shot(page, 'invitations-04-dialog-zh');
    await page.getByRole('button', { name: '接受加入 合规部 的邀请' }).click();
    await expect
      .poll(() => page.getByTestId('invitations-dialog').textContent())
      .toContain('您已加入 合规部');
    await shot(page, 'invitations-05-accepted-zh');
    await page.getByRole('button', { name: '进入 合规部' }).click();
    await expect.poll(() => page.getByTestId('workspace-name').textContent()).toBe('合规部');
    expect(pageErrors).toEqual([]);
  });
});
