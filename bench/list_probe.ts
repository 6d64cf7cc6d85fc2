/**
 * Iteration probe for issue 20's live list (not part of `npm run bench`): the API bench's
 * 100,000 live VMs (bench/api.bench.ts) kept in one database between runs, then against a
 * fresh server process, 50 clients on the bench's distinct queries: all shapes mixed, or one
 * shape at a time (`--shape 0..5`, the cases of distinctPaths), with the CPU per request of
 * the server process and of the database's backends (/proc) and the top statements.
 *
 *   DATABASE_URL=postgres://… node bench/list_probe.ts [--db NAME] [--seconds 10]
 *     [--shape N|all|each] [--cpu-prof DIR] [--node-options "…"]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { newTokenValue } from '../server/auth/tokens.ts';
import { createPool, ensureDatabase } from '../server/db/connect.ts';
import { migrate } from '../server/db/migrate.ts';
import { freePort } from '../scripts/free_port.ts';
import { startServerProcess } from '../tests/support/server_process.ts';
import { distinctPaths, seed } from './api.bench.ts';
import { createProbe, load, probeOption as opt, serverEnv } from './probe_load.ts';

const base = process.env.DATABASE_URL;
if (!base) throw new Error('DATABASE_URL is required');
const url = await ensureDatabase(base, opt('db') ?? 'list_probe');
const seconds = Number(opt('seconds') ?? 10);
const shape = opt('shape') ?? 'each';
const sql = createPool(url, { max: 4 });
await migrate(sql);
const [{ vms }] = await sql`select count(*)::int as vms from vm_inventory`;
if (vms === 0) await seed(sql);

const token = newTokenValue();
const dir = mkdtempSync(path.join(os.tmpdir(), 'vml-list-probe-'));
const server = await startServerProcess({
  databaseUrl: url,
  port: await freePort(),
  dataDir: dir,
  adminToken: token,
  env: serverEnv(),
});

const measure = await createProbe(sql, server, token);

/**
 * The bench's distinct queries, only those of one shape (n % 6) when asked; one sequence for
 * the whole run, so that no run meets answers an earlier one left in the server's cache.
 */
const sequence = distinctPaths();
let position = 0;
function* paths(only: number | null): Generator<string> {
  for (const p of sequence) {
    position++;
    if (only === null || position % 6 === only) yield p;
  }
}

const run = (name: string, next: Iterator<string>) => measure(name, next, seconds);

try {
  // Warm-up: plans cached, JIT-compiled code.
  await load(server, token, { connections: 10, seconds: 2, path: () => '/api/v1/vms?limit=50' });
  if (shape === 'all' || shape === 'each') await run('all', paths(null));
  if (shape === 'each') { for (let s = 0; s < 6; s++) await run(`shape ${s}`, paths(s)); }
  else if (shape !== 'all') await run(`shape ${shape}`, paths(Number(shape)));
} finally {
  await server.kill('SIGTERM');
  await sql.end();
  rmSync(dir, { recursive: true, force: true });
}
