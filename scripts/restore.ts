/**
 * `npm run restore -- FILE [--replace]`: loads a backup made by `npm run backup` into the
 * vmledger database (DATABASE_URL, or the embedded PostgreSQL under VMLEDGER_DATA_DIR; a
 * fresh data folder is initialised). All or nothing: a pg_dump archive is restored in one
 * transaction, stopped at the first error; a physical backup of the embedded server
 * (scripts/base_backup.ts) becomes its data folder only once it has started and been checked.
 *
 * Jobs are paused by having no server running: the restore refuses while any other client
 * is connected to the database (a vmledger node and its job workers), so no job runs against
 * half-restored tables; the restored job queue resumes when the server starts. A database
 * that already holds tables is replaced only with --replace. Extensions the target server
 * lacks (hypopg, pg_stat_statements: optional, for the Database page) are left out.
 * See docs/operations.md.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createPool } from '../server/db/connect.ts';
import { isBaseBackup, restoreBaseBackup } from './base_backup.ts';
import {
  embeddedPgDir,
  failIfStalled,
  fileAndFlag,
  findPgTool,
  libpqEnv,
  openTarget,
  serverMajor,
  type Target,
} from './pg_tools.ts';

/** The roles the restored policies name and their grants (sql/roles.sql: not in a dump). */
const ROLES_SQL = readFileSync(new URL('../sql/roles.sql', import.meta.url), 'utf8');

const { file, flag: replace } = fileAndFlag('restore', '--replace');
if (!existsSync(file)) {
  console.error(`vmledger restore: ${path.resolve(file)} does not exist`);
  process.exit(1);
}

async function otherClients(target: Target) {
  return await target.sql`
    select coalesce(nullif(application_name, ''), 'unnamed') as app, count(*)::int as n
    from pg_stat_activity
    where datname = current_database() and pid <> pg_backend_pid()
      and backend_type = 'client backend'
    group by 1`;
}

async function restore(target: Target): Promise<void> {
  const others = await otherClients(target);
  if (others.length > 0) {
    throw new Error(
      `other clients are connected to the database (${
        others.map((o) => `${o.app} x${o.n}`).join(', ')
      }): stop every vmledger server first, so no job runs during the restore`,
    );
  }
  const [{ tables }] = await target.sql`
    select count(*)::int as tables from pg_tables
    where schemaname not in ('pg_catalog', 'information_schema')`;
  if (tables > 0) {
    if (!replace) {
      throw new Error(
        `the database already holds ${tables} tables; add --replace to drop it and restore`,
      );
    }
    const name = new URL(target.url).pathname.slice(1);
    const admin = new URL(target.url);
    admin.pathname = '/postgres';
    const a = createPool(admin.toString(), { max: 1 });
    try {
      await a.unsafe(`drop database "${name.replace(/"/g, '""')}"`);
      await a.unsafe(`create database "${name.replace(/"/g, '""')}"`);
    } finally {
      await a.end();
    }
    console.log(`vmledger restore: dropped and re-created database ${name}`);
  }
  const major = await serverMajor(target.sql);
  const pgRestore = findPgTool('pg_restore', major);
  const [{ available }] = await target.sql`
    select coalesce(array_agg(name::text), '{}') as available from pg_available_extensions`;
  const listed = spawnSync(pgRestore.path, ['--list', path.resolve(file)], { encoding: 'utf8' });
  if (listed.status !== 0) throw new Error(`pg_restore --list failed: ${listed.stderr.trim()}`);
  // "123; 3079 16384 EXTENSION - hypopg" and its COMMENT: left out when not installable here.
  const skipped: string[] = [];
  const list = listed.stdout.split('\n').filter((line) => {
    const m = /\b(?:EXTENSION - |COMMENT - EXTENSION )(\S+)/.exec(line);
    if (m && !available.includes(m[1])) {
      if (!skipped.includes(m[1])) skipped.push(m[1]);
      return false;
    }
    return true;
  });
  await target.sql.unsafe(ROLES_SQL);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vml-restore-'));
  try {
    const listFile = path.join(dir, 'list');
    writeFileSync(listFile, list.join('\n'));
    const env = libpqEnv(target.url);
    const started = performance.now();
    const r = spawnSync(pgRestore.path, [
      '--single-transaction',
      '--exit-on-error',
      '--no-owner',
      '--no-acl',
      '--use-list',
      listFile,
      '--dbname',
      env.PGDATABASE,
      path.resolve(file),
    ], { env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit'] });
    if (r.status !== 0) throw new Error(`pg_restore failed (exit ${r.status ?? r.signal})`);
    await target.sql.unsafe(ROLES_SQL);
    console.log(
      `vmledger restore: ${path.resolve(file)} into PostgreSQL ${major} (${pgRestore.path}, ${
        ((performance.now() - started) / 1000).toFixed(1)
      } s)${
        skipped.length ? `; extensions not available here, left out: ${skipped.join(', ')}` : ''
      }`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A physical backup becomes the embedded server's data folder; nothing is started on the old one. */
async function restorePhysical(): Promise<void> {
  const pgDir = embeddedPgDir();
  if (!pgDir) {
    throw new Error(
      `${path.resolve(file)} is a physical backup of the embedded PostgreSQL: it restores ` +
        'only into the embedded server (unset DATABASE_URL)',
    );
  }
  const r = await restoreBaseBackup(path.resolve(file), pgDir, { replace });
  console.log(
    `vmledger restore: ${path.resolve(file)} (physical, PostgreSQL ${r.manifest.postgresMajor}, ` +
      `taken ${r.manifest.createdAt}) into ${pgDir} (${r.seconds.toFixed(1)} s)${
        r.movedAside ? `; the cluster it replaced is in ${r.movedAside} (remove it when done)` : ''
      }`,
  );
}

const stall = failIfStalled('restore');
let code = 0;
if (isBaseBackup(file)) {
  try {
    await restorePhysical();
  } catch (err) {
    console.error(`vmledger restore: ${(err as Error).message}`);
    code = 1;
  }
} else {
  const target = await openTarget();
  try {
    await restore(target);
  } catch (err) {
    console.error(`vmledger restore: ${(err as Error).message}`);
    code = 1;
  } finally {
    await target.close();
  }
}
stall.done();
process.exit(code);
