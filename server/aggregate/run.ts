/**
 * Runs one aggregation (daily or monthly, one source and period) with the chosen engine in
 * one transaction: both engines replace the period's rows atomically, and concurrent runs
 * of the same period take turns on an advisory lock. Benchmarks pass `keep: false` and an
 * `inspect` hook to measure inside a transaction that is rolled back.
 */
import type { Sql } from '../db/connect.ts';
import { aggregateDailyTs } from './daily_ts.ts';
import { aggregateMonthlyTs } from './monthly_ts.ts';
import { monthOf } from './period.ts';

export type Engine = 'sql' | 'ts';
export type Kind = 'daily' | 'monthly';
export type AggregationTarget = { kind: Kind; sourceId: number; period: string; tz: string };

/** Aggregates one period of one source with `engine`. */
export async function runAggregation(
  sql: Sql,
  engine: Engine,
  target: AggregationTarget,
  hooks: {
    /** Commit (default) or roll back when done. */
    keep?: boolean;
    /** Called inside the transaction after the aggregation, before commit/rollback. */
    inspect?: (tx: Sql) => Promise<void>;
  } = {},
): Promise<{ rowsOut: number; ms: number }> {
  const { kind, sourceId, tz } = target;
  const period = kind === 'monthly' ? monthOf(target.period) : target.period;
  const tx = (await sql.reserve()) as unknown as Sql & { release(): void };
  try {
    await tx`begin`;
    await tx`select pg_advisory_xact_lock(hashtext(${`aggregate:${kind}:${sourceId}:${period}`}))`;
    const started = performance.now();
    let rowsOut: number;
    if (engine === 'sql') {
      const [r] = kind === 'daily'
        ? await tx`select aggregate_daily(${sourceId}, ${period}::date, ${tz}) as n`
        : await tx`select aggregate_monthly(${sourceId}, ${period}::date, ${tz}) as n`;
      rowsOut = r.n;
    } else {
      const ts = kind === 'daily' ? aggregateDailyTs : aggregateMonthlyTs;
      rowsOut = await ts(sql, tx, sourceId, period, tz);
    }
    const ms = performance.now() - started;
    await hooks.inspect?.(tx);
    if (hooks.keep === false) await tx`rollback`;
    else await tx`commit`;
    return { rowsOut, ms };
  } catch (err) {
    await tx`rollback`.catch(() => {});
    throw err;
  } finally {
    tx.release();
  }
}
