/**
 * Runs one costing (one source and month) with the chosen engine in one transaction, like
 * run.ts does for aggregation: the new run supersedes the month's current run atomically,
 * and concurrent costings of the same month take turns on an advisory lock. Benchmarks pass
 * `keep: false` and an `inspect` hook to measure inside a transaction that is rolled back.
 */
import type { Sql } from '../db/connect.ts';
import { costMonthTs } from './cost_ts.ts';
import { monthOf } from './period.ts';
import type { Engine } from './run.ts';

export type CostTarget = { sourceId: number; month: string };

/** Costs one month of one source with `engine`; returns the run id, lines written and time. */
export async function runCosting(
  sql: Sql,
  engine: Engine,
  target: CostTarget,
  hooks: { keep?: boolean; inspect?: (tx: Sql, runId: number) => Promise<void> } = {},
): Promise<{ runId: number; lines: number; ms: number }> {
  const month = monthOf(target.month);
  const tx = (await sql.reserve()) as unknown as Sql & { release(): void };
  try {
    await tx`begin`;
    await tx`select pg_advisory_xact_lock(hashtext(${`cost:${target.sourceId}:${month}`}))`;
    const started = performance.now();
    let runId: number;
    if (engine === 'sql') {
      const [r] = await tx`select cost_month(${target.sourceId}, ${month}::date) as id`;
      runId = Number(r.id);
    } else {
      runId = await costMonthTs(sql, tx, target.sourceId, month);
    }
    const ms = performance.now() - started;
    const [{ lines }] = await tx`select line_count as lines from cost_runs where id = ${runId}`;
    await hooks.inspect?.(tx, runId);
    if (hooks.keep === false) await tx`rollback`;
    else await tx`commit`;
    return { runId, lines, ms };
  } catch (err) {
    await tx`rollback`.catch(() => {});
    throw err;
  } finally {
    tx.release();
  }
}

/**
 * Fingerprint of a run's lines: count and md5 over every column but the run id, in key
 * order (numeric text keeps its scale), plus the run's total — equal for both engines.
 */
export async function costFingerprint(
  sql: Sql,
  runId: number,
): Promise<{ rows: number; checksum: string }> {
  const [r] = await sql`
    select count(*)::int as rows,
           md5(coalesce(string_agg(
             concat_ws('|', l.vm_key, l.tier, l.version_id, l.days, l.present_days, l.vcpu_hours,
                       l.ram_gb_hours, l.disk_gb_days, l.vcpu_cost, l.ram_cost, l.disk_cost, l.vm_cost, l.total),
             E'\n' order by l.vm_key, l.tier, l.version_id), '')
               || '|' || (select total::text from cost_runs where id = ${runId})) as checksum
    from vm_cost_lines l where l.run_id = ${runId}`;
  return { rows: r.rows, checksum: r.checksum };
}
