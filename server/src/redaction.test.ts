// Redaction end to end: every template that handles personal data runs each of its fixtures through the server
// (manual runs watched over socket.io, and endpoint calls, synchronous and streamed), and then every channel the
// data could have reached is searched for each redacted value: the database file and its WAL (raw bytes), the
// server's logs at debug level, the socket.io events, the server-sent events, the run state and events the API
// serves (streamed tokens joined back into text), and the audit log. Redacted values are the fixture's values
// at the flow's `settings.redact.inputPaths` and what its marked nodes produce (a transcript, a recognised text).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createRuntime, type RunEvent } from '@finflow/runtime';
import { createBuiltinRegistry } from '@finflow/nodes';
import { listTemplates, type Template } from '@finflow/templates';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';
import { maskingShape, personalText } from './masking.js';
import { DATABASE_FILE } from './repo/sqlite.js';
import {
  addUser,
  connected,
  emitAck,
  setupAdmin,
  startTestServer,
  waitForRun,
  type Client,
  type TestServer,
} from './test-helpers/harness.js';

/** Templates that take no personal data: an anonymous questionnaire and market prices, or regulation texts. */
const WITHOUT_PERSONAL_DATA = new Set(['robo-advisory', 'wealth-recommendation', 'compliance-automation']);

const CJK = /[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]/;

/** The values at a dotted path, `*` for any key or index. */
function valuesAt(root: unknown, path: string[]): unknown[] {
  if (path.length === 0) return [root];
  if (root === null || typeof root !== 'object') return [];
  const [head, ...rest] = path as [string, ...string[]];
  const entries = Array.isArray(root) ? root.map((v, i) => [String(i), v] as const) : Object.entries(root);
  return entries.filter(([k]) => head === '*' || head === k).flatMap(([, v]) => valuesAt(v, rest));
}

function stringsIn(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) for (const v of value) stringsIn(v, out);
  else if (value !== null && typeof value === 'object')
    for (const v of Object.values(value)) stringsIn(v, out);
  return out;
}

/**
 * What must not be found of a marked string: the whole of it, each of its sentences and clauses long enough to
 * say something (16+ characters, 6+ with Chinese), and the identifiers inside it (digit runs, e-mail addresses).
 */
function needles(value: string): string[] {
  const out = new Set<string>();
  // An attachment (a data: URL of audio or an image) is looked for whole and by its first 64 characters of
  // payload: the digit runs and phrases below would be chance fragments of base64, which a database file's
  // timestamps and ids can contain by coincidence (a 6-digit run from a WAV's base64 once matched one).
  const dataUrl = /^data:[^,]{1,100},/.exec(value);
  if (dataUrl) return [value, value.slice(dataUrl[0].length, dataUrl[0].length + 64)];
  if (value.length >= 4 || (value.length >= 2 && CJK.test(value))) out.add(value);
  for (const part of value.split(/[.!?。！？，,；;：:\n]+/)) {
    const p = part.trim();
    if (p.length >= 16 || (p.length >= 6 && CJK.test(p))) out.add(p);
  }
  for (const m of value.matchAll(/\d{6,}|[^\s@<>()[\]"',;:]+@[^\s@<>()[\]"',;:]+\.[a-z]{2,}/gi))
    out.add(m[0]);
  return [...out];
}

/** Joins each node's streamed chunks back into its text (a value split over tokens is whole again). */
function joinedStreams(events: RunEvent[]): string {
  const streams = new Map<string, string>();
  for (const e of events)
    if (e.type === 'node.streamed')
      streams.set(
        e.nodeId,
        (streams.get(e.nodeId) ?? '') + (typeof e.chunk === 'string' ? e.chunk : JSON.stringify(e.chunk)),
      );
  return [...streams.values()].join('\n');
}

/**
 * The fixture's redacted input values, and the personal text the flow's marked nodes produce from it (not their
 * labels and codes). Values a template's flow document holds (each has an input example, from its fixtures) are
 * left out: the flows are in the database, whatever the runs do.
 */
async function redactedValues(template: Template, input: unknown): Promise<string[]> {
  const redact = (template.flow['settings'] as { redact?: { inputPaths: string[]; nodes: string[] } }).redact;
  if (!redact) return [];
  const runtime = createRuntime({ registry: createBuiltinRegistry() });
  const prepared = runtime.prepare(template.flow);
  const { vocabulary } = maskingShape(prepared, redact);
  const marked = redact.inputPaths.flatMap((p) => stringsIn(valuesAt(input, p.split('.'))));
  if (redact.nodes.length) {
    for await (const e of runtime.start(prepared, input).events())
      if (e.type === 'node.succeeded' && redact.nodes.includes(e.nodeId))
        marked.push(...stringsIn(e.outputs).filter((x) => personalText(x, vocabulary)));
  }
  return [...new Set(marked.flatMap(needles))].filter(
    (n) => !flowText.includes(n) && !flowText.includes(JSON.stringify(n).slice(1, -1)),
  );
}

const templates = listTemplates().filter((t) => !WITHOUT_PERSONAL_DATA.has(t.meta.id));
const flowText = JSON.stringify(listTemplates().map((x) => x.flow));

let t: TestServer;
let admin: Client;
let reviewers: Client[];
let key: string;
let logs = '';

beforeAll(async () => {
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs += chunk.toString('utf8');
      done();
    },
  });
  t = await startTestServer({ logger: createLogger('debug', sink) });
  admin = await setupAdmin(t);
  // Two approvers: the templates' review queues name the approver role, and some decisions need four eyes.
  reviewers = [
    await addUser(t, admin, 'approver', 'approver1@bank.example'),
    await addUser(t, admin, 'approver', 'approver2@bank.example'),
  ];
  key = (await admin.post('/api/keys', { name: 'redaction', endpoints: '*' })).body.key;
});
afterAll(async () => {
  await t.destroy();
});

/** The whole text of an event stream, calling `onFrame` on each complete frame as it arrives. */
async function readStream(res: Response, onFrame: (frame: string) => Promise<void>): Promise<string> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  let done = 0;
  for (;;) {
    const chunk = await reader.read();
    if (chunk.done) break;
    text += decoder.decode(chunk.value, { stream: true });
    let end: number;
    while ((end = text.indexOf('\n\n', done)) !== -1) {
      await onFrame(text.slice(done, end));
      done = end + 2;
    }
  }
  return text;
}

/** Decides the run's open review tasks with the fixture's decisions, through the API; their text joins `seen`. */
async function decideOpenTasks(
  runId: string,
  decisions: Record<string, unknown>,
  seen: { where: string; text: string }[],
  name: string,
): Promise<void> {
  const tasks = (await admin.get(`/api/runs/${runId}/reviews`)).body as {
    id: string;
    nodeId: string;
    status: string;
  }[];
  seen.push({ where: `review tasks of ${name}`, text: JSON.stringify(tasks) });
  const open = tasks.filter((x) => x.status === 'open');
  expect(open.length, name).toBeGreaterThan(0);
  for (const task of open) {
    const given = decisions[task.nodeId] as { action: string; reason: string; outcome?: string } | undefined;
    if (!given) throw new Error(`${name}: no decision for ${task.nodeId}`);
    const body = {
      action: given.action,
      reason: given.reason,
      ...(given.outcome ? { outcome: given.outcome } : {}),
    };
    for (const reviewer of reviewers) {
      const d = await reviewer.post(`/api/reviews/${task.id}/decision`, body);
      expect(d.status, d.text).toBe(200);
      if (d.body.decided) break;
    }
  }
}

describe('templates and personal data', () => {
  it('every template that takes personal data marks it for redaction', () => {
    for (const template of listTemplates()) {
      const redact = (template.flow['settings'] as { redact?: { inputPaths: string[] } }).redact;
      if (WITHOUT_PERSONAL_DATA.has(template.meta.id)) continue;
      expect(redact?.inputPaths.length, template.meta.id).toBeGreaterThan(0);
    }
    expect(templates.map((x) => x.meta.id).sort()).toEqual([
      'anti-fraud',
      'credit-approval',
      'multimodal-customer-service',
    ]);
  });
});

describe.each(templates.map((x) => [x.meta.id, x] as const))(
  '%s, run with its redaction settings',
  (id, template) => {
    it(
      'leaves no redacted value in the database file, the WAL, the logs, socket.io, SSE, the API or the audit log',
      { timeout: 300_000 },
      async () => {
        const flow = (await admin.post('/api/flows', { templateId: id })).body.flow as { id: string };
        const slug = `redaction-${id}`;
        expect((await admin.post('/api/endpoints', { flowId: flow.id, version: 1, slug })).status).toBe(201);
        const seen: { where: string; text: string }[] = [];
        const needlesOf: string[] = [];

        for (const fixture of template.fixtures) {
          needlesOf.push(...(await redactedValues(template, fixture.input)));

          // A manual run, watched live over socket.io from its first event.
          const socket = admin.socket();
          await connected(socket);
          const live: RunEvent[] = [];
          socket.on('run:event', (e: RunEvent) => live.push(e));
          const started = await admin.post(`/api/flows/${flow.id}/runs`, { input: fixture.input });
          expect(started.status, fixture.name).toBe(202);
          expect(await emitAck(socket, 'run:subscribe', { runId: started.body.runId, afterSeq: -1 })).toEqual(
            {
              ok: true,
            },
          );
          let run = await waitForRun(admin, started.body.runId, 120_000);
          // A case a person decides waits for its reviewers: the task they see is a channel too, then the run
          // goes on with the fixture's decisions, given through the API.
          while (run.status === 'waiting' && fixture.decisions) {
            await decideOpenTasks(started.body.runId, fixture.decisions, seen, fixture.name);
            run = await waitForRun(admin, started.body.runId, 120_000);
          }
          expect(run.status, `${fixture.name}: ${JSON.stringify(run.run.error)}`).toBe('succeeded');
          await new Promise((r) => setTimeout(r, 50));
          socket.disconnect();
          const stored = (await admin.get(`/api/runs/${started.body.runId}/events`)).body as RunEvent[];
          seen.push(
            { where: `socket.io events of ${fixture.name}`, text: JSON.stringify(live) },
            { where: `socket.io streamed text of ${fixture.name}`, text: joinedStreams(live) },
            { where: `run state of ${fixture.name}`, text: JSON.stringify(run) },
            { where: `stored events of ${fixture.name}`, text: JSON.stringify(stored) },
            { where: `stored streamed text of ${fixture.name}`, text: joinedStreams(stored) },
          );

          // The endpoint, streamed: every event before the caller's own result is masked.
          const sse = await fetch(`${t.url}/v1/endpoints/${slug}`, {
            method: 'POST',
            headers: {
              authorization: `Bearer ${key}`,
              'content-type': 'application/json',
              accept: 'text/event-stream',
            },
            body: JSON.stringify(fixture.input),
          });
          // A case a person decides gets a `waiting` event and stays open: its tasks are decided meanwhile.
          const text = await readStream(sse, async (frame) => {
            if (!frame.startsWith('event: waiting') || !fixture.decisions) return;
            const waiting = JSON.parse(frame.slice(frame.indexOf('data: ') + 6)) as { runId: string };
            await decideOpenTasks(waiting.runId, fixture.decisions, seen, `${fixture.name} (endpoint)`);
          });
          const frames = text
            .split('\n\n')
            .filter(
              (f) =>
                f && !f.startsWith('event: result') && !f.startsWith('event: waiting') && !f.startsWith(':'),
            );
          const sseEvents = frames.map((f) => JSON.parse(f.slice(f.indexOf('data: ') + 6)) as RunEvent);
          seen.push(
            { where: `server-sent events of ${fixture.name}`, text: frames.join('\n') },
            { where: `server-sent streamed text of ${fixture.name}`, text: joinedStreams(sseEvents) },
          );
        }
        seen.push({
          where: 'the audit log',
          text: JSON.stringify((await admin.get('/api/audit?limit=1000')).body),
        });

        const files = [DATABASE_FILE, `${DATABASE_FILE}-wal`]
          .map((f) => join(t.dataDir, f))
          .filter(existsSync);
        const raw = () => files.map((f) => ({ file: f, bytes: readFileSync(f) }));
        const unique = [...new Set(needlesOf)];
        expect(unique.length).toBeGreaterThan(0);
        const leaks: string[] = [];
        for (const needle of unique) {
          const forms = [needle, JSON.stringify(needle).slice(1, -1)];
          for (const { where, text } of [...seen, { where: 'the logs', text: logs }])
            if (forms.some((f) => text.includes(f))) leaks.push(`${JSON.stringify(needle)} in ${where}`);
          for (const { file, bytes } of raw())
            if (forms.some((f) => bytes.includes(Buffer.from(f, 'utf8'))))
              leaks.push(`${JSON.stringify(needle)} in ${file}`);
        }
        expect(leaks).toEqual([]);
      },
    );
  },
);
