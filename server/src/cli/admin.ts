/**
 * `finflow admin create --email <e> --name <n> [--password-stdin]`: creates an admin in the data directory's
 * database (the first one on a fresh install; the server may be running). The password comes from stdin with
 * --password-stdin, or is asked for twice on a terminal; there is no default password.
 */
import { createInterface } from 'node:readline';
import { z } from 'zod';
import { loadConfig } from '../config.js';
import { GroupCommitter } from '../db/group-commit.js';
import { openStorage } from '../repo/open.js';
import { AuditService } from '../services/audit.js';
import { createAdmin } from '../services/auth.js';
import { DomainError } from '../services/errors.js';
import { checkKnown, parseArgs, stringOption, UsageError } from './args.js';

export const adminUsage = `Usage: finflow admin create --email <address> --name <name> [--password-stdin] [--data-dir <dir>]

Creates an admin user who is also an instance owner (manages accounts across workspaces), in the first
workspace (created if there is none). Without --password-stdin the password is asked for on the terminal.`;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

/** Asks for a line without echoing it. */
function askHidden(question: string): Promise<string> {
  return new Promise((resolveAnswer) => {
    const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: true });
    const rlWithOutput = rl as unknown as {
      _writeToOutput: (s: string) => void;
      output: NodeJS.WritableStream;
    };
    let asked = false;
    rlWithOutput._writeToOutput = (s: string) => {
      if (!asked) {
        rlWithOutput.output.write(s);
        asked = true;
      }
    };
    rl.question(question, (answer) => {
      rl.close();
      process.stdout.write('\n');
      resolveAnswer(answer);
    });
  });
}

export async function adminCommand(argv: string[]): Promise<number> {
  let email: string;
  let name: string;
  let fromStdin: boolean;
  let dataDir: string | undefined;
  try {
    const args = parseArgs(argv, ['password-stdin', 'help']);
    if (args.options.has('help') || args.positional.length === 0) {
      process.stdout.write(`${adminUsage}\n`);
      return args.options.has('help') ? 0 : 2;
    }
    if (args.positional[0] !== 'create' || args.positional.length > 1) {
      throw new UsageError(`unknown admin command ${args.positional.join(' ')}`);
    }
    checkKnown(args, ['email', 'name', 'password-stdin', 'data-dir', 'help']);
    email = z.email().parse(stringOption(args, 'email') ?? '');
    name = stringOption(args, 'name')?.trim() ?? '';
    if (!name) throw new UsageError('--name is required');
    fromStdin = args.options.get('password-stdin') === true;
    dataDir = stringOption(args, 'data-dir');
  } catch (err) {
    const message = err instanceof z.ZodError ? '--email needs an e-mail address' : (err as Error).message;
    process.stderr.write(`finflow admin: ${message}\n${adminUsage}\n`);
    return 2;
  }

  let password: string;
  if (fromStdin) password = await readStdin();
  else if (process.stdin.isTTY) {
    password = await askHidden('Password: ');
    if ((await askHidden('Password again: ')) !== password) {
      process.stderr.write('finflow admin: the passwords differ\n');
      return 1;
    }
  } else {
    process.stderr.write(
      'finflow admin: give the password with --password-stdin (stdin is not a terminal)\n',
    );
    return 2;
  }

  const config = loadConfig(
    dataDir === undefined ? process.env : { ...process.env, FINFLOW_DATA_DIR: dataDir },
  );
  let storage;
  try {
    storage = await openStorage(config);
  } catch (err) {
    process.stderr.write(`finflow admin: ${(err as Error).message}\n`);
    return 1;
  }
  const { repo } = storage;
  try {
    const writer = new GroupCommitter(repo);
    const audit = new AuditService(repo, writer, storage.auditKeys);
    const { user, workspace } = await createAdmin(
      repo,
      audit,
      { email, name, password },
      { type: 'cli', name: 'finflow admin create' },
    );
    await writer.flush();
    process.stdout.write(`created admin ${user.email} (instance owner) in workspace "${workspace.name}"\n`);
    return 0;
  } catch (err) {
    process.stderr.write(
      `finflow admin: ${err instanceof DomainError ? err.message : (err as Error).message}\n`,
    );
    return 1;
  } finally {
    await repo.close();
  }
}
