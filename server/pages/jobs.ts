/**
 * The Jobs admin page: every queue with its counts, the latest jobs with Retry, and the
 * "Rerun aggregation" form; a rerun's progress page. Retry and rerun are the same actions as
 * `POST /api/v1/jobs/:queue/:id/retry` and `POST /api/v1/aggregations`.
 */
import { type Context, Hono, type MiddlewareHandler } from 'hono';
import { addDays } from '../aggregate/period.ts';
import {
  aggregationProgress,
  AggregationRequest,
  requestAggregation,
} from '../aggregate/request_aggregation.ts';
import type { Sql } from '../db/connect.ts';
import { AppError } from '../errors.ts';
import { actorOf, refusal } from '../http/actions.ts';
import { parseOr400 } from '../http/validate.ts';
import type { Jobs } from '../jobs/boss.ts';
import { JOB_STATES, jobCounts, listJobs } from '../jobs/job_queries.ts';
import { retryJob } from '../jobs/retry_job.ts';
import { hasJobTable } from '../queries/pages_dashboard.ts';
import { listSourcesDetailed } from '../queries/sources.ts';
import { todayIn } from '../reports/period.ts';
import {
  aggregationPage,
  aggregationStatus,
  type JobsFlash,
  jobsPage,
} from '../../web/pages/admin.ts';
import { notFound, type PageEnv, requireCsrf, viewerOf } from './guard.ts';

/** `admin`: the admin-only guard; `jobs`: the job runner, when this server has one. */
export function jobPageRoutes(
  sql: Sql,
  auth: MiddlewareHandler<PageEnv>,
  admin: MiddlewareHandler<PageEnv>,
  jobs?: Jobs,
) {
  const app = new Hono<PageEnv>();

  const page = async (
    c: Context<PageEnv>,
    flash: JobsFlash = {},
    status: 200 | AppError['status'] = 200,
  ) => {
    const state = JOB_STATES.find((s) => s === c.req.query('state'));
    const installed = await hasJobTable(sql);
    const [queues, recent, sources] = installed
      ? await Promise.all([
        jobCounts(sql, jobs?.queues),
        listJobs(sql, { state, limit: 100 }),
        listSourcesDetailed(sql),
      ])
      : [[], [], []];
    const yesterday = addDays(todayIn(jobs?.reportTz ?? 'UTC'), -1);
    return c.html(
      jobsPage(viewerOf(c), {
        jobs: { installed, queues, recent },
        state: state ?? null,
        canRetry: !!jobs,
        rerun: { sources: sources.map((s) => ({ id: s.id, name: s.name })), yesterday },
        flash,
      }),
      status,
    );
  };

  app.get('/admin/jobs', auth, admin, (c) => {
    const retried = c.req.query('retried');
    return page(c, retried ? { done: `Job ${retried} queued again.` } : {});
  });

  // Retry: the same action as POST /api/v1/jobs/:queue/:id/retry.
  app.post('/admin/jobs/:queue/:id/retry', auth, admin, requireCsrf(), async (c) => {
    try {
      const job = await retryJob(sql, jobs, c.req.param(), actorOf(c));
      return c.redirect(`/admin/jobs?retried=${encodeURIComponent(job.id)}`, 303);
    } catch (err) {
      const e = refusal(err);
      return page(c, { error: e.message }, e.status);
    }
  });

  // Rerun aggregation: the same action as POST /api/v1/aggregations, then its progress.
  app.post('/admin/aggregations', auth, admin, requireCsrf(), async (c) => {
    const form = await c.req.parseBody();
    const text = (v: unknown) => (typeof v === 'string' && v.trim() ? v.trim() : undefined);
    const source = text(form.source);
    const values = {
      kind: text(form.kind),
      source: source && /^\d{1,10}$/.test(source) ? Number(source) : source,
      from: text(form.from),
      to: text(form.to),
      engine: text(form.engine),
    };
    try {
      const b = parseOr400(AggregationRequest, values, 'invalid_request');
      const id = await requestAggregation(sql, jobs, b, actorOf(c));
      return c.redirect(`/admin/aggregations/${id}`, 303);
    } catch (err) {
      const e = refusal(err);
      return page(c, { rerunError: e.message, rerun: { ...values, source } }, e.status);
    }
  });

  app.get('/admin/aggregations/:id', auth, admin, async (c) => {
    const p = await aggregationProgress(sql, c.req.param('id'));
    if (!p) {
      return notFound(c, {
        title: 'Aggregation request not found',
        message: 'No aggregation request with that id.',
        back: { href: '/admin/jobs', label: 'Jobs' },
      });
    }
    if (c.req.query('part') === 'status') return c.html(aggregationStatus(p));
    return c.html(aggregationPage(viewerOf(c), p));
  });

  return app;
}
