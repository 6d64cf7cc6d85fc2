/**
 * The alerts' background work (`alertsFeature`): evaluation every minute (time-based rules:
 * silent agents, stale sources, old snapshots) and after each stored capture and heartbeat
 * (`requestAlertEvaluation`), of only the rules that can change then (rules.ts, `after`).
 *
 * After a capture or a heartbeat, a node that runs the alerts' workers evaluates right there,
 * in the ingest's after-commit step, without waiting for it (the ingest answers at once): a
 * job's send, wake-up, fetch and completion cost more than the evaluation of a 10,000-VM
 * capture itself (about 18 ms against 15-20). Requests coalesce per kind: while one
 * evaluation runs, every request of its kind that arrives makes one more run after it, so a
 * burst of captures costs one more evaluation, not one each. A node without workers (an
 * ingest-only node) sends a job instead; the queue is `stately` with the trigger as singleton
 * key, so of each kind one job runs and one waits at most. A failed evaluation is logged, and
 * the minute's evaluation (a job, one node at a time) catches up.
 */
import { createPool, JOB_TIMEOUTS, type Sql } from '../db/connect.ts';
import type { JobFeature, Jobs } from '../jobs/boss.ts';
import { work } from '../jobs/instrument.ts';
import { log } from '../log.ts';
import { evaluateAlerts, type EvaluationResult } from './evaluate.ts';

export const ALERTS_QUEUE = 'alerts-evaluate';

type Trigger = 'capture' | 'heartbeat';

/** One node's evaluator: its own connection, and per trigger whether a run goes on or waits. */
type Evaluator = {
  sql: Sql;
  running: Partial<Record<Trigger, Promise<void>>>;
  again: Partial<Record<Trigger, boolean>>;
};

/** The evaluator of each running job system whose node runs the alerts' workers. */
const evaluators = new WeakMap<Jobs, Evaluator>();

/** Told after each evaluation that follows a capture or a heartbeat (benchmarks, tests). */
export const evaluationListeners: ((after: Trigger, result: EvaluationResult) => void)[] = [];

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
      // NOTIFY wakes a worker the moment an ingest-only node's job is sent.
      notify: true,
    },
  }],
  schedules: () => [{ queue: ALERTS_QUEUE, cron: '* * * * *', options: { tz: 'UTC' } }],
  workers: async (jobs, pollingIntervalSeconds) => {
    // Evaluations run on one connection of their own, kept open. From the shared pool each
    // landed on whichever connection was idle next (the pool hands them out in turn), most
    // of them without this evaluation's statements prepared and planned or the catalogue
    // cached: 30-50 ms more per evaluation of a 10,000-VM capture than on a warm connection.
    const sql = createPool(jobs.url, { max: 1, timeouts: JOB_TIMEOUTS });
    const evaluator: Evaluator = { sql, running: {}, again: {} };
    evaluators.set(jobs, evaluator);
    jobs.onStop(async () => {
      evaluators.delete(jobs);
      await Promise.all(Object.values(evaluator.running));
      await sql.end({ timeout: 5 });
    });
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
        const r = await evaluateAlerts(sql, {
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
 * Asks for an evaluation of the rules a capture or a heartbeat can change: started here when
 * this node runs the alerts' workers (not awaited), else sent as a job. Never throws.
 */
export async function requestAlertEvaluation(
  jobs: Jobs | undefined,
  after: Trigger,
): Promise<void> {
  if (!jobs) return;
  const evaluator = evaluators.get(jobs);
  if (evaluator) {
    evaluateHere(evaluator, after);
    return;
  }
  try {
    await jobs.boss.send(ALERTS_QUEUE, { after }, { singletonKey: after });
  } catch (err) {
    log.error('could not request an alert evaluation', { error: err as Error });
  }
}

/** Starts an evaluation, or marks one more to follow the one running. */
function evaluateHere(evaluator: Evaluator, after: Trigger): void {
  if (evaluator.running[after]) {
    evaluator.again[after] = true;
    return;
  }
  evaluator.running[after] = (async () => {
    do {
      evaluator.again[after] = false;
      try {
        const result = await evaluateAlerts(evaluator.sql, { after });
        for (const listener of evaluationListeners) listener(after, result);
      } catch (err) {
        log.error('alert evaluation failed', { after, error: err as Error });
      }
    } while (evaluator.again[after]);
    delete evaluator.running[after];
  })();
}
