import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Client,
  connected,
  createFlow,
  emitAck,
  setupAdmin,
  startTestServer,
  waitForRun,
  type TestServer,
} from './test-helpers/harness.js';
import { scoringFlow } from './test-helpers/flows.js';

let t: TestServer;
/** Admin of workspace A (Default), also admin of B after creating it. */
let adminA: Client;
/** A developer who belongs to workspace B only. */
let devB: Client;
let flowA: string;
let runA: string;
let endpointA: string;
let keyB: string;

beforeAll(async () => {
  t = await startTestServer();
  adminA = await setupAdmin(t);
  flowA = (await createFlow(adminA, scoringFlow('Workspace A flow'))).id;
  runA = (await adminA.post(`/api/flows/${flowA}/runs`, { input: { name: 'A', income: 100, debt: 1 } })).body
    .runId;
  await waitForRun(adminA, runA);
  await adminA.put('/api/credentials/a-secret', { value: 'value-of-a-1234' });
  endpointA = (await adminA.post('/api/endpoints', { flowId: flowA, version: 1, slug: 'ws-a-endpoint' })).body
    .id;

  const ws = await adminA.post('/api/workspaces', { name: 'Workspace B' });
  expect(ws.status).toBe(201);
  // Switch the admin to B, add a developer there, and switch back.
  const switched = await adminA.post('/api/auth/workspace', { workspaceId: ws.body.id });
  expect(switched.body.workspace.name).toBe('Workspace B');
  expect(
    (
      await adminA.post('/api/users', {
        email: 'dev-b@bank.example',
        name: 'Dev B',
        password: 'developer b secret',
        role: 'developer',
      })
    ).status,
  ).toBe(201);
  await adminA.post('/api/auth/workspace', { workspaceId: (await adminA.get('/api/workspaces')).body[0].id });
  expect((await adminA.get('/api/auth/me')).body.workspace.name).toBe('Default');

  devB = new Client(t.url);
  await devB.login('dev-b@bank.example', 'developer b secret');
  keyB = (await devB.post('/api/keys', { name: 'b key', endpoints: '*' })).body.key;
});
afterAll(async () => {
  await t.destroy();
});

describe('workspace isolation', () => {
  it('shows a workspace only its own flows, runs, credentials, endpoints, keys and audit entries', async () => {
    expect((await devB.get('/api/auth/me')).body.workspace.name).toBe('Workspace B');
    expect((await devB.get('/api/flows')).body).toEqual([]);
    expect((await devB.get('/api/runs')).body).toEqual([]);
    expect((await devB.get('/api/credentials')).body).toEqual([]);
    expect((await devB.get('/api/endpoints')).body).toEqual([]);
    expect((await devB.get('/api/keys')).body.map((k: { name: string }) => k.name)).toEqual(['b key']);
    expect((await devB.get('/api/workspaces')).body.map((w: { name: string }) => w.name)).toEqual([
      'Workspace B',
    ]);
    const audit = await devB.get('/api/audit');
    expect(
      audit.body.every((e: { workspaceId: string }) => e.workspaceId === audit.body[0].workspaceId),
    ).toBe(true);
    expect(audit.text).not.toContain(flowA);
  });

  it('answers 404 when another workspace reads or writes a flow, run, endpoint or credential by id', async () => {
    for (const path of [
      `/api/flows/${flowA}`,
      `/api/flows/${flowA}/versions`,
      `/api/runs/${runA}`,
      `/api/runs/${runA}/events`,
      `/api/endpoints/${endpointA}`,
    ]) {
      const r = await devB.get(path);
      expect(r.status, path).toBe(404);
    }
    expect(
      (await devB.put(`/api/flows/${flowA}`, { document: scoringFlow(), message: 'hijack' })).status,
    ).toBe(404);
    expect(
      (await devB.post(`/api/flows/${flowA}/runs`, { input: { name: 'B', income: 1, debt: 1 } })).status,
    ).toBe(404);
    expect((await devB.post(`/api/runs/${runA}/rerun`)).status).toBe(404);
    // A draft run names the flow too: another workspace's flow is not found, whatever the draft holds.
    expect(
      (
        await devB.post(`/api/flows/${flowA}/runs`, {
          input: { name: 'B', income: 1, debt: 1 },
          document: scoringFlow(),
        })
      ).status,
    ).toBe(404);
    expect((await devB.patch(`/api/endpoints/${endpointA}`, { status: 'disabled' })).status).toBe(404);
    expect((await devB.delete('/api/credentials/a-secret')).status).toBe(404);
    expect((await devB.post('/api/endpoints', { flowId: flowA, version: 1, slug: 'stolen' })).status).toBe(
      404,
    );
    expect(
      (
        await devB.post('/api/auth/workspace', {
          workspaceId: (await adminA.get('/api/auth/me')).body.workspace.id,
        })
      ).status,
    ).toBe(404);
    const keyA = (await adminA.post('/api/keys', { name: 'a key', endpoints: [endpointA] })).body;
    expect((await devB.post(`/api/keys/${keyA.id}/rotate`)).status).toBe(404);
    expect((await devB.delete(`/api/keys/${keyA.id}`)).status).toBe(404);
    // Workspace A is unchanged.
    expect((await adminA.get(`/api/flows/${flowA}`)).body.version.number).toBe(1);
    expect(
      (await adminA.get('/api/keys')).body.find((k: { id: string }) => k.id === keyA.id).revokedAt,
    ).toBeNull();
  });

  it('refuses a socket subscription to another workspace run', async () => {
    const socket = devB.socket();
    await connected(socket);
    const answer = await emitAck(socket, 'run:subscribe', { runId: runA });
    expect(answer).toMatchObject({ ok: false, error: { code: 'RUN_NOT_FOUND' } });
    socket.disconnect();
    const own = adminA.socket();
    await connected(own);
    expect(await emitAck(own, 'run:subscribe', { runId: runA })).toEqual({ ok: true });
    own.disconnect();
  });

  it('does not let a key of one workspace call or poll another workspace endpoint', async () => {
    const r = await fetch(`${t.url}/v1/endpoints/ws-a-endpoint`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${keyB}` },
      body: JSON.stringify({ name: 'B', income: 1, debt: 1 }),
    });
    expect(r.status).toBe(404);
    const poll = await fetch(`${t.url}/v1/runs/${runA}`, { headers: { authorization: `Bearer ${keyB}` } });
    expect(poll.status).toBe(404);
  });
});
