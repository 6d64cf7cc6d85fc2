/**
 * A database for a benchmark: a fresh database on DATABASE_URL, or on an embedded
 * PostgreSQL started for the run, migrated to the latest schema.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createPool, ensureDatabase, type Sql } from '../server/db/connect.ts';
import { startEmbeddedPostgres } from '../server/db/embedded.ts';
import { migrate } from '../server/db/migrate.ts';
import { freePort } from '../scripts/free_port.ts';

export type BenchDatabase = { sql: Sql; url: string; close(): Promise<void> };

export async function openBenchDatabase(name: string): Promise<BenchDatabase> {
  let baseUrl = process.env.DATABASE_URL;
  let stop: (() => Promise<void>) | null = null;
  let tmp: string | null = null;
  if (!baseUrl) {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'vml-bench-'));
    const pg = await startEmbeddedPostgres({ pgDir: path.join(tmp, 'pg'), port: await freePort() });
    baseUrl = pg.url;
    stop = pg.stop;
  }
  const dbName = `bench_${name}_${process.pid}`;
  const admin = createPool(baseUrl, { max: 1 });
  await admin.unsafe(`drop database if exists ${dbName} with (force)`);
  await admin.end();
  const url = await ensureDatabase(baseUrl, dbName);
  const sql = createPool(url, { max: 20 });
  await migrate(sql);
  return {
    sql,
    url,
    async close() {
      await sql.end({ timeout: 5 });
      const a = createPool(baseUrl!, { max: 1 });
      await a.unsafe(`drop database if exists ${dbName} with (force)`).catch(() => {});
      await a.end();
      await stop?.();
      if (tmp) rmSync(tmp, { recursive: true, force: true });
    },
  };
}
