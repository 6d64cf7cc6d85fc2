/**
 * The one way workers are registered: `work(jobs, queue, options, handler)` is
 * `boss.work` with the handler measured — every run counts in `vmledger_job_runs_total` and
 * `vmledger_job_duration_seconds` by queue and outcome (`completed`: the handler returned,
 * `failed`: it threw; pg-boss retries it if the queue allows). A batch counts each of its
 * jobs once, with the batch's duration (every worker here takes one job at a time).
 */
import type { Job, PgBoss, WorkOptions } from 'pg-boss';
import type { Metrics } from '../metrics/metrics.ts';

/** Plain handlers only: no transactional, per-job-result or metadata variants. */
type PlainWorkOptions = Omit<WorkOptions, 'transactional' | 'perJobResults' | 'includeMetadata'>;

/** Registers `handler` as a worker of `queue` on this node, counting and timing each call. */
export function work<T, R = unknown>(
  jobs: { boss: PgBoss; metrics: Metrics },
  queue: string,
  options: PlainWorkOptions,
  handler: (batch: Job<T>[]) => Promise<R>,
): Promise<string> {
  return jobs.boss.work<T>(queue, options, async (batch) => {
    const started = performance.now();
    let outcome = 'failed';
    try {
      const result = await handler(batch);
      outcome = 'completed';
      return result;
    } finally {
      const seconds = (performance.now() - started) / 1000;
      const labels = { queue, outcome };
      jobs.metrics.jobRuns.inc(labels, batch.length);
      for (let i = 0; i < batch.length; i++) jobs.metrics.jobSeconds.observe(labels, seconds);
    }
  });
}
