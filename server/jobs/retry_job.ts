/**
 * "Retry a job": the one action behind the Jobs page's Retry button and
 * `POST /api/v1/jobs/:queue/:id/retry`. A failed job of any registered queue goes back to
 * pg-boss, with one audit row (`job.retry`, target `job:<queue>/<id>`); the same errors
 * whichever way it comes.
 */
import { type Actor, auditAction } from '../audit/audit_log.ts';
import type { Sql } from '../db/connect.ts';
import { AppError } from '../errors.ts';
import { assertJobs, type Jobs } from './boss.ts';
import { type JobRow, jobsByIds } from './job_queries.ts';

/** Retries failed job `id` of `queue`; returns the job afterwards. */
export async function retryJob(
  sql: Sql,
  jobs: Jobs | undefined,
  ref: { queue: string; id: string },
  actor: Actor,
): Promise<JobRow> {
  assertJobs(jobs);
  const [job] = await jobsByIds(sql, [ref.id]);
  if (!job || job.queue !== ref.queue || !jobs.queues.includes(job.queue)) {
    throw new AppError('not_found', `no job ${ref.queue}/${ref.id}`);
  }
  if (job.state !== 'failed') {
    throw new AppError(
      'not_failed',
      `job ${job.id} is ${job.state}; only failed jobs can be retried`,
    );
  }
  await jobs.boss.retry(job.queue, job.id);
  await auditAction(sql, actor, 'job.retry', `job:${job.queue}/${job.id}`);
  return (await jobsByIds(sql, [job.id]))[0];
}
