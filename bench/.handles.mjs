import { chromium } from 'playwright-core';
import { apiClient, chromiumArgs, startServer } from '../test/e2e/harness.mjs';
const { generateFlowForTrace } = await import('./.gen.mjs');
const admin = { email: 'bench@example.com', name: 'Bench', password: 'bench-Correct-Horse-1' };
const server = await startServer({ admin, quiet: true });
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: chromiumArgs });
try {
  const api = await apiClient(server.url, admin.email, admin.password);
  const { flow } = await api('POST', '/api/flows', { document: generateFlowForTrace(500), message: 'b' });
  const { flow: t } = await api('POST', '/api/flows', { templateId: 'credit-approval' });
  const page = await (await browser.newContext({ viewport: { width: 1440, height: 900 } })).newPage();
  page.on('pageerror', (e) => console.log('PAGEERROR', e.message));
  await page.goto(server.url);
  await page.getByTestId('login-email').fill(admin.email);
  await page.getByTestId('login-password').fill(admin.password);
  await page.getByTestId('login-submit').click();
  await page.getByTestId('flows-page').waitFor();
  for (const id of [t.id, flow.id]) {
    await page.goto(`${server.url}/#/flows/${id}`);
    await page.locator('.react-flow__node').first().waitFor();
    await page.waitForTimeout(1500);
    const r = await page.evaluate(() => {
      const z = Number(/scale\(([^)]+)\)/.exec(document.querySelector('.react-flow__viewport').style.transform)[1]);
      const out = new Set();
      for (const n of document.querySelectorAll('.react-flow__node-finflow')) {
        const nb = n.getBoundingClientRect();
        const hs = [...n.querySelectorAll('.react-flow__handle')].map((h) => { const b = h.getBoundingClientRect(); return `${h.classList.contains('source') ? 'S' : 'T'}${Math.round((b.left - nb.left) / z)},${Math.round((b.top - nb.top) / z)}`; });
        out.add(`${n.querySelector('[data-node-type]')?.dataset.nodeType} w${Math.round(nb.width / z)} h${Math.round(nb.height / z)} ${hs.join(' ')}`);
      }
      return { z, nodes: document.querySelectorAll('.react-flow__node').length, edges: document.querySelectorAll('.react-flow__edge').length, out: [...out].slice(0, 14) };
    });
    console.log(JSON.stringify(r, null, 1));
    await page.screenshot({ path: `/tmp/canvas-work/cull-${id === flow.id ? 'bench' : 'tpl'}.png` });
  }
} finally { await browser.close(); await server.stop(); }
