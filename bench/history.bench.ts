/**
 * The ledger's memory under load (issue 20): 10,000 VMs over 2 sources with hourly captures,
 * 1,000 VMs created and 1,000 deleted spread over the history, every table the ingest writes
 * kept consistent (captures, facts, lifecycle, live and deleted inventory, deletion events,
 * per-capture totals and registry, the sources' newest capture and generation). Seeded
 * set-based: 30 days first, measured, then extended to 90 days (21.6 M facts) and measured
 * again, to say how the cost grows with history length.
 *
 * Measured with 50 concurrent clients (autocannon) against the real server process:
 *  - an `at` page of 50 sorted by name, each request at another moment (goal p99 < 150 ms);
 *  - deleted VMs searched by a part of their name (goal p99 < 100 ms);
 * `GET /api/v1/changes` over the same kind of history is measured by bench/changes.bench.ts.
 */
import autocannon from 'autocannon';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { newTokenValue } from '../server/auth/tokens.ts';
import type { Sql } from '../server/db/connect.ts';
import { freePort } from '../scripts/free_port.ts';
import { compactFinishedPartitions } from '../server/maintenance/compact_partitions.ts';
import { startServerProcess } from '../tests/support/server_process.ts';
import { openBenchDatabase } from './bench_db.ts';
import { cpuSeconds } from './process_cpu.ts';
import type { BenchReport } from './harness.ts';
import { warmUp } from './warm_up.ts';

/** HISTORY_BENCH_SMOKE=1: a small history and short loads, to check the bench itself quickly. */
const SMOKE = process.env.HISTORY_BENCH_SMOKE === '1';
const SOURCES = 2;
/** VMs present at any time (about): the first CHURN of them are deleted, CHURN more created. */
const VMS = SMOKE ? 1_000 : 10_000;
const CHURN = SMOKE ? 100 : 1_000;
const HOURS = (SMOKE ? 9 : 90) * 24;
const FIRST_HOURS = (SMOKE ? 3 : 30) * 24;
const CONNECTIONS = 50;
const SECONDS = SMOKE ? 2 : 10;
const HOUR_MS = 3_600_000;
const WORDS = ['web', 'app', 'db', 'cache', 'build'];

/** The name a VM has (some are renamed half way through the 90 days, see the facts). */
const vmName = (v: number) => `${WORDS[v % 5]}-${String(v).padStart(5, '0')}`;

/**
 * Each VM's life in capture indexes: present from `born` up to (not including) `gone`.
 * VMs 1..CHURN are deleted, VMs VMS+1..VMS+CHURN created, both spread over the 90 days.
 */
function plan(sql: Sql) {
  return sql`
    select v, 1 + v % ${SOURCES} as source_id, 'vm-' || lpad(v::text, 5, '0') as vm_key, 'vm-' || v as source_vm_id,
      (array['web','app','db','cache','build'])[1 + v % 5] || '-' || lpad(v::text, 5, '0') as name,
      case when v > ${VMS} then (v - ${VMS}) * ${HOURS} / ${CHURN + 1} else 0 end as born,
      case when v <= ${CHURN} then v * ${HOURS} / ${CHURN + 1} else ${HOURS + 1} end as gone,
      1 + v % 8 as vcpu, 1024 * (1 + v % 16) as ram_mb, (20 + v % 480)::numeric(16, 3) as disk
    from generate_series(1, ${VMS + CHURN}) v`;
}

/** Capture `i` of a source: its id (deterministic per run) and time. */
const captureId = (sql: Sql, run: string, source: Fragment, i: Fragment) =>
  sql`md5(${run} || ':' || ${source} || ':' || ${i})::uuid`;
type Fragment = ReturnType<Sql['unsafe']>;

/** Captures [from, to) of every source, their facts, totals and registry rows. */
export async function seedCaptures(sql: Sql, run: string, start: string, from: number, to: number) {
  const first = Date.parse(start) + from * HOUR_MS;
  const last = Date.parse(start) + (to - 1) * HOUR_MS;
  for (let t = first; t < last + 28 * 86_400_000; t += 28 * 86_400_000) {
    await sql`select vm_hourly_stats_ensure_partition(${
      new Date(Math.min(t, last)).toISOString()
    }::timestamptz)`;
  }
  const i = sql.unsafe('i');
  await sql`
    insert into captures (capture_id, source_id, captured_at, complete, vm_count, schema_version)
    select ${
    captureId(sql, run, sql.unsafe('s'), i)
  }, s, ${start}::timestamptz + i * interval '1 hour',
      i % 97 <> 13, 0, 1
    from generate_series(1, ${SOURCES}) s, generate_series(${from}::int, ${to - 1}::int) i`;
  // A day of captures per statement, two statements at a time (the machine has two cores),
  // each also writing its captures' totals from the rows it inserted (no second read).
  const days: number[] = [];
  for (let d = from; d < to; d += 24) days.push(d);
  // Per-VM columns are computed once (the plan, materialized), per-capture ones once per
  // capture: per fact row only power, vCPUs and name vary.
  const facts = async (d: number) => {
    const end = Math.min(to, d + 24);
    await sql`
      with p as materialized (
        select p.*, 'dc-' || p.source_id as datacenter, 'cluster-' || p.source_id || '-' || p.v % 4 as cluster,
          'esx-' || p.source_id || '-' || p.v % 100 as host, (array['Gold','Silver','Bronze'])[1 + p.v % 3] as pool,
          'vm/' || (array['prod','test','dev'])[1 + p.v % 3] as folder,
          case when p.v % 3 = 0 then 'windows2019srv_64Guest' else 'ubuntu64Guest' end as guest_os,
          p.name || '-renamed' as renamed, p.disk / 2 as used, p.v % 97 = 0 as template,
          case when p.v % 10 = 0 then p.v % ${HOURS} else ${HOURS + 1} end as resized_at
        from (${plan(sql)}) p
        order by p.source_id, p.vm_key
      ), c as materialized (
        select c.source_id, c.capture_id, c.captured_at, c.complete,
          ((extract(epoch from c.captured_at - ${start}::timestamptz) / 3600)::int) as i
        from captures c
        where c.captured_at >= ${start}::timestamptz + ${d}::int * interval '1 hour'
          and c.captured_at < ${start}::timestamptz + ${end}::int * interval '1 hour'
        order by c.source_id, c.captured_at
      ), facts as (
      insert into vm_hourly_stats (source_id, vm_key, snapshot_time, capture_id, source_vm_id, name, power_state,
        is_template, vcpu, ram_mb, provisioned_disk_gb, used_disk_gb, datacenter, cluster, host, resource_pool,
        folder, guest_os)
      select p.source_id, p.vm_key, c.captured_at, c.capture_id, p.source_vm_id,
        case when p.v % 50 = 0 and c.i >= ${HOURS / 2} then p.renamed else p.name end,
        case when (p.v + c.i / 24) % 13 = 0 then 'poweredOff' else 'poweredOn' end, p.template,
        p.vcpu + case when c.i >= p.resized_at then 2 else 0 end, p.ram_mb, p.disk, p.used, p.datacenter,
        p.cluster, p.host, p.pool, p.folder, p.guest_os
      from c join p on p.source_id = c.source_id and c.i >= p.born and c.i < p.gone
      returning source_id, capture_id, is_template, power_state, vcpu, ram_mb, provisioned_disk_gb
      )
      insert into source_totals (source_id, captured_at, capture_id, complete, vm_count, powered_on_count,
        template_count, vcpu, ram_mb, provisioned_disk_gb)
      select c.source_id, c.captured_at, c.capture_id, c.complete,
        count(*) filter (where not f.is_template), count(*) filter (where f.power_state = 'poweredOn' and not f.is_template),
        count(*) filter (where f.is_template), coalesce(sum(f.vcpu) filter (where not f.is_template), 0),
        coalesce(sum(f.ram_mb) filter (where not f.is_template), 0),
        coalesce(sum(f.provisioned_disk_gb) filter (where not f.is_template), 0)
      from facts f join c on c.capture_id = f.capture_id
      group by c.source_id, c.captured_at, c.capture_id, c.complete`;
  };
  for (let k = 0; k < days.length; k += 2) await Promise.all(days.slice(k, k + 2).map(facts));
  await sql`
    update captures c set vm_count = t.vm_count + t.template_count
    from source_totals t where t.capture_id = c.capture_id and c.captured_at >= ${
    new Date(first).toISOString()
  }::timestamptz`;
  await sql`
    insert into snapshot_registry (kind, source_id, period_start, period_end, row_count, capture_id, complete)
    select 'capture', source_id, captured_at, captured_at, vm_count, capture_id, complete
    from captures where captured_at >= ${new Date(first).toISOString()}::timestamptz`;
}

/**
 * The ingest's state after the first `n` captures of each source, as it would have left it:
 * lifecycle rows, deletion events, the live and deleted inventory, the sources' newest
 * capture and generation. Rebuilt whole (11,000 VMs: a second). And the fact partitions of
 * the months that are over rebuilt, as the maintenance job does.
 */
export async function settle(sql: Sql, run: string, start: string, n: number) {
  const t = (i: string) => sql`(${start}::timestamptz + (${sql.unsafe(i)}) * interval '1 hour')`;
  await sql.begin(async (tx) => {
    await tx`delete from vm_inventory`;
    await tx`delete from vm_inventory_deleted`;
    await tx`delete from vm_events`;
    await tx`delete from vm_changes where kind = 'renamed'`;
    await tx`delete from vm_lifecycle_base`;
    // Deletion is noticed by the first complete capture without the VM (i % 97 = 13 are
    // incomplete); half the deletions also came as the source's event, 20 minutes after
    // the VM was last seen, reported with the capture that first missed it.
    await tx`
      insert into vm_lifecycle_base (source_id, vm_key, source_vm_id, name, first_seen_at, last_seen_at, created_at,
        created_from, deleted_at, deleted_from, deletion_capture_id, in_newest_capture)
      select p.source_id, p.vm_key, p.source_vm_id,
        p.name || case when p.v % 50 = 0 and least(p.gone, ${n}) - 1 >= ${
      HOURS / 2
    } then '-renamed' else '' end,
        ${t('p.born')},
        ${t(`least(p.gone, ${n}) - 1`)},
        case when p.born > 0 then ${t('p.born')} - interval '20 minutes'
             else ${start}::timestamptz - (p.v % 365) * interval '1 day' end,
        'source',
        case when d.i < ${n} then
          case when p.v % 2 = 0 then ${t('p.gone - 1')} + interval '20 minutes' else ${
      t('d.i')
    } end end,
        case when d.i < ${n} then case when p.v % 2 = 0 then 'event' else 'absence' end end,
        case when d.i < ${n} then ${
      captureId(tx, run, sql.unsafe('p.source_id'), sql.unsafe('d.i'))
    } end,
        p.gone >= ${n}
      from (${
      plan(tx)
    }) p, lateral (select case when p.gone % 97 = 13 then p.gone + 1 else p.gone end as i) d
      where p.born < ${n}`;
    await tx`
      insert into vm_events (source_id, at, type, vm_key, source_vm_id, vm_name, capture_id)
      select l.source_id, l.deleted_at, 'deleted', l.vm_key, l.source_vm_id, l.name,
        md5(${run} || ':' || l.source_id || ':' || (p.gone))::uuid
      from vm_lifecycle_base l join (${plan(tx)}) p on p.vm_key = l.vm_key
      where l.deleted_from = 'event'`;
    // The renames, as ingest records them (vm_changes): each VM renamed half way that was
    // seen before, at its first capture under the new name. The list as of a moment reads
    // them to place those VMs by their names then.
    await tx`
      insert into vm_changes (source_id, vm_key, at, kind, capture_id, before, after)
      select p.source_id, p.vm_key, ${t(String(HOURS / 2))}, 'renamed',
        ${captureId(tx, run, sql.unsafe('p.source_id'), sql.unsafe(String(HOURS / 2)))},
        jsonb_build_object('name', p.name), jsonb_build_object('name', p.name || '-renamed')
      from (${plan(tx)}) p
      -- the stage must reach half way (a JS boolean: two numeric parameters would compare as text)
      where p.v % 50 = 0 and p.born < ${HOURS / 2} and p.gone > ${HOURS / 2} and ${n > HOURS / 2}`;
    await tx`
      update sources set last_capture_at = ${t(String(n - 1))}, generation = generation + 1`;
    const columns =
      'source_id, vm_key, source_vm_id, name, power_state, is_template, vcpu, ram_mb, provisioned_disk_gb, ' +
      'used_disk_gb, datacenter, cluster, host, resource_pool, folder, guest_os, ip_addresses, tags, ' +
      'created_at, first_seen_at, state_at, state_capture_id';
    // A deleted row carries its lifecycle's last sighting and deletion (migration 0071).
    const rows = (deleted: boolean) =>
      tx`
      select f.source_id, f.vm_key, f.source_vm_id, f.name, f.power_state, f.is_template, f.vcpu, f.ram_mb,
        f.provisioned_disk_gb, f.used_disk_gb, f.datacenter, f.cluster, f.host, f.resource_pool, f.folder,
        f.guest_os, array['10.' || f.source_id || '.' || (substr(f.vm_key, 4)::int >> 8) || '.' || (substr(f.vm_key, 4)::int & 255)],
        array['env:' || (array['prod','test','dev'])[1 + substr(f.vm_key, 4)::int % 3]],
        l.created_at, l.first_seen_at, f.snapshot_time, f.capture_id
        ${deleted ? tx`, l.last_seen_at, l.deleted_at, l.deleted_from` : tx``}
      from vm_lifecycle_base l
      join vm_hourly_stats f on f.source_id = l.source_id and f.snapshot_time = l.last_seen_at and f.vm_key = l.vm_key`;
    await tx`insert into vm_inventory (${tx.unsafe(columns)}) ${
      rows(false)
    } where l.deleted_at is null`;
    await tx`insert into vm_inventory_deleted (${
      tx.unsafe(`${columns}, last_seen_at, deleted_at, deleted_from`)
    }) ${rows(true)} where l.deleted_at is not null`;
  });
  // Steady state, as autovacuum leaves tables some time after their load.
  for (
    const table of [
      'captures',
      'source_totals',
      'snapshot_registry',
      'vm_lifecycle_base',
      'vm_inventory',
      'vm_inventory_deleted',
      'vm_events',
      'sources',
    ]
  ) await sql.unsafe(`vacuum analyze ${table}`);
  // The months over by the newest capture, rebuilt as the daily maintenance job would have
  // by then (the first 30 days are the oldest of the 90: their months are over at 30 days).
  await compactFinishedPartitions(sql, new Date(Date.parse(start) + n * HOUR_MS));
  // The facts too: autovacuum would otherwise mark the new rows visible during the loads.
  await sql`vacuum analyze vm_hourly_stats`;
}

/** A seeded generator of numbers in [0, 1). */
function random(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** `at` pages of 50 by name, each at another second of the history. */
export function* atPaths(
  start: number,
  captures: number,
  limit = 50,
  seed = 20,
): Generator<string> {
  const r = random(seed);
  for (;;) {
    const at = new Date(start + Math.floor(r() * captures * 3600) * 1000).toISOString();
    yield `/api/v1/vms?at=${encodeURIComponent(at)}&sort=name&limit=${limit}`;
  }
}

/** Deleted VMs by a part (4 to 7 characters) of a name, pages of `fewest` to `fewest` + 19. */
export function* deletedPaths(fewest = 40): Generator<string> {
  const r = random(21);
  for (;;) {
    const name = vmName(1 + Math.floor(r() * CHURN));
    const length = 4 + Math.floor(r() * Math.min(4, name.length - 3));
    const from = Math.floor(r() * (name.length - length + 1));
    yield `/api/v1/vms?state=deleted&q=${
      encodeURIComponent(name.slice(from, from + length))
    }&limit=${fewest + Math.floor(r() * 20)}`;
  }
}

/**
 * CPU seconds of each of the database's client backends now (by /proc): autovacuum, busy
 * after the history is extended, is left out. The bench's own connections are in (idle
 * during a load): the one asking may differ between two reads, and one left out of the first
 * would count all the seeding it ran.
 */
async function databaseCpuSeconds(sql: Sql): Promise<Map<number, number>> {
  const backends = await sql`
    select pid from pg_stat_activity
    where datname = current_database() and backend_type = 'client backend'`;
  return new Map(backends.map((b) => [b.pid as number, cpuSeconds(b.pid as number)]));
}

/**
 * 50 clients for SECONDS, each request asking `next()`; with the server process's and the
 * database's client backends' CPU milliseconds per request over the load (where the time
 * goes: with 2 cores, p99 is about the queue of 50 requests times CPU per request over 2).
 * Both include whatever the server's background jobs did meanwhile.
 */
async function load(url: string, token: string, next: () => string, pid: number, sql: Sql) {
  const node0 = cpuSeconds(pid);
  const db0 = await databaseCpuSeconds(sql);
  const result = await autocannon({
    url,
    connections: CONNECTIONS,
    duration: SECONDS,
    headers: { authorization: `Bearer ${token}` },
    requests: [{ setupRequest: (req: Record<string, unknown>) => ({ ...req, path: next() }) }],
  });
  const per = (seconds: number) =>
    Number((seconds * 1000 / Math.max(1, result.requests.total)).toFixed(2));
  // Each backend's CPU since the load began (all of it for one begun since); one that ended
  // during the load is missed (the server's pool keeps its connections).
  let db = 0;
  for (const [backend, seconds] of await databaseCpuSeconds(sql)) {
    db += seconds - (db0.get(backend) ?? 0);
  }
  return { ...result, serverCpuMs: per(cpuSeconds(pid) - node0), databaseCpuMs: per(db) };
}

type Result = {
  latency: { p50: number; p99: number };
  requests: { average: number; total: number };
  non2xx: number;
  errors: number;
  serverCpuMs: number;
  databaseCpuMs: number;
};

/**
 * One measurement at the history seeded so far: checks one answer of each kind against the
 * plan, then loads the server with each kind of request.
 */
async function measure(
  server: { url: string; child: { pid?: number } },
  token: string,
  sql: Sql,
  start: string,
  captures: number,
) {
  const get = async (p: string) => {
    const res = await fetch(server.url + p, { headers: { authorization: `Bearer ${token}` } });
    if (res.status !== 200) throw new Error(`${p} answered ${res.status}: ${await res.text()}`);
    return await res.json();
  };
  // Half way through, between two captures: each source's capture of that hour (complete
  // unless i % 97 = 13, then the one before), and every VM present in it.
  let i = Math.floor(captures / 2);
  if (i % 97 === 13) i--;
  const at = new Date(Date.parse(start) + i * HOUR_MS + 25 * 60_000).toISOString();
  const page = await get(`/api/v1/vms?at=${encodeURIComponent(at)}&sort=name&limit=50`);
  const [{ expected }] = await sql`
    select count(*)::int as expected from (${plan(sql)}) p where p.born <= ${i} and p.gone > ${i}`;
  if (
    page.total !== expected || page.items.length !== 50 || page.asOf.captures.length !== SOURCES
  ) {
    throw new Error(
      `at ${at}: ${page.total} VMs (expected ${expected}), ${page.items.length} items`,
    );
  }
  const deleted = await get('/api/v1/vms?state=deleted&q=-0&limit=50');
  const [{ gone }] = await sql`select count(*)::int as gone from vm_inventory_deleted`;
  if (
    deleted.total !== gone || gone === 0 ||
    deleted.items.some((v: { state: string }) => v.state !== 'deleted')
  ) {
    throw new Error(`deleted search: ${deleted.total} of ${gone}`);
  }
  // Each load is measured on a server that has run it a while (warm_up.ts): pages of
  // 49 and 60 to 79 rows run the same statements and leave no answer the load reads. The
  // warm-up asks other moments than the load (another seed): at the load's own moments it
  // would leave the very captures the load reads in PostgreSQL's buffers.
  const atPath = atPaths(Date.parse(start), captures);
  const pid = server.child.pid!;
  const warmAt = atPaths(Date.parse(start), captures, 49, 19);
  await warmUp(server.url, token, () => warmAt.next().value as string);
  const asOf = await load(server.url, token, () => atPath.next().value as string, pid, sql);
  const deletedPath = deletedPaths();
  const warmDeleted = deletedPaths(60);
  await warmUp(server.url, token, () => warmDeleted.next().value as string);
  const search = await load(
    server.url,
    token,
    () => deletedPath.next().value as string,
    pid,
    sql,
  );
  return { asOf, search, deletedVms: gone };
}

const ok = (r: Result) => r.non2xx === 0 && r.errors === 0 && r.requests.total > 0;

export default async function benchHistory(): Promise<BenchReport> {
  const began = performance.now();
  const db = await openBenchDatabase('history');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vml-bench-history-'));
  const adminToken = newTokenValue();
  const run = randomUUID();
  // The newest capture is the last full hour: the 90 days end now.
  const start = new Date(Math.floor(Date.now() / HOUR_MS) * HOUR_MS - (HOURS - 1) * HOUR_MS)
    .toISOString();
  await db.sql`
    insert into sources (kind, external_id, name)
    select 'vcenter', 'vc-' || g, 'vcenter-' || g from generate_series(1, ${SOURCES}) g`;
  let server: Awaited<ReturnType<typeof startServerProcess>> | null = null;
  try {
    let t = performance.now();
    await seedCaptures(db.sql, run, start, 0, FIRST_HOURS);
    await settle(db.sql, run, start, FIRST_HOURS);
    const seed30 = performance.now() - t;
    console.log(`history: 30 days seeded in ${Math.round(seed30 / 1000)} s`);
    server = await startServerProcess({
      databaseUrl: db.url,
      port: await freePort(),
      dataDir: dir,
      adminToken,
    });
    const at30 = await measure(server, adminToken, db.sql, start, FIRST_HOURS);
    t = performance.now();
    await seedCaptures(db.sql, run, start, FIRST_HOURS, HOURS);
    await settle(db.sql, run, start, HOURS);
    const seed90 = performance.now() - t;
    console.log(`history: extended to 90 days in ${Math.round(seed90 / 1000)} s`);
    const at90 = await measure(server, adminToken, db.sql, start, HOURS);
    const [{ facts }] = await db.sql`select count(*)::int as facts from vm_hourly_stats`;
    // The facts' indexes, the months over rebuilt by maintenance (compact_partitions.ts).
    const [{ indexMb, compactedMb }] = await db.sql`
      select round(sum(pg_indexes_size(i.inhrelid)) / 1048576)::int as "indexMb",
        round(sum(pg_indexes_size(i.inhrelid)) filter (where k.partition_name is not null)
          / 1048576)::int as "compactedMb"
      from pg_inherits i
      left join fact_partition_compactions k on k.partition_name = i.inhrelid::regclass::text
      where i.inhparent = 'vm_hourly_stats'::regclass`;
    const p99 = (r: Result) => r.latency.p99;
    const met = p99(at90.asOf) < 150 && p99(at30.asOf) < 150 && p99(at90.search) < 100 &&
      p99(at30.search) < 100 && [at30, at90].every((m) => ok(m.asOf) && ok(m.search));
    return {
      name: 'history',
      title: `VM list as of any moment and deleted VMs, ${VMS.toLocaleString('en-US')} VMs, ` +
        `hourly captures over 30 then 90 days (${
          (facts / 1e6).toFixed(1)
        } M facts), ${CONNECTIONS} concurrent clients`,
      goal:
        '`at` page of 50 by name p99 < 150 ms; deleted search by name part p99 < 100 ms (at 30 and 90 days)',
      met,
      metrics: {
        facts,
        factIndexMb: indexMb,
        factIndexMbOfMonthsRebuilt: compactedMb,
        deletedVms90d: at90.deletedVms,
        at30dP50Ms: at30.asOf.latency.p50,
        at30dP99Ms: p99(at30.asOf),
        at30dRequestsPerSecond: Math.round(at30.asOf.requests.average),
        at30dServerCpuMsPerRequest: at30.asOf.serverCpuMs,
        at30dDatabaseCpuMsPerRequest: at30.asOf.databaseCpuMs,
        at90dP50Ms: at90.asOf.latency.p50,
        at90dP99Ms: p99(at90.asOf),
        at90dRequestsPerSecond: Math.round(at90.asOf.requests.average),
        at90dServerCpuMsPerRequest: at90.asOf.serverCpuMs,
        at90dDatabaseCpuMsPerRequest: at90.asOf.databaseCpuMs,
        atP99GrowthFrom30To90d: Number((p99(at90.asOf) / Math.max(1, p99(at30.asOf))).toFixed(2)),
        deletedSearch30dP50Ms: at30.search.latency.p50,
        deletedSearch30dP99Ms: p99(at30.search),
        deletedSearch90dP50Ms: at90.search.latency.p50,
        deletedSearch90dP99Ms: p99(at90.search),
        deletedSearch90dRequestsPerSecond: Math.round(at90.search.requests.average),
        deletedSearch30dServerCpuMsPerRequest: at30.search.serverCpuMs,
        deletedSearch30dDatabaseCpuMsPerRequest: at30.search.databaseCpuMs,
        deletedSearch90dServerCpuMsPerRequest: at90.search.serverCpuMs,
        deletedSearch90dDatabaseCpuMsPerRequest: at90.search.databaseCpuMs,
        seed30dS: Math.round(seed30 / 1000),
        extendTo90dS: Math.round(seed90 / 1000),
        totalS: Math.round((performance.now() - began) / 1000),
        non2xx: [at30, at90].reduce((s, m) => s + m.asOf.non2xx + m.search.non2xx, 0),
        errors: [at30, at90].reduce((s, m) => s + m.asOf.errors + m.search.errors, 0),
      },
      notes: `${SECONDS} s per measurement, autocannon on loopback against the server process; ` +
        `${SOURCES} sources, ${CHURN} VMs created and ${CHURN} deleted spread over the 90 days ` +
        '(half the deletions by event, half by absence), a capture in 97 incomplete; every `at` ' +
        'request at another second of the history, every search another name part and page size; ' +
        'CPU ms per request: of the server process and of the database backends over each load ' +
        '(/proc; autocannon itself uses the same 2 cores)',
    };
  } finally {
    await server?.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
    await db.close();
  }
}
