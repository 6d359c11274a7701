// scratch: trace a pan and a drag, summarise renderer events by name
import { chromium } from 'playwright-core';
import { apiClient, chromiumArgs, startServer } from '../test/e2e/harness.mjs';
const admin = { email: 'bench@example.com', name: 'Bench', password: 'bench-Correct-Horse-1' };
const { generateFlowForTrace } = await import('./.gen.mjs');
const server = await startServer({ admin, quiet: true });
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: chromiumArgs });
try {
  const api = await apiClient(server.url, admin.email, admin.password);
  const { flow } = await api('POST', '/api/flows', { document: generateFlowForTrace(500), message: 'b' });
  const page = await (await browser.newContext({ viewport: { width: 1440, height: 900 } })).newPage();
  await page.goto(server.url);
  await page.getByTestId('login-email').fill(admin.email);
  await page.getByTestId('login-password').fill(admin.password);
  await page.getByTestId('login-submit').click();
  await page.getByTestId('flows-page').waitFor();
  const cdp = await page.context().newCDPSession(page);
  async function traced(name, action) {
    const events = [];
    cdp.on('Tracing.dataCollected', (e) => events.push(...e.value));
    const done = new Promise((r) => cdp.once('Tracing.tracingComplete', r));
    await cdp.send('Tracing.start', { categories: 'devtools.timeline,disabled-by-default-devtools.timeline,blink,cc,viz', transferMode: 'ReportEvents' });
    const t0 = Date.now();
    await action();
    const wall = Date.now() - t0;
    await cdp.send('Tracing.end');
    await done;
    const by = new Map();
    for (const e of events) if (e.ph === 'X' && e.dur) { const k = e.name; const v = by.get(k) ?? [0, 0]; v[0] += e.dur / 1000; v[1]++; by.set(k, v); }
    console.log(`\n## ${name} wall ${wall} ms`);
    for (const [k, [ms, n]] of [...by].sort((a, b) => b[1][0] - a[1][0]).filter(([k]) => /^(RunTask|Layerize|PaintArtifactCompositor::Update|Paint|Layout|HitTest|RasterTask|UpdateLayoutTree|PrePaint|FunctionCall|LocalFrameView::RunPrePaintLifecyclePhase|ProxyMain::BeginMainFrame)$/.test(k))) console.log(ms.toFixed(0).padStart(7), String(n).padStart(6), k);
  }
  await traced('open', async () => {
    await page.goto(`${server.url}/#/flows/${flow.id}`);
    await page.waitForFunction(() => document.querySelectorAll('.react-flow__node').length >= 500 && document.querySelector('[data-testid=save-state]')?.textContent?.includes('v1'), null, { timeout: 60000, polling: 'raf' });
  });
  const pane = await page.locator('.react-flow__pane').boundingBox();
  const variants = JSON.parse(process.env.VARIANTS);
  for (let rep = 0; rep < 2; rep++)
  for (const [name, css] of Object.entries(variants)) {
    await page.evaluate((css) => {
      document.getElementById('exp-css')?.remove();
      const st = document.createElement('style'); st.id = 'exp-css'; st.textContent = css; document.head.append(st);
    }, css);
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    await traced(`${name} load ${(await import('node:os')).loadavg()[0].toFixed(1)}`, async () => {
      const x = pane.x + pane.width / 2, y = pane.y + pane.height / 2;
      await page.mouse.move(x, y); await page.mouse.down();
      for (let i = 0; i < 60; i++) await page.mouse.move(x + Math.sin(i / 6) * 250, y + Math.cos(i / 6) * 120);
      await page.mouse.up();
    });
  }
} finally { await browser.close(); await server.stop(); }
