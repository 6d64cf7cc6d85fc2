/**
 * The benchmark's floor: the bare single `INSERT … SELECT` of the period's VM rollup rows,
 * sent as one statement — no procedure, no replace, no totals, no registry. What any engine
 * costs beyond it is its own overhead. The SELECT is the same SQL function the procedure
 * inserts from (sql/routines/vm_daily_rollup_rows.sql / vm_monthly_rollup_rows.sql), which
 * PostgreSQL inlines, so the floor plans the same grouped scan as the procedure's main
 * statement and the benchmark's parity verdict checks the rows.
 */
import type { Sql } from '../db/connect.ts';
import { addMonths, dayBounds, monthOf } from './period.ts';
import type { Kind } from './run.ts';

/**
 * Runs the floor statement for one period inside `tx`; returns rows inserted. The period's
 * constants (bounds, total samples) are looked up first and passed as values, as the
 * procedure's variables are, so the planner sees the same literal time range.
 */
export async function runFloor(
  tx: Sql,
  kind: Kind,
  sourceId: number,
  period: string,
  tz: string,
): Promise<number> {
  if (kind === 'daily') {
    const b = await dayBounds(tx, period, tz);
    const [{ n }] = await tx`select count(*)::int as n from captures where source_id = ${sourceId}
      and captured_at >= ${b.start}::timestamptz and captured_at < ${b.end}::timestamptz`;
    return (await tx`insert into vm_daily_rollup select * from vm_daily_rollup_rows(${sourceId}::integer,
      ${period}::date, ${b.start}::timestamptz, ${b.end}::timestamptz, ${b.seconds}::integer, ${n}::integer)`)
      .count;
  }
  const m0 = monthOf(period);
  const m1 = addMonths(m0, 1);
  const [c] = await tx`
    select coalesce(sum(total_samples), 0)::integer as n, count(*)::integer as covered
    from source_daily_totals where source_id = ${sourceId} and day >= ${m0}::date and day < ${m1}::date`;
  return (await tx`insert into vm_monthly_rollup select * from vm_monthly_rollup_rows(${sourceId}::integer,
    ${m0}::date, ${m1}::date, ${c.n}::integer, ${c.covered}::integer)`).count;
}
