/**
 * The alerts' background work (`alertsFeature`): evaluation every minute (time-based rules:
 * silent agents, stale sources, old snapshots) and after each stored capture and heartbeat
 * (`requestAlertEvaluation`: one job send, nothing else on the ingest's path). The queue is
 * `stately` with the trigger as singleton key: of each kind (capture, heartbeat, the minute)
 * one evaluation runs and one waits at most, so a burst of captures or heartbeats costs one
 * more evaluation, not one each. After a capture or a heartbeat only the rules it can change
 * are evaluated (rules.ts, `after`).
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
      // NOTIFY wakes a worker the moment a capture's or heartbeat's job is sent: at the base
      // poll (2 s) the job waited a second on average, longer than the evaluation itself.
      notify: true,
    },
  }],
  schedules: () => [{ queue: ALERTS_QUEUE, cron: '* * * * *', options: { tz: 'UTC' } }],
  workers: async (jobs, pollingIntervalSeconds) => {
    await work(
      jobs,
      ALERTS_QUEUE,
      {
        batchSize: 1,
        pollingIntervalSeconds,
        notifyPollingIntervalSeconds: pollingIntervalSeconds,
      },
      async ([job]) => {
        const after = (job?.data as { after?: string } | undefined)?.after;
        const r = await evaluateAlerts(jobs.sql, {
          after: after === 'capture' || after === 'heartbeat' ? after : undefined,
        });
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

/**
 * Asks for an evaluation soon of the rules a capture or a heartbeat can change (the minute's
 * evaluation takes every rule); never throws. One job of each kind waits at most.
 */
export async function requestAlertEvaluation(
  jobs: Jobs | undefined,
  after: 'capture' | 'heartbeat',
): Promise<void> {
  if (!jobs) return;
  try {
    await jobs.boss.send(ALERTS_QUEUE, { after }, { singletonKey: after });
  } catch (err) {
    log.error('could not request an alert evaluation', { error: err as Error });
  }
}
