/**
 * `finflow audit checkpoint` and `finflow audit verify`: run against a data directory with its master key (the
 * server may be running). A checkpoint is a chain's head at this moment, signed by the server's key; an auditor
 * keeps it away from the server, and `verify --checkpoint` later proves the chain still holds it unchanged (or
 * names the first entry that does not).
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { checkpointSchema, type AuditCheckpoint } from '../audit-chain.js';
import { loadConfig } from '../config.js';
import { GroupCommitter } from '../db/group-commit.js';
import { openStorage } from '../repo/open.js';
import { AuditService, INSTANCE_AUDIT } from '../services/audit.js';
import { DomainError } from '../services/errors.js';
import { checkKnown, parseArgs, stringOption, UsageError } from './args.js';

export const auditUsage = `Usage: finflow audit checkpoint [--workspace <id>] [--data-dir <dir>]
       finflow audit verify [--workspace <id>] [--checkpoint <file>] [--data-dir <dir>]

checkpoint  prints a signed checkpoint of each audit chain (of one workspace with --workspace; "${INSTANCE_AUDIT}"
            is the chain of instance-level events) as JSON: keep it where the server cannot change it
verify      verifies each chain (exit 0 when all hold, 1 otherwise); with --checkpoint, against the kept
            checkpoint(s) in the file (one, or a list), naming the first entry that no longer matches`;

const checkpointFile = z.union([checkpointSchema, z.array(checkpointSchema).min(1)]);

export async function auditCommand(argv: string[]): Promise<number> {
  let sub: string;
  let workspace: string | undefined;
  let checkpointPath: string | undefined;
  let dataDir: string | undefined;
  try {
    const args = parseArgs(argv, ['help']);
    if (args.options.has('help') || args.positional.length === 0) {
      process.stdout.write(`${auditUsage}\n`);
      return args.options.has('help') ? 0 : 2;
    }
    sub = args.positional[0] as string;
    if (!['checkpoint', 'verify'].includes(sub) || args.positional.length > 1)
      throw new UsageError(`unknown audit command ${args.positional.join(' ')}`);
    checkKnown(args, sub === 'verify' ? ['workspace', 'checkpoint', 'data-dir'] : ['workspace', 'data-dir']);
    workspace = stringOption(args, 'workspace');
    checkpointPath = stringOption(args, 'checkpoint');
    dataDir = stringOption(args, 'data-dir');
  } catch (err) {
    process.stderr.write(`finflow audit: ${(err as Error).message}\n${auditUsage}\n`);
    return 2;
  }

  let kept: AuditCheckpoint[] = [];
  if (checkpointPath !== undefined) {
    try {
      const parsed = checkpointFile.parse(JSON.parse(readFileSync(checkpointPath, 'utf8')));
      kept = Array.isArray(parsed) ? parsed : [parsed];
    } catch (err) {
      const why = err instanceof z.ZodError ? 'not a FinFlow audit checkpoint' : (err as Error).message;
      process.stderr.write(`finflow audit: ${checkpointPath}: ${why}\n`);
      return 2;
    }
  }

  const config = loadConfig(
    dataDir === undefined ? process.env : { ...process.env, FINFLOW_DATA_DIR: dataDir },
  );
  let storage;
  try {
    storage = await openStorage(config);
  } catch (err) {
    process.stderr.write(`finflow audit: ${(err as Error).message}\n`);
    return 1;
  }
  const { repo } = storage;
  try {
    const audit = new AuditService(repo, new GroupCommitter(repo), storage.auditKeys);
    const chains = workspace
      ? [workspace]
      : kept.length
        ? [...new Set(kept.map((c) => c.workspaceId))]
        : [...(await repo.listWorkspaces()).map((w) => w.id), INSTANCE_AUDIT];
    if (sub === 'checkpoint') {
      const checkpoints = [];
      for (const id of chains) checkpoints.push(await audit.checkpoint(id));
      process.stdout.write(`${JSON.stringify(workspace ? checkpoints[0] : checkpoints, null, 2)}\n`);
      return 0;
    }
    let allOk = true;
    const results = [];
    for (const id of chains) {
      const against = kept.filter((c) => c.workspaceId === id);
      for (const cp of against.length ? against : [undefined]) {
        const result = await audit.verify(id, cp);
        allOk &&= result.ok;
        results.push({ workspaceId: id, ...result });
      }
    }
    process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
    return allOk ? 0 : 1;
  } catch (err) {
    process.stderr.write(
      `finflow audit: ${err instanceof DomainError ? err.message : (err as Error).message}\n`,
    );
    return 1;
  } finally {
    await repo.close();
  }
}
