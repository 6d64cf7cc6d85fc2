/**
 * Deterministic synthetic facts for benchmarks and parity tests, generated set-based in
 * PostgreSQL (generate_series × hash) so 10,000 VMs × 744 captures take seconds, not
 * minutes. Churn is built in: creations and deletions mid-range, a resize half way, pool
 * moves every 6 captures, power changes, missed samples (partial presence), templates,
 * renames, reused vmids, missed captures, and lifecycle rows with and without a creation time.
 */
import { randomUUID } from 'node:crypto';
import type { Sql } from '../../server/db/connect.ts';

export type SyntheticOptions = {
  sourceId: number;
  vms: number;
  /** First capture instant (ISO). */
  start: string;
  captures: number;
  intervalSeconds: number;
  seed: number;
  /** Capture indexes that never arrived (no captures row, no facts). */
  skip?: number[];
};

/** Inserts captures, facts and lifecycle rows; returns the number of fact rows. */
export async function generateFacts(sql: Sql, o: SyntheticOptions): Promise<number> {
  const endMs = Date.parse(o.start) + (o.captures - 1) * o.intervalSeconds * 1000;
  const end = new Date(endMs).toISOString();
  for (let t = Date.parse(o.start); t < endMs; t += 28 * 86400_000) {
    await sql`select vm_hourly_stats_ensure_partition(${new Date(t).toISOString()}::timestamptz)`;
  }
  await sql`select vm_hourly_stats_ensure_partition(${end}::timestamptz)`;
  const skip = o.skip ?? [];
  const runId = randomUUID();
  await sql`
    insert into captures (capture_id, source_id, captured_at, complete, vm_count, schema_version)
    select md5(${runId} || i)::uuid, ${o.sourceId}, ${o.start}::timestamptz + i * make_interval(secs => ${o.intervalSeconds}),
           i % 97 <> 13, ${o.vms}, 1
    from generate_series(0, ${o.captures - 1}) i
    where i <> all(${skip}::int[])`;
  const [{ count }] = await sql`
    with vm as (
      select v,
             case when abs(hashint8(${o.seed}::bigint * 1000003 + v * 11 + 1)) % 10 = 0
                  then abs(hashint8(${o.seed}::bigint * 1000003 + v * 11 + 2)) % ${o.captures} else 0 end as born,
             abs(hashint8(${o.seed}::bigint * 1000003 + v * 11 + 3)) % 10 = 0 as dies,
             abs(hashint8(${o.seed}::bigint * 1000003 + v * 11 + 4)) as h4,
             1 + abs(hashint8(${o.seed}::bigint * 1000003 + v * 11 + 5)) % 8 as vcpu,
             1024 * (1 + abs(hashint8(${o.seed}::bigint * 1000003 + v * 11 + 6)) % 16)
               + (abs(hashint8(${o.seed}::bigint * 1000003 + v * 11 + 7)) % 3) * 100 as ram,
             (abs(hashint8(${o.seed}::bigint * 1000003 + v * 11 + 8)) % 500000)::numeric / 1000 as disk,
             abs(hashint8(${o.seed}::bigint * 1000003 + v * 11 + 9)) % 5 = 0 as resized
      from generate_series(1, ${o.vms}) v
    ), life as (
      select vm.*, case when dies then born + 1 + h4 % greatest(1, ${o.captures} - born) else ${o.captures} end as gone
      from vm
    ), cap as (
      select i, ${o.start}::timestamptz + i * make_interval(secs => ${o.intervalSeconds}) as t, md5(${runId} || i)::uuid as id
      from generate_series(0, ${o.captures - 1}) i
      where i <> all(${skip}::int[])
    ), ins as (
      insert into vm_hourly_stats (source_id, vm_key, snapshot_time, capture_id, source_vm_id, name, power_state,
        is_template, vcpu, ram_mb, provisioned_disk_gb, resource_pool)
      select ${o.sourceId}, 'vm-' || l.v, cap.t, cap.id,
             (100 + l.v % greatest(1, ${o.vms} * 9 / 10))::text,
             'vm-' || l.v || case when l.v % 13 = 0 and cap.i >= ${o.captures} * 3 / 4 then '-renamed' else '' end,
             case when abs(hashint8(${o.seed}::bigint * 7919 + l.v * 131 + cap.i / 3)) % 7 = 0 then 'poweredOff'
                  when abs(hashint8(${o.seed}::bigint * 7919 + l.v * 131 + cap.i / 3)) % 31 = 1 then 'suspended'
                  else 'poweredOn' end,
             l.v % 211 = 0,
             l.vcpu + case when l.resized and cap.i >= ${o.captures} / 2 then 2 else 0 end,
             l.ram + case when l.resized and cap.i >= ${o.captures} / 2 then 1024 else 0 end,
             l.disk,
             case abs(hashint8(${o.seed}::bigint * 104729 + l.v * 17 + cap.i / 6)) % 4
               when 0 then 'Gold' when 1 then 'Silver' when 2 then 'Bronze' else null end
      from life l join cap on cap.i >= l.born and cap.i < l.gone
      -- about 2% of samples missed: the VM is absent from that capture only
      where abs(hashint8(${o.seed}::bigint * 15485863 + l.v * 1009 + cap.i)) % 50 <> 0
      returning 1
    )
    select count(*)::int as count from ins`;
  await sql`
    insert into vm_lifecycle_base (source_id, vm_key, source_vm_id, name, first_seen_at, last_seen_at, created_at,
      created_from, deleted_at, deleted_from)
    select f.source_id, f.vm_key, min(f.source_vm_id), min(f.name), min(f.snapshot_time), max(f.snapshot_time),
           case when substr(f.vm_key, 4)::int % 17 = 0 then null else min(f.snapshot_time) - interval '20 minutes' end,
           case when substr(f.vm_key, 4)::int % 17 = 0 then null else 'source' end,
           case when max(f.snapshot_time) < ${end}::timestamptz
                then max(f.snapshot_time) + interval '10 minutes' end,
           case when max(f.snapshot_time) < ${end}::timestamptz then 'absence' end
    from vm_hourly_stats f
    where f.source_id = ${o.sourceId} and f.snapshot_time >= ${o.start}::timestamptz
      and f.snapshot_time <= ${end}::timestamptz
    group by f.source_id, f.vm_key
    on conflict (source_id, vm_key) do update set last_seen_at = excluded.last_seen_at, deleted_at = excluded.deleted_at`;
  // Lifecycle rows written outside ingest: ingest's cached view of the source is now stale.
  await sql`update sources set generation = generation + 1 where id = ${o.sourceId}`;
  return count;
}
