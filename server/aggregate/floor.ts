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

/** Runs the floor statement for one period inside `tx`; returns rows inserted. */
export async function runFloor(
  tx: Sql,
  kind: Kind,
  sourceId: number,
  period: string,
  tz: string,
): Promise<number> {
  const r = kind === 'daily'
    ? await dailyFloor(tx, sourceId, period, tz)
    : await monthlyFloor(tx, sourceId, period);
  return r.count;
}

// The period's constants (bounds, total samples) are looked up first and passed as values,
// as the procedure's variables are, so the planner sees the same literal time range.
async function dailyFloor(tx: Sql, sourceId: number, day: string, tz: string) {
  const b = await dayBounds(tx, day, tz);
  const [{ n }] = await tx`select count(*)::int as n from captures where source_id = ${sourceId}
    and captured_at >= ${b.start}::timestamptz and captured_at < ${b.end}::timestamptz`;
  return tx`insert into vm_daily_rollup select * from vm_daily_rollup_rows(${sourceId}::integer,
    ${day}::date, ${b.start}::timestamptz, ${b.end}::timestamptz, ${b.seconds}::integer, ${n}::integer)`;
}

async function monthlyFloor(tx: Sql, sourceId: number, period: string) {
  const m0 = monthOf(period);
  const m1 = addMonths(m0, 1);
  const [c] = await tx`
    select coalesce(sum(total_samples), 0)::integer as n, count(*)::integer as covered
    from source_daily_totals where source_id = ${sourceId} and day >= ${m0}::date and day < ${m1}::date`;
  return tx`insert into vm_monthly_rollup select * from vm_monthly_rollup_rows(${sourceId}::integer,
    ${m0}::date, ${m1}::date, ${c.n}::integer, ${c.covered}::integer)`;
}
