/**
 * `finflow rollout status|start|advance|pause|resume|rollback|kill <endpoint>`: drives a phased rollout on a
 * running server through its HTTP API (server/API.md, Phased rollout), signed in as FINFLOW_EMAIL. The endpoint is
 * named by slug or id. Refusals (a gate not met, maker-checker) print the server's reason and exit 1.
 */
import { parseArgs } from 'node:util';
import { CliError, jsonArgument } from './main.js';
import { findEndpoint, refusal, sessionFromEnv, type Answer } from './session.js';

interface Io {
  out(text: string): void;
  err(text: string): void;
}

export const rolloutUsage = `Usage: finflow rollout <action> <endpoint slug or id> [options]

  status                                    stage, split, gates and transitions (--json for the whole answer)
  start --version <n> --reason <text> [--stage shadow|pilot] [--plan <file | JSON>]
  advance --reason <text>                   next stage (the approver role; not the challenger's author)
  pause | resume | rollback | kill --reason <text>

Sign-in: FINFLOW_EMAIL and FINFLOW_PASSWORD; the server: --server or FINFLOW_URL (default http://127.0.0.1:3000).`;

type Body = Record<string, unknown>;

interface Gate {
  metric: string;
  status: string;
  samples: number;
  value: number | null;
  low: number | null;
  high: number | null;
  threshold: number;
  action: string;
}
interface Transition {
  at: number;
  action: string;
  fromStage: string | null;
  toStage: string;
  toShare: number;
  reason: string;
  actor: { type: string; name?: string };
}

/** A readable summary of a rollout status answer. */
export function describeStatus(slug: string, s: Body): string {
  const lines = [
    `${slug}: ${String(s['stage'])} (${String(s['status'])}), v${String(s['championVersion'])} → v${String(s['challengerVersion'])}, challenger share ${String(s['share'])} %`,
  ];
  if (s['reason']) lines.push(`  reason: ${String(s['reason'])}`);
  for (const g of (s['gates'] as Gate[] | undefined) ?? []) {
    const interval = g.value === null ? 'no samples' : `${g.value} [${g.low ?? '?'}, ${g.high ?? '∞'}]`;
    lines.push(
      `  gate ${g.metric.padEnd(19)} ${g.status.padEnd(12)} ${interval} vs ${g.threshold} (${g.samples} samples, ${g.action})`,
    );
  }
  if (s['awaitingApproval']) lines.push('  ready: an approver may advance it');
  for (const t of (s['transitions'] as Transition[] | undefined) ?? []) {
    lines.push(
      `  ${new Date(t.at).toISOString()} ${t.action.padEnd(11)} ${t.fromStage ?? '-'} → ${t.toStage} ${t.toShare} % by ${t.actor.name ?? t.actor.type}: ${t.reason}`,
    );
  }
  return lines.join('\n');
}

export async function rolloutCommand(argv: string[], io: Io): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        server: { type: 'string' },
        reason: { type: 'string' },
        version: { type: 'string' },
        stage: { type: 'string' },
        plan: { type: 'string' },
        json: { type: 'boolean' },
      },
    });
  } catch (err) {
    throw new CliError(`${(err as Error).message}\n\n${rolloutUsage}`);
  }
  const { values, positionals } = parsed;
  const [action, endpoint] = positionals;
  const actions = ['status', 'start', 'advance', 'pause', 'resume', 'rollback', 'kill'];
  if (!action || !actions.includes(action) || !endpoint || positionals.length > 2)
    throw new CliError(rolloutUsage);
  const session = sessionFromEnv(values.server);

  const found = await findEndpoint(session, endpoint);

  let answer: Answer;
  if (action === 'status') {
    answer = await session.get(`/api/endpoints/${found.id}/rollout`);
  } else {
    if (!values.reason) throw new CliError(`rollout ${action} needs --reason <text>`);
    if (action === 'start') {
      const version = Number(values.version);
      if (!Number.isInteger(version) || version < 1)
        throw new CliError('rollout start needs --version <flow version>');
      const plan = values.plan ? jsonArgument(values.plan, '--plan') : undefined;
      answer = await session.post(`/api/endpoints/${found.id}/rollouts`, {
        challengerVersion: version,
        reason: values.reason,
        ...(values.stage ? { stage: values.stage } : {}),
        ...(plan === undefined ? {} : { plan }),
      });
    } else if (action === 'kill') {
      answer = await session.post(`/api/endpoints/${found.id}/rollout/kill`, { reason: values.reason });
    } else {
      const current = await session.get(`/api/endpoints/${found.id}/rollout`);
      if (current.status !== 200) throw refusal(current);
      answer = await session.post(`/api/rollouts/${String(current.body['id'])}/${action}`, {
        reason: values.reason,
      });
    }
  }
  if (answer.status >= 300) throw refusal(answer);
  io.out(values.json ? JSON.stringify(answer.body, null, 2) : describeStatus(found.slug, answer.body));
  return 0;
}
