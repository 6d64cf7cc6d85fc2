/**
 * `GET /api/v1/vms` under load: 100,000 VMs in the inventory (and 10,000 deleted, and six
 * hourly captures of each source behind them), 50 concurrent clients on loopback (autocannon)
 * sending search + filter + page requests to the real server process. Goal: p99 under 100 ms,
 * for the repeated URLs and for queries no client asked before, of live, deleted and `at` lists
 * alike.
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
/** VMs deleted before now, each seen by the first 1–5 of the captures. */
const DELETED = 10_000;
/** Hourly captures of each source, the newest an hour before the seed. */
const CAPTURES = 6;
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
  await seedHistory(sql);
  // Steady state, as autovacuum leaves a table that was bulk-loaded a while ago.
  for (const table of ['vm_inventory', 'vm_inventory_deleted', 'vm_lifecycle_base', 'captures']) {
    await sql`vacuum analyze ${sql(table)}`;
  }
  await sql`analyze vm_hourly_stats`;
}

/** The columns of a VM the seeded facts copy. */
const FACT_SOURCE =
  'x.source_id, x.vm_key, x.source_vm_id, x.name, x.power_state, x.is_template, ' +
  'x.vcpu, x.ram_mb, x.provisioned_disk_gb, x.datacenter, x.cluster, x.host, x.resource_pool';

/**
 * The deleted VMs and the captures behind the inventory: each live VM in every capture (a
 * tenth with fewer vCPUs before the fourth, a thirteenth powered off in every other one),
 * each deleted VM in the first 1–5 and then deleted by absence, as ingest leaves them.
 */
async function seedHistory(sql: import('../server/db/connect.ts').Sql) {
  const hour = (i: string) =>
    sql.unsafe(`date_trunc('hour', now()) - (${CAPTURES} - ${i}) * interval '1 hour'`);
  await sql`select vm_hourly_stats_ensure_partition(${hour('0')})`;
  await sql`select vm_hourly_stats_ensure_partition(now())`;
  await sql`
    insert into captures (capture_id, source_id, captured_at, complete, vm_count, schema_version)
    select md5('api:' || s || ':' || i)::uuid, s, ${hour('i')}, true, 0, 1
    from generate_series(1, 4) s, generate_series(0, ${CAPTURES - 1}) i`;
  await sql`
    insert into vm_lifecycle_base (source_id, vm_key, source_vm_id, name, first_seen_at, last_seen_at, deleted_at,
      deleted_from, in_newest_capture)
    select 1 + g % 4, 'key-d' || g, 'vm-d' || g,
      (array['web','app','db','cache','build'])[1 + g % 5] || '-' || lpad(g::text, 6, '0') || '-old',
      ${hour('0')}, ${hour('(g % 5)')}, ${hour('(1 + g % 5)')}, 'absence', false
    from generate_series(1, ${DELETED}) g`;
  await sql`
    insert into vm_inventory_deleted (source_id, vm_key, source_vm_id, name, power_state, is_template, vcpu, ram_mb,
      provisioned_disk_gb, datacenter, cluster, host, resource_pool, ip_addresses, first_seen_at, state_at,
      state_capture_id, last_seen_at, deleted_at, deleted_from)
    select l.source_id, l.vm_key, l.source_vm_id, l.name, 'poweredOn', false, 1 + g % 8, 1024 * (1 + g % 16),
      20 + g % 300, 'dc1', 'cluster-' || (g % 8), 'esx' || (g % 200), (array['Gold','Silver','Bronze'])[1 + g % 3],
      array['10.200.' || (g >> 8) || '.' || (g & 255)], l.first_seen_at, l.last_seen_at, gen_random_uuid(),
      l.last_seen_at, l.deleted_at, 'absence'
    from vm_lifecycle_base l, lateral (select substr(l.vm_key, 6)::int as g) x
    where l.vm_key like 'key-d%'`;
  // One capture per statement: its live VMs' facts, then its deleted VMs' (those seen then).
  for (let i = 0; i < CAPTURES; i++) {
    await sql`
      insert into vm_hourly_stats (source_id, vm_key, snapshot_time, capture_id, source_vm_id, name, power_state,
        is_template, vcpu, ram_mb, provisioned_disk_gb, datacenter, cluster, host, resource_pool)
      select v.source_id, v.vm_key, c.captured_at, c.capture_id, v.source_vm_id, v.name,
        case when g % 13 = 0 and ${i} % 2 = 1 then 'poweredOn' else v.power_state end, v.is_template,
        case when g % 10 = 0 and ${i} < 3 then greatest(1, v.vcpu - 1) else v.vcpu end, v.ram_mb,
        v.provisioned_disk_gb, v.datacenter, v.cluster, v.host, v.resource_pool
      from (
        select ${sql.unsafe(FACT_SOURCE)}, substr(x.vm_key, 5)::int as g from vm_inventory x
        union all
        select ${sql.unsafe(FACT_SOURCE)}, substr(x.vm_key, 6)::int from vm_inventory_deleted x
        where ${i} <= substr(x.vm_key, 6)::int % 5
      ) v
      join captures c on c.source_id = v.source_id and c.capture_id = md5('api:' || v.source_id || ':' || ${i})::uuid`;
  }
  await sql`
    update captures c set vm_count = (select count(*) from vm_hourly_stats f
      where f.source_id = c.source_id and f.snapshot_time = c.captured_at)`;
  await sql`update sources set last_capture_at = ${
    hour(String(CAPTURES - 1))
  }, generation = generation + 1`;
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

/**
 * Asks distinct queries as of `moments` one after another (as one person slicing them would)
 * until the server answers one of them from a model of its moment, built once the database's
 * answers of it cost what a build does (as_of_model.ts); returns the seconds it took.
 */
async function momentModelReady(
  url: string,
  token: string,
  next: () => string,
): Promise<number> {
  const t0 = performance.now();
  while (performance.now() - t0 < 300_000) {
    const before = (await answerSources(url, token)).memory;
    const res = await fetch(url + next(), { headers: { authorization: `Bearer ${token}` } });
    if (res.status !== 200) throw new Error(`${res.url} answered ${res.status}`);
    await res.arrayBuffer();
    if ((await answerSources(url, token)).memory > before) {
      return Number(((performance.now() - t0) / 1000).toFixed(1));
    }
  }
  throw new Error('no model of a past moment was built in 300 s');
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
    // The same shapes over the deleted VMs.
    const gone = distinctPaths();
    const deleted = await load(
      server.url,
      adminToken,
      () => `${gone.next().value}&state=deleted`,
    );
    const afterDeleted = await answerSources(server.url, adminToken);
    // And as of two past moments, each request at another second between the same captures.
    const captures = await db.sql`
      select captured_at from captures where source_id = 1 order by captured_at`;
    const moments = [2, 4].map((i) => new Date(captures[i].captured_at).getTime());
    const past = distinctPaths();
    let n = 0;
    const asOfPath = (moment?: number) => {
      n++;
      const at = new Date((moment ?? moments[n % 2]) + (n * 7_919) % 3_600_000);
      return `${past.next().value}&at=${encodeURIComponent(at.toISOString())}`;
    };
    const momentModelSeconds = [
      await momentModelReady(server.url, adminToken, () => asOfPath(moments[0])),
      await momentModelReady(server.url, adminToken, () => asOfPath(moments[1])),
    ];
    const beforeAsOf = await answerSources(server.url, adminToken);
    const asOf = await load(server.url, adminToken, () => asOfPath());
    const afterAsOf = await answerSources(server.url, adminToken);
    const p99 = result.latency.p99;
    const phases = [result, cold, deleted, asOf];
    return {
      name: 'api',
      title: `GET /api/v1/vms (search + filter + page) with ${
        VMS.toLocaleString('en-US')
      } VMs, ${CONNECTIONS} concurrent clients`,
      goal: 'p99 < 100 ms, repeated URLs and queries no client asked before alike, of live ' +
        '(distinctQueriesP99Ms), deleted (deletedDistinctP99Ms) and past (asOfDistinctP99Ms) lists',
      met: phases.every((phase) => phase.latency.p99 < 100 && phase.non2xx === 0 && !phase.errors),
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
        deletedDistinctP50Ms: deleted.latency.p50,
        deletedDistinctP99Ms: deleted.latency.p99,
        deletedDistinctRequestsPerSecond: Math.round(deleted.requests.average),
        deletedDistinctFromMemoryRate: rate('memory', after, afterDeleted),
        asOfDistinctP50Ms: asOf.latency.p50,
        asOfDistinctP99Ms: asOf.latency.p99,
        asOfDistinctRequestsPerSecond: Math.round(asOf.requests.average),
        asOfDistinctFromMemoryRate: rate('memory', beforeAsOf, afterAsOf),
        momentModelSeconds,
        non2xx: phases.reduce((sum, phase) => sum + phase.non2xx, 0),
        errors: phases.reduce((sum, phase) => sum + phase.errors, 0),
      },
      notes:
        `${SECONDS} s each, autocannon on loopback against the server process; first the ${paths.length} URLs above ` +
        'repeated (the goal), then queries of the same shapes that no client asked before (distinctQueries*), ' +
        'of the deleted VMs (deletedDistinct*), and as of two past moments, each request at another second ' +
        'between the same two captures (asOfDistinct*). The live and deleted phases run once the server answers ' +
        'from its in-memory list model (built in modelBuildSeconds after the first list query of the generation; ' +
        'until then, and after each capture until it is rebuilt, the database answers); the past phase once each ' +
        'moment has a model (momentModelSeconds: distinct queries one at a time until one is answered from it)',
    };
  } finally {
    await server.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
    await db.close();
  }
}
