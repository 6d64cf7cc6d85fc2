/**
 * What the scheduler should (re)aggregate: closed days whose captures arrived after their
 * rollup was written (or that have none yet), and months with daily rollups. Data access
 * only.
 */
import type { Sql } from '../db/connect.ts';
import { AppError } from '../errors.ts';

/** Closed local days of the last `lookbackDays` with captures newer than their daily rollup. */
export async function staleDays(
  sql: Sql,
  tz: string,
  lookbackDays = 35,
): Promise<{ sourceId: number; day: string }[]> {
  const rows = await sql`
    with c as (
      select source_id, (captured_at at time zone ${tz})::date as day, max(received_at) as received
      from captures
      where captured_at >= now() - make_interval(days => ${lookbackDays})
      group by 1, 2
    )
    select c.source_id, c.day::text as day
    from c
    left join snapshot_registry r on r.kind = 'daily' and r.source_id = c.source_id
      and r.period_start = c.day::timestamp at time zone ${tz}
    where c.day < (now() at time zone ${tz})::date
      and (r.created_at is null or r.created_at < c.received)
    order by c.day, c.source_id`;
  return rows.map((r) => ({ sourceId: r.source_id, day: r.day }));
}

/** Sources with daily rollups in the month starting `month`. */
export async function sourcesWithDays(sql: Sql, month: string): Promise<number[]> {
  const rows = await sql`
    select distinct source_id from source_daily_totals
    where day >= ${month}::date and day < (${month}::date + interval '1 month')::date order by 1`;
  return rows.map((r) => r.source_id);
}

/** All source ids (for backfills without a source). */
export async function allSourceIds(sql: Sql): Promise<number[]> {
  return (await sql`select id from sources order by id`).map((r) => r.id);
}

/** Whether a source exists. */
export async function sourceExists(sql: Sql, id: number): Promise<boolean> {
  return (await sql`select 1 from sources where id = ${id}`).length > 0;
}

/** Refuses a request's `source` that names no source (the same error for reruns and benchmarks). */
export async function requireSource(sql: Sql, id: number): Promise<void> {
  if (!(await sourceExists(sql, id))) {
    throw new AppError('invalid_request', `source: no source with id ${id}`, {
      issues: [{ path: 'source', message: 'no such source' }],
    });
  }
}
