/**
 * `GET /api/v1/vms` under load: 100,000 VMs in the inventory, 50 concurrent clients on
 * loopback (autocannon) sending search + filter + page requests to the real server
 * process. Goal: p99 under 100 ms, for the repeated URLs and for queries no client asked before.
 */
import autocannon from 'autocannon';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { newTokenValue } from '../server/auth/tokens.ts';
import { freePort } from '../scripts/free_port.ts';
import { startServerProcess } from '../tests/support/server_process.ts';
import { openBenchDatabase } from './bench_db.ts';
import type { BenchReport } from './harness.ts';

const VMS = 100_000;
const CONNECTIONS = 50;
const SECONDS = 15;

/** 100,000 live VMs over 4 sources, set-based. */
export async function seed(sql: import('../server/db/connect.ts').Sql) {
  await sql`insert into sources (kind, external_id, name) select 'vcenter', 'vc-' || g, 'vcenter-' || g from generate_series(1, 4) g`;
  await sql`
    insert into vm_lifecycle_base (source_id, vm_key, source_vm_id, name, first_seen_at, last_seen_at)
    select 1 + g % 4, 'key-' || g, 'vm-' || g, (array['web','app','db','cache','build'])[1 + g % 5] || '-' || lpad(g::text, 6, '0'),
           now() - interval '30 days', now()
    from generate_series(1, ${VMS}) g`;
  await sql`
    insert into vm_inventory (source_id, vm_key, source_vm_id, name, power_state, is_template, vcpu, ram_mb, provisioned_disk_gb,
      datacenter, cluster, host, resource_pool, ip_addresses, first_seen_at, state_at, state_capture_id)
    select l.source_id, l.vm_key, l.source_vm_id, l.name,
           case when g % 13 = 0 then 'poweredOff' else 'poweredOn' end, g % 97 = 0, 1 + g % 16, 1024 * (1 + g % 32), 20 + g % 500,
           'dc1', 'cluster-' || (g % 8), 'esx' || (g % 200), (array['Gold','Silver','Bronze'])[1 + g % 3],
           array['10.' || (g >> 16) || '.' || ((g >> 8) & 255) || '.' || (g & 255)], now() - interval '30 days', now(), gen_random_uuid()
    from vm_lifecycle l, lateral (select substr(l.vm_key, 5)::int as g) x
  `;
  // Steady state, as autovacuum leaves a table that was bulk-loaded a while ago.
  await sql`vacuum analyze vm_inventory`;
  await sql`vacuum analyze vm_lifecycle_base`;
}

const PATHS = [
  '/api/v1/vms?limit=50',
  '/api/v1/vms?q=db-0123&limit=50',
  '/api/v1/vms?q=web&source=2&power=poweredOn&limit=50',
  '/api/v1/vms?cluster=cluster-3&pool=Gold&sort=vcpu&order=desc&limit=50',
  '/api/v1/vms?q=10.1.2.3&limit=50',
  '/api/v1/vms?q=cache-04&template=false&sort=ram&limit=100',
];

/**
 * Queries no client asked before (a cache cannot answer them): the same shapes as PATHS
 * with other search terms, filters and sorts, drawn from a seeded generator.
 */
export function* distinctPaths(): Generator<string> {
  const words = ['web', 'app', 'db', 'cache', 'build'];
  const sorts = ['name', 'source', 'power', 'vcpu', 'ram', 'disk', 'created', 'firstSeen'];
  let n = 0;
  for (;;) {
    n++;
    const g = (n * 7919) % 100_000;
    const word = words[n % 5];
    const sort = sorts[(n >> 3) % 8];
    const order = n % 3 ? 'asc' : 'desc';
    switch (n % 6) {
      case 0:
        yield `/api/v1/vms?limit=${20 + (n % 80)}&sort=${sort}&order=${order}`;
        break;
      case 1:
        yield `/api/v1/vms?q=${word}-0${String(g).padStart(6, '0').slice(0, 4)}&limit=50`;
        break;
      case 2:
        yield `/api/v1/vms?q=${word}&source=${1 + (n % 4)}&power=${
          n % 2 ? 'poweredOn' : 'poweredOff'
        }&limit=${40 + (n % 20)}`;
        break;
      case 3:
        yield `/api/v1/vms?cluster=cluster-${n % 8}&pool=${
          ['Gold', 'Silver', 'Bronze'][n % 3]
        }&sort=${sort}&order=${order}&limit=${40 + (n % 20)}`;
        break;
      case 4:
        yield `/api/v1/vms?q=10.${g >> 16}.${(g >> 8) & 255}.${g & 255}&limit=50`;
        break;
      default:
        yield `/api/v1/vms?q=${word}-0${
          String(g).padStart(6, '0').slice(0, 2)
        }&template=false&sort=${sort}&limit=100`;
    }
  }
}

function load(url: string, token: string, next: () => string) {
  return autocannon({
    url,
    connections: CONNECTIONS,
    duration: SECONDS,
    headers: { authorization: `Bearer ${token}` },
    requests: [{ setupRequest: (req: Record<string, unknown>) => ({ ...req, path: next() }) }],
  });
}

type AnswerSources = { cache: number; database: number; memory: number };

/** The server's own count of list answers reused, read and from its model, from /metrics. */
async function answerSources(url: string, token: string): Promise<AnswerSources> {
  const text =
    await (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${token}` } })).text();
  const read = (source: string) =>
    Number(
      new RegExp(`vmledger_vm_list_answers_total\\{served_from="${source}"\\} (\\d+)`).exec(text)
        ?.[1] ??
        NaN,
    );
  return { cache: read('cache'), database: read('database'), memory: read('memory') };
}

/**
 * Waits until the server answers the list from its in-memory model (built on the first list
 * query of an inventory generation, in the background): the steady state between two
 * captures, which the load measures. Returns the seconds it took.
 */
async function modelReady(url: string, token: string): Promise<number> {
  const t0 = performance.now();
  while (performance.now() - t0 < 300_000) {
    const before = (await answerSources(url, token)).memory;
    const res = await fetch(`${url}/api/v1/vms?limit=1`, {
      headers: { authorization: `Bearer ${token}` },
    });
    await res.arrayBuffer();
    if ((await answerSources(url, token)).memory > before) {
      return Number(((performance.now() - t0) / 1000).toFixed(1));
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error('the list model was not built in 300 s');
}

/** The share of answers between two readings that were `from`. */
function rate(from: keyof AnswerSources, before: AnswerSources, after: AnswerSources): number {
  const count = (k: keyof AnswerSources) => after[k] - before[k];
  const all = count('cache') + count('database') + count('memory');
  return Number((count(from) / Math.max(1, all)).toFixed(3));
}

export default async function benchApi(): Promise<BenchReport> {
  const db = await openBenchDatabase('api');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vml-bench-api-'));
  const adminToken = newTokenValue();
  await seed(db.sql);
  const server = await startServerProcess({
    databaseUrl: db.url,
    port: await freePort(),
    dataDir: dir,
    adminToken,
  });
  try {
    // The second page of each query too: cursor pagination is part of the path under test.
    const paths = [...PATHS];
    for (const p of PATHS) {
      const res = await fetch(server.url + p, {
        headers: { authorization: `Bearer ${adminToken}` },
      });
      if (res.status !== 200) throw new Error(`${p} answered ${res.status}`);
      const body = await res.json();
      if (body.next) paths.push(`${p}&cursor=${body.next}`);
    }
    const modelBuildSeconds = await modelReady(server.url, adminToken);
    let i = 0;
    const before = await answerSources(server.url, adminToken);
    const result = await load(server.url, adminToken, () => paths[i++ % paths.length]);
    const middle = await answerSources(server.url, adminToken);
    const fresh = distinctPaths();
    const cold = await load(server.url, adminToken, () => fresh.next().value as string);
    const after = await answerSources(server.url, adminToken);
    const p99 = result.latency.p99;
    return {
      name: 'api',
      title: `GET /api/v1/vms (search + filter + page) with ${
        VMS.toLocaleString('en-US')
      } VMs, ${CONNECTIONS} concurrent clients`,
      goal:
        'p99 < 100 ms, repeated URLs and queries no client asked before (distinctQueriesP99Ms) alike',
      met: p99 < 100 && cold.latency.p99 < 100 && result.non2xx === 0 && result.errors === 0 &&
        cold.non2xx === 0 &&
        cold.errors === 0,
      metrics: {
        p50Ms: result.latency.p50,
        p90Ms: result.latency.p90,
        p99Ms: p99,
        maxMs: result.latency.max,
        requestsPerSecond: Math.round(result.requests.average),
        requests: result.requests.total,
        reusedAnswerRate: rate('cache', before, middle),
        fromMemoryRate: rate('memory', before, middle),
        distinctQueriesP50Ms: cold.latency.p50,
        distinctQueriesP99Ms: cold.latency.p99,
        distinctQueriesRequestsPerSecond: Math.round(cold.requests.average),
        distinctQueriesReusedAnswerRate: rate('cache', middle, after),
        distinctQueriesFromMemoryRate: rate('memory', middle, after),
        modelBuildSeconds,
        non2xx: result.non2xx + cold.non2xx,
        errors: result.errors + cold.errors,
      },
      notes:
        `${SECONDS} s each, autocannon on loopback against the server process; first the ${paths.length} URLs above ` +
        'repeated (the goal), then queries of the same shapes that no client asked before (distinctQueries*); ' +
        'both once the server answers from its in-memory list model (built in modelBuildSeconds after the ' +
        'first list query of the generation; until then, and after each capture until it is rebuilt, the database answers)',
    };
  } finally {
    await server.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
    await db.close();
  }
}
