import type { Command } from 'commander';
import { cliActor, writeAudit } from '../../api/audit.ts';
import {
  createToken,
  listTokens,
  parseExpiresIn,
  ROLES,
  revokeToken,
} from '../../api/auth/tokens.ts';
import { DatabaseError, UsageError } from '../../lib/errors.ts';
import type { Db } from '../../model/db.ts';
import { type GlobalOptions, openDatabase } from '../context.ts';

/** DuckDB lets one process hold the file: say what to do when `serve` has it. */
export async function openForCli(options: GlobalOptions): Promise<Db> {
  try {
    return await openDatabase(options);
  } catch (err) {
    if (err instanceof DatabaseError && /lock/i.test(err.message)) {
      throw new DatabaseError(
        `${err.message.split(':')[0]}: the file is in use by another process (is \`serve\` running?); stop it, or manage tokens through the API (POST /api/v1/tokens)`,
        err.details,
        { cause: err },
      );
    }
    throw err;
  }
}

export function registerTokens(program: Command): void {
  const tokens = program.command('tokens').description('manage API bearer tokens');

  tokens
    .command('create')
    .description('create a token; it is printed once and only its hash is stored')
    .requiredOption('--role <role>', `role: ${ROLES.join(', ')}`)
    .requiredOption('--name <name>', 'who or what the token is for')
    .option('--expires-in <duration>', 'lifetime such as 90d, 12h, 2w, or "never"', '90d')
    .action(async (opts: { role: string; name: string; expiresIn: string }, cmd: Command) => {
      const options = cmd.optsWithGlobals<GlobalOptions>();
      if (!(ROLES as readonly string[]).includes(opts.role)) {
        throw new UsageError(
          `unknown role ${JSON.stringify(opts.role)}: expected one of ${ROLES.join(', ')}`,
        );
      }
      const expiresAt = parseExpiresIn(opts.expiresIn);
      const db = await openForCli(options);
      try {
        const actor = cliActor();
        const { token, info } = await createToken(db, {
          name: opts.name,
          role: opts.role,
          createdBy: actor,
          expiresAt,
        });
        await writeAudit(db, {
          actor,
          role: null,
          action: 'token.create',
          target: info.tokenId,
          outcome: 'success',
          details: { name: info.name, role: info.role, expiresAt: info.expiresAt },
          requestId: null,
          sourceIp: null,
        });
        process.stdout.write(`${token}\n`);
        if (!options.quiet) {
          process.stderr.write(
            `token ${info.tokenId} (${info.role}, "${info.name}") expires ${info.expiresAt ?? 'never'}; it is shown only this once\n`,
          );
        }
      } finally {
        db.closeAll();
      }
    });

  tokens
    .command('list')
    .description('list tokens (never their secrets)')
    .option('--json', 'JSON lines instead of a table')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const db = await openForCli(cmd.optsWithGlobals<GlobalOptions>());
      try {
        const list = await listTokens(db);
        if (opts.json) {
          for (const t of list) process.stdout.write(`${JSON.stringify(t)}\n`);
          return;
        }
        const rows = list.map((t) => [
          t.tokenId,
          t.role,
          t.name,
          t.createdAt.slice(0, 10),
          t.expiresAt?.slice(0, 10) ?? 'never',
          t.revokedAt ? `revoked ${t.revokedAt.slice(0, 10)}` : 'active',
          t.lastUsedAt?.slice(0, 19) ?? 'never',
        ]);
        const head = ['id', 'role', 'name', 'created', 'expires', 'state', 'last used'];
        const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
        for (const r of [head, ...rows]) {
          process.stdout.write(
            `${r
              .map((c, i) => c.padEnd(widths[i]!))
              .join('  ')
              .trimEnd()}\n`,
          );
        }
      } finally {
        db.closeAll();
      }
    });

  tokens
    .command('revoke')
    .description('revoke a token by id (tok_...)')
    .argument('<id>', 'token id')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const db = await openForCli(cmd.optsWithGlobals<GlobalOptions>());
      try {
        const info = await revokeToken(db, id);
        if (!info)
          throw new UsageError(`no token with id ${JSON.stringify(id)} (see \`tokens list\`)`);
        await writeAudit(db, {
          actor: cliActor(),
          role: null,
          action: 'token.revoke',
          target: id,
          outcome: 'success',
          details: { name: info.name },
          requestId: null,
          sourceIp: null,
        });
        process.stdout.write(`revoked ${info.tokenId} ("${info.name}") at ${info.revokedAt}\n`);
      } finally {
        db.closeAll();
      }
    });
}
