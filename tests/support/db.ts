/**
 * A throwaway database per suite on the test PostgreSQL (TEST_DATABASE_URL, set by
 * scripts/test.ts: the embedded server or a given DATABASE_URL), migrated to the latest
 * schema. Suites never share data.
 *
 * Migrating a database from nothing costs seconds (every migration and routine, one
 * transaction each), and a run creates over a hundred: so the schema is migrated once per
 * server into a template database named after the checksum of sql/, and each suite's
 * database is a copy of it (CREATE DATABASE … TEMPLATE, a few hundred ms). migrate() still
 * runs on the copy: it finds nothing to apply, which proves the copy is current.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
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

const SQL_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../sql');
const TEMPLATE_PREFIX = 'vmledger_tpl_';
/** Templates of other schemas (older checkouts, other branches) are dropped after this long. */
const TEMPLATE_KEEP_MS = 24 * 3600 * 1000;

/** The schema's identity: every migration and routine file, by name and content. */
function schemaChecksum(): string {
  const h = createHash('sha256');
  for (const dir of ['migrations', 'routines']) {
    for (const f of readdirSync(path.join(SQL_DIR, dir)).filter((n) => n.endsWith('.sql')).sort()) {
      h.update(`${dir}/${f}\0`).update(readFileSync(path.join(SQL_DIR, dir, f))).update('\0');
    }
  }
  return h.digest('hex').slice(0, 16);
}

let templateReady: Promise<string> | null = null;

/**
 * The migrated template for this schema on the test server, built once. Runs in other
 * processes share it: an advisory lock makes them take turns building, and a template is
 * marked `datistemplate` only when its migration finished (a half-built one is rebuilt).
 */
function migratedTemplate(): Promise<string> {
  templateReady ??= (async () => {
    const name = TEMPLATE_PREFIX + schemaChecksum();
    const admin = createPool(baseUrl(), { max: 1 });
    try {
      await admin`select pg_advisory_lock(hashtext(${name}))`;
      const [row] = await admin<{ datistemplate: boolean }[]>`
        select datistemplate from pg_database where datname = ${name}`;
      if (!row?.datistemplate) {
        if (row) await admin.unsafe(`drop database ${name} with (force)`);
        await admin.unsafe(`create database ${name}`);
        const u = new URL(baseUrl());
        u.pathname = `/${name}`;
        const sql = createPool(u.toString(), { max: 1 });
        try {
          await migrate(sql);
        } finally {
          await sql.end({ timeout: 5 });
        }
        await admin.unsafe(`comment on database ${name} is '${new Date().toISOString()}'`);
        await admin.unsafe(`alter database ${name} is_template true`);
      }
      await dropStaleTemplates(admin, name);
      await admin`select pg_advisory_unlock(hashtext(${name}))`;
      return name;
    } finally {
      await admin.end();
    }
  })();
  return templateReady;
}

/** A persistent test server (DATABASE_URL) would otherwise keep one template per schema ever seen. */
async function dropStaleTemplates(admin: Sql, keep: string) {
  const stale = await admin<{ datname: string }[]>`
    select d.datname from pg_database d
     where d.datname like ${TEMPLATE_PREFIX + '%'} and d.datname <> ${keep}
       and coalesce(shobj_description(d.oid, 'pg_database'), '') < ${
    new Date(Date.now() - TEMPLATE_KEEP_MS).toISOString()
  }`;
  for (const { datname } of stale) {
    await admin.unsafe(`alter database ${datname} is_template false`).catch(() => {});
    await admin.unsafe(`drop database if exists ${datname} with (force)`).catch(() => {});
  }
}

/** Creates a fresh, migrated database named after the suite. */
export async function createTestDatabase(
  suite: string,
  options: { migrate?: boolean } = {},
): Promise<TestDatabase> {
  const name = `t_${suite.replace(/[^a-z0-9]/gi, '_').toLowerCase()}_${process.pid}_${
    Math.floor(Math.random() * 1e6)
  }`;
  const migrated = options.migrate !== false;
  const template = migrated ? await migratedTemplate() : null;
  const admin = createPool(baseUrl(), { max: 1 });
  await admin.unsafe(`create database ${name}${template ? ` template ${template}` : ''}`);
  await admin.end();
  const u = new URL(baseUrl());
  u.pathname = `/${name}`;
  const url = u.toString();
  const sql = createPool(url);
  if (migrated) await migrate(sql);
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

/** Thrown to end a transaction without keeping what it wrote (see rolledBack). */
class RolledBack extends Error {}

/** What `fn` returns, run in a transaction that is then rolled back: nothing it wrote stays. */
export async function rolledBack<T>(sql: Sql, fn: (tx: Sql) => Promise<T>): Promise<T> {
  let out: T | undefined;
  await sql.begin(async (tx) => {
    out = await fn(tx as unknown as Sql);
    throw new RolledBack();
  }).catch((err) => {
    if (!(err instanceof RolledBack)) throw err;
  });
  return out as T;
}
