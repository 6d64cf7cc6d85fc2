/**
 * pg-boss jobs for reports (`reportsFeature`):
 *   report-generate   generates one report: a requested one (by id) or a scheduled one,
 *                     which waits (retries with backoff) until the period's rollups are
 *                     current — reports follow aggregation, never run inside it
 *   report-tick       cron: the previous day after the daily aggregation (+1 h), the
 *                     previous month on the 1st after the monthly one (+3 h)
 *   report-retention  cron: reports_cleanup() (expired reports, abandoned generations)
 * One generation per node at a time: a 100,000-VM month is ~1 CPU and ~200 MB for a while.
 */
import type { JobFeature, Jobs } from '../jobs/boss.ts';
import { work } from '../jobs/instrument.ts';
import { log } from '../log.ts';
import { generateInWorker } from './run_in_worker.ts';
import { normalisePeriod, periodDay, type ReportFormat, todayIn } from './period.ts';
import { describeStaleness, staleSources } from './readiness.ts';
import { cleanupReports, createReport, replaceScheduled } from './report_store.ts';

export const REPORT_QUEUES = {
  generate: 'report-generate',
  tick: 'report-tick',
  retention: 'report-retention',
} as const;

export type ReportJobData =
  | { reportId: string }
  | { kind: 'daily' | 'monthly'; period: string; format: ReportFormat; scheduled: true };

/** Thrown while the rollups a scheduled report needs are not current; pg-boss retries. */
export class RollupsNotReady extends Error {
  override name = 'RollupsNotReady';
}

/** Queues a requested report for any node's worker. */
export function enqueueReport(jobs: Jobs, reportId: string): Promise<string | null> {
  // A requested report that failed once has its reason recorded; one retry covers a lost node.
  return jobs.boss.send(REPORT_QUEUES.generate, { reportId } satisfies ReportJobData, {
    retryLimit: 1,
  });
}

/**
 * The attempt of a generate job: its id and how many times it was retried. A retried attempt
 * (its predecessor's node stopped heartbeating, or it failed) may take over the report the
 * predecessor left running, and a scheduled report is the row whose id is the job's, so a
 * retry finishes that report instead of adding a second one.
 */
export type ReportAttempt = { id?: string; retryCount?: number; signal?: AbortSignal };

/** Runs one generate job. */
export async function runReportJob(jobs: Jobs, data: ReportJobData, attempt: ReportAttempt = {}) {
  const reclaim = (attempt.retryCount ?? 0) > 0;
  const how = { tz: jobs.reportTz, reclaim, signal: attempt.signal };
  if ('reportId' in data) {
    const r = await generateInWorker(jobs.sql, data.reportId, how);
    if (r.status === 'failed') throw new Error(`report ${r.id} failed: ${r.error}`);
    return { id: r.id, status: r.status };
  }
  const day = periodDay(data.kind, data.period);
  const stale = await staleSources(jobs.sql, data.kind, day, jobs.reportTz);
  if (!stale) return { skipped: 'no captures in the period' };
  if (stale.length) {
    const detail = `${data.kind} ${data.period}: ${describeStaleness(stale)}`;
    log.info('scheduled report waits for aggregation', { detail });
    throw new RollupsNotReady(detail);
  }
  const created = await createReport(jobs.sql, {
    ...data,
    id: attempt.id,
    origin: 'schedule',
    // VMLEDGER_REPORT_RETENTION_DAYS, carried by the job runner (default 90).
    retentionDays: jobs.reportRetentionDays,
  });
  const r = created.status === 'ready'
    ? created
    : await generateInWorker(jobs.sql, created.id, how);
  if (r.status !== 'ready') throw new Error(`report ${r.id} failed: ${r.error}`);
  const replaced = await replaceScheduled(jobs.sql, r);
  return { id: r.id, status: r.status, replaced };
}

/** The tick: enqueues the scheduled report of the previous day or month. */
export async function reportTick(jobs: Jobs, kind: 'daily' | 'monthly'): Promise<string | null> {
  const p = normalisePeriod(kind, undefined, todayIn(jobs.reportTz));
  if ('error' in p) throw new Error(p.error);
  const data: ReportJobData = { kind, period: p.period, format: 'xlsx', scheduled: true };
  return await jobs.boss.send(REPORT_QUEUES.generate, data, {
    singletonKey: `${kind}:${p.period}:xlsx`,
    singletonSeconds: 3600,
  });
}

function plusHours(hhmm: string, h: number): { hh: number; mm: number } {
  const [hh, mm] = hhmm.split(':').map(Number);
  return { hh: (hh + h) % 24, mm };
}

/** The report queues, their schedules (an hour after the daily aggregation, three after the monthly) and workers. */
export const reportsFeature: JobFeature = {
  name: 'reports',
  queues: [
    // A scheduled report may wait for late aggregation: ~10 tries over several hours.
    {
      name: REPORT_QUEUES.generate,
      options: {
        policy: 'standard',
        retryLimit: 10,
        retryDelay: 300,
        retryBackoff: true,
        retryDelayMax: 3600,
        expireInSeconds: 3600,
        deleteAfterSeconds: 14 * 86400,
      },
    },
    ...[REPORT_QUEUES.tick, REPORT_QUEUES.retention].map((name) => ({
      name,
      options: {
        policy: 'standard',
        retryLimit: 1,
        retryDelay: 300,
        expireInSeconds: 600,
        deleteAfterSeconds: 7 * 86400,
      },
    })),
  ],
  schedules: (jobs) => {
    const daily = plusHours(jobs.dailyAt, 1);
    const monthly = plusHours(jobs.dailyAt, 3);
    const tz = jobs.reportTz;
    return [
      {
        queue: REPORT_QUEUES.tick,
        cron: `${daily.mm} ${daily.hh} * * *`,
        data: { kind: 'daily' },
        options: { tz, key: 'daily' },
      },
      {
        queue: REPORT_QUEUES.tick,
        cron: `${monthly.mm} ${monthly.hh} 1 * *`,
        data: { kind: 'monthly' },
        options: { tz, key: 'monthly' },
      },
      {
        queue: REPORT_QUEUES.retention,
        cron: `${monthly.mm} ${(monthly.hh + 1) % 24} * * *`,
        options: { tz },
      },
    ];
  },
  async workers(jobs, pollingIntervalSeconds) {
    await work<ReportJobData>(jobs, REPORT_QUEUES.generate, {
      batchSize: 1,
      pollingIntervalSeconds,
      localConcurrency: 1,
    }, ([job]) => runReportJob(jobs, job.data, job));
    await work<{ kind: 'daily' | 'monthly' }>(jobs, REPORT_QUEUES.tick, {
      pollingIntervalSeconds,
    }, async ([job]) => {
      const kind = job.data?.kind === 'monthly' ? 'monthly' : 'daily';
      return { kind, job: await reportTick(jobs, kind) };
    });
    await work(
      jobs,
      REPORT_QUEUES.retention,
      { pollingIntervalSeconds },
      () => cleanupReports(jobs.sql),
    );
  },
};
