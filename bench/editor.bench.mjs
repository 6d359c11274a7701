#!/usr/bin/env node
// Editor benchmark: a generated 500-node flow opened in headless Debian chromium against the real server.
// Measures the time from navigation to a usable canvas (every node drawn, at the legible zoom it opens at), then frame intervals
// while panning the canvas and while dragging a node (the frame interval is what "lag" is: 16.7 ms is 60 fps).
// Needs the built server and editor (`npm run build`); builds the editor if editor/dist is missing.
// BENCH_EDITOR_PROFILE=<dir> also records a CPU profile of each phase (open, pan, drag) through the DevTools
// protocol, writes them to <dir> (open them in Chrome's Performance panel) and prints the functions with the most
// self time; build the editor unminified first (`npx vite build --minify false` in editor/) to read the names.
/* global document, requestAnimationFrame -- these callbacks run inside the page */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { apiClient, chromiumArgs, repoRoot, startServer } from '../test/e2e/harness.mjs';

const NODES = Number(process.env.BENCH_EDITOR_NODES ?? 500);
const RUNS = Number(process.env.BENCH_EDITOR_RUNS ?? 5);
const admin = { email: 'bench@example.com', name: 'Bench', password: 'bench-Correct-Horse-1' };

/** A layered DAG: input -> layers of transforms (each fed by one node of the previous layer) -> output. */
function generateFlow(n) {
  const width = 12;
  const nodes = [
    {
      id: 'input',
      type: 'io.input',
      version: 1,
      config: { schema: { type: 'object', properties: { x: { type: 'number' } } } },
      ui: { position: { x: 0, y: (width / 2) * 150 } },
    },
  ];
  const edges = [];
  let prev = ['input'];
  let layer = 0;
  while (nodes.length < n - 1) {
    layer += 1;
    const current = [];
    for (let i = 0; i < width && nodes.length < n - 1; i++) {
      const id = `t${layer}_${i}`;
      nodes.push({
        id,
        type: 'data.transform',
        version: 1,
        config: { expression: 'data' },
        ui: { position: { x: layer * 300, y: i * 150 } },
      });
      const from = prev[i % prev.length];
      edges.push({
        id: `e_${id}`,
        from: { node: from, port: from === 'input' ? 'value' : 'result' },
        to: { node: id, port: 'data' },
      });
      current.push(id);
    }
    prev = current;
  }
  nodes.push({
    id: 'output',
    type: 'io.output',
    version: 1,
    config: { name: 'result' },
    ui: { position: { x: (layer + 1) * 300, y: 0 } },
  });
  edges.push({ id: 'e_out', from: { node: prev[0], port: 'result' }, to: { node: 'output', port: 'value' } });
  return {
    schemaVersion: 1,
    id: 'bench_500',
    name: `Benchmark ${n} nodes`,
    description: 'generated',
    nodes,
    edges,
    ui: { notes: [] },
  };
}

function stats(values) {
  const s = [...values].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return {
    median: q(0.5),
    p95: q(0.95),
    max: s[s.length - 1],
    mean: s.reduce((a, b) => a + b, 0) / s.length,
  };
}

const profileDir = process.env.BENCH_EDITOR_PROFILE;

/** Self time (ms) per function of a CPU profile, the top `n`. */
function topFunctions(profile, n = 15) {
  const self = new Map();
  const dt = profile.timeDeltas ?? [];
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  profile.samples.forEach((id, i) => {
    const f = byId.get(id)?.callFrame;
    if (!f) return;
    const file = f.url.split('/').pop() || '(native)';
    const key = `${f.functionName || '(anonymous)'} ${file}:${f.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + (dt[i] ?? 0) / 1000);
  });
  return [...self].sort((a, b) => b[1] - a[1]).slice(0, n);
}

/** Runs `action`, under the CPU profiler when BENCH_EDITOR_PROFILE is set. */
async function profiled(page, name, action) {
  if (!profileDir) return action();
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
  await cdp.send('Profiler.start');
  try {
    return await action();
  } finally {
    const { profile } = await cdp.send('Profiler.stop');
    mkdirSync(profileDir, { recursive: true });
    writeFileSync(join(profileDir, `${name}.cpuprofile`), JSON.stringify(profile));
    const total = (profile.endTime - profile.startTime) / 1000;
    process.stdout.write(`\n### ${name}: ${total.toFixed(0)} ms profiled, self time by function\n\n`);
    for (const [fn, ms] of topFunctions(profile))
      process.stdout.write(`${ms.toFixed(1).padStart(8)} ms  ${fn}\n`);
    await cdp.detach();
  }
}

/** Frame intervals (ms) recorded in the page while `action` runs. */
async function frames(page, action) {
  await page.evaluate(() => {
    const w = globalThis;
    w.__frames = [];
    let last = performance.now();
    w.__stop = false;
    const tick = (t) => {
      w.__frames.push(t - last);
      last = t;
      if (!w.__stop) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
  await action();
  return page.evaluate(() => {
    globalThis.__stop = true;
    return globalThis.__frames.slice(1);
  });
}

if (!existsSync(join(repoRoot, 'editor/dist/index.html'))) {
  const b = spawnSync('npm', ['run', 'build', '-w', '@finflow/editor'], { cwd: repoRoot, stdio: 'inherit' });
  if (b.status !== 0) process.exit(1);
}

const server = await startServer({ admin, quiet: true });
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: chromiumArgs,
});
try {
  const api = await apiClient(server.url, admin.email, admin.password);
  const doc = generateFlow(NODES);
  const { flow } = await api('POST', '/api/flows', { document: doc, message: 'benchmark' });
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await context.newPage();
  await page.goto(server.url);
  await page.getByTestId('login-email').fill(admin.email);
  await page.getByTestId('login-password').fill(admin.password);
  await page.getByTestId('login-submit').click();
  await page.getByTestId('flows-page').waitFor();

  const openMs = [];
  for (let i = 0; i < RUNS; i++) {
    await page.goto(`${server.url}/#/flows`);
    await page.getByTestId('flows-page').waitFor();
    await profiled(page, i === RUNS - 1 ? 'open' : `open-${i}`, async () => {
      const t0 = Date.now();
      await page.goto(`${server.url}/#/flows/${flow.id}`);
      await page.waitForFunction(
        (n) =>
          document.querySelectorAll('.react-flow__node').length >= n &&
          !!document.querySelector('[data-testid=save-state]')?.textContent?.includes('v1'),
        NODES,
        { timeout: 30_000, polling: 'raf' },
      );
      // Two frames: the nodes are laid out and painted.
      await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
      openMs.push(Date.now() - t0);
    });
  }
  const rendered = await page.locator('.react-flow__node').count();

  const pane = await page.locator('.react-flow__pane').boundingBox();
  const panFrames = await profiled(page, 'pan', () =>
    frames(page, async () => {
      const x = pane.x + pane.width / 2;
      const y = pane.y + pane.height / 2;
      await page.mouse.move(x, y);
      await page.mouse.down();
      for (let i = 0; i < 60; i++)
        await page.mouse.move(x + Math.sin(i / 6) * 250, y + Math.cos(i / 6) * 120);
      await page.mouse.up();
    }),
  );

  // Drag a node in view (the canvas opens at a legible zoom on the flow's start, so not every node is on screen).
  const paneBox = await page.locator('.react-flow__pane').boundingBox();
  const dragId = await page.evaluate((p) => {
    for (const el of document.querySelectorAll('[data-node-type="data.transform"] .flow-node-header')) {
      const r = el.getBoundingClientRect();
      if (
        r.left > p.x + 40 &&
        r.right < p.x + p.width - 120 &&
        r.top > p.y + 60 &&
        r.bottom < p.y + p.height - 200
      )
        return el.closest('[data-node-id]')?.getAttribute('data-node-id');
    }
    return null;
  }, paneBox);
  if (!dragId) throw new Error('no node in view to drag');
  const header = page.locator(`[data-node-id="${dragId}"] .flow-node-header`);
  const box = await header.boundingBox();
  const dragFrames = await profiled(page, 'drag', () =>
    frames(page, async () => {
      const x = box.x + box.width / 2;
      const y = box.y + box.height / 2;
      await page.mouse.move(x, y);
      await page.mouse.down();
      for (let i = 0; i < 60; i++) await page.mouse.move(x + i * 4, y + Math.sin(i / 5) * 60);
      await page.mouse.up();
    }),
  );

  const open = stats(openMs);
  const pan = stats(panFrames);
  const drag = stats(dragFrames);
  const f = (v) => v.toFixed(1);
  process.stdout.write(
    [
      `## Editor (${NODES}-node flow, ${rendered} nodes drawn, headless chromium, ${RUNS} opens)`,
      '',
      '| measure | median | p95 | max |',
      '|---|---|---|---|',
      `| open flow to drawn canvas (ms) | ${f(open.median)} | ${f(open.p95)} | ${f(open.max)} |`,
      `| frame interval while panning (ms) | ${f(pan.median)} | ${f(pan.p95)} | ${f(pan.max)} |`,
      `| frame interval while dragging a node (ms) | ${f(drag.median)} | ${f(drag.p95)} | ${f(drag.max)} |`,
      '',
      `Frames: ${panFrames.length} while panning, ${dragFrames.length} while dragging (16.7 ms = 60 fps).`,
      '',
    ].join('\n'),
  );
} finally {
  await browser.close();
  await server.stop();
}
