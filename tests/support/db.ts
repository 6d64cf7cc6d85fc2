/**
 * A throwaway database per suite on the test PostgreSQL (TEST_DATABASE_URL, set by
 * scripts/test.ts: the embedded server or a given DATABASE_URL), migrated to the latest
 * schema. Suites never share data.
 */
import { createPool, type Sql } from '../../server/db/connect.ts';
import { migrate } from '../../server/db/migrate.ts';
import { setLogLevel } from '../../server/log.ts';

// In-process servers log at the level the test runner asks for (scripts/test.ts: error).
setLogLevel((process.env.VMLEDGER_LOG_LEVEL as Parameters<typeof setLogLevel>[0]) ?? 'error');

export type TestDatabase = { sql: Sql; url: string; name: string; drop(): Promise<void> };

function baseUrl(): string {
  const url = process.env.TEST_DATABASE_URL;
  if (!url) {
    throw new Error(
      'TEST_DATABASE_URL is not set: run the suite through `npm test` (scripts/test.ts)',
    );
  }
  return url;
}

/** Creates a fresh, migrated database named after the suite. */
export async function createTestDatabase(
  suite: string,
  options: { migrate?: boolean } = {},
): Promise<TestDatabase> {
  const name = `t_${suite.replace(/[^a-z0-9]/gi, '_').toLowerCase()}_${process.pid}_${
    Math.floor(Math.random() * 1e6)
  }`;
  const admin = createPool(baseUrl(), { max: 1 });
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  const u = new URL(baseUrl());
  u.pathname = `/${name}`;
  const url = u.toString();
  const sql = createPool(url);
  if (options.migrate !== false) await migrate(sql);
  return {
    sql,
    url,
    name,
    drop: async () => {
      await sql.end({ timeout: 5 });
      const a = createPool(baseUrl(), { max: 1 });
      await a.unsafe(`drop database if exists ${name} with (force)`).catch(() => {});
      await a.end();
    },
  };
}
