/**
 * Reading the month's costs: the current cost run of each source (not superseded) and its
 * lines, totalled by VM, tier or source; and a month's runs with superseded ones, the
 * history. Data access only (takes `sql`). The showback (Costs page, /api/v1/costs, CSV,
 * workbook) reads through here. Amounts are decimal text (exact), in the run's currency.
 *
 * The data model (sql/migrations/0052_chargeback.sql):
 *   cost_runs      one costing of one source and month by one engine; `superseded_at` set
 *                  when the month is costed again (current run: superseded_at is null)
 *   vm_cost_lines  a VM's cost in a run, one line per (tier, rate-card version): days,
 *                  present_days, powered-on vcpu_hours / ram_gb_hours, disk_gb_days, and the
 *                  rounded vcpu_cost, ram_cost, disk_cost, vm_cost and their sum `total`
 */
import { z } from 'zod';
import type { Sql } from '../db/connect.ts';

export const COST_GROUPS = ['vm', 'tier', 'source', 'version'] as const;
export type CostGroup = (typeof COST_GROUPS)[number];

export const CostRow = z.object({
  key: z.string().describe('the group: "source_id/vm_key", tier name, source id or version id'),
  currency: z.string(),
  lines: z.number(),
  presentDays: z.string(),
  vcpuHours: z.string(),
  ramGbHours: z.string(),
  diskGbDays: z.string(),
  vcpuCost: z.string(),
  ramCost: z.string(),
  diskCost: z.string(),
  vmCost: z.string(),
  total: z.string(),
});
export type CostRow = z.infer<typeof CostRow>;

/**
 * The month's costs (current runs only) grouped by `groupBy`, largest total first; groups
 * are also split by currency, so amounts in different currencies are never added. Sums of
 * rounded line amounts, so group totals add up to the runs' totals exactly.
 */
export async function costsForMonth(
  sql: Sql,
  month: string,
  opts: { groupBy: CostGroup; sourceId?: number },
): Promise<CostRow[]> {
  const key = {
    vm: sql`r.source_id::text || '/' || l.vm_key`,
    tier: sql`l.tier`,
    source: sql`r.source_id::text`,
    version: sql`l.version_id::text`,
  }[opts.groupBy];
  const rows = await sql`
    select ${key} as key, r.currency, count(*)::int as lines,
           sum(l.present_days)::text as present_days, sum(l.vcpu_hours)::text as vcpu_hours,
           sum(l.ram_gb_hours)::text as ram_gb_hours, sum(l.disk_gb_days)::text as disk_gb_days,
           sum(l.vcpu_cost)::text as vcpu_cost, sum(l.ram_cost)::text as ram_cost,
           sum(l.disk_cost)::text as disk_cost, sum(l.vm_cost)::text as vm_cost,
           sum(l.total)::text as total
    from cost_runs r
    join vm_cost_lines l on l.run_id = r.id
    where r.month = date_trunc('month', ${month}::date)::date and r.superseded_at is null
      ${opts.sourceId === undefined ? sql`` : sql`and r.source_id = ${opts.sourceId}`}
    group by 1, r.currency
    order by sum(l.total) desc, 1`;
  return rows.map((r) => ({
    key: r.key,
    currency: r.currency,
    lines: r.lines,
    ...costQuantities(r),
    ...costAmounts(r),
  }));
}

/** A cost row's amounts, as the database's exact text (columns vcpu_cost … total). */
export function costAmounts(r: Record<string, unknown>) {
  return {
    vcpuCost: r.vcpu_cost as string,
    ramCost: r.ram_cost as string,
    diskCost: r.disk_cost as string,
    vmCost: r.vm_cost as string,
    total: r.total as string,
  };
}

/** A cost row's quantities (columns present_days … disk_gb_days). */
export function costQuantities(r: Record<string, unknown>) {
  return {
    presentDays: r.present_days as string,
    vcpuHours: r.vcpu_hours as string,
    ramGbHours: r.ram_gb_hours as string,
    diskGbDays: r.disk_gb_days as string,
  };
}

export const CostRunView = z.object({
  id: z.number(),
  sourceId: z.number(),
  month: z.string(),
  engine: z.string(),
  cardId: z.number(),
  currency: z.string(),
  lines: z.number(),
  total: z.string(),
  createdAt: z.string(),
  supersededAt: z.string().nullable(),
});
export type CostRunView = z.infer<typeof CostRunView>;

/** The month's cost runs, newest first, superseded ones included (the history). */
export async function costRuns(sql: Sql, month: string, sourceId?: number): Promise<CostRunView[]> {
  const rows = await sql`
    select id::int, source_id, month::text, engine, card_id::int, currency, line_count, total::text,
           created_at, superseded_at
    from cost_runs
    where month = date_trunc('month', ${month}::date)::date
      ${sourceId === undefined ? sql`` : sql`and source_id = ${sourceId}`}
    order by id desc`;
  return rows.map((r) => ({
    id: r.id,
    sourceId: r.source_id,
    month: r.month,
    engine: r.engine,
    cardId: r.card_id,
    currency: r.currency,
    lines: r.line_count,
    total: r.total,
    createdAt: new Date(r.created_at).toISOString(),
    supersededAt: r.superseded_at ? new Date(r.superseded_at).toISOString() : null,
  }));
}
