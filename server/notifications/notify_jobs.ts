/**
 * The notifications' background work (`notificationsFeature`) and their entry point:
 *
 * - `notifyAlertEvents(sql, eventIds)` — called after the alert evaluator commits (the lead
 *   wires it into server/alerts' `alertHooks.afterEvents`): routes the events, sends the due
 *   groups at once. On a node without job workers it only routes; the sweep sends.
 * - queue `notification-deliver`: one job per notification, retried with exponential backoff
 *   (10 s doubling to at most 10 min; 12 retries cover a receiver down for about 70 minutes),
 *   then dead. NOTIFY wakes the workers the moment a job is inserted.
 * - queue `notification-sweep`, every minute and when a held group falls due: routes any
 *   event the hook missed, queues repeats of alerts still firing, sends due groups.
 */
import type { PgBoss } from 'pg-boss';
import type { Sql } from '../db/connect.ts';
import type { JobFeature } from '../jobs/boss.ts';
import { work } from '../jobs/instrument.ts';
import { log } from '../log.ts';
import { deliverNotification } from './deliver.ts';
import { DELIVER_QUEUE, flushGroups, queueRepeats, routeEvents } from './grouping.ts';

export { DELIVER_QUEUE };
export const SWEEP_QUEUE = 'notification-sweep';

/** This node's job runner once the feature's workers run (the hook needs it to queue deliveries). */
let runner: { boss: PgBoss; sql: Sql } | undefined;

/** Sends the due groups; when some wait, a sweep is queued for when the first falls due. */
async function flush(sql: Sql, boss: PgBoss) {
  const { nextDueSeconds } = await flushGroups(sql, boss);
  if (nextDueSeconds != null) {
    // At most one such sweep a second, however many evaluations hold groups; a group held
    // longer than that is sent by the next one or by the minute's sweep.
    await boss.sendThrottled(
      SWEEP_QUEUE,
      {},
      { startAfter: Math.ceil(nextDueSeconds) + 1 },
      1,
      'held-groups',
    );
  }
}

/**
 * Notifies alert events `eventIds` (fired, acknowledged, resolved; others are ignored):
 * each is routed once, and due groups are queued for delivery.
 */
export async function notifyAlertEvents(sql: Sql, eventIds: number[]): Promise<void> {
  if (!eventIds.length) return;
  const made = await routeEvents(sql, eventIds);
  if (made && runner) await flush(sql, runner.boss);
}

/** The sweep: missed events routed, repeats queued, due groups sent. */
export async function sweepNotifications(sql: Sql, boss: PgBoss): Promise<void> {
  const routed = await routeEvents(sql, 'unrouted');
  const repeats = await queueRepeats(sql);
  if (routed || repeats) log.info('notifications swept', { routed, repeats });
  await flush(sql, boss);
}

/** The feature with `retryLimit` retries per delivery (tests shorten it). */
export function notificationJobs(o: { retryLimit?: number } = {}): JobFeature {
  const retryLimit = o.retryLimit ?? 12;
  return {
    name: 'notifications',
    queues: [
      {
        name: DELIVER_QUEUE,
        options: {
          retryLimit,
          retryDelay: 10,
          retryBackoff: true,
          retryDelayMax: 600,
          expireInSeconds: 120,
          deleteAfterSeconds: 7 * 86400,
          notify: true,
        },
      },
      {
        name: SWEEP_QUEUE,
        options: { retryLimit: 1, expireInSeconds: 300, deleteAfterSeconds: 86400 },
      },
    ],
    schedules: () => [{ queue: SWEEP_QUEUE, cron: '* * * * *', options: { tz: 'UTC' } }],
    workers: async (jobs, pollingIntervalSeconds) => {
      runner = { boss: jobs.boss, sql: jobs.sql };
      await work<{ id: string }>(
        jobs,
        DELIVER_QUEUE,
        // A retried job is not announced by NOTIFY: the backstop poll is the base one.
        {
          batchSize: 1,
          localConcurrency: 4,
          pollingIntervalSeconds,
          notifyPollingIntervalSeconds: pollingIntervalSeconds,
        },
        ([job]) => deliverNotification(jobs.sql, job.data.id, retryLimit + 1),
      );
      await work(
        jobs,
        SWEEP_QUEUE,
        { batchSize: 1, pollingIntervalSeconds },
        () => sweepNotifications(jobs.sql, jobs.boss),
      );
    },
  };
}

export const notificationsFeature = notificationJobs();
