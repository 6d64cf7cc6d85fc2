/**
 * Whether the rollups of a period are current: every source with captures in the period
 * has its daily rollups written after the last of those captures arrived, and (monthly)
 * a monthly rollup written after its newest daily one. Scheduled reports wait for this;
 * requested ones report it on the Summary sheet. Data access only.
 */
import type { Sql } from '../db/connect.ts';
import type { RollupKind } from './rollup_rows.ts';

export type StaleSource = {
  sourceId: number;
  source: string;
  staleDays: number;
  monthlyStale: boolean;
};

/** Sources whose rollups for the period starting `day` lag their captures (empty: ready). */
export async function staleSources(
  sql: Sql,
  kind: RollupKind,
  day: string,
  tz: string,
): Promise<StaleSource[]> {
  const rows = await sql`
    with b as (
      select (${day}::date::timestamp at time zone ${tz}) as t0,
             ((${day}::date + ${
    kind === 'daily' ? sql`interval '1 day'` : sql`interval '1 month'`
  })::timestamp
               at time zone ${tz}) as t1
    ), c as (
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
    select d.source_id, s.name,
           count(*) filter (where d.built is null or d.built < d.received)::integer as stale_days,
           (m.created_at is null or m.created_at < max(d.built)) as monthly_stale
    from d
    join sources s on s.id = d.source_id
    cross join b
    left join snapshot_registry m on m.kind = 'monthly' and m.source_id = d.source_id and m.period_start = b.t0
    group by d.source_id, s.name, m.created_at
    order by s.name`;
  return rows
    .map((r) => ({
      sourceId: r.source_id,
      source: r.name,
      staleDays: r.stale_days,
      monthlyStale: kind === 'monthly' && r.monthly_stale,
    }))
    .filter((r) => r.staleDays > 0 || r.monthlyStale);
}

/** One line for people: "current", or which sources lag and how. */
export function describeStaleness(stale: StaleSource[]): string {
  if (stale.length === 0) return 'current: every capture in the period is aggregated';
  return 'NOT CURRENT: ' + stale
    .map((s) =>
      `${s.source} (${
        [
          s.staleDays ? `${s.staleDays} day(s) with newer captures` : '',
          s.monthlyStale ? 'monthly rollup older than its days' : '',
        ].filter(Boolean).join(', ')
      })`
    )
    .join('; ');
}

/** Whether any source captured anything in the period starting `day` (else there is nothing to report). */
export async function periodHasCaptures(
  sql: Sql,
  kind: RollupKind,
  day: string,
  tz: string,
): Promise<boolean> {
  const [r] = await sql`
    select exists (
      select 1 from captures
      where captured_at >= (${day}::date::timestamp at time zone ${tz})
        and captured_at < ((${day}::date + ${
    kind === 'daily' ? sql`interval '1 day'` : sql`interval '1 month'`
  })::timestamp at time zone ${tz})
    ) as any`;
  return r.any;
}
