#!/usr/bin/env node
// `npm run demo:rollout`: a phased rollout a newcomer can watch. Starts a FinFlow server (temporary data folder),
// publishes the credit-approval template, and sends it loan applications made from German Credit rows
// (datasets/german-credit), reporting each row's real outcome (did the borrower default?) as feedback a few
// applications later. A deliberately worse challenger (loose cut-offs: it approves almost everyone) goes into a
// pilot and is rolled back by its outcome gate; then a better one (a stricter cut-off) goes through a pilot in which
// every challenger decision waits for a reviewer before release (the caller gets 202 and the run id, then the
// reviewed answer), and through the expansion steps to optimisation, each step approved by an approver who did not
// write it. Open the printed
// address and the endpoint's Rollout page to watch it live. `--exit` stops the server at the end (otherwise it
// keeps serving until Ctrl-C).
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { apiClient, repoRoot, startServer } from '../test/e2e/harness.mjs';

const exitAtEnd = process.argv.includes('--exit');
const say = (line = '') => process.stdout.write(`${line}\n`);
// A fresh password for each person on every run: the server listens on a real port while the demo runs, and a
// password printed in a public script would sign anyone on this machine in. The script prints them below.
const password = () => `demo-${randomBytes(12).toString('base64url')}`;
const people = {
  admin: { email: 'admin@bank.example', name: 'Ada Admin', password: password() },
  developer: { email: 'model.dev@bank.example', name: '张伟 (model developer)', password: password() },
  approver: { email: 'risk.approver@bank.example', name: '陈静 (risk approver)', password: password() },
};

if (!existsSync(join(repoRoot, 'server/dist')) || !existsSync(join(repoRoot, 'editor/dist/index.html'))) {
  say('Building FinFlow (first run only)…');
  const b = spawnSync('npm', ['run', 'build'], { cwd: repoRoot, stdio: 'inherit' });
  if (b.status !== 0) process.exit(b.status ?? 1);
}

// German Credit rows as loan applications: the template's own mapping (its modelRow node) read backwards.
const template = JSON.parse(readFileSync(join(repoRoot, 'templates/credit-approval/flow.json'), 'utf8'));
const fixture = JSON.parse(
  readFileSync(
    join(repoRoot, 'templates/credit-approval/fixtures/approve-established-customer.json'),
    'utf8',
  ),
);
const modelRow = template.nodes.find((n) => n.id === 'modelRow').config.expression;
const reverse = {};
for (const m of modelRow.matchAll(/"(\w+)": \$lookup\((\{[^}]*\}), (?:\$f|input\.loan)\.(\w+)\)/g)) {
  const forward = JSON.parse(m[2]);
  reverse[m[1]] = { field: m[3], codes: Object.fromEntries(Object.entries(forward).map(([k, v]) => [v, k])) };
}
const columns = [
  'checking_status',
  'duration',
  'credit_history',
  'purpose',
  'credit_amount',
  'savings_status',
  'employment',
  'installment_rate',
  'personal_status',
  'other_parties',
  'residence_since',
  'property_magnitude',
  'age',
  'other_payment_plans',
  'housing',
];
const rows = readFileSync(join(repoRoot, 'datasets/german-credit/german.data'), 'utf8')
  .trim()
  .split('\n')
  .map((line) => line.trim().split(/\s+/));

/** A mainland resident identity number for a birth date (the check character computed as GB 11643 says). */
function idNumber(area, birth, seq) {
  const body = `${area}${birth.replaceAll('-', '')}${String(seq).padStart(3, '0')}`;
  const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const sum = [...body].reduce((s, d, i) => s + Number(d) * weights[i], 0);
  return body + '10X98765432'[sum % 11];
}

function application(row, n) {
  const input = structuredClone(fixture);
  const get = (name) => row[columns.indexOf(name)];
  input.application.id = `APP-2026-${String(300_000 + n)}`;
  for (const [column, { field, codes }] of Object.entries(reverse)) {
    const value = codes[get(column)];
    if (value === undefined) continue;
    if (field === 'purpose') input.loan.purpose = value;
    else input.finances[field] = value;
  }
  input.loan.amount = Number(get('credit_amount'));
  input.loan.durationMonths = Number(get('duration'));
  const born = `${2026 - Number(get('age'))}-03-08`;
  input.applicant.dateOfBirth = born;
  input.applicant.idNumber = idNumber('310104', born, 100 + (n % 800));
  return { input, defaulted: row[20] === '2' };
}

say('Starting a FinFlow server with a fresh data folder…');
const server = await startServer({ admin: people.admin, quiet: true });
const { url } = server;
const admin = await apiClient(url, people.admin.email, people.admin.password);
for (const [role, p] of [
  ['developer', people.developer],
  ['approver', people.approver],
])
  await admin('POST', '/api/users', { ...p, role });
const developer = await apiClient(url, people.developer.email, people.developer.password);
const approver = await apiClient(url, people.approver.email, people.approver.password);

// Version 1 is the template; version 2 declares how outcomes are reported (a default flag per application id).
const created = await admin('POST', '/api/flows', { templateId: 'credit-approval', name: 'Credit approval' });
const flowId = created.flow.id;
const withFeedback = structuredClone((await admin('GET', `/api/flows/${flowId}`)).document);
withFeedback.settings = {
  ...withFeedback.settings,
  feedback: {
    labelSchema: { type: 'object', required: ['defaulted'], properties: { defaulted: { type: 'boolean' } } },
    businessKey: 'application.id',
    predictionPath: 'decision.outcome',
  },
};
const champion = (
  await admin('PUT', `/api/flows/${flowId}`, { document: withFeedback, message: 'report outcomes' })
).version.number;
const endpoint = await admin('POST', '/api/endpoints', {
  flowId,
  version: champion,
  slug: 'credit-approval',
});
const key = (await admin('POST', '/api/keys', { name: 'loan origination system', endpoints: [endpoint.id] }))
  .key;

/** A challenger written by the model developer: the same flow with other scorecard cut-offs. */
async function challenger(approve, decline, message) {
  const doc = structuredClone(withFeedback);
  doc.nodes.find((n) => n.id === 'scorecard').config.decisionBands = {
    basis: 'probability',
    approve,
    decline,
  };
  return (await developer('PUT', `/api/flows/${flowId}`, { document: doc, message })).version.number;
}
const worse = await challenger(0.9, 0.95, 'loose cut-offs: approve below 90 % probability of default');
const better = await challenger(
  0.2,
  0.3,
  'retrained cut-offs: approve below 20 %, decline from 30 % probability of default',
);

say();
say(`FinFlow is serving at ${url}`);
say(
  `  Sign in as ${people.approver.email} / ${people.approver.password} (or the admin ${people.admin.email} / ${people.admin.password})`,
);
say(`  and open ${url}/#/endpoints/${endpoint.id}/rollout to watch the rollout dashboard.`);
say();
say(
  `Endpoint credit-approval answers with version ${champion} (the champion). Challengers by the model developer:`,
);
say(`  v${worse}: approve below 90 % probability of default (deliberately worse)`);
say(
  `  v${better}: approve below 20 %, decline from 30 % probability of default (fewer referrals to underwriters)`,
);

const plan = {
  subjectPath: 'application.id',
  pilotShare: 30,
  steps: [50, 100],
  minStageMs: 2_000,
  shadowSample: 0,
  predictionPath: 'decision.outcome',
  labelPath: 'defaulted',
  labelMap: { true: 'decline', false: 'approve' },
  // Outcomes are known for approved loans only: agreement is 1 − the bad rate of approved loans.
  judged: ['approve'],
  gates: [
    { metric: 'errorRate', threshold: 0.05, minSamples: 30, action: 'rollback' },
    { metric: 'outcomeAgreement', threshold: 0.8, minSamples: 30, action: 'rollback' },
  ],
};

let next = 0;
const delayed = [];
const held = new Map();
let reviewed = 0;
/** The pilot's reviewer: releases each held challenger decision (approving it), as an underwriter would. */
async function reviewHeld() {
  const tasks = await approver('GET', '/api/reviews?queue=pilot-review&status=open&limit=200');
  for (const task of tasks) {
    try {
      await approver('POST', `/api/reviews/${task.id}/decision`, {
        action: 'approve',
        reason: 'checked against the credit policy before release',
      });
      reviewed++;
    } catch {
      continue;
    }
    const h = held.get(task.runId);
    if (!h) continue;
    held.delete(task.runId);
    delayed.push({ at: next + OUTCOME_DELAY, runId: task.runId, defaulted: h.defaulted });
  }
}
const OUTCOME_DELAY = 25;
async function callOne() {
  const n = next++;
  const { input, defaulted } = application(rows[n % rows.length], n);
  const res = await fetch(`${url}/v1/endpoints/credit-approval`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(input),
  });
  const body = await res.json();
  // A decided application's outcome arrives later (here: 25 applications later); referred ones wait for a person.
  if (res.status === 200) delayed.push({ at: n + OUTCOME_DELAY, runId: body.runId, defaulted });
  // Held for review before release: its outcome is reported once the reviewed decision went out.
  else if (res.status === 202 && body.status === 'waiting') held.set(body.runId, { n, defaulted });
  while (delayed.length && delayed[0].at <= n) {
    const due = delayed.shift();
    await fetch(`${url}/v1/endpoints/credit-approval/feedback`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ runId: due.runId, label: { defaulted: due.defaulted } }),
    });
  }
}
async function traffic(count) {
  const workers = Array.from({ length: 4 }, async () => {
    for (let i = 0; i < count / 4; i++) await callOne();
  });
  await Promise.all(workers);
}

const pct = (v) => (v === null ? '—' : `${(v * 100).toFixed(1)} %`);
function gateLine(g) {
  if (g.metric === 'outcomeAgreement')
    return `outcome agreement ${pct(g.value)} (95 % bound ${pct(g.low)}–${pct(g.high)}, ${g.samples} labelled approvals; champion ${pct(g.champion?.value ?? null)}) ${g.status}`;
  return `${g.metric} ${pct(g.value)} over ${g.samples} calls ${g.status}`;
}
async function report() {
  const s = await admin('GET', `/api/endpoints/${endpoint.id}/rollout`);
  say(
    `  after ${String(next).padStart(4)} applications: ${s.stage} ${s.status}, v${s.challengerVersion} answers ${s.share} %; ${s.gates.map(gateLine).join('; ')}`,
  );
  return s;
}

say();
say(`1. The developer starts a pilot of v${worse}: 30 % of applicants (sticky on the application id).`);
await developer('POST', `/api/endpoints/${endpoint.id}/rollouts`, {
  challengerVersion: worse,
  stage: 'pilot',
  reason: 'pilot the loose cut-offs on 30 % of applicants',
  plan,
});
let s;
for (let round = 0; round < 20; round++) {
  await traffic(60);
  await new Promise((r) => setTimeout(r, 1_200));
  s = await report();
  if (s.status !== 'active') break;
}
if (s.status === 'rolled-back') {
  say(`   Rolled back automatically: ${s.reason}.`);
  say(`   The next application already went to v${s.championVersion}; nobody had to act.`);
} else say(`   (not rolled back after ${next} applications: ${s.status})`);

say();
say(
  `2. The developer starts a pilot of v${better} in which a reviewer checks every challenger decision before it`,
);
say(
  '   is released (the loan system gets 202 and polls); the approver advances each stage when its gates hold.',
);
await developer('POST', `/api/endpoints/${endpoint.id}/rollouts`, {
  challengerVersion: better,
  stage: 'pilot',
  reason: 'pilot the retrained cut-offs on 30 % of applicants, each decision reviewed before release',
  plan: { ...plan, review: { beforeRelease: true, queue: 'pilot-review' } },
});
for (let round = 0; round < 60; round++) {
  await traffic(60);
  await reviewHeld();
  await new Promise((r) => setTimeout(r, 1_200));
  s = await report();
  if (s.stage === 'pilot') say(`   ${reviewed} challenger decisions reviewed before release so far`);
  if (s.status !== 'active' || s.stage === 'optimisation') break;
  if (s.awaitingApproval) {
    try {
      s = await approver('POST', `/api/rollouts/${s.id}/advance`, {
        reason: `gates hold in ${s.stage} after ${next} applications`,
      });
      say(
        `   ${people.approver.name} approved: now ${s.stage}, v${s.challengerVersion} answers ${s.share} %.`,
      );
    } catch (err) {
      say(`   advancing was refused: ${err.message}`);
    }
    if (s.stage === 'optimisation') break;
  }
}
say();
if (s.stage === 'optimisation')
  say(
    `v${better} is champion at 100 % (optimisation): its gates keep watching and a broken one becomes an alert.`,
  );
else say(`v${better} stopped in ${s.stage} (${s.status}${s.reason ? `: ${s.reason}` : ''}).`);
say('Transitions (who, when, why), also in the audit log:');
for (const t of s.transitions ?? [])
  say(
    `  ${new Date(t.at).toISOString()} ${t.action} ${t.fromStage ?? '-'} → ${t.toStage} ${t.toShare} % by ${t.actor.name ?? t.actor.type}: ${t.reason}`,
  );
say();
if (exitAtEnd) {
  await server.stop();
} else {
  say(`The server keeps serving at ${url} (Ctrl-C stops it and removes its data folder).`);
  process.once('SIGINT', () => void server.stop().then(() => process.exit(0)));
}
