/**
 * Whether the rollups of a period are current: every source with captures in the period
 * has its daily rollups written after the last of those captures arrived, and (monthly)
 * a monthly rollup written after its newest daily one. Scheduled reports wait for this;
 * requested ones report it on the Summary sheet. Data access only.
 */
import type { Sql } from '../db/connect.ts';
import { periodBounds, type RollupKind } from './period.ts';

export type StaleSource = { source: string; staleDays: number; monthlyStale: boolean };

/**
 * Sources whose rollups for the period starting `day` lag their captures (empty: ready);
 * null when no source captured anything in the period (there is nothing to report).
 */
export async function staleSources(
  sql: Sql,
  kind: RollupKind,
  day: string,
  tz: string,
): Promise<StaleSource[] | null> {
  const rows = await sql`
    with b as (${periodBounds(sql, kind, day, tz)}), c as (
      select c.source_id, (c.captured_at at time zone ${tz})::date as day, max(c.received_at) as received
      from captures c, b
      where c.captured_at >= b.t0 and c.captured_at < b.t1
      group by 1, 2
    ), d as (
      select c.source_id, c.received, reg.created_at as built
      from c
      left join snapshot_registry reg on reg.kind = 'daily' and reg.source_id = c.source_id
        and reg.period_start = c.day::timestamp at time zone ${tz}
    )
    select s.name,
           count(*) filter (where d.built is null or d.built < d.received)::integer as stale_days,
           (m.created_at is null or m.created_at < max(d.built)) as monthly_stale
    from d
    join sources s on s.id = d.source_id
    cross join b
    left join snapshot_registry m on m.kind = 'monthly' and m.source_id = d.source_id and m.period_start = b.t0
    group by d.source_id, s.name, m.created_at
    order by s.name`;
  if (!rows.length) return null;
  return rows
    .map((r) => ({
      source: r.name,
      staleDays: r.stale_days,
      monthlyStale: kind === 'monthly' && r.monthly_stale,
    }))
    .filter((r) => r.staleDays > 0 || r.monthlyStale);
}

/** One line for people: "current", or which sources lag and how. */
export function describeStaleness(stale: StaleSource[]): string {
  if (stale.length === 0) return 'current: every capture in the period is aggregated';
  const lags = (s: StaleSource) =>
    [
      s.staleDays ? `${s.staleDays} day(s) with newer captures` : '',
      s.monthlyStale ? 'monthly rollup older than its days' : '',
    ].filter(Boolean).join(', ');
  return 'NOT CURRENT: ' + stale.map((s) => `${s.source} (${lags(s)})`).join('; ');
}
