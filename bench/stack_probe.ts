/**
 * Iteration probe for issue 20 (not part of `npm run bench`): the changes bench's estate kept
 * in one database between runs (seeded once, ~6 min), then against a fresh server process:
 * autocannon with 50 clients on `GET /api/v1/changes` (30-day ranges, as bench/changes.bench.ts
 * asks) and on `GET /api/v1/whoami` (the request stack's fixed cost), with the server's CPU
 * seconds per request (from /proc) and PostgreSQL's execution time per request
 * (pg_stat_statements of that database).
 *
 *   DATABASE_URL=postgres://… node bench/stack_probe.ts [--db NAME] [--seconds 10]
 *     [--only changes|whoami] [--scoped] [--cpu-prof DIR] [--node-options "…"] [--vms 10000 --days 90: the seed]
 */
import autocannon from 'autocannon';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createToken, newTokenValue } from '../server/auth/tokens.ts';
import { createPool, ensureDatabase } from '../server/db/connect.ts';
import { migrate } from '../server/db/migrate.ts';
import { freePort } from '../scripts/free_port.ts';
import { startServerProcess } from '../tests/support/server_process.ts';
import { seedChangesHistory } from './changes.bench.ts';
import { probeOption as opt, serverEnv } from './probe_load.ts';
import { cpuSeconds } from './process_cpu.ts';

const base = process.env.DATABASE_URL;
if (!base) throw new Error('DATABASE_URL is required');
const dbName = opt('db') ?? 'stack_probe_changes';
const seconds = Number(opt('seconds') ?? 10);
const only = opt('only');

const url = await ensureDatabase(base, dbName);
const sql = createPool(url, { max: 4 });
await migrate(sql);
const [{ n }] = await sql`select count(*)::int as n from sources`;
// The estate's "now": kept in the database so ranges stay the same between runs.
let now: Date;
if (n === 0) {
  now = new Date(Math.floor(Date.now() / 3600_000) * 3600_000);
  const t0 = performance.now();
  const vms = Number(opt('vms') ?? 10_000);
  await seedChangesHistory(sql, now, { vms, days: Number(opt('days') ?? 90) });
  await sql`select vm_changes_rebuild(id, '-infinity', 'infinity') from sources`;
  await sql`vacuum analyze vm_changes, vm_lifecycle_base, vm_events, captures`;
  console.log(`seeded in ${Math.round(performance.now() - t0)} ms`);
} else {
  const [{ at }] = await sql`select max(captured_at) as at from captures`;
  now = new Date(at);
}

const token = newTokenValue();
const scopedToken = newTokenValue();
await createToken(sql, {
  name: `probe-scoped-${process.pid}`,
  role: 'viewer',
  value: scopedToken,
  scope: ['source:1', 'vcenter:vc-1'],
});
const dir = mkdtempSync(path.join(os.tmpdir(), 'vml-stack-probe-'));
const server = await startServerProcess({
  databaseUrl: url,
  port: await freePort(),
  dataDir: dir,
  adminToken: token,
  env: serverEnv(),
});
const bearer = process.argv.includes('--scoped') ? scopedToken : token;

const serverCpuSeconds = () => cpuSeconds(server.child.pid);
const [{ dbid }] = await sql`select oid::int as dbid from pg_database where datname = ${dbName}`;
const pgMs = async () => {
  const [r] =
    await sql`select coalesce(sum(total_exec_time), 0)::float8 as ms, coalesce(sum(calls), 0)::float8 as calls
    from pg_stat_statements where dbid = ${dbid}`;
  return r as { ms: number; calls: number };
};

/** CPU seconds of the database's server processes (backends of this database, by /proc). */
const pgCpuSeconds = async () => {
  const pids = await sql`select pid from pg_stat_activity where datname = ${dbName}`;
  // A backend that ended meanwhile (or runs on another host) counts 0.
  return pids.reduce((total, { pid }) => total + cpuSeconds(pid as number), 0);
};

const RANGE_DAYS = 30;
const rangePath = (k: number) => {
  const to = new Date(now.getTime() - (k % (24 * 60)) * 3600_000);
  const from = new Date(to.getTime() - RANGE_DAYS * 86400_000);
  return `/api/v1/changes?from=${from.toISOString()}&to=${to.toISOString()}`;
};

async function run(name: string, pathOf: (i: number) => string) {
  // Warm-up: plans cached, JIT-compiled code.
  await autocannon({
    url: server.url,
    connections: 10,
    duration: 2,
    headers: { authorization: `Bearer ${bearer}` },
    requests: [{ setupRequest: (req: Record<string, unknown>) => ({ ...req, path: pathOf(7) }) }],
  });
  let i = 0;
  const c0 = serverCpuSeconds();
  const p0 = await pgMs();
  const g0 = await pgCpuSeconds();
  const load = await autocannon({
    url: server.url,
    connections: 50,
    duration: seconds,
    headers: { authorization: `Bearer ${bearer}` },
    requests: [{
      setupRequest: (req: Record<string, unknown>) => ({ ...req, path: pathOf(i++ * 13) }),
    }],
  });
  const c1 = serverCpuSeconds();
  const p1 = await pgMs();
  const g1 = await pgCpuSeconds();
  const reqs = load.requests.total;
  console.log(JSON.stringify({
    name,
    scoped: bearer === scopedToken,
    reqPerS: Math.round(load.requests.average),
    p50: load.latency.p50,
    p99: load.latency.p99,
    failures: load.non2xx + load.errors,
    nodeCpuMsPerReq: Number(((c1 - c0) * 1000 / reqs).toFixed(2)),
    pgCpuMsPerReq: Number(((g1 - g0) * 1000 / reqs).toFixed(2)),
    pgExecMsPerReq: Number(((p1.ms - p0.ms) / reqs).toFixed(2)),
    statementsPerReq: Number(((p1.calls - p0.calls) / reqs).toFixed(2)),
  }));
}

try {
  if (!only || only === 'whoami') await run('whoami', () => '/api/v1/whoami');
  if (!only || only === 'changes') await run('changes', rangePath);
} finally {
  await server.kill('SIGTERM');
  await sql`delete from api_tokens where name = ${`probe-scoped-${process.pid}`}`;
  await sql.end();
  rmSync(dir, { recursive: true, force: true });
}
