/**
 * Benchmarks pages: the list with its chart and (admins) the start form, a request's live
 * progress and result, and one run group's repetitions. Starting goes through the same
 * action as `POST /api/v1/benchmarks` (server/aggregate/benchmark_action.ts).
 */
import { type Context, Hono, type MiddlewareHandler } from 'hono';
import type { Sql } from '../db/connect.ts';
import type { Jobs } from '../jobs/boss.ts';
import { AppError } from '../errors.ts';
import { actorOf, refusal } from '../http/actions.ts';
import { parseOr400 } from '../http/validate.ts';
import { BenchmarkStart, startBenchmark } from '../aggregate/benchmark_action.ts';
import { addDays } from '../aggregate/period.ts';
import { getBenchmarkRequest, listBenchmarkRequests } from '../aggregate/benchmark_requests.ts';
import { getBenchGroup, listBenchGroups } from '../queries/pages_benchmarks.ts';
import { listSourcesDetailed } from '../queries/sources.ts';
import { todayIn } from '../reports/period.ts';
import {
  type BenchFormView,
  benchmarkDetailPage,
  benchmarkRequestPage,
  benchmarkRequestStatus,
  benchmarksPage,
} from '../../web/pages/benchmarks.ts';
import { notFound, type PageEnv, requireAdminPage, requireCsrf, viewerOf } from './guard.ts';

/** A form field as the action's JSON input: numbers stay strings when they are not numbers. */
function numeric(v: unknown): unknown {
  return typeof v === 'string' && /^\d{1,9}$/.test(v.trim()) ? Number(v.trim()) : v;
}

/** `jobs`: the job runner, when this server has one (it runs benchmarks). */
export function benchmarkRoutes(sql: Sql, auth: MiddlewareHandler<PageEnv>, jobs?: Jobs) {
  const app = new Hono<PageEnv>();

  const list = async (
    c: Context<PageEnv>,
    form: Partial<BenchFormView> = {},
    status: 200 | AppError['status'] = 200,
  ) => {
    const [groups, requests, sources] = await Promise.all([
      listBenchGroups(sql, 100),
      listBenchmarkRequests(sql, 10),
      listSourcesDetailed(sql),
    ]);
    return c.html(
      benchmarksPage(viewerOf(c), {
        groups,
        requests,
        form: {
          sources: sources.map((s) => ({ id: s.id, name: s.name })),
          defaultDay: addDays(todayIn(jobs?.reportTz ?? 'UTC'), -1),
          ...form,
        },
      }),
      status,
    );
  };

  const missing = (c: Context<PageEnv>, message: string) =>
    notFound(c, {
      title: 'Benchmark not found',
      message,
      back: { href: '/benchmarks', label: 'All benchmarks' },
    });

  app.get('/benchmarks', auth, (c) => list(c));

  // Start: the same action as POST /api/v1/benchmarks, then the request's progress page.
  app.post('/benchmarks', auth, requireAdminPage(), requireCsrf(), async (c) => {
    const form = await c.req.parseBody({ all: true });
    const engines = [form.engines ?? []].flat().map(String);
    const str = (v: unknown) => (typeof v === 'string' ? v.trim() : undefined);
    const input = {
      kind: str(form.kind),
      source: numeric(str(form.source)),
      period: str(form.period),
      reps: numeric(str(form.reps) || undefined),
      engines,
    };
    try {
      const b = parseOr400(BenchmarkStart, input, 'invalid_request');
      const started = await startBenchmark(sql, jobs, b, actorOf(c));
      return c.redirect(`/benchmarks/requests/${started.id}`, 303);
    } catch (err) {
      // A server without job workers says so on the page, like a refused input.
      const e = refusal(err);
      return list(c, {
        error: e.message,
        values: {
          kind: input.kind,
          source: str(form.source),
          period: input.period,
          reps: str(form.reps),
          engines,
        },
      }, e.status);
    }
  });

  app.get('/benchmarks/requests/:id', auth, async (c) => {
    const r = await getBenchmarkRequest(sql, c.req.param('id'));
    if (!r) return missing(c, 'No benchmark request with that id.');
    const res = r.state === 'completed' && r.runGroup ? await getBenchGroup(sql, r.runGroup) : null;
    if (c.req.query('part') === 'status') return c.html(benchmarkRequestStatus(r, res));
    return c.html(benchmarkRequestPage(viewerOf(c), r, res));
  });

  app.get('/benchmarks/:group', auth, async (c) => {
    const g = await getBenchGroup(sql, c.req.param('group'));
    if (!g) return missing(c, 'No benchmark run with that id.');
    return c.html(benchmarkDetailPage(viewerOf(c), g));
  });

  return app;
}
