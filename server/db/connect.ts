/**
 * Opens the PostgreSQL connection pool (postgres.js). With a DATABASE_URL that server is
 * used as is; without one the embedded PostgreSQL is started under `dataDir/pg` and the
 * `vmledger` database created on it.
 */
import path from 'node:path';
import postgres from 'postgres';
import { startEmbeddedPostgres } from './embedded.ts';

export type Sql = postgres.Sql<{}>;

export type Database = {
  sql: Sql;
  url: string;
  /** Closes the pool and stops the embedded server when we started one. */
  close(): Promise<void>;
};

/** Creates a postgres.js pool with the project's settings (quiet notices, UTC, bigints as numbers). */
export function createPool(url: string, options: { max?: number } = {}): Sql {
  return postgres(url, {
    max: options.max ?? 10,
    onnotice: () => {},
    connection: { TimeZone: 'UTC', application_name: 'vmledger' },
    types: {
      // int8 (counts, sums) as JS numbers: every value we store fits in 2^53.
      bigint: { to: 20, from: [20], serialize: (x: number) => x.toString(), parse: (x: string) => Number(x) },
    },
  }) as unknown as Sql;
}

/** Makes sure the database named in `url` exists, creating it from the maintenance db. */
export async function ensureDatabase(url: string, name: string): Promise<string> {
  const admin = createPool(url, { max: 1 });
  try {
    const rows = await admin`select 1 from pg_database where datname = ${name}`;
    if (rows.length === 0) {
      await admin.unsafe(`create database "${name.replace(/"/g, '""')}"`).catch((err) => {
        if (err?.code !== '42P04') throw err; // created concurrently
      });
    }
  } finally {
    await admin.end();
  }
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

/** Connects to the configured database, starting the embedded one when no URL is given. */
export async function openDatabase(options: {
  databaseUrl?: string;
  dataDir: string;
  embeddedPort: number;
  onLog?: (line: string) => void;
}): Promise<Database> {
  if (options.databaseUrl) {
    const sql = createPool(options.databaseUrl);
    return { sql, url: options.databaseUrl, close: () => sql.end({ timeout: 5 }) };
  }
  const embedded = await startEmbeddedPostgres({
    pgDir: path.join(options.dataDir, 'pg'),
    port: options.embeddedPort,
    onLog: options.onLog,
  });
  const url = await ensureDatabase(embedded.url, 'vmledger');
  const sql = createPool(url);
  return {
    sql,
    url,
    close: async () => {
      await sql.end({ timeout: 5 });
      await embedded.stop();
    },
  };
}
