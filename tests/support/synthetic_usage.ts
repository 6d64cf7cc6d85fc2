/**
 * Deterministic synthetic usage for the usage-tier parity test and benchmark, set-based
 * (generate_series × hash) like synthetic_facts.ts: VM usage written into the source's
 * facts (about 3% of values unknown per column, some facts with no usage at all), and host
 * and datastore facts at every capture of the source, with fractional doubles (so the
 * rounding to 3 decimals is exercised), unknown values and datastores filling up.
 */
import type { Sql } from '../../server/db/connect.ts';

/** Fills the usage columns of the source's VM facts; returns the rows updated. */
export async function addVmUsage(sql: Sql, sourceId: number, seed: number): Promise<number> {
  const h = (salt: number) =>
    sql`abs(hashint8(${seed}::bigint * 999983 + hashtext(vm_key)::bigint * 7 + extract(epoch from snapshot_time)::bigint * 13 + ${salt}))`;
  return (await sql`
    update vm_hourly_stats set
      cpu_usage_mhz = case when ${h(1)} % 33 = 0 then null else (${h(2)} % (vcpu * 2600))::int end,
      guest_memory_mib = case when ${h(3)} % 29 = 0 then null else (${
    h(4)
  } % (ram_mb + 1))::int end,
      host_memory_mib = case when ${h(5)} % 31 = 0 then null else (${h(6)} % (ram_mb + 64))::int end
    where source_id = ${sourceId}`).count;
}

/** Host and datastore facts at every capture of the source; returns [host facts, datastore facts]. */
export async function addSiteFacts(
  sql: Sql,
  o: { sourceId: number; hosts: number; datastores: number; seed: number },
): Promise<[number, number]> {
  const hosts = (await sql`
    insert into host_facts (source_id, host_key, snapshot_time, connection_state, power_state, cpu_cores,
      cpu_mhz, memory_mb, cpu_usage_mhz, memory_usage_mib)
    select ${o.sourceId}, 'host-' || n, c.captured_at, 'connected', 'poweredOn', 32, 2600, 524288,
           case when x % 17 = 0 then null else (x % 8320000) / 100.0 + 0.0001 * (x % 7) end,
           case when x % 19 = 0 then null else (x % 52428800) / 100.0 + 1 / 3.0 end
    from captures c, generate_series(1, ${o.hosts}) n,
         lateral (select abs(hashint8(${o.seed}::bigint * 31 + n * 1009 + extract(epoch from c.captured_at)::bigint)) as x) r
    where c.source_id = ${o.sourceId}`).count;
  // Capacity 1–20 TB; free falls with time for every third datastore (filling), else wanders.
  const stores = (await sql`
    insert into datastore_facts (source_id, datastore_key, snapshot_time, capacity_gb, free_gb, accessible,
      uncommitted_gib, vm_count)
    select ${o.sourceId}, 'ds-' || n, c.captured_at, cap,
           case when x % 23 = 0 then null
                when n % 3 = 0 then greatest(0, cap * 0.6 - extract(epoch from c.captured_at - t.first) / 3600.0 * 1.37)
                else cap * ((x % 1000) / 1000.0) + 1 / 7.0 end,
           true, 0, 10
    from captures c, generate_series(1, ${o.datastores}) n,
         lateral (select min(captured_at) as first from captures where source_id = ${o.sourceId}) t,
         lateral (select 1000.0 * (1 + n % 20) + 0.123456789 as cap,
                  abs(hashint8(${o.seed}::bigint * 37 + n * 2003 + extract(epoch from c.captured_at)::bigint)) as x) r
    where c.source_id = ${o.sourceId}`).count;
  return [hosts, stores];
}
