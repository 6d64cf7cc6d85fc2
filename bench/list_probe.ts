/**
 * Iteration probe for issue 20's live list (not part of `npm run bench`): the API bench's
 * 100,000 live VMs (bench/api.bench.ts) kept in one database between runs, then against a
 * fresh server process, 50 clients on the bench's distinct queries: all shapes mixed, or one
 * shape at a time (`--shape 0..5`, the cases of distinctPaths), with the CPU per request of
 * the server process and of the database's backends (/proc) and the top statements.
 *
 *   DATABASE_URL=postgres://… node bench/list_probe.ts [--db NAME] [--seconds 10]
 *     [--shape N|all|each] [--cpu-prof DIR]
 */
import autocannon from 'autocannon';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { newTokenValue } from '../server/auth/tokens.ts';
import { createPool, ensureDatabase } from '../server/db/connect.ts';
import { migrate } from '../server/db/migrate.ts';
import { freePort } from '../scripts/free_port.ts';
import { startServerProcess } from '../tests/support/server_process.ts';
import { distinctPaths, seed } from './api.bench.ts';

const argv = process.argv.slice(2);
const opt = (name: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const base = process.env.DATABASE_URL;
if (!base) throw new Error('DATABASE_URL is required');
const url = await ensureDatabase(base, opt('db') ?? 'list_probe');
const seconds = Number(opt('seconds') ?? 10);
const shape = opt('shape') ?? 'each';
const cpuProf = opt('cpu-prof');
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
  env: cpuProf ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${cpuProf}` } : {},
});

const cpuSeconds = (pid: number | undefined) => {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return 0;
  }
};
const backends = async () =>
  new Map(
    (await sql`select pid from pg_stat_activity where datname = current_database()
      and backend_type = 'client backend'`)
      .map((b) => [b.pid as number, cpuSeconds(b.pid as number)]),
  );
const [{ statements }] = await sql`
  select exists (select from pg_extension where extname = 'pg_stat_statements') as statements`;

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

async function run(name: string, next: Iterator<string>) {
  if (statements) await sql`select pg_stat_statements_reset()`;
  const node0 = cpuSeconds(server.child.pid);
  const db0 = await backends();
  const load = await autocannon({
    url: server.url,
    connections: 50,
    duration: seconds,
    headers: { authorization: `Bearer ${token}` },
    requests: [{
      setupRequest: (req: Record<string, unknown>) => ({ ...req, path: next.next().value }),
    }],
  });
  const node1 = cpuSeconds(server.child.pid);
  let db = 0;
  for (const [pid, s] of await backends()) db += s - (db0.get(pid) ?? 0);
  const reqs = Math.max(1, load.requests.total);
  console.log(JSON.stringify({
    name,
    reqPerS: Math.round(load.requests.average),
    p50: load.latency.p50,
    p99: load.latency.p99,
    failures: load.non2xx + load.errors,
    serverCpuMsPerReq: Number(((node1 - node0) * 1000 / reqs).toFixed(2)),
    databaseCpuMsPerReq: Number((db * 1000 / reqs).toFixed(2)),
  }));
  if (!statements) return;
  const top = await sql`
    select calls, total_plan_time::float8 as plan, total_exec_time::float8 as exec,
      left(regexp_replace(query, '[[:space:]]+', ' ', 'g'), 160) as query
    from pg_stat_statements where dbid = (select oid from pg_database where datname = current_database())
    order by total_plan_time + total_exec_time desc limit 4`;
  const [sum] = await sql`
    select sum(total_plan_time)::float8 as plan, sum(total_exec_time)::float8 as exec
    from pg_stat_statements where dbid = (select oid from pg_database where datname = current_database())`;
  console.log(
    `  all statements: plan ${(sum.plan / reqs).toFixed(2)} ms/req, exec ${
      (sum.exec / reqs).toFixed(2)
    } ms/req`,
  );
  for (const s of top) {
    console.log(
      `  ${(s.calls / reqs).toFixed(2)}/req plan ${(s.plan / s.calls).toFixed(2)} ms exec ${
        (s.exec / s.calls).toFixed(2)
      } ms  ${s.query}`,
    );
  }
}

try {
  // Warm-up: plans cached, JIT-compiled code.
  await autocannon({
    url: server.url,
    connections: 10,
    duration: 2,
    headers: { authorization: `Bearer ${token}` },
    requests: [{
      setupRequest: (req: Record<string, unknown>) => ({ ...req, path: '/api/v1/vms?limit=50' }),
    }],
  });
  if (shape === 'all' || shape === 'each') await run('all', paths(null));
  if (shape === 'each') { for (let s = 0; s < 6; s++) await run(`shape ${s}`, paths(s)); }
  else if (shape !== 'all') await run(`shape ${shape}`, paths(Number(shape)));
} finally {
  await server.kill('SIGTERM');
  await sql.end();
  rmSync(dir, { recursive: true, force: true });
}
