/**
 * Aggregation jobs (`aggregationFeature`): enqueueing (one job per source and period,
 * deduplicated by the stately queue), the workers that run them with the configured engine,
 * the cron ticks (daily aggregation of closed days at `dailyAt` in the reporting zone,
 * monthly on the 1st), and the hook the ingest path calls after storing a capture (a late
 * capture for a closed day enqueues that day again).
 */
import type { Job } from 'pg-boss';
import type { JobFeature, Jobs, QueueSpec } from '../jobs/boss.ts';
import { work } from '../jobs/instrument.ts';
import { log } from '../log.ts';
import { addMonths, dayIn, isDay, monthOf } from './period.ts';
import { allSourceIds, sourceExists, sourcesWithDays, staleDays } from './pending.ts';
import { costAfterAggregation } from './cost_run.ts';
import { type Engine, type Kind, runAggregation } from './run.ts';
import { runUsageTiers, usageRawPruned } from './usage_run.ts';

export const AGGREGATION_QUEUES = {
  daily: 'aggregate-daily',
  monthly: 'aggregate-monthly',
  dailyTick: 'aggregate-tick-daily',
  monthlyTick: 'aggregate-tick-monthly',
} as const;
const QUEUES = AGGREGATION_QUEUES;

/**
 * Aggregation queues are `stately` with a singleton key per source and period: at most one
 * queued and one running job per (source, period), so a burst of late captures for one
 * day collapses into one rerun.
 */
const PERIOD_QUEUE: QueueSpec['options'] = {
  policy: 'stately',
  retryLimit: 3,
  retryDelay: 30,
  retryBackoff: true,
  retryDelayMax: 600,
  expireInSeconds: 30 * 60,
  deleteAfterSeconds: 14 * 86400,
};
/** Cron ticks only enqueue work; a missed one is caught up by the next. */
const TICK_QUEUE: QueueSpec['options'] = {
  policy: 'standard',
  retryLimit: 1,
  retryDelay: 30,
  expireInSeconds: 300,
  deleteAfterSeconds: 7 * 86400,
};

export type AggregationJobData = {
  sourceId: number;
  /** YYYY-MM-DD (monthly: the 1st). */
  period: string;
  engine?: Engine;
  /** After a daily job of a closed month, enqueue that month again. */
  cascade?: boolean;
  reason?: string;
};

/**
 * Enqueues one aggregation. When the same (source, period) is already queued the stately
 * queue refuses a second one; the queued job's id is returned instead.
 */
export async function enqueueAggregation(
  jobs: Jobs,
  kind: Kind,
  data: AggregationJobData,
  options: { retryLimit?: number } = {},
) {
  const period = kind === 'monthly' ? monthOf(data.period) : data.period;
  const queue = QUEUES[kind];
  const key = `${data.sourceId}:${period}`; // the singleton key
  // A stately queue holds one queued job per key: `send` answers null while one is queued,
  // and that job may start between our send and our look-up; then sending again succeeds.
  let id: string | null = null;
  for (let attempt = 0; attempt < 3 && !id; attempt++) {
    id = await jobs.boss.send(queue, { ...data, period }, { singletonKey: key, ...options });
    if (!id) id = (await jobs.boss.findJobs(queue, { key, queued: true }))[0]?.id ?? null;
  }
  if (!id) throw new Error(`could not enqueue ${kind} ${key}`);
  return { id, queue, kind, sourceId: data.sourceId, period };
}
type EnqueuedJob = Awaited<ReturnType<typeof enqueueAggregation>>;

/** Enqueues one aggregation per item, in order. */
async function enqueueAll(jobs: Jobs, kind: Kind, items: AggregationJobData[]) {
  const out: EnqueuedJob[] = [];
  for (const data of items) out.push(await enqueueAggregation(jobs, kind, data));
  return out;
}

/**
 * Called by ingest after a capture is stored: a capture for a day that is already closed in
 * the reporting zone (an agent draining its spool, a delayed batch) re-aggregates that day.
 * Returns the job, or null when the day is still open (the scheduled run will see it).
 */
export async function notifyCaptureStored(
  jobs: Jobs | undefined,
  capture: { sourceId: number; capturedAt: string | Date },
  now: Date = new Date(),
): Promise<EnqueuedJob | null> {
  if (!jobs) return null;
  const day = dayIn(new Date(capture.capturedAt), jobs.reportTz);
  if (day >= dayIn(now, jobs.reportTz)) return null;
  return await enqueueAggregation(jobs, 'daily', {
    sourceId: capture.sourceId,
    period: day,
    cascade: true,
    reason: 'late capture',
  });
}

async function runOne(jobs: Jobs, kind: Kind, job: Job<AggregationJobData>) {
  const d = job.data;
  if (!Number.isInteger(d?.sourceId) || typeof d?.period !== 'string' || !isDay(d.period)) {
    throw new Error(`invalid job data: ${JSON.stringify(d)}`);
  }
  if (!(await sourceExists(jobs.sql, d.sourceId))) {
    throw new Error(`source ${d.sourceId} does not exist`);
  }
  const engine = d.engine ?? jobs.engine;
  const target = { kind, sourceId: d.sourceId, period: d.period, tz: jobs.reportTz };
  const r = await runAggregation(jobs.sql, engine, target);
  const result: Record<string, unknown> = { engine, rows: r.rowsOut, ms: Math.round(r.ms) };
  // A day's usage tiers are computed with its daily rollup (docs/aggregation.md, "Usage
  // tiers"), unless its per-capture usage was pruned since: then they are kept as they are.
  if (kind === 'daily') {
    if (await usageRawPruned(jobs.sql, d.sourceId, d.period)) {
      result.usage = 'kept (raw usage pruned)';
    } else {
      const u = await runUsageTiers(jobs.sql, engine, target);
      result.usage = { vmHourlyRows: u.rowsOut, ms: Math.round(u.ms) };
    }
  }
  // A closed month is costed once its monthly aggregation is done (docs/chargeback.md).
  if (kind === 'monthly' && monthOf(d.period) < monthOf(dayIn(new Date(), jobs.reportTz))) {
    result.costs = await costAfterAggregation(jobs.sql, engine, {
      sourceId: d.sourceId,
      month: d.period,
    });
  }
  log.info('aggregated', { kind, sourceId: d.sourceId, period: d.period, ...result });
  if (
    kind === 'daily' && d.cascade && monthOf(d.period) < monthOf(dayIn(new Date(), jobs.reportTz))
  ) {
    await enqueueAggregation(jobs, 'monthly', {
      sourceId: d.sourceId,
      period: monthOf(d.period),
      cascade: false,
      reason: 'closed month changed',
    });
  }
  return result;
}

/** Daily tick: every closed day (last 35) whose captures are newer than its rollup, yesterday included. */
export async function dailyTick(jobs: Jobs, lookbackDays = 35): Promise<EnqueuedJob[]> {
  const stale = await staleDays(jobs.sql, jobs.reportTz, lookbackDays);
  return await enqueueAll(
    jobs,
    'daily',
    stale.map((s) => ({ sourceId: s.sourceId, period: s.day, cascade: true, reason: 'scheduled' })),
  );
}

/** Monthly tick (on the 1st): the previous month of every source with daily rollups in it. */
async function monthlyTick(jobs: Jobs): Promise<EnqueuedJob[]> {
  const previous = addMonths(monthOf(dayIn(new Date(), jobs.reportTz)), -1);
  const sources = await sourcesWithDays(jobs.sql, previous);
  return await enqueueAll(
    jobs,
    'monthly',
    sources.map((sourceId) => ({ sourceId, period: previous, reason: 'scheduled' })),
  );
}

/** Enqueues a rerun/backfill: every source (or one) × every day or month in [from, to]. */
export async function enqueueRange(
  jobs: Jobs,
  r: { kind: Kind; sourceId?: number; periods: string[]; engine?: Engine },
): Promise<EnqueuedJob[]> {
  const sources = r.sourceId ? [r.sourceId] : await allSourceIds(jobs.sql);
  return await enqueueAll(
    jobs,
    r.kind,
    r.periods.flatMap((period) =>
      sources.map((sourceId) => ({ sourceId, period, engine: r.engine, reason: 'requested' }))
    ),
  );
}

/** Aggregation's queues, schedules and workers. */
export const aggregationFeature: JobFeature = {
  name: 'aggregation',
  queues: [
    { name: QUEUES.daily, options: PERIOD_QUEUE },
    { name: QUEUES.monthly, options: PERIOD_QUEUE },
    { name: QUEUES.dailyTick, options: TICK_QUEUE },
    { name: QUEUES.monthlyTick, options: TICK_QUEUE },
  ],
  schedules: (jobs) => {
    const [hh, mm] = jobs.dailyAt.split(':').map(Number);
    const tz = { tz: jobs.reportTz };
    return [
      { queue: QUEUES.dailyTick, cron: `${mm} ${hh} * * *`, options: tz },
      // Later on the 1st than the daily tick, so the month's last day is usually in; a
      // daily job for a closed month also re-enqueues its month, which covers the rest.
      { queue: QUEUES.monthlyTick, cron: `${mm} ${(hh + 2) % 24} 1 * *`, options: tz },
    ];
  },
  async workers(jobs, pollingIntervalSeconds) {
    const options = { batchSize: 1, pollingIntervalSeconds, localConcurrency: 2 };
    for (const kind of ['daily', 'monthly'] as const) {
      await work<AggregationJobData>(
        jobs,
        QUEUES[kind],
        options,
        ([job]) => runOne(jobs, kind, job),
      );
    }
    const tickWorker = (queue: string, tick: (jobs: Jobs) => Promise<EnqueuedJob[]>) =>
      work(jobs, queue, { pollingIntervalSeconds }, async () => ({
        enqueued: (await tick(jobs)).length,
      }));
    await tickWorker(QUEUES.dailyTick, dailyTick);
    await tickWorker(QUEUES.monthlyTick, monthlyTick);
  },
};
