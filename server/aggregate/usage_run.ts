/**
 * Runs the usage tiers of one source and local day with the chosen engine in one
 * transaction (both replace the day's rows atomically; concurrent runs of the same day take
 * turns on an advisory lock), as run.ts does for the rollups. `hourlyOnly` computes the
 * hourly tier alone (what the benchmark times); `keep: false` and `inspect` serve the
 * benchmark's rolled-back runs.
 */
import type { Sql } from '../db/connect.ts';
import type { Engine } from './run.ts';
import { aggregateUsageTs } from './usage_ts.ts';

export type UsageTarget = { sourceId: number; period: string; tz: string };

export async function runUsageTiers(
  sql: Sql,
  engine: Engine,
  target: UsageTarget,
  hooks: { hourlyOnly?: boolean; keep?: boolean; inspect?: (tx: Sql) => Promise<void> } = {},
): Promise<{ rowsOut: number; ms: number }> {
  const { sourceId, period: day, tz } = target;
  const tx = (await sql.reserve()) as unknown as Sql & { release(): void };
  try {
    await tx`begin`;
    await tx`select pg_advisory_xact_lock(hashtext(${`aggregate:usage:${sourceId}:${day}`}))`;
    const started = performance.now();
    let rowsOut: number;
    if (engine === 'sql') {
      const [r] = hooks.hourlyOnly
        ? await tx`select aggregate_usage_hourly(${sourceId}, ${day}::date, ${tz}) as n`
        : await tx`select aggregate_usage(${sourceId}, ${day}::date, ${tz}) as n`;
      rowsOut = r.n;
    } else {
      rowsOut = await aggregateUsageTs(sql, tx, sourceId, day, tz, { daily: !hooks.hourlyOnly });
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

/** Whether the day's per-capture usage was pruned since its tiers were computed (then they are kept as they are). */
export async function usageRawPruned(sql: Sql, sourceId: number, day: string): Promise<boolean> {
  const [r] = await sql`select raw_pruned_at is not null as pruned from usage_tier_days
    where source_id = ${sourceId} and day = ${day}::date`;
  return r?.pruned === true;
}
