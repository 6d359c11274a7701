/**
 * `finflow retrain <endpoint>`: retrains an endpoint's model from its feedback on a running server
 * (server/API.md, Continuous learning), signed in as FINFLOW_EMAIL, and prints what the job reports: the new
 * version (never published), the columns the masking kept out, the holdout comparison and the proposal.
 * `--drift` prints the drift of the served version instead.
 */
import { parseArgs } from 'node:util';
import { CliError } from './main.js';
import { findEndpoint, refusal, sessionFromEnv } from './session.js';

interface Io {
  out(text: string): void;
  err(text: string): void;
}

export const retrainUsage = `Usage: finflow retrain <endpoint slug or id> [--reason <text>] [--no-wait] [--json]
       finflow retrain <endpoint slug or id> --drift [--json]

Retrains the endpoint's trainable node from its feedback (settings: PUT /api/endpoints/:id/learning) into a new
flow version, compares it with the champion on a holdout and proposes it for shadow or pilot; never publishes.
Sign-in: FINFLOW_EMAIL and FINFLOW_PASSWORD; the server: --server or FINFLOW_URL (default http://127.0.0.1:3000).`;

export async function retrainCommand(argv: string[], io: Io): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        server: { type: 'string' },
        reason: { type: 'string' },
        'no-wait': { type: 'boolean' },
        drift: { type: 'boolean' },
        json: { type: 'boolean' },
      },
    });
  } catch (err) {
    throw new CliError(`${(err as Error).message}\n\n${retrainUsage}`);
  }
  const { values, positionals } = parsed;
  const [endpoint] = positionals;
  if (!endpoint || positionals.length > 1) throw new CliError(retrainUsage);
  const session = sessionFromEnv(values.server);
  const found = await findEndpoint(session, endpoint);

  if (values.drift) {
    const d = await session.get(`/api/endpoints/${found.id}/drift`);
    if (d.status !== 200) throw refusal(d);
    if (values.json) io.out(JSON.stringify(d.body, null, 2));
    else {
      const b = d.body as {
        version: number;
        calls: number;
        thresholds: { watch: number; alert: number };
        score: { psi: number | null; level: string } | null;
        features: { name: string; psi: number | null; level: string }[];
      };
      io.out(
        `${found.slug} v${b.version}: PSI over ${b.calls} calls (watch ≥ ${b.thresholds.watch}, alert ≥ ${b.thresholds.alert})`,
      );
      for (const f of [...(b.score ? [{ ...b.score, name: '(score)' }] : []), ...b.features])
        io.out(`  ${f.name.padEnd(28)} ${f.psi === null ? '–' : f.psi.toFixed(3)} ${f.level}`);
    }
    return 0;
  }

  const started = await session.post(
    `/api/endpoints/${found.id}/retrain`,
    values.reason ? { reason: values.reason } : {},
  );
  if (started.status !== 202) throw refusal(started);
  let job = started.body;
  while (!values['no-wait'] && job['status'] === 'running') {
    await new Promise((r) => setTimeout(r, 500));
    const r = await session.get(`/api/retrain-jobs/${String(job['id'])}`);
    if (r.status !== 200) throw refusal(r);
    job = r.body;
  }
  if (values.json) io.out(JSON.stringify(job, null, 2));
  else if (job['status'] === 'running') io.out(`retrain job ${String(job['id'])} started`);
  else if (job['status'] === 'succeeded') io.out(String(job['summary']));
  else io.err(`retrain job ${String(job['id'])} ${String(job['status'])}: ${String(job['error'] ?? '')}`);
  return job['status'] === 'failed' || job['status'] === 'interrupted' ? 1 : 0;
}
