/**
 * HTTP routes of background jobs, mounted under /api/v1:
 *   GET  /jobs?state=&queue=&limit=  (admin) newest first, every feature's queues; failed jobs carry `error`
 *   POST /jobs/:queue/:id/retry      (admin) retry a failed job (server/jobs/retry_job.ts)
 */
import { Hono } from 'hono';
import { z } from 'zod';
import type { AuthVariables } from '../auth/middleware.ts';
import type { Sql } from '../db/connect.ts';
import { actorOf } from '../http/actions.ts';
import type { ApiDoc } from '../http/api_doc.ts';
import { csvResponse, fieldColumns, onePage, wantsCsv } from '../http/csv.ts';
import { assertJobs, type Jobs } from './boss.ts';
import { JOB_STATES, JobRow, listJobs } from './job_queries.ts';
import { retryJob } from './retry_job.ts';

const ListParams = z.object({
  state: z.enum(JOB_STATES).optional(),
  queue: z.string().max(100).optional().describe('one queue (default: every queue)'),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});
const RetryParams = z.object({ queue: z.string().max(100), id: z.string().max(100) });

const JOB_CSV = fieldColumns<JobRow>(JobRow.keyof().options, [
  'createdOn',
  'startedOn',
  'completedOn',
]);

export function jobsRoutes(sql: Sql, doc: ApiDoc, jobs?: Jobs) {
  const app = new Hono<{ Variables: AuthVariables }>();

  doc.define(app, {
    method: 'get',
    path: '/jobs',
    operationId: 'listJobs',
    tag: 'Jobs',
    roles: ['admin'],
    query: ListParams,
    summary:
      'Background jobs (pg-boss) of every queue, newest first, with state and error (Accept: text/csv: the same list as CSV)',
    responses: {
      200: {
        description: '`{"items", "queues"}` or CSV',
        schema: z.object({ items: z.array(JobRow), queues: z.array(z.string()) }),
        produces: ['text/csv'],
      },
      503: 'Jobs not running',
    },
  }, async (c, { query: q }) => {
    assertJobs(jobs);
    const queues = q.queue ? jobs.queues.filter((name) => name === q.queue) : jobs.queues;
    const list = listJobs(sql, { ...q, queues });
    if (wantsCsv(c.req.header('accept'))) {
      return csvResponse('vmledger-jobs.csv', JOB_CSV, onePage(list));
    }
    return c.json({ items: await list, queues: jobs.queues });
  });

  doc.define(app, {
    method: 'post',
    path: '/jobs/:queue/:id/retry',
    operationId: 'retryJob',
    tag: 'Jobs',
    roles: ['admin'],
    params: RetryParams,
    summary: 'Retry a failed job',
    responses: {
      200: { description: 'Retried: the job', schema: z.object({ job: JobRow }) },
      404: 'No such job',
      409: 'Not failed',
      503: 'Jobs not running',
    },
  }, async (c, { params }) => c.json({ job: await retryJob(sql, jobs, params, actorOf(c)) }));

  return app;
}
