/**
 * The repository test suite: one set of tests every Repository implementation must pass (repository.test.ts
 * runs it against SQLite and Postgres). It checks what the services rely on: records read back as written,
 * filters and orders, group writes applied atomically and in order, conflicts as typed errors, conditional
 * review writes that only one of two racing deciders wins, and one audit chain when two instances (two servers
 * on one database) append at once.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { RunEvent } from '@finflow/runtime';
import { describe, expect, it } from 'vitest';
import { ChainVerifier, entryMac } from '../audit-chain.js';
import { GroupCommitter } from '../db/group-commit.js';
import { isWriteConflict } from '../services/errors.js';
import { isUniqueViolation, StorageConflict } from './errors.js';
import type {
  AuditDraft,
  DeploymentRecord,
  EndpointRecord,
  EvaluationRecord,
  FeedbackRecord,
  FlowRecord,
  Repository,
  ReviewTaskRecord,
  RunRecord,
  VersionRecord,
} from './types.js';

/** What a test hands to `open`: a store that cannot be had may skip the test, saying why. */
export interface SuiteContext {
  skip(note?: string): never;
}

export interface SuiteStore {
  repo: Repository;
  /** Another instance on the same storage (a second server on the same database). */
  another(): Promise<Repository>;
  /** Runs SQL directly on the storage (to tamper with it, as someone with database access could). */
  exec(sql: string): Promise<void>;
}

const now = Date.now();

/** The audit key the stores of this suite are opened with (in the product it is derived from the master key). */
export const SUITE_AUDIT_KEY = randomBytes(32);

export const runRecord = (id: string, patch: Partial<RunRecord> = {}): RunRecord => ({
  id,
  workspaceId: 'ws_1',
  flowId: 'flw_1',
  flowVersion: 1,
  status: 'running',
  trigger: 'manual',
  endpointId: null,
  deploymentId: null,
  actor: 'user:u1',
  rerunOf: null,
  inputSealed: null,
  outputsSealed: null,
  startedAt: now,
  finishedAt: null,
  ms: null,
  checkpointSealed: null,
  resumeClaim: null,
  businessKey: null,
  ...patch,
});

const event = (runId: string, seq: number): string =>
  JSON.stringify({
    type: 'node.logged',
    runId,
    seq,
    at: seq,
    nodeId: 'n',
    level: 'info',
    message: `event ${seq}`,
  });

const flow = (id: string, name: string, patch: Partial<FlowRecord> = {}): FlowRecord => ({
  id,
  workspaceId: 'ws_1',
  name,
  description: '',
  tags: ['credit'],
  latestVersion: 1,
  createdAt: now,
  createdBy: 'u1',
  updatedAt: now,
  updatedBy: 'u1',
  deletedAt: null,
  ...patch,
});

const version = (flowId: string, number: number): VersionRecord => ({
  flowId,
  number,
  document: JSON.stringify({ id: flowId, nodes: [], edges: [] }),
  hash: `h${number}`,
  authorId: 'u1',
  authorName: 'Ana',
  message: `v${number}`,
  createdAt: now + number,
});

const task = (id: string, runId: string, patch: Partial<ReviewTaskRecord> = {}): ReviewTaskRecord => ({
  id,
  workspaceId: 'ws_1',
  runId,
  nodeId: `node_${id}`,
  flowId: 'flw_1',
  flowVersion: 1,
  endpointId: null,
  deploymentId: null,
  queue: 'credit',
  roles: ['approver'],
  title: 'Check the applicant',
  status: 'open',
  dueAt: null,
  escalatedAt: null,
  starter: 'user:u1',
  task: '{}',
  approvals: [],
  decision: null,
  decidedAt: null,
  decidedBy: null,
  resumedBy: null,
  createdAt: now,
  ...patch,
});

const endpoint = (id: string, slug: string, deploymentId: string): EndpointRecord => ({
  id,
  workspaceId: 'ws_1',
  slug,
  flowId: 'flw_1',
  deploymentId,
  status: 'active',
  mode: 'sync',
  timeoutMs: 30_000,
  maxBodyBytes: 1_000_000,
  rateLimitPerMinute: 600,
  createdAt: now,
  createdBy: 'u1',
  updatedAt: now,
});

const deployment = (id: string, endpointId: string, createdAt = now): DeploymentRecord => ({
  id,
  workspaceId: 'ws_1',
  endpointId,
  flowId: 'flw_1',
  targets: [{ version: 1, weight: 100 }],
  createdAt,
  createdBy: 'u1',
});

const audit = (workspaceId: string, i: number): AuditDraft => ({
  workspaceId,
  at: now + i,
  actor: { type: 'user', id: 'u1', name: 'Ana' },
  action: 'flow.saved',
  target: `flow:f${i}`,
  details: { i, note: '中文 and ünïcode' },
});

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected the promise to reject');
}

async function verifyChain(repo: Repository, workspaceId: string) {
  const v = new ChainVerifier(SUITE_AUDIT_KEY);
  let after = 0;
  for (;;) {
    const rows = await repo.auditChain(workspaceId, after, 50);
    if (!rows.length) break;
    v.feed(rows);
    after = (rows[rows.length - 1] as { seq: number }).seq;
  }
  return v.finish(await repo.auditHead(workspaceId), workspaceId);
}

/** Registers the suite; `open` gives each test an empty, migrated store (or skips it, saying what is missing). */
export function repositorySuite(open: (ctx: SuiteContext) => Promise<SuiteStore>): void {
  describe('schema', () => {
    it('applies its migrations once, and refuses a schema newer than it knows', async (ctx) => {
      const { repo, exec } = await open(ctx);
      expect(await repo.migrate()).toEqual([]);
      await exec(
        "INSERT INTO schema_migrations (version, name, applied_at) VALUES (99, 'from the future', 0)",
      );
      await expect(repo.migrate()).rejects.toThrow(/newer than this FinFlow/);
    });

    it('keeps settings', async (ctx) => {
      const { repo } = await open(ctx);
      expect(await repo.getSetting('k')).toBeUndefined();
      await repo.setSetting('k', 'one');
      await repo.setSetting('k', 'two');
      expect(await repo.getSetting('k')).toBe('two');
    });
  });

  describe('accounts', () => {
    it('finds users by e-mail whatever its case, and refuses a second user with the same address', async (ctx) => {
      const { repo } = await open(ctx);
      await repo.createWorkspace({ id: 'ws_1', name: 'Bank', createdAt: now });
      await repo.createUser({
        id: 'u1',
        email: 'Ana@Bank.example',
        name: 'Ana',
        passwordHash: 'x',
        createdAt: now,
        disabledAt: null,
        instanceOwner: false,
      });
      expect((await repo.getUserByEmail('ana@bank.example'))?.id).toBe('u1');
      expect(await repo.countUsers()).toBe(1);
      const err = await rejection(
        repo.createUser({
          id: 'u2',
          email: 'ANA@bank.example',
          name: 'Other',
          passwordHash: 'y',
          createdAt: now,
          disabledAt: null,
          instanceOwner: false,
        }),
      );
      expect(isUniqueViolation(err)).toBe(true);
      expect(await repo.countUsers()).toBe(1);
      await repo.updateUser('u1', { name: 'Ana B.', disabledAt: now + 5 });
      expect(await repo.getUser('u1')).toMatchObject({
        name: 'Ana B.',
        passwordHash: 'x',
        disabledAt: now + 5,
      });
      await repo.updateUser('u1', { disabledAt: null });
      expect((await repo.getUser('u1'))?.disabledAt).toBeNull();
    });

    it('joins a session with its user, workspace and current role, and expires sessions', async (ctx) => {
      const { repo } = await open(ctx);
      await repo.createWorkspace({ id: 'ws_1', name: 'Bank', createdAt: now });
      await repo.createWorkspace({ id: 'ws_2', name: 'Broker', createdAt: now + 1 });
      await repo.createUser({
        id: 'u1',
        email: 'a@b.c',
        name: 'Ana',
        passwordHash: 'x',
        createdAt: now,
        disabledAt: null,
        instanceOwner: false,
      });
      await repo.setMembership({ workspaceId: 'ws_1', userId: 'u1', role: 'analyst', createdAt: now });
      await repo.setMembership({ workspaceId: 'ws_1', userId: 'u1', role: 'admin', createdAt: now });
      await repo.setMembership({ workspaceId: 'ws_2', userId: 'u1', role: 'viewer', createdAt: now });
      expect((await repo.workspacesOf('u1')).map((w) => [w.workspace.id, w.role])).toEqual([
        ['ws_1', 'admin'],
        ['ws_2', 'viewer'],
      ]);
      expect((await repo.firstWorkspace())?.id).toBe('ws_1');
      await repo.createSession({
        tokenHash: 't1',
        userId: 'u1',
        workspaceId: 'ws_1',
        csrfToken: 'c',
        createdAt: now,
        lastSeenAt: now,
        expiresAt: now + 1000,
      });
      const view = await repo.getSession('t1');
      expect(view?.role).toBe('admin');
      expect(view?.user.email).toBe('a@b.c');
      expect(view?.workspace?.name).toBe('Bank');
      await repo.updateSession('t1', { workspaceId: 'ws_2', lastSeenAt: now + 10 });
      expect(await repo.getSession('t1')).toMatchObject({
        role: 'viewer',
        session: { lastSeenAt: now + 10 },
      });
      await repo.removeMembership('ws_2', 'u1');
      expect((await repo.getSession('t1'))?.role).toBeNull();
      expect((await repo.listMembers('ws_1')).map((m) => m.user.name)).toEqual(['Ana']);
      expect(await repo.deleteExpiredSessions(now + 999)).toBe(0);
      expect(await repo.deleteExpiredSessions(now + 1001)).toBe(1);
      expect(await repo.getSession('t1')).toBeUndefined();
    });
  });

  describe('accounts across workspaces', () => {
    it('invites an e-mail once per workspace (renewed, case ignored), and accepting adds the member once', async (ctx) => {
      const { repo } = await open(ctx);
      await repo.createWorkspace({ id: 'ws_1', name: 'Bank', createdAt: now });
      await repo.createWorkspace({ id: 'ws_2', name: 'Broker', createdAt: now + 1 });
      await repo.createUser({
        id: 'u1',
        email: 'Li@Bank.example',
        name: 'Li',
        passwordHash: 'x',
        createdAt: now,
        disabledAt: null,
        instanceOwner: false,
      });
      const inv = (id: string, workspaceId: string, email: string, expiresAt = now + 1000) => ({
        id,
        workspaceId,
        email,
        role: 'analyst' as const,
        invitedBy: null,
        invitedByName: 'Ada',
        createdAt: now,
        expiresAt,
      });
      await repo.putInvitation(inv('i1', 'ws_1', 'li@bank.example'));
      await repo.putInvitation({ ...inv('i2', 'ws_1', 'LI@BANK.EXAMPLE'), role: 'approver' });
      await repo.putInvitation(inv('i3', 'ws_2', 'li@bank.example', now - 1));
      expect((await repo.workspaceInvitations('ws_1', now)).map((i) => [i.id, i.role])).toEqual([
        ['i2', 'approver'],
      ]);
      expect(await repo.getInvitation('i1')).toBeUndefined();
      expect(
        (await repo.invitationsFor('Li@bank.example', now)).map((i) => [i.id, i.workspace.name]),
      ).toEqual([['i2', 'Bank']]);
      expect(await repo.deleteExpiredInvitations(now)).toBe(1);
      const member = { workspaceId: 'ws_1', userId: 'u1', role: 'approver' as const, createdAt: now };
      expect(await repo.acceptInvitation('i2', member)).toBe(true);
      expect(await repo.acceptInvitation('i2', member)).toBe(false);
      expect((await repo.getMemberByEmail('ws_1', 'li@bank.EXAMPLE'))?.role).toBe('approver');
      expect(await repo.getMemberByEmail('ws_2', 'li@bank.example')).toBeUndefined();
      await repo.putInvitation(inv('i4', 'ws_2', 'li@bank.example'));
      expect(await repo.deleteInvitation('i4')).toBe(true);
      expect(await repo.deleteInvitation('i4')).toBe(false);
    });

    it('keeps sessions without a workspace, and ends a user’s sessions all, all but one, or in one workspace', async (ctx) => {
      const { repo } = await open(ctx);
      await repo.createWorkspace({ id: 'ws_1', name: 'Bank', createdAt: now });
      await repo.createUser({
        id: 'u1',
        email: 'a@b.c',
        name: 'A',
        passwordHash: 'x',
        createdAt: now,
        disabledAt: null,
        instanceOwner: true,
      });
      await repo.createUser({
        id: 'u2',
        email: 'B@b.c',
        name: 'B',
        passwordHash: 'x',
        createdAt: now,
        disabledAt: null,
        instanceOwner: false,
      });
      expect((await repo.listUsers()).map((u) => [u.id, u.instanceOwner])).toEqual([
        ['u1', true],
        ['u2', false],
      ]);
      await repo.updateUser('u2', { email: 'c@b.c', instanceOwner: true });
      expect(await repo.getUserByEmail('C@B.C')).toMatchObject({ id: 'u2', instanceOwner: true, name: 'B' });
      expect((await repo.listWorkspaces()).map((w) => w.id)).toEqual(['ws_1']);
      const session = (tokenHash: string, workspaceId: string | null) => ({
        tokenHash,
        userId: 'u1',
        workspaceId,
        csrfToken: 'c',
        createdAt: now,
        lastSeenAt: now,
        expiresAt: now + 1000,
      });
      await repo.createSession(session('s1', null));
      await repo.createSession(session('s2', 'ws_1'));
      await repo.createSession(session('s3', 'ws_1'));
      expect(await repo.getSession('s1')).toMatchObject({
        workspace: null,
        role: null,
        user: { instanceOwner: true },
      });
      await repo.updateSession('s2', { workspaceId: null });
      expect((await repo.getSession('s2'))?.workspace).toBeNull();
      await repo.updateSession('s1', { workspaceId: 'ws_1' });
      expect((await repo.getSession('s1'))?.session.workspaceId).toBe('ws_1');
      await repo.deleteSessionsOf('u1', { workspaceId: 'ws_1' });
      expect(await repo.getSession('s1')).toBeUndefined();
      expect(await repo.getSession('s2')).toBeDefined();
      await repo.createSession(session('s4', null));
      await repo.deleteSessionsOf('u1', { except: 's4' });
      expect(await repo.getSession('s2')).toBeUndefined();
      expect(await repo.getSession('s4')).toBeDefined();
      await repo.deleteSessionsOf('u1');
      expect(await repo.getSession('s4')).toBeUndefined();
    });
  });

  describe('flows', () => {
    it('saves versions; of two saves of the same next version one wins and the other gets a typed conflict', async (ctx) => {
      const { repo } = await open(ctx);
      await repo.createWorkspace({ id: 'ws_1', name: 'Bank', createdAt: now });
      await repo.createFlow(flow('f1', 'Credit 100% check'), version('f1', 1));
      const update = { name: 'Credit', description: 'd', tags: [], updatedAt: now + 2, updatedBy: 'u1' };
      const results = await Promise.allSettled([
        repo.addVersion(version('f1', 2), update),
        repo.addVersion(version('f1', 2), update),
      ]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      expect(lost.reason).toBeInstanceOf(StorageConflict);
      expect(isUniqueViolation(lost.reason)).toBe(true);
      expect((await repo.getFlow('ws_1', 'f1'))?.latestVersion).toBe(2);
      expect((await repo.listVersions('f1')).map((v) => v.number)).toEqual([2, 1]);
      expect((await repo.getVersion('f1', 1))?.message).toBe('v1');
      expect(await repo.getFlow('ws_2', 'f1')).toBeUndefined();
    });

    it('searches names ignoring case, takes % and _ literally, and tells which flows are published', async (ctx) => {
      const { repo } = await open(ctx);
      await repo.createWorkspace({ id: 'ws_1', name: 'Bank', createdAt: now });
      await repo.createFlow(flow('f1', 'Credit 100% check', { updatedAt: now + 1 }), version('f1', 1));
      await repo.createFlow(flow('f2', 'Fraud_score', { updatedAt: now + 2 }), version('f2', 1));
      await repo.createFlow(flow('f3', 'Fraud score'), version('f3', 1));
      await repo.createEndpoint({ ...endpoint('e2', 'fraud', 'd2'), flowId: 'f2' }, deployment('d2', 'e2'));
      expect((await repo.listFlows('ws_1')).map((f) => f.id)).toEqual(['f2', 'f1', 'f3']);
      expect((await repo.listFlows('ws_1', 'CREDIT')).map((f) => f.id)).toEqual(['f1']);
      expect((await repo.listFlows('ws_1', '100%')).map((f) => f.id)).toEqual(['f1']);
      expect((await repo.listFlows('ws_1', 'fraud_')).map((f) => f.id)).toEqual(['f2']);
      expect((await repo.listFlows('ws_1', 'fraud')).map((f) => [f.id, f.published])).toEqual([
        ['f2', true],
        ['f3', false],
      ]);
      expect(await repo.deleteFlow('ws_1', 'f3', now)).toBe(true);
      expect(await repo.deleteFlow('ws_1', 'f3', now)).toBe(false);
      expect((await repo.listFlows('ws_1')).map((f) => f.id)).toEqual(['f2', 'f1']);
    });
  });

  describe('group writes', () => {
    it('applies batches in order and reads a run back event by event, across chunks', async (ctx) => {
      const { repo } = await open(ctx);
      const writer = new GroupCommitter(repo, 'full');
      const sealed = Buffer.from([0, 1, 2, 255, 254]);
      void writer.write((b) => {
        b.runs.push(runRecord('r1', { inputSealed: sealed, businessKey: 'bk', endpointId: 'e1' }));
        b.runs.push(runRecord('q1', { status: 'queued', startSpec: '{"handler":"manual"}' }));
        b.events.push({ runId: 'r1', seq: 0, lastSeq: 2, events: [0, 1, 2].map((s) => event('r1', s)) });
      });
      await writer.write((b) =>
        b.events.push({ runId: 'r1', seq: 3, lastSeq: 4, events: [3, 4].map((s) => event('r1', s)) }),
      );
      expect((await repo.runEvents('r1', -1)).map((e: RunEvent) => e.seq)).toEqual([0, 1, 2, 3, 4]);
      expect((await repo.runEvents('r1', 1)).map((e: RunEvent) => e.seq)).toEqual([2, 3, 4]);
      expect(await repo.runEvents('r1', 4)).toEqual([]);
      expect(await repo.lastEventSeq('r1')).toBe(4);
      expect(await repo.lastEventSeq('nope')).toBe(-1);
      expect((await repo.runningRuns()).map((r) => r.id)).toEqual(['r1']);
      await writer.write((b) =>
        b.runUpdates.push({
          id: 'r1',
          status: 'succeeded',
          finishedAt: now + 7,
          ms: 6.5,
          outputsSealed: sealed,
        }),
      );
      const run = await repo.getRun('ws_1', 'r1');
      expect(run).toMatchObject({ status: 'succeeded', finishedAt: now + 7, ms: 6.5, startedAt: now });
      expect(run?.inputSealed?.equals(sealed)).toBe(true);
      expect(run?.outputsSealed?.equals(sealed)).toBe(true);
      expect(await repo.runningRuns()).toEqual([]);
      expect((await repo.runByBusinessKey('e1', 'bk'))?.id).toBe('r1');
      expect(await repo.getRun('ws_2', 'r1')).toBeUndefined();
      expect((await repo.getRunById('r1'))?.id).toBe('r1');
      // A queued run keeps how it was started (queue mode); a run started in-process has none.
      expect((await repo.getRunById('q1'))?.startSpec).toBe('{"handler":"manual"}');
      expect((await repo.getRunById('r1'))?.startSpec).toBeNull();
    });

    it('stores a chunk of event objects as a compact record, after chunks of JSON texts, and reads both back', async (ctx) => {
      const { repo } = await open(ctx);
      const writer = new GroupCommitter(repo, 'full');
      const value = { id: 'req-1', amount: 12.5 };
      const objects: RunEvent[] = [
        { type: 'node.started', runId: 'c1', seq: 2, at: now, nodeId: 'a', inputs: { data: value } },
        {
          type: 'node.succeeded',
          runId: 'c1',
          seq: 3,
          at: now,
          nodeId: 'a',
          outputs: { result: value },
          attempts: 1,
          ms: 0.5,
        },
        {
          type: 'run.finished',
          runId: 'c1',
          seq: 4,
          at: now,
          status: 'succeeded',
          outputs: { out: value },
          ms: 1,
        },
      ];
      await writer.write((b) => {
        b.runs.push(runRecord('c1'));
        b.events.push({ runId: 'c1', seq: 0, lastSeq: 1, events: [0, 1].map((s) => event('c1', s)) });
      });
      await writer.write((b) => b.events.push({ runId: 'c1', seq: 2, lastSeq: 4, events: [], objects }));
      const back = await repo.runEvents('c1', -1);
      expect(back.map((e: RunEvent) => e.seq)).toEqual([0, 1, 2, 3, 4]);
      expect(back.slice(2)).toEqual(objects);
      expect(await repo.runEvents('c1', 3)).toEqual(objects.slice(2));
      expect(await repo.lastEventSeq('c1')).toBe(4);
    });

    it('keeps a run started and finished in one batch with its events in its row, and every other run in event rows', async (ctx) => {
      const { repo, exec } = await open(ctx);
      const writer = new GroupCommitter(repo, 'full');
      const value = { id: 'req-1', amount: 12.5 };
      const pure = (runId: string): RunEvent[] => [
        {
          type: 'run.started',
          runId,
          seq: 0,
          at: now,
          flowId: 'flw_1',
          flowName: 'Score',
          input: value,
          nodes: [{ id: 'a', type: 'data.transform' }],
        },
        { type: 'node.started', runId, seq: 1, at: now, nodeId: 'a', inputs: { data: value } },
        {
          type: 'node.succeeded',
          runId,
          seq: 2,
          at: now,
          nodeId: 'a',
          outputs: { result: value },
          attempts: 1,
          ms: 0.5,
        },
        { type: 'run.finished', runId, seq: 3, at: now, status: 'succeeded', outputs: { out: value }, ms: 1 },
      ];
      const done = { status: 'succeeded', finishedAt: now + 1, ms: 1 } as const;
      // An endpoint call: the run inserted finished, with its whole log (a compact record) in the same batch.
      await writer.write((b) => {
        b.runs.push(runRecord('f1', { ...done, endpointId: 'e1' }));
        b.events.push({ runId: 'f1', seq: 0, lastSeq: 3, events: [], objects: pure('f1') });
      });
      // Two calls in one group commit, one of them failed, events as JSON texts.
      await writer.write((b) => {
        b.runs.push(runRecord('f2', done), runRecord('f3', { ...done, status: 'failed' }));
        b.events.push({ runId: 'f2', seq: 0, lastSeq: 1, events: [0, 1].map((s) => event('f2', s)) });
        b.events.push({ runId: 'f3', seq: 0, lastSeq: 2, events: [0, 1, 2].map((s) => event('f3', s)) });
      });
      // Not whole logs, so event rows: a run inserted running (its events go on in later batches), a run with two
      // chunks in its batch, and a finished run's chunk that does not start at 0.
      await writer.write((b) => {
        b.runs.push(runRecord('s1'), runRecord('s2', done), runRecord('s3', done));
        b.events.push({ runId: 's1', seq: 0, lastSeq: 1, events: [0, 1].map((s) => event('s1', s)) });
        b.events.push({ runId: 's2', seq: 0, lastSeq: 0, events: [event('s2', 0)] });
        b.events.push({ runId: 's2', seq: 1, lastSeq: 1, events: [event('s2', 1)] });
        b.events.push({ runId: 's3', seq: 2, lastSeq: 2, events: [event('s3', 2)] });
      });
      await writer.write((b) => {
        b.events.push({ runId: 's1', seq: 2, lastSeq: 2, events: [event('s1', 2)] });
        b.runUpdates.push({ id: 's1', ...done });
      });
      const seqs = async (id: string, after = -1) => (await repo.runEvents(id, after)).map((e) => e.seq);
      expect(await repo.runEvents('f1', -1)).toEqual(pure('f1'));
      expect(await repo.runEvents('f1', 1)).toEqual(pure('f1').slice(2));
      expect(await repo.runEvents('f1', 3)).toEqual([]);
      expect(await repo.lastEventSeq('f1')).toBe(3);
      expect(await seqs('f2')).toEqual([0, 1]);
      expect(await seqs('f3', 0)).toEqual([1, 2]);
      expect(await repo.lastEventSeq('f3')).toBe(2);
      expect(await seqs('s1')).toEqual([0, 1, 2]);
      expect(await seqs('s2')).toEqual([0, 1]);
      expect(await seqs('s3')).toEqual([2]);
      expect(await repo.lastEventSeq('s2')).toBe(1);
      // A run read back is the same record whether its events are in its row or not.
      const f1 = await repo.getRun('ws_1', 'f1');
      expect(f1).toEqual({ ...runRecord('f1', { ...done, endpointId: 'e1' }), startSpec: null });
      expect((await repo.listRuns('ws_1', { limit: 10, endpointId: 'e1' })).map((r) => r.id)).toEqual(['f1']);
      // Events stored after a run's row chunk (by a later batch) follow it.
      await writer.write((b) => b.events.push({ runId: 'f2', seq: 2, lastSeq: 2, events: [event('f2', 2)] }));
      expect(await seqs('f2')).toEqual([0, 1, 2]);
      expect(await seqs('f2', 1)).toEqual([2]);
      expect(await repo.lastEventSeq('f2')).toBe(2);
      // Where each run's log is: without the event rows, only the logs the runs' own rows carry remain.
      await exec('DELETE FROM run_events');
      expect(await repo.runEvents('f1', -1)).toEqual(pure('f1'));
      expect(await seqs('f2')).toEqual([0, 1]);
      expect(await seqs('f3')).toEqual([0, 1, 2]);
      for (const id of ['s1', 's2', 's3']) {
        expect(await repo.runEvents(id, -1)).toEqual([]);
        expect(await repo.lastEventSeq(id)).toBe(-1);
      }
    });

    it('refuses a whole batch when one write fails, with a typed error, and goes on with later batches', async (ctx) => {
      const { repo } = await open(ctx);
      const writer = new GroupCommitter(repo, 'full');
      await writer.write((b) => b.runs.push(runRecord('dup')));
      // Three batches handed over together: only the middle one fails.
      const first = writer.commitAlone((b) => b.runs.push(runRecord('ok1')));
      const failing = writer.commitAlone((b) => {
        b.events.push({ runId: 'x', seq: 0, lastSeq: 0, events: [event('x', 0)] });
        b.runs.push(runRecord('dup'));
      });
      const third = writer.commitAlone((b) => b.runs.push(runRecord('ok2')));
      const err = await rejection(failing);
      expect(isUniqueViolation(err)).toBe(true);
      await first;
      await third;
      expect(await repo.runEvents('x', -1)).toEqual([]);
      expect((await repo.runningRuns()).map((r) => r.id).sort()).toEqual(['dup', 'ok1', 'ok2']);
    });

    it('lists runs by filter, newest first, a page at a time, and counts an endpoint’s runs', async (ctx) => {
      const { repo } = await open(ctx);
      const writer = new GroupCommitter(repo, 'full');
      await writer.write((b) => {
        for (let i = 0; i < 6; i++) {
          b.runs.push(
            runRecord(`r${i}`, {
              startedAt: now - i * 1000,
              status: i % 2 ? 'failed' : 'succeeded',
              endpointId: i < 4 ? 'e1' : null,
              flowId: i < 3 ? 'flw_1' : 'flw_2',
            }),
          );
        }
      });
      expect((await repo.listRuns('ws_1', { limit: 3 })).map((r) => r.id)).toEqual(['r0', 'r1', 'r2']);
      expect((await repo.listRuns('ws_1', { limit: 10, before: now - 2500 })).map((r) => r.id)).toEqual([
        'r3',
        'r4',
        'r5',
      ]);
      expect(
        (await repo.listRuns('ws_1', { limit: 10, status: 'failed', flowId: 'flw_2' })).map((r) => r.id),
      ).toEqual(['r3', 'r5']);
      expect((await repo.listRuns('ws_1', { limit: 10, endpointId: 'e1' })).length).toBe(4);
      expect(await repo.listRuns('ws_2', { limit: 10 })).toEqual([]);
      const stats = await repo.endpointStats(['e1', 'e9'], now - 1500);
      expect(stats.get('e1')).toEqual({ total: 4, last24h: 2 });
      expect(stats.get('e9')).toEqual({ total: 0, last24h: 0 });
    });

    it('keeps the events of runs committed one at a time, rows of any size, and lists one flow’s runs a page at a time', async (ctx) => {
      const { repo } = await open(ctx);
      const writer = new GroupCommitter(repo, 'full');
      // Endpoint calls one after another: each run, its events and nothing else in a commit of its own. Rows
      // from a few hundred bytes to several pages (a large input or output), two flows interleaved.
      const sizes = [0, 300, 1_500, 5_000, 20_000];
      for (let i = 0; i < 30; i++) {
        const id = `c${String(i).padStart(2, '0')}`;
        await writer.write((b) => {
          b.runs.push(
            runRecord(id, {
              status: 'succeeded',
              startedAt: now + i,
              flowId: i % 3 ? 'flw_1' : 'flw_2',
              endpointId: 'e1',
            }),
          );
          b.events.push({
            runId: id,
            seq: 0,
            lastSeq: 1,
            events: [0, 1].map((s) =>
              JSON.stringify({ ...(JSON.parse(event(id, s)) as object), pad: 'x'.repeat(sizes[i % 5] ?? 0) }),
            ),
          });
        });
      }
      for (let i = 0; i < 30; i++) {
        const id = `c${String(i).padStart(2, '0')}`;
        const events = await repo.runEvents(id, -1);
        expect(events.map((e) => e.seq)).toEqual([0, 1]);
        expect((events[1] as unknown as { pad: string }).pad.length).toBe(sizes[i % 5]);
        expect(await repo.lastEventSeq(id)).toBe(1);
      }
      // flw_2 has runs 0, 3, 6, ... 27: newest first, four a page.
      const pages: string[][] = [];
      let before: number | undefined;
      for (;;) {
        const page = await repo.listRuns('ws_1', {
          limit: 4,
          flowId: 'flw_2',
          ...(before === undefined ? {} : { before }),
        });
        if (!page.length) break;
        pages.push(page.map((r) => r.id));
        before = page[page.length - 1]?.startedAt;
      }
      expect(pages).toEqual([
        ['c27', 'c24', 'c21', 'c18'],
        ['c15', 'c12', 'c09', 'c06'],
        ['c03', 'c00'],
      ]);
      expect((await repo.endpointStats(['e1'], now + 20)).get('e1')).toEqual({ total: 30, last24h: 10 });
    });

    it('keeps the first idempotency claim, records its answer, and the latest use of keys and credentials', async (ctx) => {
      const { repo } = await open(ctx);
      const writer = new GroupCommitter(repo, 'full');
      await repo.createApiKey({
        id: 'k1',
        workspaceId: 'ws_1',
        name: 'core banking',
        prefix: 'ff_abc',
        hash: 'hash1',
        endpoints: ['e1'],
        createdAt: now,
        createdBy: 'u1',
        lastUsedAt: null,
        revokedAt: null,
      });
      await repo.putCredential({
        workspaceId: 'ws_1',
        name: 'openai',
        description: '',
        sealed: Buffer.from('s'),
        createdAt: now,
        updatedAt: now,
        lastUsedAt: null,
      });
      const claim = (hash: string) => ({
        keyId: 'k1',
        endpointId: 'e1',
        idemKey: 'idem-1',
        requestHash: hash,
        runId: null,
        status: null,
        body: null,
        createdAt: now,
      });
      await writer.write((b) => {
        b.idempotencyClaims.push(claim('first'));
        b.keyUsage.set('k1', now + 50);
        b.credentialUsage.set('ws_1/openai', { workspaceId: 'ws_1', name: 'openai', at: now + 50 });
      });
      await writer.write((b) => {
        b.idempotencyClaims.push(claim('second'));
        b.idempotency.push({
          keyId: 'k1',
          endpointId: 'e1',
          idemKey: 'idem-1',
          status: 200,
          body: '{"a":1}',
          runId: 'r1',
        });
        // An older use arriving later does not move the time back.
        b.keyUsage.set('k1', now + 10);
      });
      expect(await repo.getIdempotency('k1', 'e1', 'idem-1')).toMatchObject({
        requestHash: 'first',
        status: 200,
        body: '{"a":1}',
        runId: 'r1',
      });
      expect((await repo.getApiKeyByHash('hash1'))?.lastUsedAt).toBe(now + 50);
      expect((await repo.getCredential('ws_1', 'openai'))?.lastUsedAt).toBe(now + 50);
      expect(await repo.deleteIdempotencyBefore(now)).toBe(0);
      expect(await repo.deleteIdempotencyBefore(now + 1)).toBe(1);
      expect(await repo.getIdempotency('k1', 'e1', 'idem-1')).toBeUndefined();
    });
  });

  describe('human review', () => {
    async function waitingRun(repo: Repository, writer: GroupCommitter) {
      await writer.write((b) => {
        b.runs.push(runRecord('r1', { status: 'waiting' }));
        b.reviewTasks.push(
          task('t1', 'r1', { dueAt: now - 1000 }),
          task('t2', 'r1', { queue: 'fraud', roles: ['analyst'] }),
        );
      });
      // A task already there for the run's node is left as it is.
      await writer.write((b) => b.reviewTasks.push(task('t1-again', 'r1', { nodeId: 'node_t1' })));
      expect((await repo.reviewTasksOfRun('r1')).map((t) => t.id)).toEqual(['t1', 't2']);
    }

    it('lets one of two racing decisions win; the other gets REVIEW_CONFLICT and changes nothing', async (ctx) => {
      const { repo, another } = await open(ctx);
      const other = await another();
      const writers = [new GroupCommitter(repo, 'full'), new GroupCommitter(other, 'full')];
      await waitingRun(repo, writers[0] as GroupCommitter);
      const decide = (w: GroupCommitter, who: string) =>
        w.commitAlone((b) => {
          b.reviewDecisions.push({
            id: 't1',
            status: 'decided',
            approvals: [],
            expectApprovals: '[]',
            decision: JSON.stringify({ outcome: 'approve', by: who }),
            decidedAt: now,
            decidedBy: `user:${who}`,
          });
          b.resumeClaims.push({ runId: 'r1', token: `tok-${who}`, cancel: false });
        });
      const results = await Promise.allSettled([
        decide(writers[0] as GroupCommitter, 'a'),
        decide(writers[1] as GroupCommitter, 'b'),
      ]);
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(1);
      expect(isWriteConflict(lost[0]?.reason)).toBe(true);
      const t1 = await repo.getReviewTask('ws_1', 't1');
      const winner = t1?.decidedBy === 'user:a' ? 'a' : 'b';
      expect(t1).toMatchObject({ status: 'decided', resumedBy: `tok-${winner}` });
      expect((await repo.getRunById('r1'))?.resumeClaim).toBe(`tok-${winner}`);
      expect((await repo.reviewTasksClaimedBy(`tok-${winner}`)).map((t) => t.id)).toEqual(['t1']);
      expect(await repo.reviewTasksClaimedBy(`tok-${winner === 'a' ? 'b' : 'a'}`)).toEqual([]);
      // The claim is given back when the resumed execution recorded nothing.
      expect(await repo.reopenClaim('r1', 'someone-else')).toBe(false);
      expect(await repo.reopenClaim('r1', `tok-${winner}`)).toBe(true);
      expect((await repo.getRunById('r1'))?.status).toBe('waiting');
      expect(await repo.waitingRunsWithDecisions()).toEqual(['r1']);
      await other.close();
    });

    it('files tasks by queue, role and due time, escalates once, and cancels open tasks with the run', async (ctx) => {
      const { repo } = await open(ctx);
      const writer = new GroupCommitter(repo, 'full');
      await waitingRun(repo, writer);
      expect((await repo.listReviewTasks('ws_1', { limit: 10, status: 'open' })).map((t) => t.id)).toEqual([
        't1',
        't2',
      ]);
      expect(
        (await repo.listReviewTasks('ws_1', { limit: 10, roles: ['analyst', 'viewer'] })).map((t) => t.id),
      ).toEqual(['t2']);
      expect((await repo.listReviewTasks('ws_1', { limit: 10, roles: [] })).map((t) => t.id)).toEqual([]);
      expect((await repo.listReviewTasks('ws_1', { limit: 10, queue: 'fraud' })).map((t) => t.id)).toEqual([
        't2',
      ]);
      expect(await repo.listReviewTasks('ws_2', { limit: 10 })).toEqual([]);
      expect(await repo.reviewQueues('ws_1')).toEqual([
        { queue: 'credit', open: 1, overdue: 1 },
        { queue: 'fraud', open: 1, overdue: 0 },
      ]);
      expect((await repo.overdueReviewTasks(now, 10)).map((t) => t.id)).toEqual(['t1']);
      expect(await repo.nextReviewDue()).toBe(now - 1000);
      await writer.commitAlone((b) =>
        b.reviewEscalations.push({ id: 't1', queue: 'credit-leads', escalatedAt: now }),
      );
      const again = await rejection(
        writer.commitAlone((b) =>
          b.reviewEscalations.push({ id: 't1', queue: 'credit-leads', escalatedAt: now }),
        ),
      );
      expect(isWriteConflict(again)).toBe(true);
      expect(await repo.overdueReviewTasks(now, 10)).toEqual([]);
      expect(await repo.nextReviewDue()).toBeUndefined();
      await writer.commitAlone((b) => b.resumeClaims.push({ runId: 'r1', token: 'cancel-1', cancel: true }));
      expect((await repo.reviewTasksOfRun('r1')).map((t) => [t.status, t.resumedBy])).toEqual([
        ['cancelled', 'cancel-1'],
        ['cancelled', 'cancel-1'],
      ]);
      expect((await repo.getRunById('r1'))?.status).toBe('running');
      expect(
        (await repo.listReviewTasks('ws_1', { limit: 10, status: 'cancelled' })).map((t) => t.queue).sort(),
      ).toEqual(['credit-leads', 'fraud']);
    });

    it('stores feedback once per run, source and dedupe key, and lists labelled decisions by window', async (ctx) => {
      const { repo } = await open(ctx);
      const writer = new GroupCommitter(repo, 'full');
      const fb = (id: string, patch: Partial<FeedbackRecord> = {}): FeedbackRecord => ({
        id,
        workspaceId: 'ws_1',
        runId: 'r1',
        flowId: 'flw_1',
        flowVersion: 1,
        endpointId: 'e1',
        deploymentId: 'd1',
        source: 'outcome',
        label: '"default"',
        prediction: '"approve"',
        dedupeKey: 'k',
        requestHash: 'h',
        actor: 'key:k1',
        decidedAt: now,
        createdAt: now,
        ...patch,
      });
      await writer.write((b) =>
        b.feedback.push(fb('fb1'), fb('fb1-again'), fb('fb2', { source: 'review', flowVersion: 2 })),
      );
      expect((await repo.feedbackOfRun('r1')).map((f) => f.id).sort()).toEqual(['fb1', 'fb2']);
      expect((await repo.getFeedback('r1', 'outcome', 'k'))?.id).toBe('fb1');
      const q = { workspaceId: 'ws_1', from: now, to: now + 1, limit: 10 };
      expect((await repo.labelledDecisions({ ...q, flowVersion: 2 })).map((f) => f.id)).toEqual(['fb2']);
      expect(
        (await repo.labelledDecisions({ ...q, source: 'outcome', endpointId: 'e1' })).map((f) => f.id),
      ).toEqual(['fb1']);
      expect(await repo.labelledDecisions({ ...q, from: now + 1, to: now + 2 })).toEqual([]);
    });
  });

  describe('workspace resources', () => {
    it('creates and updates credentials and connections, and tells which connections send a credential', async (ctx) => {
      const { repo } = await open(ctx);
      const cred = {
        workspaceId: 'ws_1',
        name: 'openai',
        description: 'a',
        sealed: Buffer.from([9, 8, 7]),
        createdAt: now,
        updatedAt: now,
        lastUsedAt: null,
      };
      expect(await repo.putCredential(cred)).toBe('created');
      expect(await repo.putCredential({ ...cred, description: 'b', updatedAt: now + 1 })).toBe('updated');
      expect(await repo.getCredential('ws_1', 'openai')).toMatchObject({
        description: 'b',
        createdAt: now,
        updatedAt: now + 1,
      });
      expect((await repo.getCredential('ws_1', 'openai'))?.sealed.equals(Buffer.from([9, 8, 7]))).toBe(true);
      const conn = {
        workspaceId: 'ws_1',
        name: 'gpt',
        kind: 'openai',
        baseUrl: 'https://llm.bank.example/v1',
        credential: 'openai',
        models: ['gpt-x'],
        deployment: 'vendor',
        dataClasses: ['public'],
        pricing: null,
        description: '',
        createdAt: now,
        createdBy: 'u1',
        updatedAt: now,
      } as const;
      expect(await repo.putConnection(conn as never)).toBe('created');
      expect(await repo.putConnection({ ...conn, models: ['gpt-y'] } as never)).toBe('updated');
      expect((await repo.getConnection('ws_1', 'gpt'))?.models).toEqual(['gpt-y']);
      expect(await repo.connectionsUsing('ws_1', 'openai')).toEqual(['gpt']);
      expect((await repo.listConnections('ws_1')).length).toBe(1);
      expect(await repo.deleteConnection('ws_1', 'gpt')).toBe(true);
      expect(await repo.deleteCredential('ws_1', 'openai')).toBe(true);
      expect(await repo.deleteCredential('ws_1', 'openai')).toBe(false);
      expect(await repo.listCredentials('ws_1')).toEqual([]);
    });

    it('refuses a taken slug with a typed conflict, and lists deployments newest first', async (ctx) => {
      const { repo } = await open(ctx);
      await repo.createEndpoint(endpoint('e1', 'score', 'd1'), deployment('d1', 'e1'));
      const err = await rejection(repo.createEndpoint(endpoint('e2', 'score', 'd2'), deployment('d2', 'e2')));
      expect(isUniqueViolation(err)).toBe(true);
      // The endpoint's deployment was not kept either (one transaction).
      expect(await repo.getDeployment('d2')).toBeUndefined();
      // Two deployments in the same millisecond still list in the order they were made.
      await repo.updateEndpoint(
        'e1',
        { status: 'disabled', rateLimitPerMinute: 5, updatedAt: now + 1 },
        deployment('d3', 'e1'),
      );
      await repo.updateEndpoint('e1', { updatedAt: now + 2 }, deployment('d4', 'e1'));
      expect(await repo.getEndpointBySlug('score')).toMatchObject({
        status: 'disabled',
        rateLimitPerMinute: 5,
        mode: 'sync',
        deploymentId: 'd4',
        updatedAt: now + 2,
      });
      expect((await repo.listDeployments('e1')).map((d) => d.id)).toEqual(['d4', 'd3', 'd1']);
      expect((await repo.getDeployment('d1'))?.targets).toEqual([{ version: 1, weight: 100 }]);
      expect(await repo.getEndpoint('ws_2', 'e1')).toBeUndefined();
      expect((await repo.listEndpoints('ws_1')).map((e) => e.id)).toEqual(['e1']);
    });

    it('revokes an API key once', async (ctx) => {
      const { repo } = await open(ctx);
      await repo.createApiKey({
        id: 'k1',
        workspaceId: 'ws_1',
        name: 'n',
        prefix: 'ff_x',
        hash: 'h',
        endpoints: '*',
        createdAt: now,
        createdBy: null,
        lastUsedAt: null,
        revokedAt: null,
      });
      expect((await repo.listApiKeys('ws_1'))[0]?.endpoints).toBe('*');
      expect(await repo.revokeApiKey('ws_2', 'k1', now)).toBe(false);
      expect(await repo.revokeApiKey('ws_1', 'k1', now)).toBe(true);
      expect(await repo.revokeApiKey('ws_1', 'k1', now)).toBe(false);
      expect((await repo.getApiKeyByHash('h'))?.revokedAt).toBe(now);
    });
  });

  describe('evaluations', () => {
    const evaluation = (id: string, patch: Partial<EvaluationRecord> = {}): EvaluationRecord => ({
      id,
      workspaceId: 'ws_1',
      flowId: 'flw_1',
      versions: [1, 2],
      datasetName: 'german-credit.csv',
      datasetRows: 1000,
      datasetSha256: 'ab'.repeat(32),
      spec: '{"label":"risk"}',
      status: 'running',
      progressDone: 0,
      progressTotal: 2000,
      report: null,
      error: null,
      createdBy: 'u1',
      createdAt: now,
      finishedAt: null,
      ...patch,
    });

    it('reads an evaluation back, updates it only while it runs, and lists a flow’s newest first without reports', async (ctx) => {
      const { repo } = await open(ctx);
      await repo.createEvaluation(evaluation('ev1'));
      await repo.createEvaluation(evaluation('ev2', { createdAt: now + 1 }));
      await repo.createEvaluation(evaluation('ev3', { flowId: 'flw_2' }));
      await repo.createEvaluation(evaluation('ev4', { workspaceId: 'ws_2' }));
      expect(await repo.getEvaluation('ws_1', 'ev1')).toEqual(evaluation('ev1'));
      expect(await repo.getEvaluation('ws_2', 'ev1')).toBeUndefined();
      await expect(repo.createEvaluation(evaluation('ev1'))).rejects.toThrow();

      expect(await repo.updateEvaluation('ev1', { progressDone: 500 })).toBe(true);
      expect(await repo.updateEvaluation('ev1', {})).toBe(true);
      expect(
        await repo.updateEvaluation('ev1', {
          status: 'succeeded',
          progressDone: 2000,
          report: '{"metrics":{}}',
          finishedAt: now + 9,
        }),
      ).toBe(true);
      expect(await repo.getEvaluation('ws_1', 'ev1')).toMatchObject({
        status: 'succeeded',
        progressDone: 2000,
        report: '{"metrics":{}}',
        finishedAt: now + 9,
      });
      // A finished (or cancelled) evaluation stands: a late progress update from its worker changes nothing.
      expect(await repo.updateEvaluation('ev1', { progressDone: 1, status: 'failed' })).toBe(false);
      expect((await repo.getEvaluation('ws_1', 'ev1'))?.status).toBe('succeeded');
      expect(await repo.updateEvaluation('nope', { progressDone: 1 })).toBe(false);

      const listed = await repo.listEvaluations('ws_1', 'flw_1', 10);
      expect(listed.map((e) => e.id)).toEqual(['ev2', 'ev1']);
      expect(listed.map((e) => e.report)).toEqual([null, null]);
      expect(listed[1]).toMatchObject({ versions: [1, 2], datasetRows: 1000, status: 'succeeded' });
      expect((await repo.listEvaluations('ws_1', 'flw_1', 1)).map((e) => e.id)).toEqual(['ev2']);
      expect(await repo.listEvaluations('ws_2', 'flw_2', 10)).toEqual([]);
    });

    it('marks the evaluations still running as interrupted when a server starts, and only those', async (ctx) => {
      const { repo } = await open(ctx);
      await repo.createEvaluation(evaluation('ev1'));
      await repo.createEvaluation(evaluation('ev2', { workspaceId: 'ws_2' }));
      await repo.createEvaluation(evaluation('ev3', { status: 'cancelled', finishedAt: now }));
      expect(await repo.interruptRunningEvaluations(now + 5)).toBe(2);
      expect(await repo.getEvaluation('ws_1', 'ev1')).toMatchObject({
        status: 'interrupted',
        finishedAt: now + 5,
        error: 'the server stopped while the evaluation ran',
      });
      expect((await repo.getEvaluation('ws_2', 'ev2'))?.status).toBe('interrupted');
      expect(await repo.getEvaluation('ws_1', 'ev3')).toMatchObject({ status: 'cancelled', finishedAt: now });
      expect(await repo.interruptRunningEvaluations(now + 6)).toBe(0);
    });
  });

  describe('model artefacts', () => {
    it('stores an artefact once per workspace and hash (the first row stays), reads it back exactly, and lists newest first without content', async (ctx) => {
      const { repo } = await open(ctx);
      const content = JSON.stringify({ kind: 'scorecard', weights: [0.1, -2.5e-17, 3], note: '中文' });
      const a = {
        workspaceId: 'ws_1',
        sha256: 'a'.repeat(64),
        kind: 'scorecard',
        nodeType: 'risk.scorecard',
        content,
        bytes: Buffer.byteLength(content),
        flowId: 'f1',
        flowVersion: 1,
        createdAt: now,
        createdBy: 'u1',
      };
      expect(await repo.putArtefact(a)).toBe('created');
      // Immutable: a second put of the same hash (even claiming other content) changes nothing.
      expect(await repo.putArtefact({ ...a, content: '{}', flowVersion: 2, createdAt: now + 9 })).toBe(
        'exists',
      );
      expect(await repo.getArtefact('ws_1', a.sha256)).toEqual(a);
      // Another workspace has its own copy, or none.
      expect(await repo.getArtefact('ws_2', a.sha256)).toBeUndefined();
      expect(await repo.putArtefact({ ...a, workspaceId: 'ws_2', flowId: null, flowVersion: null })).toBe(
        'created',
      );
      expect((await repo.getArtefact('ws_2', a.sha256))?.flowId).toBeNull();
      await repo.putArtefact({
        ...a,
        sha256: 'b'.repeat(64),
        kind: 'fraud-model',
        createdAt: now + 1,
        createdBy: null,
      });
      await repo.putArtefact({ ...a, sha256: 'c'.repeat(64), createdAt: now + 2 });
      const list = await repo.listArtefacts('ws_1', 10);
      expect(list.map((x) => x.sha256[0])).toEqual(['c', 'b', 'a']);
      expect(list[0]).not.toHaveProperty('content');
      expect(list[1]).toMatchObject({ kind: 'fraud-model', createdBy: null, bytes: a.bytes });
      expect((await repo.listArtefacts('ws_1', 1, now + 2)).map((x) => x.sha256[0])).toEqual(['b']);
      expect((await repo.listArtefacts('ws_2', 10)).map((x) => x.sha256[0])).toEqual(['a']);
    });

    it('creates a flow with a whole version history at once, or not at all', async (ctx) => {
      const { repo } = await open(ctx);
      await repo.createWorkspace({ id: 'ws_1', name: 'Bank', createdAt: now });
      await repo.createFlow(flow('f1', 'Credit', { latestVersion: 3 }), [
        version('f1', 1),
        version('f1', 2),
        version('f1', 3),
      ]);
      expect((await repo.listVersions('f1')).map((v) => v.number)).toEqual([3, 2, 1]);
      // A duplicate version in the history fails the whole creation: no flow is left behind.
      await expect(
        repo.createFlow(flow('f2', 'Broken'), [version('f2', 1), version('f2', 1)]),
      ).rejects.toBeInstanceOf(StorageConflict);
      expect(await repo.getFlow('ws_1', 'f2')).toBeUndefined();
      expect(await repo.listVersions('f2')).toEqual([]);
    });
  });

  describe('continuous learning', () => {
    const learning = (endpointId: string, workspaceId = 'ws_1') => ({
      workspaceId,
      endpointId,
      config: JSON.stringify({ nodeId: 'scorecard' }),
      updatedAt: now,
      updatedBy: 'user:u1',
    });

    it('keeps an endpoint’s settings per workspace, replacing the config but not the baseline or history', async (ctx) => {
      const { repo } = await open(ctx);
      await repo.putLearning(learning('e1'));
      expect(await repo.getLearning('ws_2', 'e1')).toBeUndefined();
      await repo.setLearningBaseline('e1', '{"features":[]}');
      expect(await repo.claimLearning('e1', 'server-a', now, now + 1000)).toBe(true);
      expect(
        await repo.releaseLearning('e1', 'server-a', { lastRetrainAt: now, lastRetrainLabels: 40 }),
      ).toBe(true);
      await repo.putLearning({ ...learning('e1'), config: '{"nodeId":"fraud"}', updatedAt: now + 1 });
      expect(await repo.getLearning('ws_1', 'e1')).toEqual({
        workspaceId: 'ws_1',
        endpointId: 'e1',
        config: '{"nodeId":"fraud"}',
        baseline: '{"features":[]}',
        lastRetrainAt: now,
        lastRetrainLabels: 40,
        leaseOwner: null,
        leaseUntil: null,
        updatedAt: now + 1,
        updatedBy: 'user:u1',
      });
      await repo.putLearning(learning('e2', 'ws_2'));
      expect((await repo.listLearning()).map((l) => l.endpointId)).toEqual(['e1', 'e2']);
    });

    it('gives the retraining lease to one of two servers, until it expires or is released', async (ctx) => {
      const { repo, another } = await open(ctx);
      const other = await another();
      await repo.putLearning(learning('e1'));
      const claims = await Promise.all([
        repo.claimLearning('e1', 'server-a', now, now + 1000),
        other.claimLearning('e1', 'server-b', now, now + 1000),
      ]);
      expect(claims.filter(Boolean)).toHaveLength(1);
      const [winner, loser] = claims[0] ? ['server-a', 'server-b'] : ['server-b', 'server-a'];
      expect(await repo.claimLearning('e1', loser, now + 500, now + 1500)).toBe(false);
      // The holder renews its own lease; a release by another server changes nothing.
      expect(await repo.claimLearning('e1', winner, now + 500, now + 1500)).toBe(true);
      expect(await repo.releaseLearning('e1', loser)).toBe(false);
      // A holder that died: its lease expires and another server takes over.
      expect(await repo.claimLearning('e1', loser, now + 2000, now + 3000)).toBe(true);
      expect(await repo.releaseLearning('e1', winner)).toBe(false);
      expect(await repo.releaseLearning('e1', loser)).toBe(true);
      expect((await repo.getLearning('ws_1', 'e1'))?.leaseOwner).toBeNull();
      expect(await repo.claimLearning('nope', 'server-a', now, now + 1)).toBe(false);
    });

    it('records retrain jobs and drift alerts per workspace, newest first, and interrupts running jobs', async (ctx) => {
      const { repo } = await open(ctx);
      const job = (id: string, createdAt: number, workspaceId = 'ws_1') => ({
        id,
        workspaceId,
        endpointId: 'e1',
        status: 'running' as const,
        trigger: 'manual' as const,
        detail: '{}',
        createdBy: 'user:u1',
        createdAt,
        finishedAt: null,
      });
      await repo.createRetrainJob(job('rt1', now));
      await repo.createRetrainJob(job('rt2', now + 1));
      await repo.createRetrainJob(job('rt3', now + 2, 'ws_2'));
      expect(
        await repo.finishRetrainJob('rt1', { status: 'succeeded', detail: '{"v":2}', finishedAt: now + 9 }),
      ).toBe(true);
      expect(
        await repo.finishRetrainJob('rt1', { status: 'failed', detail: '{}', finishedAt: now + 10 }),
      ).toBe(false);
      expect(await repo.getRetrainJob('ws_1', 'rt1')).toMatchObject({
        status: 'succeeded',
        detail: '{"v":2}',
        finishedAt: now + 9,
      });
      expect(await repo.getRetrainJob('ws_2', 'rt1')).toBeUndefined();
      expect((await repo.listRetrainJobs('ws_1', 'e1', 10)).map((j) => j.id)).toEqual(['rt2', 'rt1']);
      expect(await repo.interruptRunningRetrainJobs(now + 20, 'e2')).toBe(0);
      expect(await repo.interruptRunningRetrainJobs(now + 20)).toBe(2);
      expect((await repo.getRetrainJob('ws_1', 'rt2'))?.status).toBe('interrupted');
      const alert = (id: string, createdAt: number, workspaceId = 'ws_1') => ({
        id,
        workspaceId,
        endpointId: 'e1',
        feature: 'duration',
        psi: 0.31,
        level: 'alert' as const,
        calls: 200,
        createdAt,
      });
      await repo.addDriftAlert(alert('da1', now));
      await repo.addDriftAlert(alert('da2', now + 1));
      await repo.addDriftAlert(alert('da3', now + 2, 'ws_2'));
      const alerts = await repo.listDriftAlerts('ws_1', 'e1', 10);
      expect(alerts.map((a) => a.id)).toEqual(['da2', 'da1']);
      expect(alerts[0]).toEqual(alert('da2', now + 1));
    });
  });

  describe('federated datasets', () => {
    it('creates, updates (keeping who created it and when), lists by name per workspace and deletes', async (ctx) => {
      const { repo } = await open(ctx);
      const sealed = Buffer.from([0, 1, 2, 255, 254, 0]);
      const d = {
        workspaceId: 'ws_1',
        name: 'loans',
        description: 'retail loans 2025',
        columns: ['income', 'age', 'default'],
        rowCount: 700,
        sealedRows: sealed,
        apiKeys: ['key_1'],
        minParticipants: 3,
        createdAt: now,
        createdBy: 'u1',
        updatedAt: now,
      };
      expect(await repo.putFederatedDataset(d)).toBe('created');
      expect(await repo.putFederatedDataset({ ...d, name: 'cards', createdBy: null })).toBe('created');
      expect(await repo.putFederatedDataset({ ...d, workspaceId: 'ws_2' })).toBe('created');
      expect(
        await repo.putFederatedDataset({
          ...d,
          description: 'retail loans 2026',
          columns: ['income', 'default'],
          rowCount: 800,
          sealedRows: Buffer.from([7]),
          apiKeys: ['key_1', 'key_2'],
          minParticipants: 2,
          createdAt: now + 50,
          createdBy: 'u2',
          updatedAt: now + 50,
        }),
      ).toBe('updated');
      const got = await repo.getFederatedDataset('ws_1', 'loans');
      expect(got).toMatchObject({
        description: 'retail loans 2026',
        columns: ['income', 'default'],
        rowCount: 800,
        apiKeys: ['key_1', 'key_2'],
        minParticipants: 2,
        createdAt: now,
        createdBy: 'u1',
        updatedAt: now + 50,
      });
      expect(got?.sealedRows.equals(Buffer.from([7]))).toBe(true);
      expect((await repo.getFederatedDataset('ws_2', 'loans'))?.sealedRows.equals(sealed)).toBe(true);
      expect((await repo.getFederatedDataset('ws_1', 'cards'))?.createdBy).toBeNull();
      expect(await repo.getFederatedDataset('ws_1', 'nope')).toBeUndefined();
      expect((await repo.listFederatedDatasets('ws_1')).map((x) => x.name)).toEqual(['cards', 'loans']);
      expect(await repo.deleteFederatedDataset('ws_1', 'loans')).toBe(true);
      expect(await repo.deleteFederatedDataset('ws_1', 'loans')).toBe(false);
      expect((await repo.listFederatedDatasets('ws_1')).map((x) => x.name)).toEqual(['cards']);
      expect((await repo.listFederatedDatasets('ws_2')).map((x) => x.name)).toEqual(['loans']);
    });
  });

  describe('audit chain', () => {
    it('stays one verifiable chain per workspace when two instances append at once', async (ctx) => {
      const { repo, another } = await open(ctx);
      const other = await another();
      const writers = [new GroupCommitter(repo, 'full'), new GroupCommitter(other, 'full')];
      const appends: Promise<void>[] = [];
      for (let i = 0; i < 60; i++) {
        const w = writers[i % 2] as GroupCommitter;
        appends.push(w.commitAlone((b) => b.audit.push(audit('ws_1', i), audit('ws_2', i))));
        // Some appends come in the same turn, some in later ones.
        if (i % 7 === 0) await new Promise((r) => setTimeout(r, 1));
      }
      await Promise.all(appends);
      for (const ws of ['ws_1', 'ws_2'])
        expect(await verifyChain(repo, ws)).toEqual({ ok: true, entries: 60 });
      const rows = await repo.listAudit('ws_1', 200);
      expect(rows.map((r) => r.seq)).toEqual([...rows.map((r) => r.seq)].sort((a, b) => b - a));
      expect(new Set(rows.map((r) => r.seq)).size).toBe(60);
      expect((await repo.listAudit('ws_1', 5, rows[2]?.seq)).map((r) => r.seq)).toEqual(
        rows.slice(3, 8).map((r) => r.seq),
      );
      expect(JSON.parse((rows[0] as { details: string }).details)).toMatchObject({
        note: '中文 and ünïcode',
      });
      // Each entry is authenticated under the audit key (a key the database never holds).
      for (const r of rows) expect(r.mac).toBe(entryMac(SUITE_AUDIT_KEY, r.hash));
      await other.close();
    });

    it('refuses to change or remove an entry', async (ctx) => {
      const { repo, exec } = await open(ctx);
      await new GroupCommitter(repo, 'full').write((b) => b.audit.push(audit('ws_1', 1)));
      await expect(exec("UPDATE audit_log SET action = 'nothing'")).rejects.toThrow();
      await expect(exec('DELETE FROM audit_log')).rejects.toThrow();
      expect(await verifyChain(repo, 'ws_1')).toEqual({ ok: true, entries: 1 });
    });
  });
}

/** A fresh id for stores that need one name per test. */
export const storeId = (): string => randomUUID().replace(/-/g, '').slice(0, 12);
