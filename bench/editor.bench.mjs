#!/usr/bin/env node
// Editor benchmark: a generated 500-node flow opened in headless Debian chromium against the real server.
// Measures the time from navigation to a usable canvas (every node drawn, at the legible zoom it opens at), then frame intervals
// while panning the canvas and while dragging a node (the frame interval is what "lag" is: 16.7 ms is 60 fps).
// Needs the built server and editor (`npm run build`); builds the editor if editor/dist is missing.
// BENCH_EDITOR_PROFILE=<dir> also records a CPU profile of each phase (open, pan, drag) through the DevTools
// protocol, writes them to <dir> (open them in Chrome's Performance panel) and prints the functions with the most
// self time; build the editor unminified first (`npx vite build --minify false` in editor/) to read the names.
// Every phase also reports the renderer's style recalculations and layouts per frame (Performance.getMetrics) and
// the elements per drawn node. BENCH_EDITOR_THROTTLE=1,4 repeats each measurement with Chromium's CPU throttling
// at each rate; BENCH_EDITOR_BUILDS=before=<dir>,after=editor/dist compares editor builds in one run, taking turns
// within every round so both see the same machine load (copy editor/dist aside before changing the editor).
/* global document, requestAnimationFrame -- these callbacks run inside the page */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
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

/** Renderer counters (Performance.getMetrics) as a map, to take differences over a phase. */
async function metrics(cdp) {
  const { metrics: list } = await cdp.send('Performance.getMetrics');
  return Object.fromEntries(list.map((m) => [m.name, m.value]));
}

/** Style recalculations, layouts and their durations (ms) per frame over a phase, from two metric readings. */
function perFrame(before, after, frameCount) {
  const d = (k) => (after[k] ?? 0) - (before[k] ?? 0);
  const n = Math.max(1, frameCount);
  return {
    recalcs: d('RecalcStyleCount') / n,
    layouts: d('LayoutCount') / n,
    styleMs: (d('RecalcStyleDuration') * 1000) / n,
    layoutMs: (d('LayoutDuration') * 1000) / n,
    scriptMs: (d('ScriptDuration') * 1000) / n,
    taskMs: (d('TaskDuration') * 1000) / n,
  };
}

/** Elements the canvas puts in the page, per drawn node and per edge. */
function domCounts(page) {
  return page.evaluate(() => {
    const nodes = document.querySelectorAll('.react-flow__node');
    let inNodes = 0;
    for (const n of nodes) inNodes += n.getElementsByTagName('*').length + 1;
    const edges = document.querySelectorAll('.react-flow__edge');
    let inEdges = 0;
    for (const e of edges) inEdges += e.getElementsByTagName('*').length + 1;
    return {
      nodes: nodes.length,
      perNode: inNodes / Math.max(1, nodes.length),
      perEdge: inEdges / Math.max(1, edges.length),
      page: document.getElementsByTagName('*').length,
    };
  });
}

/** Opens the flow, pans and drags a node: one measurement of one build at one CPU throttling rate. */
async function measure(page, url, flowId, round) {
  await page.goto(`${url}/#/flows`);
  await page.getByTestId('flows-page').waitFor();
  // The drag of the previous round left an unsaved draft; the editor would offer it instead of opening clean.
  await page.evaluate(() => {
    for (const k of Object.keys(localStorage)) if (k.startsWith('finflow.draft.')) localStorage.removeItem(k);
  });
  const openMs = await profiled(page, `open-${round}`, async () => {
    const t0 = Date.now();
    await page.goto(`${url}/#/flows/${flowId}`);
    // Drawn: the saved version shown and every node React Flow put in the page measured (it keeps a node hidden
    // until then); all of them, or with culling (CULL_ABOVE_NODES in canvas.tsx) at least every one in view.
    await page.waitForFunction(
      (n) => {
        if (!document.querySelector('[data-testid=save-state]')?.textContent?.includes('v1')) return false;
        const nodes = document.querySelectorAll('.react-flow__node');
        if (nodes.length === 0) return false;
        for (const el of nodes) if (el.style.visibility === 'hidden') return false;
        return nodes.length >= n || document.querySelector('.canvas')?.dataset.culled === 'true';
      },
      NODES,
      { timeout: 60_000, polling: 'raf' },
    );
    // Two frames: the nodes are laid out and painted.
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    return Date.now() - t0;
  });
  const dom = await domCounts(page);
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable');

  const pane = await page.locator('.react-flow__pane').boundingBox();
  let m0 = await metrics(cdp);
  const panFrames = await profiled(page, `pan-${round}`, () =>
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
  const panWork = perFrame(m0, await metrics(cdp), panFrames.length);

  // Drag a node in view (the canvas opens at a legible zoom on the flow's start, so not every node is on screen).
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
  }, pane);
  if (!dragId) throw new Error('no node in view to drag');
  const header = page.locator(`[data-node-id="${dragId}"] .flow-node-header`);
  const box = await header.boundingBox();
  m0 = await metrics(cdp);
  const dragFrames = await profiled(page, `drag-${round}`, () =>
    frames(page, async () => {
      const x = box.x + box.width / 2;
      const y = box.y + box.height / 2;
      await page.mouse.move(x, y);
      await page.mouse.down();
      for (let i = 0; i < 60; i++) await page.mouse.move(x + i * 4, y + Math.sin(i / 5) * 60);
      await page.mouse.up();
    }),
  );
  const dragWork = perFrame(m0, await metrics(cdp), dragFrames.length);
  await cdp.detach();
  return { openMs, dom, panFrames, dragFrames, panWork, dragWork };
}

// BENCH_EDITOR_BUILDS=name=dir,name=dir measures several editor builds side by side in one run (a server each,
// the builds taking turns in every round), e.g. a copy of editor/dist from before a change against the current one.
const builds = (process.env.BENCH_EDITOR_BUILDS ?? 'current=editor/dist').split(',').map((spec) => {
  const [name, dir] = spec.includes('=') ? spec.split('=') : [spec, spec];
  return { name, dir: resolve(repoRoot, dir) };
});
// BENCH_EDITOR_THROTTLE=1,4 repeats every measurement with Chromium's CPU throttling at each rate (1 = off).
const throttles = (process.env.BENCH_EDITOR_THROTTLE ?? '1').split(',').map(Number);

if (
  builds.some((b) => b.dir === join(repoRoot, 'editor/dist')) &&
  !existsSync(join(repoRoot, 'editor/dist/index.html'))
) {
  const b = spawnSync('npm', ['run', 'build', '-w', '@finflow/editor'], { cwd: repoRoot, stdio: 'inherit' });
  if (b.status !== 0) process.exit(1);
}

const servers = [];
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: chromiumArgs,
});
try {
  const runs = [];
  for (const build of builds) {
    process.env.FINFLOW_EDITOR_DIR = build.dir;
    const server = await startServer({ admin, quiet: true });
    servers.push(server);
    const api = await apiClient(server.url, admin.email, admin.password);
    const { flow } = await api('POST', '/api/flows', { document: generateFlow(NODES), message: 'benchmark' });
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    const page = await context.newPage();
    await page.goto(server.url);
    await page.getByTestId('login-email').fill(admin.email);
    await page.getByTestId('login-password').fill(admin.password);
    await page.getByTestId('login-submit').click();
    await page.getByTestId('flows-page').waitFor();
    const cdp = await context.newCDPSession(page);
    for (const rate of throttles)
      runs.push({ build, rate, page, cdp, url: server.url, flowId: flow.id, results: [] });
  }
  const load = [];
  for (let round = 0; round < RUNS; round++) {
    for (const run of runs) {
      load.push(loadavg()[0]);
      await run.cdp.send('Emulation.setCPUThrottlingRate', { rate: run.rate });
      run.results.push(
        await measure(run.page, run.url, run.flowId, `${run.build.name}-x${run.rate}-${round}`),
      );
      await run.cdp.send('Emulation.setCPUThrottlingRate', { rate: 1 });
    }
  }

  const f = (v) => v.toFixed(1);
  const lines = [
    `## Editor (${NODES}-node flow, headless chromium, ${RUNS} rounds; load average ${f(Math.min(...load))}-${f(Math.max(...load))} on ${cpus().length} cores)`,
    '',
    '| build | CPU throttling | open median / p95 (ms) | pan frame median / p95 / max (ms) | drag frame median / p95 / max (ms) | pan: style recalcs, layouts, style+layout ms, script ms per frame | drag: the same | nodes drawn at open; elements per node / per edge / page |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const run of runs) {
    const r = run.results;
    const open = stats(r.map((x) => x.openMs));
    const pan = stats(r.flatMap((x) => x.panFrames));
    const drag = stats(r.flatMap((x) => x.dragFrames));
    const avg = (pick) => {
      const v = r.map(pick);
      return v.reduce((a, b) => a + b, 0) / v.length;
    };
    const work = (k) =>
      `${f(avg((x) => x[k].recalcs))}, ${f(avg((x) => x[k].layouts))}, ${f(avg((x) => x[k].styleMs + x[k].layoutMs))}, ${f(avg((x) => x[k].scriptMs))}`;
    const dom = r[r.length - 1].dom;
    lines.push(
      `| ${run.build.name} | ${run.rate === 1 ? 'off' : `${run.rate}x`} | ${f(open.median)} / ${f(open.p95)} | ${f(pan.median)} / ${f(pan.p95)} / ${f(pan.max)} | ${f(drag.median)} / ${f(drag.p95)} / ${f(drag.max)} | ${work('panWork')} | ${work('dragWork')} | ${dom.nodes}; ${f(dom.perNode)} / ${f(dom.perEdge)} / ${dom.page} |`,
    );
  }
  lines.push(
    '',
    `Frames per round: about ${runs[0].results[0].panFrames.length} while panning, ${runs[0].results[0].dragFrames.length} while dragging (16.7 ms = 60 fps).`,
    '',
  );
  process.stdout.write(lines.join('\n'));
} finally {
  await browser.close();
  for (const server of servers) await server.stop();
}
