/**
 * Iteration probe for issue 20's lists (not part of `npm run bench`): the history bench's
 * estate (bench/history.bench.ts: 10,000 VMs, 90 days of hourly captures, 21.6 M facts) kept
 * in one database between runs (seeded once, ~7 min on 2 busy cores), then against a fresh
 * server process, 50 clients asking exactly what the bench asks (`at` pages by name, deleted
 * searches by name part) or `whoami` (the request stack's fixed cost), with the CPU per
 * request of the server process and of the database's client backends (/proc), and the
 * statements per request with their planning and execution times (pg_stat_statements, when
 * the server preloads it; track_planning on for planning times).
 *
 *   DATABASE_URL=postgres://… node bench/history_probe.ts [--db NAME] [--seconds 10]
 *     [--only at|deleted|whoami] [--seed N] [--cpu-prof DIR] [--node-options "…"] [--timeline]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { newTokenValue } from '../server/auth/tokens.ts';
import { createPool, ensureDatabase } from '../server/db/connect.ts';
import { migrate } from '../server/db/migrate.ts';
import { freePort } from '../scripts/free_port.ts';
import { startServerProcess } from '../tests/support/server_process.ts';
import { atPaths, deletedPaths, seedCaptures, settle } from './history.bench.ts';
import { createProbe, load, probeOption as opt, serverEnv } from './probe_load.ts';
import { warmUp } from './warm_up.ts';

const base = process.env.DATABASE_URL;
if (!base) throw new Error('DATABASE_URL is required');
const dbName = opt('db') ?? 'history_probe';
const seconds = Number(opt('seconds') ?? 10);
const only = opt('only');
const HOURS = 90 * 24;

const url = await ensureDatabase(base, dbName);
const sql = createPool(url, { max: 4 });
await migrate(sql);
// The history's first capture is its start (capture 0 of each source).
let [{ start }] = await sql`select min(captured_at) as start from captures`;
if (!start) {
  const t0 = performance.now();
  start = new Date(Math.floor(Date.now() / 3600_000) * 3600_000 - (HOURS - 1) * 3600_000);
  const run = randomUUID();
  await sql`
    insert into sources (kind, external_id, name)
    select 'vcenter', 'vc-' || g, 'vcenter-' || g from generate_series(1, 2) g`;
  await seedCaptures(sql, run, start.toISOString(), 0, HOURS);
  await settle(sql, run, start.toISOString(), HOURS);
  console.log(`seeded in ${Math.round((performance.now() - t0) / 1000)} s`);
}
const startMs = new Date(start).getTime();

const token = newTokenValue();
const dir = mkdtempSync(path.join(os.tmpdir(), 'vml-history-probe-'));
const server = await startServerProcess({
  databaseUrl: url,
  port: await freePort(),
  dataDir: dir,
  adminToken: token,
  env: serverEnv(),
});

const measure = await createProbe(sql, server, token);

async function run(name: string, paths: Iterator<string>, warm?: Iterator<string>) {
  // Warm-up: plans cached, JIT-compiled code; with `warm`, the bench's own (warm_up.ts).
  await load(server, token, { connections: 10, seconds: 2, path: () => '/api/v1/whoami' });
  if (warm) await warmUp(server.url, token, () => warm.next().value as string);
  await measure(name, paths, seconds);
}

try {
  if (!only || only === 'whoami') {
    await run(
      'whoami',
      (function* () {
        for (;;) yield '/api/v1/whoami';
      })(),
    );
  }
  // The seeds of the bench's load and warm-up (or others, to read other captures again).
  const seed = Number(opt('seed') ?? 20);
  if (!only || only === 'at') {
    await run('at', atPaths(startMs, HOURS, 50, seed), atPaths(startMs, HOURS, 49, seed - 1));
  }
  if (!only || only === 'deleted') await run('deleted', deletedPaths(), deletedPaths(60));
} finally {
  await server.kill('SIGTERM');
  await sql.end();
  rmSync(dir, { recursive: true, force: true });
}
