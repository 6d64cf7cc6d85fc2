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

export type RunHooks = {
  /** Commit (default) or roll back when done. */
  keep?: boolean;
  /** Called inside the transaction after the aggregation, before commit/rollback. */
  inspect?: (tx: Sql) => Promise<void>;
};

export type RunResult = { rowsOut: number; ms: number };

/** Aggregates one period of one source with `engine`. */
export async function runAggregation(
  sql: Sql,
  engine: Engine,
  target: AggregationTarget,
  hooks: RunHooks = {},
): Promise<RunResult> {
  const period = target.kind === 'monthly' ? monthOf(target.period) : target.period;
  const tx = (await sql.reserve()) as unknown as Sql & { release(): void };
  try {
    await tx`begin`;
    try {
      await tx`select pg_advisory_xact_lock(hashtext(${`aggregate:${target.kind}:${target.sourceId}:${period}`}))`;
      const started = performance.now();
      let rowsOut: number;
      if (engine === 'sql') {
        const [r] = target.kind === 'daily'
          ? await tx`select aggregate_daily(${target.sourceId}, ${period}::date, ${target.tz}) as n`
          : await tx`select aggregate_monthly(${target.sourceId}, ${period}::date, ${target.tz}) as n`;
        rowsOut = r.n;
      } else {
        rowsOut = target.kind === 'daily'
          ? await aggregateDailyTs(sql, tx, {
            sourceId: target.sourceId,
            day: period,
            tz: target.tz,
          })
          : await aggregateMonthlyTs(sql, tx, {
            sourceId: target.sourceId,
            month: period,
            tz: target.tz,
          });
      }
      const ms = performance.now() - started;
      await hooks.inspect?.(tx);
      if (hooks.keep === false) await tx`rollback`;
      else await tx`commit`;
      return { rowsOut, ms };
    } catch (err) {
      await tx`rollback`.catch(() => {});
      throw err;
    }
  } finally {
    tx.release();
  }
}
