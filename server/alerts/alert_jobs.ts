/**
 * The alerts' background work (`alertsFeature`): evaluation every minute (time-based rules:
 * silent agents, stale sources, old snapshots) and after each stored capture and heartbeat
 * (`requestAlertEvaluation`: one job send, nothing else on the ingest's path). The queue is
 * `stately`: one evaluation running and one waiting at most, so a burst of captures and
 * heartbeats costs one more evaluation, not one each.
 */
import type { JobFeature, Jobs } from '../jobs/boss.ts';
import { work } from '../jobs/instrument.ts';
import { log } from '../log.ts';
import { evaluateAlerts } from './evaluate.ts';

export const ALERTS_QUEUE = 'alerts-evaluate';

export const alertsFeature: JobFeature = {
  name: 'alerts',
  queues: [{
    name: ALERTS_QUEUE,
    options: {
      policy: 'stately',
      retryLimit: 1,
      retryDelay: 30,
      expireInSeconds: 600,
      deleteAfterSeconds: 86400,
    },
  }],
  schedules: () => [{ queue: ALERTS_QUEUE, cron: '* * * * *', options: { tz: 'UTC' } }],
  workers: async (jobs, pollingIntervalSeconds) => {
    await work(
      jobs,
      ALERTS_QUEUE,
      { batchSize: 1, pollingIntervalSeconds },
      async () => {
        const r = await evaluateAlerts(jobs.sql);
        return {
          evaluated: r.evaluated.length,
          skipped: r.skipped,
          events: r.eventIds.length,
          ms: r.ms,
        };
      },
    );
  },
};

/** Asks for an evaluation soon (after a capture or a heartbeat); never throws. */
export async function requestAlertEvaluation(jobs: Jobs | undefined): Promise<void> {
  if (!jobs) return;
  try {
    await jobs.boss.send(ALERTS_QUEUE, {});
  } catch (err) {
    log.error('could not request an alert evaluation', { error: err as Error });
  }
}
