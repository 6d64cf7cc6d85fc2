/**
 * What each report kind contains, in sheet order:
 *   daily     Summary, VMs (vm_daily_rollup), Pools
 *   monthly   Summary, VMs (vm_monthly_rollup), Daily Totals, Pools
 *   inventory Summary, vInfo, vHost and vDatastore (when captured), vSource
 *   rvtools   every RVTools tab as of the period's instant (server/rvtools/build_rvtools.ts)
 *   chargeback Summary (by owner and tier), Lines (one per cost line; server/costs/workbook.ts)
 * Reads through `tx`, one read-only snapshot, so the Summary and the tables agree.
 */
import type { Sql } from '../db/connect.ts';
import { buildChargeback } from '../costs/workbook.ts';
import { buildRvtools } from '../rvtools/build_rvtools.ts';
import { vDatastoreRows, vHostRows, vInfoRows, vSourceRows } from './inventory_rows.ts';
import {
  DAILY_TOTALS,
  DAILY_VMS,
  MONTHLY_VMS,
  POOLS,
  V_DATASTORE,
  V_HOST,
  V_INFO,
  V_SOURCE,
} from './layouts.ts';
import { periodDay, type ReportKind } from './period.ts';
import type { ReportWriter } from './report_writer.ts';
import { dailyTotalRows, poolRows, vmRollupRows } from './rollup_rows.ts';
import { inventorySummary, rollupSummary } from './summary_data.ts';

export type BuildRequest = {
  kind: ReportKind;
  period: string;
  /** RVTools workbook: its one source (null: all). */
  sourceId?: number | null;
  tz: string;
  generatedAt: Date;
};

/** Writes the report's tables to `writer`; returns the row count of its main table. */
export async function buildReport(tx: Sql, writer: ReportWriter, r: BuildRequest): Promise<number> {
  if (r.kind === 'rvtools') {
    const asOf = new Date(r.period);
    return await buildRvtools(tx, writer, {
      asOf,
      sourceId: r.sourceId ?? null,
      generatedAt: r.generatedAt,
    });
  }
  if (r.kind === 'chargeback') {
    return await buildChargeback(tx, writer, { period: r.period, generatedAt: r.generatedAt });
  }
  if (r.kind === 'inventory') {
    const sources = await vSourceRows(tx);
    const has = (count: string) => sources.some((s) => Number(s[count]) > 0);
    await writer.summary(await inventorySummary(tx, r, sources));
    const rows = await writer.table(V_INFO, vInfoRows(tx));
    if (has('hosts')) await writer.table(V_HOST, vHostRows(tx));
    if (has('datastores')) await writer.table(V_DATASTORE, vDatastoreRows(tx));
    await writer.table(V_SOURCE, [sources]);
    return rows;
  }
  const day = periodDay(r.kind, r.period);
  await writer.summary(await rollupSummary(tx, { ...r, kind: r.kind }, day));
  const rows = await writer.table(
    r.kind === 'daily' ? DAILY_VMS : MONTHLY_VMS,
    vmRollupRows(tx, r.kind, day),
  );
  if (r.kind === 'monthly') await writer.table(DAILY_TOTALS, dailyTotalRows(tx, day));
  await writer.table(POOLS, poolRows(tx, r.kind, day));
  return rows;
}
