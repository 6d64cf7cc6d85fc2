/**
 * Queue names and policies. Aggregation queues are `stately` with a singleton key per
 * source and period: at most one queued and one running job per (source, period), so a
 * burst of late captures for one day collapses into one rerun.
 */
import type { Queue } from 'pg-boss';

export const QUEUES = {
  daily: 'aggregate-daily',
  monthly: 'aggregate-monthly',
  dailyTick: 'aggregate-tick-daily',
  monthlyTick: 'aggregate-tick-monthly',
  benchmark: 'benchmark',
} as const;

export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];
export const ALL_QUEUES: QueueName[] = Object.values(QUEUES);

/** Queue options; `retryDelaySeconds` is shortened by tests. */
export function queueOptions(name: QueueName, retryDelaySeconds: number): Omit<Queue, 'name'> {
  switch (name) {
    case QUEUES.daily:
    case QUEUES.monthly:
      return {
        policy: 'stately',
        retryLimit: 3,
        retryDelay: retryDelaySeconds,
        retryBackoff: true,
        retryDelayMax: 600,
        expireInSeconds: 30 * 60,
        deleteAfterSeconds: 14 * 86400,
      };
    case QUEUES.benchmark:
      return {
        policy: 'standard',
        retryLimit: 0,
        expireInSeconds: 60 * 60,
        deleteAfterSeconds: 30 * 86400,
      };
    default:
      // cron ticks: only enqueue work, a missed one is caught up by the next
      return {
        policy: 'standard',
        retryLimit: 1,
        retryDelay: retryDelaySeconds,
        expireInSeconds: 300,
        deleteAfterSeconds: 7 * 86400,
      };
  }
}

/** The singleton key of an aggregation job. */
export function periodKey(sourceId: number, period: string): string {
  return `${sourceId}:${period}`;
}
