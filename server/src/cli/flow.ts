/**
 * `finflow flow promote <flow> --to <workspace> --connection <from=to> ... --credential <from=to> ...`: promotes a
 * flow (its version history and model artefacts) into another workspace on a running server through its HTTP API
 * (server/API.md, Across the business), signed in as FINFLOW_EMAIL. Workspaces and flows are named by id or name.
 * A mapping that is not complete prints what must be mapped and exits 1.
 */
import { parseArgs } from 'node:util';
import { CliError } from './main.js';
import { refusal, sessionFromEnv, type Answer, type Refusal } from './session.js';

interface Io {
  out(text: string): void;
  err(text: string): void;
}

export const flowUsage = `Usage: finflow flow promote <flow id or name> --to <workspace id or name> [options]

  --from <workspace id or name>    the flow's workspace (default: the account's current one)
  --connection <source>=<target>   map a connection the flow names to one of the target's (repeat per connection)
  --credential <source>=<target>   map a credential a node names to one of the target's (repeat per credential)
  --name <text>                    the promoted flow's name (default: the source flow's)
  --message <text>                 why, for both workspaces' audit trails
  --json                           the server's answer as JSON

Credentials never cross workspaces: the target's own connections and credentials are used. The promoted flow has
no endpoint and no rollout; publish it and start its pilot there.
Sign-in: FINFLOW_EMAIL and FINFLOW_PASSWORD; the server: --server or FINFLOW_URL (default http://127.0.0.1:3000).`;

/** `a=b` pairs as an object; CliError on anything else. */
export function pairs(values: readonly string[] | undefined, option: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values ?? []) {
    const eq = v.indexOf('=');
    if (eq <= 0 || eq === v.length - 1) throw new CliError(`${option} takes <source>=<target>, not "${v}"`);
    out[v.slice(0, eq)] = v.slice(eq + 1);
  }
  return out;
}

/** The refusal of a mapping as lines a person can act on. */
function describeRefusal(error: Refusal): string {
  const lines = [`${error.code ?? 'ERROR'}: ${error.message ?? 'the server refused'}`];
  const d = error.details;
  const targets = d?.['targetConnections'] as { name: string; kind: string }[] | undefined;
  if (targets)
    lines.push(
      `  the target's connections: ${targets.map((c) => `${c.name} (${c.kind})`).join(', ') || 'none'}`,
    );
  const creds = d?.['targetCredentials'] as string[] | undefined;
  if (creds) lines.push(`  the target's credentials: ${creds.join(', ') || 'none'}`);
  return lines.join('\n');
}

export async function flowCommand(argv: string[], io: Io): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        server: { type: 'string' },
        to: { type: 'string' },
        from: { type: 'string' },
        connection: { type: 'string', multiple: true },
        credential: { type: 'string', multiple: true },
        name: { type: 'string' },
        message: { type: 'string' },
        json: { type: 'boolean' },
      },
    });
  } catch (err) {
    throw new CliError(`${(err as Error).message}\n\n${flowUsage}`);
  }
  const { values, positionals } = parsed;
  const [action, flowName] = positionals;
  if (action !== 'promote' || !flowName || positionals.length > 2 || !values.to)
    throw new CliError(flowUsage);
  const connections = pairs(values.connection, '--connection');
  const credentials = pairs(values.credential, '--credential');
  const session = sessionFromEnv(values.server);
  const fail = (answer: Answer) => refusal(answer, describeRefusal);

  const workspaces = await session.get('/api/workspaces');
  if (workspaces.status !== 200) throw fail(workspaces);
  const list = workspaces.body as unknown as { id: string; name: string }[];
  const find = (w: string) => {
    const hits = list.filter((x) => x.id === w || x.name === w);
    if (hits.length !== 1)
      throw new CliError(
        hits.length
          ? `more than one workspace is called ${w}: name it by id`
          : `you are in no workspace ${w}`,
        1,
      );
    return hits[0] as { id: string; name: string };
  };
  const target = find(values.to);
  if (values.from) {
    const switched = await session.post('/api/auth/workspace', { workspaceId: find(values.from).id });
    if (switched.status !== 200) throw fail(switched);
  }
  const flows = await session.get('/api/flows');
  if (flows.status !== 200) throw fail(flows);
  const hits = (flows.body as unknown as { id: string; name: string }[]).filter(
    (f) => f.id === flowName || f.name === flowName,
  );
  if (hits.length !== 1)
    throw new CliError(
      hits.length
        ? `more than one flow is called ${flowName}: name it by id`
        : `no flow ${flowName} in this workspace`,
      1,
    );
  const flow = hits[0] as { id: string; name: string };

  const answer = await session.post(`/api/flows/${flow.id}/promote`, {
    targetWorkspaceId: target.id,
    connections,
    credentials,
    ...(values.name ? { name: values.name } : {}),
    ...(values.message ? { message: values.message } : {}),
  });
  if (answer.status !== 201) throw fail(answer);
  if (values.json) {
    io.out(JSON.stringify(answer.body, null, 2));
    return 0;
  }
  const promoted = answer.body['flow'] as { id: string; name: string };
  const artefacts = answer.body['artefacts'] as string[];
  io.out(
    `promoted ${flow.name} into ${target.name} as ${promoted.id} (${String(answer.body['versions'])} versions, ${artefacts.length} model artefacts); it has no endpoint yet: publish it and start its pilot there`,
  );
  return 0;
}
