/** The maintenance job (`maintenanceFeature`): daily at 02:00 UTC (and run once at start by main). */
import type { JobFeature } from '../jobs/boss.ts';
import { work } from '../jobs/instrument.ts';
import { runMaintenance } from './maintenance.ts';

export const MAINTENANCE_QUEUE = 'maintenance';

export const maintenanceFeature: JobFeature = {
  name: 'maintenance',
  queues: [{
    name: MAINTENANCE_QUEUE,
    options: {
      policy: 'singleton',
      retryLimit: 2,
      retryDelay: 300,
      expireInSeconds: 3600,
      deleteAfterSeconds: 30 * 86400,
    },
  }],
  schedules: () => [{ queue: MAINTENANCE_QUEUE, cron: '0 2 * * *', options: { tz: 'UTC' } }],
  workers: async (jobs, pollingIntervalSeconds) => {
    await work(
      jobs,
      MAINTENANCE_QUEUE,
      { batchSize: 1, pollingIntervalSeconds },
      () =>
        runMaintenance(jobs.sql, {
          retentionMonths: jobs.retentionMonths,
          usage: jobs.usageRetention,
        }),
    );
  },
};
