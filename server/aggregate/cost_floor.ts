/**
 * The costing benchmark's floor: one bare `INSERT … SELECT … GROUP BY vm_key` over the
 * month's daily rollups into vm_cost_lines, summing the same quantities the engines sum —
 * no tier mapping, no rate versions, no pricing, no rounding. What an engine costs beyond
 * it is its own overhead. The run row it needs (foreign key) is made before the timing. It
 * runs with cost_month()'s work_mem and JIT setting, so both hash their groups alike.
 */
import type { Sql } from '../db/connect.ts';
import { addMonths, monthOf } from './period.ts';

/** Opens a run for the floor's lines (untimed); returns its id. */
export async function openFloorRun(tx: Sql, sourceId: number, month: string): Promise<number> {
  const m0 = monthOf(month);
  const [r] = await tx`
    insert into cost_runs (source_id, month, engine, card_id, currency, superseded_at)
    select ${sourceId}, ${m0}::date, 'sql', c.id, c.currency, now()
    from rate_cards c order by c.is_default desc, c.id limit 1
    returning id`;
  return Number(r.id);
}

/** The floor statement; returns rows inserted. */
export async function runCostFloor(
  tx: Sql,
  runId: number,
  sourceId: number,
  month: string,
): Promise<number> {
  const m0 = monthOf(month);
  const m1 = addMonths(m0, 1);
  const [v] = await tx`select id from rate_card_versions order by id limit 1`;
  // The same memory for its hash table and the same JIT setting as cost_month() declares
  // (sql/routines/cost_month.sql).
  await tx`set local work_mem = '256MB'`;
  await tx`set local jit = off`;
  return (await tx`
    insert into vm_cost_lines (run_id, vm_key, tier, version_id, days, present_days, vcpu_hours,
      ram_gb_hours, disk_gb_days, vcpu_cost, ram_cost, disk_cost, vm_cost, total)
    select ${runId}, r.vm_key, 'floor', ${v.id}, count(*), sum(r.presence),
           sum(r.vcpu_hours * r.powered_on_ratio), sum(r.ram_gb_hours * r.powered_on_ratio),
           sum(r.avg_disk_gb), 0, 0, 0, 0, 0
    from vm_daily_rollup r
    where r.source_id = ${sourceId} and r.day >= ${m0}::date and r.day < ${m1}::date
    group by r.vm_key`).count;
}
