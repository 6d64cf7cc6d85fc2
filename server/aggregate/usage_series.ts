/**
 * Reading usage history from the tiers (docs/aggregation.md, "Usage tiers"): the finest tier
 * that still covers the range's start (per capture within the raw retention, hourly within
 * the hourly retention, daily beyond), and past the last computed day (the open day, or days
 * not aggregated yet) the per-capture facts, so a chart always reaches the newest capture.
 * Points are (t, avg, max) per metric; per-capture points have avg = max = the value.
 */
import type { Sql } from '../db/connect.ts';
import type { UsageRetention } from './usage_retention.ts';

export type UsageTier = 'capture' | 'hourly' | 'daily';
export type UsageObject = 'vm' | 'host' | 'datastore';
export type UsagePoint = { t: string; tier: UsageTier; values: Record<string, string | null> };

const DAY_MS = 86_400_000;

/** The finest tier whose retention still covers `from`. */
export function tierFor(from: Date, now: Date, r: UsageRetention): UsageTier {
  const age = now.getTime() - from.getTime();
  if (r.rawDays === 0 || age <= r.rawDays * DAY_MS) return 'capture';
  if (r.hourlyDays === 0 || age <= r.hourlyDays * DAY_MS) return 'hourly';
  return 'daily';
}

// Per object: the tier tables' columns and the facts' expressions, under the same names.
const SPEC = {
  vm: {
    key: 'vm_key',
    table: 'vm_usage',
    tier: 'cpu_avg_mhz as cpu_avg, cpu_max_mhz as cpu_max, guest_mem_avg_mib as guest_mem_avg, ' +
      'guest_mem_max_mib as guest_mem_max, host_mem_avg_mib as host_mem_avg, host_mem_max_mib as host_mem_max',
    facts: 'vm_hourly_stats',
    raw: 'cpu_usage_mhz::numeric as cpu_avg, cpu_usage_mhz::numeric as cpu_max, ' +
      'guest_memory_mib::numeric as guest_mem_avg, guest_memory_mib::numeric as guest_mem_max, ' +
      'host_memory_mib::numeric as host_mem_avg, host_memory_mib::numeric as host_mem_max',
  },
  host: {
    key: 'host_key',
    table: 'host_usage',
    tier:
      'cpu_avg_mhz as cpu_avg, cpu_max_mhz as cpu_max, mem_avg_mib as mem_avg, mem_max_mib as mem_max',
    facts: 'host_facts',
    raw:
      'round(cpu_usage_mhz::numeric, 3) as cpu_avg, round(cpu_usage_mhz::numeric, 3) as cpu_max, ' +
      'round(memory_usage_mib::numeric, 3) as mem_avg, round(memory_usage_mib::numeric, 3) as mem_max',
  },
  datastore: {
    key: 'datastore_key',
    table: 'datastore_usage',
    tier: 'used_avg_gb as used_avg, used_max_gb as used_max, free_avg_gb as free_avg, ' +
      'free_min_gb as free_min, capacity_last_gb as capacity',
    facts: 'datastore_facts',
    raw: 'round(capacity_gb::numeric, 3) - round(free_gb::numeric, 3) as used_avg, ' +
      'round(capacity_gb::numeric, 3) - round(free_gb::numeric, 3) as used_max, ' +
      'round(free_gb::numeric, 3) as free_avg, round(free_gb::numeric, 3) as free_min, ' +
      'round(capacity_gb::numeric, 3) as capacity',
  },
} as const;

/**
 * The usage of one object over [from, to), oldest first, in `tier` (default: tierFor(from)).
 * Numbers are numeric text as stored.
 */
export async function usageSeries(
  sql: Sql,
  o: {
    object: UsageObject;
    sourceId: number;
    key: string;
    from: Date;
    to: Date;
    retention: UsageRetention;
    tier?: UsageTier;
    now?: Date;
  },
): Promise<UsagePoint[]> {
  const s = SPEC[o.object];
  const tier = o.tier ?? tierFor(o.from, o.now ?? new Date(), o.retention);
  // Where the computed days end: facts from there on are read as they are.
  const [c] =
    await sql`select max(period_end) as covered from usage_tier_days where source_id = ${o.sourceId}`;
  const covered: Date | null = tier === 'capture' ? null : c?.covered ?? null;
  const rawFrom = covered && covered > o.from ? covered : o.from;
  const points: UsagePoint[] = [];
  const push = (rows: Record<string, unknown>[], t: UsageTier) => {
    for (const { t: at, ...values } of rows) {
      points.push({
        t: new Date(at as string | Date).toISOString(),
        tier: t,
        values: Object.fromEntries(
          Object.entries(values).map(([k, v]) => [k, v === null ? null : String(v)]),
        ),
      });
    }
  };
  if (covered && covered > o.from) {
    const rows = tier === 'hourly'
      ? await sql`select hour as t, ${sql.unsafe(s.tier)} from ${sql(`${s.table}_hourly`)}
          where source_id = ${o.sourceId} and ${sql(s.key)} = ${o.key}
            and hour >= ${o.from} and hour < ${o.to} and hour < ${covered} order by hour`
      : await sql`select d.period_start as t, ${sql.unsafe(s.tier)} from ${
        sql(`${s.table}_daily`)
      } u
          join usage_tier_days d on d.source_id = u.source_id and d.day = u.day
          where u.source_id = ${o.sourceId} and u.${sql(s.key)} = ${o.key}
            and d.period_end > ${o.from} and d.period_start < ${o.to} order by u.day`;
    push(rows, tier);
  }
  if (rawFrom < o.to) {
    const rows = await sql`select snapshot_time as t, ${sql.unsafe(s.raw)} from ${sql(s.facts)}
      where source_id = ${o.sourceId} and ${sql(s.key)} = ${o.key}
        and snapshot_time >= ${rawFrom} and snapshot_time < ${o.to} order by snapshot_time`;
    push(rows, 'capture');
  }
  return points;
}
