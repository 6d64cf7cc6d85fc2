/**
 * Changes between two dates under load (issue 20): 10,000 VMs with 90 days of hourly captures
 * (21.6 M facts) plus 1,000 creations and 1,000 deletions spread over them, and per VM a few
 * changes (a fifth resized once, a third moved host once, a quarter powered off once, one in
 * fifty renamed), seeded set-based in SQL; vm_changes is then computed by
 * vm_changes_rebuild() (the migration's backfill), timed. Against the real server process:
 *
 * - `GET /api/v1/changes` for a 30-day range (summary plus the first page of 100), one client
 *   asking 100 different ranges in turn, and 50 clients: p99 goal < 300 ms.
 *
 *   npm run bench -- changes [--vms 10000] [--days 90] [--seconds 10]
 */
import autocannon from 'autocannon';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { newTokenValue } from '../server/auth/tokens.ts';
import type { Sql } from '../server/db/connect.ts';
import { freePort } from '../scripts/free_port.ts';
import { startServerProcess } from '../tests/support/server_process.ts';
import { openBenchDatabase } from './bench_db.ts';
import { type BenchReport, percentile } from './harness.ts';
import { warmUp } from './warm_up.ts';

let VMS = 10_000;
let DAYS = 90;
let SECONDS = 10;
const CONNECTIONS = 50;
const RANGE_DAYS = 30;

function arg(argv: string[], name: string, fallback: number): number {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : fallback;
}

/** The estate and its history; returns the fact rows written. */
export async function seedChangesHistory(
  sql: Sql,
  now: Date,
  size = { vms: VMS, days: DAYS },
): Promise<number> {
  const VMS = size.vms;
  const hours = size.days * 24;
  const start = new Date(now.getTime() - (hours - 1) * 3600_000);
  const churn = VMS / 10;
  const [{ id }] = await sql`
    insert into sources (kind, external_id, name, last_capture_at)
    values ('vcenter', 'vc-1', 'vcenter-1', ${now}) returning id`;
  for (let t = start.getTime(); t < now.getTime(); t += 28 * 86400_000) {
    await sql`select vm_hourly_stats_ensure_partition(${new Date(t).toISOString()}::timestamptz)`;
  }
  await sql`select vm_hourly_stats_ensure_partition(${now.toISOString()}::timestamptz)`;
  await sql`
    insert into captures (capture_id, source_id, captured_at, received_at, complete, vm_count, schema_version)
    select md5('cap' || i)::uuid, ${id}, ${start}::timestamptz + i * interval '1 hour',
      ${start}::timestamptz + i * interval '1 hour' + interval '20 seconds', true, ${VMS}, 2
    from generate_series(0, ${hours - 1}) i`;
  // VMs 1..VMS exist from the start, one in ten of them is deleted at a random hour; VMS+1..
  // VMS+churn are created at a random hour. h(v, n): a VM's n-th hash, an hour of the range.
  const [{ n }] = await sql`
    with vm as (
      select v,
        case when v > ${VMS} then abs(hashint8(v * 11 + 1)) % ${hours} else 0 end as born,
        case when v <= ${VMS} and v % 10 = 0 then 1 + abs(hashint8(v * 11 + 2)) % (${hours} - 1) else ${hours} end as gone,
        case when v % 5 = 0 then abs(hashint8(v * 11 + 3)) % ${hours} end as resized,
        case when v % 3 = 1 then abs(hashint8(v * 11 + 4)) % ${hours} end as moved,
        case when v % 4 = 2 then abs(hashint8(v * 11 + 5)) % ${hours} end as off,
        case when v % 50 = 3 then abs(hashint8(v * 11 + 6)) % ${hours} end as renamed
      from generate_series(1, ${VMS + churn}) v
    ), ins as (
      insert into vm_hourly_stats (source_id, vm_key, snapshot_time, capture_id, source_vm_id, name, power_state,
        is_template, vcpu, ram_mb, provisioned_disk_gb, datacenter, cluster, host, resource_pool, folder)
      select ${id}, 'vm-' || v, ${start}::timestamptz + i * interval '1 hour', md5('cap' || i)::uuid, v::text,
        'vm-' || v || case when coalesce(i >= renamed, false) then '-new' else '' end,
        case when coalesce(i >= off, false) then 'poweredOff' else 'poweredOn' end, false,
        2 + 2 * coalesce(i >= resized, false)::int, 4096 + 4096 * coalesce(i >= resized, false)::int, 40 + 20 * coalesce(i >= resized, false)::int,
        'dc1', 'c' || (v % 8), 'esx-' || (v % 200 + 200 * coalesce(i >= moved, false)::int), 'Gold', 'vms'
      from vm cross join generate_series(born, gone - 1) i
      returning 1
    )
    select count(*)::int as n from ins`;
  await sql`
    insert into vm_lifecycle_base (source_id, vm_key, source_vm_id, name, first_seen_at, last_seen_at,
      in_newest_capture, deleted_at, deleted_from)
    select ${id}, f.vm_key, min(f.source_vm_id), max(f.name), min(f.snapshot_time), max(f.snapshot_time),
      max(f.snapshot_time) = ${now},
      case when max(f.snapshot_time) < ${now} then max(f.snapshot_time) + interval '1 hour' end,
      case when max(f.snapshot_time) < ${now} then 'absence' end
    from vm_hourly_stats f where f.source_id = ${id}
    group by f.vm_key`;
  // The sizes at first and last sighting ingest keeps beside them (migration 0047's backfill).
  await sql`select vm_lifecycle_sizes_rebuild(${id})`;
  return n;
}

export default async function benchChanges(argv: string[] = []): Promise<BenchReport> {
  VMS = arg(argv, 'vms', VMS);
  DAYS = arg(argv, 'days', DAYS);
  SECONDS = arg(argv, 'seconds', SECONDS);
  const db = await openBenchDatabase('changes');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vml-bench-changes-'));
  const token = newTokenValue();
  const now = new Date(Math.floor(Date.now() / 3600_000) * 3600_000);
  try {
    const seedStarted = performance.now();
    const facts = await seedChangesHistory(db.sql, now, { vms: VMS, days: DAYS });
    const seedMs = Math.round(performance.now() - seedStarted);
    const rebuildStarted = performance.now();
    await db.sql`select vm_changes_rebuild(id, '-infinity', 'infinity') from sources`;
    const rebuildMs = Math.round(performance.now() - rebuildStarted);
    await db.sql`vacuum analyze vm_changes, vm_lifecycle_base, vm_events, captures`;
    const [{ changes }] = await db.sql`select count(*)::int as changes from vm_changes`;
    const server = await startServerProcess({
      databaseUrl: db.url,
      port: await freePort(),
      dataDir: dir,
      adminToken: token,
    });
    // 30-day ranges ending at different hours of the last 30 days (no answer is reused).
    const rangePath = (k: number) => {
      const to = new Date(now.getTime() - (k % (24 * Math.max(1, DAYS - RANGE_DAYS))) * 3600_000);
      const from = new Date(to.getTime() - RANGE_DAYS * 86400_000);
      return `/api/v1/changes?from=${from.toISOString()}&to=${to.toISOString()}`;
    };
    try {
      const get = async (p: string) => {
        const started = performance.now();
        const res = await fetch(server.url + p, { headers: { authorization: `Bearer ${token}` } });
        const body = await res.text();
        if (res.status !== 200) {
          throw new Error(`${p} answered ${res.status}: ${body.slice(0, 200)}`);
        }
        return { ms: performance.now() - started, body };
      };
      const first = JSON.parse((await get(rangePath(0))).body);
      const oneMs: number[] = [];
      for (let k = 0; k < 100; k++) oneMs.push((await get(rangePath(k * 7))).ms);
      // The load is measured on a server that has run it a while (warm_up.ts), with
      // ranges ending on the half hour, which the load never asks.
      let w = 0;
      await warmUp(
        server.url,
        token,
        () => rangePath(w++ * 13).replace(/:00:00\.000Z/g, ':30:00.000Z'),
      );
      let i = 0;
      const load = await autocannon({
        url: server.url,
        connections: CONNECTIONS,
        duration: SECONDS,
        headers: { authorization: `Bearer ${token}` },
        requests: [{
          setupRequest: (req: Record<string, unknown>) => ({ ...req, path: rangePath(i++ * 13) }),
        }],
      });
      const failures = load.non2xx + load.errors;
      const p99 = load.latency.p99;
      return {
        name: 'changes',
        title: `Changes between two dates: ${
          VMS.toLocaleString('en-US')
        } VMs, ${DAYS} days of hourly captures (${facts.toLocaleString('en-US')} facts), ${
          (VMS / 10).toLocaleString('en-US')
        } creations and deletions`,
        goal:
          'GET /api/v1/changes for a 30-day range (summary + first page) p99 < 300 ms with 50 clients',
        met: p99 < 300 && percentile(oneMs, 99) < 300 && failures === 0,
        metrics: {
          oneClientP50Ms: Number(percentile(oneMs, 50).toFixed(1)),
          oneClientP99Ms: Number(percentile(oneMs, 99).toFixed(1)),
          clients50P50Ms: load.latency.p50,
          clients50P99Ms: p99,
          clients50RequestsPerSecond: Math.round(load.requests.average),
          changesIn30Days: first.total,
          vmChangesRows: changes,
          facts,
          seedMs,
          rebuildMs,
          failures,
        },
        notes:
          `One client: 100 different 30-day ranges in turn; 50 clients: ${SECONDS} s of autocannon on loopback, ` +
          'each request another range. rebuildMs: vm_changes_rebuild over the whole history (the migration backfill).',
      };
    } finally {
      await server.kill('SIGTERM');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await db.close();
  }
}
