/**
 * Runs one costing (one source and month) with the chosen engine in one transaction, like
 * run.ts does for aggregation: the new run supersedes the month's current run atomically,
 * and concurrent costings of the same month take turns on an advisory lock. Benchmarks pass
 * `keep: false` and an `inspect` hook to measure inside a transaction that is rolled back.
 */
import type { Sql } from '../db/connect.ts';
import { CostingError, costMonthTs } from './cost_ts.ts';
import { monthOf } from './period.ts';
import type { Engine } from './run.ts';

export type CostTarget = { sourceId: number; month: string };

/** Costs one month of one source with `engine`; returns the run id, lines written and time. */
export async function runCosting(
  sql: Sql,
  engine: Engine,
  target: CostTarget,
  hooks: {
    keep?: boolean;
    /** Called inside the transaction before commit; answering false rolls the run back. */
    inspect?: (tx: Sql, runId: number) => Promise<void | boolean>;
  } = {},
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
    const keep = (await hooks.inspect?.(tx, runId)) !== false && hooks.keep !== false;
    if (!keep) await tx`rollback`;
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

/** What costing a month after its monthly aggregation did (the job's result). */
export type CostAfterAggregation =
  | { costed: true; runId: number; lines: number; ms: number; otherMs: number; parity: 'ok' }
  | { costed: false; reason: string; runId?: number };

/** Costing found the two engines disagreeing: the run is not kept. */
export class ParityError extends Error {}

/**
 * Costs a closed month after its monthly aggregation (the aggregation job calls this):
 * the other engine costs it first in a transaction that is rolled back, then `engine` costs
 * it for real; their fingerprints must be equal (else ParityError, nothing kept). When the
 * month's current run already holds exactly these lines (same card, same fingerprint) the
 * new run is rolled back too and the current one stays: rerunning the job changes nothing.
 * Refusals (no default card, a day without a rate version) skip costing with the reason.
 */
export async function costAfterAggregation(
  sql: Sql,
  engine: Engine,
  target: CostTarget,
): Promise<CostAfterAggregation> {
  const month = monthOf(target.month);
  const [card] = await sql`select id from rate_cards where is_default`;
  if (!card) return { costed: false, reason: 'no default rate card' };
  const [rows] =
    await sql`select exists (select 1 from vm_daily_rollup where source_id = ${target.sourceId}
    and day >= ${month}::date and day < (${month}::date + interval '1 month')) as any`;
  if (!rows.any) return { costed: false, reason: 'no daily rollups' };
  const other: Engine = engine === 'sql' ? 'ts' : 'sql';
  let otherPrint = '';
  let otherMs: number;
  try {
    otherMs = (await runCosting(sql, other, target, {
      keep: false,
      inspect: async (tx, runId) => {
        otherPrint = (await costFingerprint(tx, runId)).checksum;
      },
    })).ms;
  } catch (err) {
    if (isCostingRefusal(err)) return { costed: false, reason: (err as Error).message };
    throw err;
  }
  let unchangedRun: number | null = null;
  const r = await runCosting(sql, engine, target, {
    inspect: async (tx, runId) => {
      const print = (await costFingerprint(tx, runId)).checksum;
      if (print !== otherPrint) {
        throw new ParityError(
          `costing ${
            month.slice(0, 7)
          } of source ${target.sourceId}: ${engine} and ${other} lines differ`,
        );
      }
      // The run this one superseded (in this transaction: superseded_at = now()).
      const [prev] = await tx`select p.id from cost_runs p join cost_runs n on n.id = ${runId}
        where p.source_id = n.source_id and p.month = n.month and p.id <> n.id
          and p.superseded_at = now() and p.card_id = n.card_id and p.currency = n.currency`;
      if (prev && (await costFingerprint(tx, Number(prev.id))).checksum === print) {
        unchangedRun = Number(prev.id);
        return false;
      }
    },
  });
  if (unchangedRun !== null) {
    return {
      costed: false,
      reason: 'unchanged (the current run holds these lines)',
      runId: unchangedRun,
    };
  }
  return { costed: true, runId: r.runId, lines: r.lines, ms: r.ms, otherMs, parity: 'ok' };
}

/** A refusal to cost a month by either engine (TS CostingError, SQL errcode P0002). */
export function isCostingRefusal(err: unknown): boolean {
  return err instanceof CostingError || (err as { code?: string })?.code === 'P0002';
}
