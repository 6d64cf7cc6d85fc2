/**
 * "Request an RVTools workbook": the one action behind the Reports page's RVTools form and
 * `POST /api/v1/rvtools`. It checks the source and the instant, refuses a workbook that
 * would show nothing (no capture at or before the instant), records a report of kind
 * `rvtools` (period: the as-of instant; source_id: the one source, or null for all), writes
 * one audit row (`report.request`) and hands it to the reports feature's generator, so it
 * is generated, stored and downloaded like every other report.
 */
import { z } from 'zod';
import { type Actor, auditAction } from '../audit/audit_log.ts';
import type { Sql } from '../db/connect.ts';
import { AppError } from '../errors.ts';
import { REPORT_FORMATS } from '../reports/period.ts';
import { createReport, type ReportRecord } from '../reports/report_store.ts';
import { type ReportSettings, startReport } from '../reports/request_report.ts';
import { resolveScope } from './scope.ts';

/** What a workbook request carries (the API's JSON body; the page form is read into it). */
export const RvtoolsRequest = z.strictObject({
  source: z.number().int().min(1).max(2 ** 31 - 1).optional().describe(
    'a source id: the workbook shows that source alone (default: every source)',
  ),
  asOf: z.iso.datetime({ offset: true }).optional().describe(
    'an instant: each source as its newest capture at or before it showed it (default: now, the current inventory)',
  ),
  format: z.enum(REPORT_FORMATS).default('xlsx').describe(
    'xlsx, or csv: a zip with one CSV file per tab (RVTools "export all to CSV")',
  ),
  wait: z.boolean().default(false).describe(
    'generate in this request and answer when the file is ready',
  ),
});
export type RvtoolsRequest = z.output<typeof RvtoolsRequest>;

/** An as-of instant may be this far past the server's clock (agents' clocks drift too). */
const FUTURE_SLACK_MS = 10 * 60_000;

function badField(path: string, message: string): AppError {
  return new AppError('invalid_body', `${path}: ${message}`, { issues: [{ path, message }] });
}

/** Records, audits and generates (or queues) an RVTools workbook; returns its report record. */
export async function requestRvtools(
  sql: Sql,
  settings: ReportSettings,
  r: RvtoolsRequest,
  actor: Actor,
): Promise<ReportRecord> {
  const now = Date.now();
  // "Now" is the next whole second: every capture stored by now is at or before it.
  const asOf = r.asOf ? new Date(r.asOf) : new Date(Math.ceil(now / 1000) * 1000);
  if (asOf.getTime() > now + FUTURE_SLACK_MS) {
    throw badField('asOf', `${r.asOf} is in the future`);
  }
  const sourceId = r.source ?? null;
  if (sourceId !== null) {
    const [found] = await sql`select 1 from sources where id = ${sourceId}`;
    if (!found) throw new AppError('not_found', `no source ${sourceId}`);
  }
  const scope = await resolveScope(sql, { asOf, sourceId });
  if (scope.sources.length === 0) {
    throw new AppError(
      'not_found',
      `no capture${
        sourceId === null ? '' : ` of source ${sourceId}`
      } at or before ${asOf.toISOString()}`,
    );
  }
  // Milliseconds only when the instant has them: the period is what generation reads back.
  const period = asOf.toISOString().replace(/\.000Z$/, 'Z');
  const what = { kind: 'rvtools' as const, period, format: r.format, sourceId };
  const created = await createReport(sql, {
    ...what,
    origin: 'request',
    requestedBy: actor.id,
    retentionDays: settings.jobs?.reportRetentionDays ?? settings.retentionDays,
  });
  await auditAction(sql, actor, 'report.request', `report:${created.id}`, what);
  return await startReport(sql, settings, created, r.wait);
}
