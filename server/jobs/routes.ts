/**
 * HTTP routes of background jobs, mounted under /api/v1:
 *   GET  /jobs?state=&queue=&limit=  (admin) newest first; failed jobs carry `error`
 *   POST /jobs/:queue/:id/retry      (admin) retry a failed job
 */
import { Hono } from 'hono';
import { isUuid } from '../ids.ts';
import { z } from 'zod';
import type { AuthVariables } from '../auth/middleware.ts';
import type { ApiDoc } from '../http/api_doc.ts';
import type { Sql } from '../db/connect.ts';
import { csvResponse, fieldColumns, onePage, wantsCsv } from '../http/csv.ts';
import { AppError } from '../errors.ts';
import { parseOr400, query } from '../http/validate.ts';
import type { Jobs } from './boss.ts';
import { JOB_STATES, type JobRow, jobsByIds, listJobs } from './job_queries.ts';
import { ALL_QUEUES } from './queues.ts';

const ListParams = z.object({
  state: z.enum(JOB_STATES).optional(),
  queue: z.enum(ALL_QUEUES as [string, ...string[]]).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

const JOB_CSV = fieldColumns<JobRow>(
  [
    'id',
    'queue',
    'state',
    'data',
    'output',
    'error',
    'retryCount',
    'retryLimit',
    'singletonKey',
    'createdOn',
    'startedOn',
    'completedOn',
  ],
  ['createdOn', 'startedOn', 'completedOn'],
);

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
      'Background jobs (pg-boss) with state and error; failed ones first (Accept: text/csv: the same list as CSV)',
    responses: {
      200: { description: '`{"items"}` or CSV', produces: ['text/csv'] },
      503: 'Jobs not running',
    },
  }, async (c) => {
    if (!jobs) {
      throw new AppError('jobs_unavailable', 'background jobs are not running on this server');
    }
    const p = parseOr400(ListParams, query(c.req.query()), 'invalid_query');
    if (wantsCsv(c.req.header('accept'))) {
      return csvResponse('vmledger-jobs.csv', JOB_CSV, onePage(listJobs(sql, p)));
    }
    return c.json({ items: await listJobs(sql, p) });
  });

  doc.define(app, {
    method: 'post',
    path: '/jobs/:queue/:id/retry',
    operationId: 'retryJob',
    tag: 'Jobs',
    roles: ['admin'],
    summary: 'Retry a failed job',
    responses: { 200: 'Retried', 404: 'No such job', 409: 'Not failed' },
  }, async (c) => {
    if (!jobs) {
      throw new AppError('jobs_unavailable', 'background jobs are not running on this server');
    }
    const { queue, id } = c.req.param();
    if (
      !(ALL_QUEUES as string[]).includes(queue) ||
      !isUuid(id)
    ) {
      throw new AppError('not_found', `no job ${queue}/${id}`);
    }
    const [job] = await jobsByIds(sql, [id]);
    if (!job || job.queue !== queue) throw new AppError('not_found', `no job ${queue}/${id}`);
    if (job.state !== 'failed') {
      throw new AppError(
        'not_failed',
        `job ${id} is ${job.state}; only failed jobs can be retried`,
      );
    }
    await jobs.boss.retry(queue, id);
    return c.json({ job: (await jobsByIds(sql, [id]))[0] });
  });

  return app;
}
