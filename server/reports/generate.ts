/**
 * Generates one report row: claims it, builds the workbook (or CSV zip) from one read-only
 * snapshot straight into report_chunks, and marks it ready with size and digest — or
 * failed with the reason, its partial chunks removed. Runs in the report worker thread
 * (generate_worker.ts, started by run_in_worker.ts, which logs the outcome).
 */
import type { Sql } from '../db/connect.ts';
import { log } from '../log.ts';
import { buildReport } from './build_report.ts';
import { ChunkWriter } from './chunk_writer.ts';
import { createCsvZipWriter } from './csv_zip_writer.ts';
import {
  claimReport,
  failReport,
  finishReport,
  getReport,
  type ReportRecord,
  ReportSuperseded,
} from './report_store.ts';
import { createXlsxWriter } from './xlsx_writer.ts';

/**
 * Generates report `id`; returns its record afterwards (as found when another worker has it).
 * `onClaimed`: told the attempt once the report is claimed (the worker's parent fails the
 * report under it if the worker dies).
 */
export async function generateReport(
  sql: Sql,
  id: string,
  o: { tz: string; reclaim?: boolean; onClaimed?: (attempt: string) => void },
): Promise<ReportRecord> {
  const report = await claimReport(sql, id, { reclaim: o.reclaim });
  if (!report) {
    const current = await getReport(sql, id);
    if (!current) throw new Error(`report ${id} does not exist`);
    return current;
  }
  o.onClaimed?.(report.attempt);
  const mine = { id, attempt: report.attempt };
  const out = new ChunkWriter(sql, mine);
  // A failed build destroys `out`; exceljs's zip then reports errors we already handle.
  out.on('error', () => {});
  const writer = report.format === 'xlsx' ? createXlsxWriter(out) : createCsvZipWriter(out);
  try {
    const request = {
      kind: report.kind,
      period: report.period,
      sourceId: report.sourceId,
      tz: o.tz,
      generatedAt: new Date(),
    };
    const rows = await sql.begin('isolation level repeatable read read only', async (tx) => {
      // Asked for by a viewer limited to some sources (auth/scope.ts): built in that scope.
      const [r] =
        await tx`select array_to_string(scope, ',') as scope from reports where id = ${id}`;
      if (typeof r?.scope === 'string') {
        await tx.unsafe('set local role vmledger_scoped');
        await tx`select set_config('vmledger.sources', ${r.scope}, true)`;
      }
      return buildReport(tx as unknown as Sql, writer, request);
    });
    await writer.finish();
    await finishReport(sql, mine, {
      sizeBytes: out.sizeBytes,
      chunkCount: out.chunkCount,
      sha256: out.digest,
      rowCount: rows,
    });
  } catch (err) {
    out.destroy();
    const fields = { id, kind: report.kind, period: report.period, error: err as Error };
    // Taken over (this attempt's job was retried elsewhere): the report is the new attempt's.
    if (err instanceof ReportSuperseded) log.warn('report attempt superseded', fields);
    else {
      log.error('report failed', fields);
      await failReport(sql, mine, (err as Error).message ?? String(err));
    }
  }
  return (await getReport(sql, id))!;
}
