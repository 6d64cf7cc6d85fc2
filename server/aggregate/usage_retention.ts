/**
 * Retention of the usage tiers (docs/aggregation.md, "Usage tiers"), run by the maintenance
 * job. Per capture: the usage columns of VM facts and host facts are cleared (set null) once
 * their local day ended more than `rawDays` ago — only for days whose tiers were computed
 * (usage_tier_days), under the day's aggregation lock, so no usage goes before its hourly
 * and daily rows exist; the facts rows themselves stay (they are the inventory record,
 * kept by VMLEDGER_RETENTION_MONTHS), and so do datastore facts (their space is the capacity
 * record the datastore pages fit). Hourly rows older than `hourlyDays` and daily rows older
 * than `dailyDays` are deleted. 0 keeps a tier forever.
 */
import type { Sql } from '../db/connect.ts';

export type UsageRetention = { rawDays: number; hourlyDays: number; dailyDays: number };
/** The defaults: per capture 7 days, hourly 90 days, daily kept. */
export const USAGE_RETENTION: UsageRetention = { rawDays: 7, hourlyDays: 90, dailyDays: 0 };

const DAY_MS = 86_400_000;

export async function pruneUsage(sql: Sql, r: UsageRetention, now: Date = new Date()) {
  const out = {
    rawDaysPruned: 0,
    vmFactsCleared: 0,
    hostFactsCleared: 0,
    hourlyDeleted: 0,
    dailyDeleted: 0,
  };
  if (r.rawDays > 0) {
    const cutoff = new Date(now.getTime() - r.rawDays * DAY_MS);
    const days = await sql`
      select source_id, day::text as day, period_start::text as t0, period_end::text as t1
      from usage_tier_days where raw_pruned_at is null and period_end <= ${cutoff}
      order by period_end`;
    for (const d of days) {
      await sql.begin(async (tx) => {
        await tx`select pg_advisory_xact_lock(hashtext(${`aggregate:usage:${d.source_id}:${d.day}`}))`;
        const range = tx`source_id = ${d.source_id} and snapshot_time >= ${d.t0}::timestamptz
          and snapshot_time < ${d.t1}::timestamptz`;
        out.vmFactsCleared += (await tx`
          update vm_hourly_stats set cpu_usage_mhz = null, guest_memory_mib = null, host_memory_mib = null
          where ${range}
            and (cpu_usage_mhz is not null or guest_memory_mib is not null or host_memory_mib is not null)`)
          .count;
        out.hostFactsCleared += (await tx`
          update host_facts set cpu_usage_mhz = null, memory_usage_mib = null
          where ${range} and (cpu_usage_mhz is not null or memory_usage_mib is not null)`).count;
        await tx`update usage_tier_days set raw_pruned_at = now()
          where source_id = ${d.source_id} and day = ${d.day}::date`;
      });
      out.rawDaysPruned++;
    }
  }
  if (r.hourlyDays > 0) {
    const cutoff = new Date(now.getTime() - r.hourlyDays * DAY_MS);
    for (const t of ['vm_usage_hourly', 'host_usage_hourly', 'datastore_usage_hourly']) {
      out.hourlyDeleted += (await sql`delete from ${sql(t)} where hour < ${cutoff}`).count;
    }
  }
  if (r.dailyDays > 0) {
    const cutoff = new Date(now.getTime() - r.dailyDays * DAY_MS).toISOString().slice(0, 10);
    for (const t of ['vm_usage_daily', 'host_usage_daily', 'datastore_usage_daily']) {
      out.dailyDeleted += (await sql`delete from ${sql(t)} where day < ${cutoff}::date`).count;
    }
  }
  return out;
}
