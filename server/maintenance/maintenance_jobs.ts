/** The maintenance job: daily at 02:00 UTC, and once at start (partitions ahead). */
import type { Job } from 'pg-boss';
import { ensureQueues, type Jobs } from '../jobs/boss.ts';
import { work } from '../jobs/instrument.ts';
import { runMaintenance } from './maintenance.ts';

export const MAINTENANCE_QUEUE = 'maintenance';

export async function registerMaintenanceJobs(
  jobs: Jobs,
  o: { retentionMonths: number; schedule?: boolean; workers?: boolean },
) {
  await ensureQueues(jobs.boss, [[MAINTENANCE_QUEUE, {
    policy: 'singleton',
    retryLimit: 2,
    retryDelay: 300,
    expireInSeconds: 3600,
    deleteAfterSeconds: 30 * 86400,
  }]]);
  if (o.schedule !== false) {
    await jobs.boss.schedule(MAINTENANCE_QUEUE, '0 2 * * *', {}, { tz: 'UTC' });
  }
  if (o.workers !== false) {
    await work(
      jobs,
      MAINTENANCE_QUEUE,
      { batchSize: 1, pollingIntervalSeconds: 10 },
      (_batch: Job[]) => runMaintenance(jobs.sql, { retentionMonths: o.retentionMonths }),
    );
  }
}
