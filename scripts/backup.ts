/**
 * `npm run backup -- FILE [--physical]`: a consistent snapshot of the vmledger database
 * (DATABASE_URL, or the embedded PostgreSQL under VMLEDGER_DATA_DIR) written to FILE while
 * the server keeps running. See docs/operations.md.
 *
 * - pg_dump in its custom format (one transaction's snapshot) when a pg_dump of the server's
 *   major version is installed; scripts/pg_tools.ts says which is used.
 * - A physical backup of the embedded server's data folder (scripts/base_backup.ts) when none
 *   is, or with --physical: the embedded server ships no client tools.
 */
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import path from 'node:path';
import { writeBaseBackup } from './base_backup.ts';
import {
  failIfStalled,
  fileAndFlag,
  findPgTool,
  libpqEnv,
  openTarget,
  serverMajor,
  type Target,
} from './pg_tools.ts';

const { file, flag: physical } = fileAndFlag('backup', '--physical');
const out = path.resolve(file);

function report(kind: string, major: number, started: number, extra: string) {
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(
    `vmledger backup: ${out} (${kind}, ${statSync(out).size} bytes, PostgreSQL ${major}, ` +
      `${extra}${seconds} s)`,
  );
}

async function backup(target: Target, major: number): Promise<void> {
  const started = performance.now();
  let pgDump: { path: string } | null = null;
  let missing: Error | null = null;
  if (!physical) {
    try {
      pgDump = findPgTool('pg_dump', major);
    } catch (err) {
      missing = err as Error;
    }
  }
  if (pgDump) {
    const r = spawnSync(pgDump.path, ['--format=custom', '--file', out], {
      env: { ...process.env, ...libpqEnv(target.url) },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    if (r.status !== 0) throw new Error(`pg_dump failed (exit ${r.status ?? r.signal})`);
    report('pg_dump', major, started, `${pgDump.path}, `);
    return;
  }
  if (!target.pgDir) {
    // DATABASE_URL: its files are not ours to copy.
    throw physical
      ? new Error('--physical backs up the embedded PostgreSQL only; unset DATABASE_URL')
      : missing!;
  }
  if (missing) console.log(`vmledger backup: ${missing.message.split(';')[0]}: physical backup`);
  const manifest = await writeBaseBackup(target.sql, target.pgDir, out);
  report(
    'physical',
    major,
    started,
    `WAL ${manifest.startLsn}..${manifest.stopLsn}, restores into the embedded PostgreSQL ${major}, `,
  );
}

const stall = failIfStalled('backup');
const target = await openTarget();
let code = 0;
try {
  await backup(target, await serverMajor(target.sql));
} catch (err) {
  console.error(`vmledger backup: ${(err as Error).message}`);
  code = 1;
} finally {
  await target.close();
}
stall.done();
process.exit(code);
