/**
 * The statement-statistics snapshots (`dbInsightFeature`): hourly, one node at a time, each
 * a copy of pg_stat_statements' counters by queryid; snapshots older than 14 days are
 * deleted by the same job. The Database page and the API show each statement's change since
 * the newest snapshot (stats.ts).
 */
import type { JobFeature } from '../jobs/boss.ts';
import { work } from '../jobs/instrument.ts';
import { takeSnapshot } from './stats.ts';

export const DB_INSIGHT_QUEUE = 'db-insight-snapshot';
export const SNAPSHOT_RETENTION_DAYS = 14;

export const dbInsightFeature: JobFeature = {
  name: 'dbinsight',
  queues: [{
    name: DB_INSIGHT_QUEUE,
    options: {
      policy: 'singleton',
      retryLimit: 1,
      retryDelay: 300,
      expireInSeconds: 600,
      deleteAfterSeconds: 7 * 86400,
    },
  }],
  schedules: () => [{ queue: DB_INSIGHT_QUEUE, cron: '0 * * * *', options: { tz: 'UTC' } }],
  workers: async (jobs, pollingIntervalSeconds) => {
    await work(
      jobs,
      DB_INSIGHT_QUEUE,
      { batchSize: 1, pollingIntervalSeconds },
      () => takeSnapshot(jobs.sql, { retentionDays: SNAPSHOT_RETENTION_DAYS }),
    );
  },
};
