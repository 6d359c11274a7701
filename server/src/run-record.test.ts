// The compact run record on a real server (issue 18): a published flow of pure nodes stores each run as one
// record in which a value handed from node to node appears once, and the events rebuilt from it are the ones its
// caller saw live; a flow with a node not declared pure keeps one JSON text per event.
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { decodeEventRow, type RunEvent } from '@finflow/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASE_FILE } from './repo/sqlite.js';
import {
  createFlow,
  setupAdmin,
  startTestServer,
  type Client,
  type TestServer,
} from './test-helpers/harness.js';
import { scoringFlow } from './test-helpers/flows.js';

let t: TestServer;
let admin: Client;
let key: string;

const edge = (id: string, from: string, fromPort: string, to: string, toPort: string) => ({
  id,
  from: { node: from, port: fromPort },
  to: { node: to, port: toPort },
});

/** in → two scorers (fanout) → merge → a chain of three steps → out: data.transform, logic.merge, io.*. */
function pureFlow() {
  const steps = [1, 2, 3].map((k) => ({
    id: `s${k}`,
    type: 'data.transform',
    version: 1,
    config: { expression: `$merge([data, {"f${k}": ${k * k}}])` },
  }));
  return {
    schemaVersion: 1,
    id: 'pure',
    name: 'Pure scoring',
    nodes: [
      {
        id: 'in',
        type: 'io.input',
        version: 1,
        config: {
          schema: {
            type: 'object',
            properties: { id: { type: 'string' }, a: { type: 'number' }, b: { type: 'number' } },
            required: ['a', 'b'],
          },
        },
      },
      { id: 'x', type: 'data.transform', version: 1, config: { expression: '{"x": data.a * 0.3 + data.b}' } },
      { id: 'y', type: 'data.transform', version: 1, config: { expression: '{"y": data.a - data.b}' } },
      { id: 'join', type: 'logic.merge', version: 1, config: { inputs: ['x', 'y'], mode: 'collect' } },
      ...steps,
      { id: 'out', type: 'io.output', version: 1, config: { name: 'result' } },
    ],
    edges: [
      edge('e1', 'in', 'value', 'x', 'data'),
      edge('e2', 'in', 'value', 'y', 'data'),
      edge('e3', 'x', 'result', 'join', 'x'),
      edge('e4', 'y', 'result', 'join', 'y'),
      edge('e5', 'join', 'value', 's1', 'data'),
      edge('e6', 's1', 'result', 's2', 'data'),
      edge('e7', 's2', 'result', 's3', 'data'),
      edge('e8', 's3', 'result', 'out', 'value'),
    ],
  };
}

async function publish(flowId: string, slug: string): Promise<string> {
  const r = await admin.post('/api/endpoints', { flowId, version: 1, slug });
  if (r.status !== 201) throw new Error(`${r.status} ${r.text}`);
  return r.body.id as string;
}

/** Calls an endpoint asking for its events as server-sent events: the live events and the run id. */
async function callLive(slug: string, body: unknown): Promise<{ runId: string; live: RunEvent[] }> {
  const res = await fetch(`${t.url}/v1/endpoints/${slug}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'text/event-stream',
      authorization: `Bearer ${key}`,
    },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(200);
  const live: RunEvent[] = [];
  for (const frame of (await res.text()).trim().split('\n\n')) {
    const name = /^event: (.+)$/m.exec(frame)?.[1];
    const data = /^data: (.+)$/m.exec(frame)?.[1];
    if (name && data && name !== 'result') live.push(JSON.parse(data) as RunEvent);
  }
  const started = live[0];
  if (started?.type !== 'run.started') throw new Error('no run.started streamed');
  return { runId: started.runId, live };
}

/** A run's stored chunks: the one its row carries (a run started and finished in one commit), then its event rows. */
function storedRows(runId: string): { inRunRow: boolean; data: string }[] {
  const db = new Database(join(t.dataDir, DATABASE_FILE), { readonly: true });
  try {
    return db
      .prepare(
        `SELECT 1 AS inRunRow, 0 AS seq, events AS data FROM runs WHERE id = ? AND events IS NOT NULL
         UNION ALL SELECT 0, seq, data FROM run_events WHERE run_id = ? ORDER BY seq`,
      )
      .all(runId, runId)
      .map((r) => {
        const row = r as { inRunRow: number; data: string };
        return { inRunRow: row.inRunRow === 1, data: row.data };
      });
  } finally {
    db.close();
  }
}

beforeAll(async () => {
  t = await startTestServer();
  admin = await setupAdmin(t);
  const pure = await publish((await createFlow(admin, pureFlow())).id, 'pure');
  const mixed = await publish((await createFlow(admin, scoringFlow('Mixed'))).id, 'mixed');
  const k = await admin.post('/api/keys', { name: 'record', endpoints: [pure, mixed] });
  key = k.body.key as string;
});
afterAll(async () => {
  await t.destroy();
});

describe('the compact run record', () => {
  it('stores a run of pure nodes as one record from which the live events are rebuilt exactly', async () => {
    const { runId, live } = await callLive('pure', { id: 'req-1', a: 12.5, b: 7 });
    expect(live.at(-1)).toMatchObject({
      type: 'run.finished',
      status: 'succeeded',
      outputs: { result: { x: { x: 10.75 }, y: { y: 5.5 }, f1: 1, f2: 4, f3: 9 } },
    });
    const rows = storedRows(runId);
    expect(rows).toHaveLength(1);
    // Started and finished within one commit: the record is in the run's own row, not an event row.
    expect(rows[0]?.inRunRow).toBe(true);
    const row = rows[0]?.data as string;
    expect(row.startsWith('{"v":2,')).toBe(true);
    // Each value handed on is stored once: the record is much shorter than the events written one by one.
    const perEvent = `[${live.map((e) => JSON.stringify(e)).join(',')}]`;
    expect(row.length).toBeLessThan(perEvent.length * 0.5);
    expect(row.split('{"id":"req-1","a":12.5,"b":7}')).toHaveLength(2);
    expect(row.split('"f3":9')).toHaveLength(2);
    expect(decodeEventRow(row)).toEqual(live);
    // Replay (the API and a reconnecting view) reads the same events from the record.
    const replay = await admin.get(`/api/runs/${runId}/events`);
    expect(replay.body).toEqual(live);
    const after = await admin.get(`/api/runs/${runId}/events?after=5`);
    expect(after.body).toEqual(live.slice(6));
    const run = await admin.get(`/api/runs/${runId}`);
    expect(run.body).toMatchObject({ status: 'succeeded', run: { nodes: { s3: { status: 'succeeded' } } } });
  });

  it('keeps one JSON text per event for a flow with a node not declared pure', async () => {
    const { runId, live } = await callLive('mixed', { name: 'Li Na', income: 64000, debt: 8000 });
    const rows = storedRows(runId).map((r) => r.data);
    expect(rows.every((r) => r.startsWith('['))).toBe(true);
    expect(rows.flatMap((r) => decodeEventRow(r))).toEqual(live);
  });
});
