/**
 * `npm run backup -- FILE`: a consistent snapshot of the vmledger database (DATABASE_URL, or
 * the embedded PostgreSQL under VMLEDGER_DATA_DIR) written to FILE by pg_dump in its custom
 * format. The server may keep running: pg_dump reads one transaction's snapshot. See
 * docs/operations.md; scripts/pg_tools.ts says which pg_dump is used.
 */
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import path from 'node:path';
import { findPgTool, libpqEnv, openTarget, serverMajor } from './pg_tools.ts';

const file = process.argv[2];
if (!file || file.startsWith('-')) {
  console.error('usage: npm run backup -- FILE');
  process.exit(2);
}
const target = await openTarget();
let code = 0;
try {
  const major = await serverMajor(target.sql);
  const pgDump = findPgTool('pg_dump', major);
  const started = performance.now();
  const r = spawnSync(pgDump.path, ['--format=custom', '--file', path.resolve(file)], {
    env: { ...process.env, ...libpqEnv(target.url) },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (r.status !== 0) {
    console.error(`vmledger backup: pg_dump failed (exit ${r.status ?? r.signal})`);
    code = 1;
  } else {
    console.log(
      `vmledger backup: ${path.resolve(file)} (${
        statSync(file).size
      } bytes, PostgreSQL ${major}, ` +
        `${pgDump.path}, ${((performance.now() - started) / 1000).toFixed(1)} s)`,
    );
  }
} catch (err) {
  console.error(`vmledger backup: ${(err as Error).message}`);
  code = 1;
} finally {
  await target.close();
}
process.exit(code);
