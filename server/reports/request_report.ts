/**
 * "Request a report": the one action behind the Reports page form and `POST /api/v1/reports`.
 * Both validate with `ReportRequest` (same errors); the action checks the period, records
 * the report, writes one audit row (`report.request`, target `report:<id>`) and hands the
 * report to the same worker whichever way it came: the report job when this server runs
 * jobs, otherwise a worker thread of this process (run_in_worker.ts) — or, with `wait`, a
 * worker thread while the request waits.
 */
import { z } from 'zod';
import { type Actor, auditAction } from '../audit/audit_log.ts';
import type { Sql } from '../db/connect.ts';
import { AppError } from '../errors.ts';
import type { Jobs } from '../jobs/boss.ts';
import { log } from '../log.ts';
import { normalisePeriod, REPORT_FORMATS, REQUESTED_KINDS, todayIn } from './period.ts';
import { enqueueReport } from './report_jobs.ts';
import { createReport, type ReportRecord } from './report_store.ts';
import { generateInWorker } from './run_in_worker.ts';

/** What a report request carries (the API's JSON body; the page form is read into it). */
export const ReportRequest = z.strictObject({
  kind: z.enum(REQUESTED_KINDS),
  period: z.string().max(40).optional().describe(
    'daily: YYYY-MM-DD (default yesterday); monthly: YYYY-MM (default last month); inventory: none',
  ),
  format: z.enum(REPORT_FORMATS).default('xlsx').describe(
    'xlsx, or csv: a zip with one CSV file per table',
  ),
  wait: z.boolean().default(false).describe(
    'generate in this request and answer when the file is ready',
  ),
});
export type ReportRequest = z.output<typeof ReportRequest>;

/** Where reports go: the job runner when there is one; the reporting zone and retention. */
export type ReportSettings = { jobs?: Jobs; tz?: string; retentionDays?: number };

/** Records, audits and generates (or queues) a report; returns its record. */
export async function requestReport(
  sql: Sql,
  settings: ReportSettings,
  r: ReportRequest,
  actor: Actor,
): Promise<ReportRecord> {
  const tz = settings.jobs?.reportTz ?? settings.tz ?? 'UTC';
  const p = normalisePeriod(r.kind, r.period, todayIn(tz));
  if ('error' in p) {
    throw new AppError('invalid_body', `period: ${p.error}`, {
      issues: [{ path: 'period', message: p.error }],
    });
  }
  const what = { kind: r.kind, period: p.period, format: r.format };
  const created = await createReport(sql, {
    ...what,
    origin: 'request',
    requestedBy: actor.id,
    retentionDays: settings.jobs?.reportRetentionDays ?? settings.retentionDays,
  });
  await auditAction(sql, actor, 'report.request', `report:${created.id}`, what);
  return await startReport(sql, settings, created, r.wait);
}

/**
 * Hands a recorded report to its generator: a worker thread while the caller waits (`wait`),
 * else the report job, else a worker thread of this process in the background.
 */
export async function startReport(
  sql: Sql,
  settings: ReportSettings,
  created: ReportRecord,
  wait: boolean,
): Promise<ReportRecord> {
  const tz = settings.jobs?.reportTz ?? settings.tz ?? 'UTC';
  if (wait) {
    const done = await generateInWorker(sql, created.id, { tz });
    if (done.status === 'failed') {
      throw new AppError('report_failed', `report generation failed: ${done.error}`, {
        id: done.id,
      });
    }
    return done;
  }
  if (settings.jobs) await enqueueReport(settings.jobs, created.id);
  else {
    // No job runner on this server: a worker thread of this process generates it.
    generateInWorker(sql, created.id, { tz }).catch((err) =>
      log.error('report failed', { id: created.id, error: err as Error })
    );
  }
  return created;
}
