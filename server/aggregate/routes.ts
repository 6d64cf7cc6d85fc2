/**
 * HTTP routes of aggregation, mounted under /api/v1:
 *   POST /aggregations (admin)        rerun/backfill a range as jobs; `wait: true` returns when done
 *   GET  /aggregations/:id (admin)    a request with its jobs' states
 *   GET  /rollups/daily?day=&source=  (viewer) and /rollups/monthly?month=&source=
 *   POST /benchmarks (admin), GET /benchmarks (viewer)
 * Jobs listing and retry live in server/jobs/routes.ts.
 */
import { Hono } from 'hono';
import { isUuid } from '../ids.ts';
import { z } from 'zod';
import type { AuthVariables } from '../auth/middleware.ts';
import { type ApiDoc, MAX_INT_ID } from '../http/api_doc.ts';
import { allPages, type CsvColumn, csvResponse, fieldColumns, wantsCsv } from '../http/csv.ts';
import type { Sql } from '../db/connect.ts';
import { AppError } from '../errors.ts';
import type { Jobs } from '../jobs/boss.ts';
import { enqueueRange } from '../jobs/aggregation_jobs.ts';
import { type JobRow, jobsByIds } from '../jobs/job_queries.ts';
import { jobsRoutes } from '../jobs/routes.ts';
import { clientIp } from '../http/client_ip.ts';
import { BenchmarkStart, startBenchmark } from './benchmark_action.ts';
import { daysBetween, isDay, monthsBetween } from './period.ts';
import { sourceExists } from './pending.ts';
import {
  findAggregationRequest,
  listBenchmarkRuns,
  saveAggregationRequest,
} from './request_queries.ts';
import { decodeRollupCursor, listRollups, type RollupItem } from './rollup_queries.ts';
import type { BenchmarkGroupItem, BenchmarkRunItem } from './request_queries.ts';
import { jsonBody, parseOr400, query } from '../http/validate.ts';

const MAX_JOBS_PER_REQUEST = 5000;
const WAIT_LIMIT_MS = 10 * 60_000;
const Day = z.string().refine(isDay, 'must be a date YYYY-MM-DD');
const Month = z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'must be a month YYYY-MM').or(Day);
const toMonthDay = (m: string) => (m.length === 7 ? `${m}-01` : `${m.slice(0, 7)}-01`);

const AggregationBody = z
  .object({
    kind: z.enum(['daily', 'monthly']),
    source: z.number().int().positive().max(MAX_INT_ID).optional(),
    from: Month,
    to: Month,
    engine: z.enum(['sql', 'ts']).optional(),
    wait: z.boolean().optional(),
  })
  .strict()
  .refine((b) => b.kind === 'monthly' || (isDay(b.from) && isDay(b.to)), {
    message: 'daily ranges need days YYYY-MM-DD',
    path: ['from'],
  })
  .refine((b) => b.from <= b.to, { message: 'must not be after `to`', path: ['from'] });

const RollupParams = (periodName: 'day' | 'month') =>
  z.object({
    [periodName]: periodName === 'day' ? Day : Month,
    source: z.coerce.number().int().positive().max(MAX_INT_ID).optional(),
    limit: z.coerce.number().int().min(1).max(5000).default(500),
    cursor: z.string().max(2000).refine(
      (c) => decodeRollupCursor(c) !== null,
      'not a cursor from this API',
    ).optional(),
  });

/** A rollup's CSV columns: its fields, pool percentages flattened to `pool=pct;…`. */
const rollupCsv = (kind: 'daily' | 'monthly'): CsvColumn<RollupItem>[] => [
  ...fieldColumns<RollupItem>([
    'key',
    'sourceId',
    'period',
    'sourceVmId',
    'name',
    'totalSamples',
    'samplesPresent',
    'poweredOnSamples',
    'presence',
    'avgVcpu',
    'avgRamGb',
    'avgDiskGb',
    'poweredOnRatio',
    'poweredOnHours',
    'vcpuHours',
    'ramGbHours',
    'diskGbHours',
  ]),
  {
    header: 'poolPct',
    value: (r) => Object.entries(r.poolPct ?? {}).map(([k, v]) => `${k}=${v}`).join(';'),
  },
  ...fieldColumns<RollupItem>(
    ['firstSampleAt', 'lastSampleAt', 'firstSeenAt', 'lastSeenAt', 'createdAt', 'deletedAt'],
    ['firstSampleAt', 'lastSampleAt', 'firstSeenAt', 'lastSeenAt', 'createdAt', 'deletedAt'],
  ),
  ...(kind === 'monthly' ? fieldColumns<RollupItem>(['daysPresent', 'daysCovered']) : []),
];

/** Every row of the period as CSV, read 5,000 at a time as the client takes them. */
function rollupsCsv(sql: Sql, fileName: string, q: Parameters<typeof listRollups>[1]) {
  return csvResponse(
    fileName,
    rollupCsv(q.kind),
    allPages((cursor: string | undefined) => listRollups(sql, { ...q, limit: 5000, cursor })),
  );
}

type BenchmarkRunRow = BenchmarkRunItem & { group: BenchmarkGroupItem };
/** Benchmarks as CSV: one row per run, with its group's period and verdict (not the plans). */
const BENCHMARK_CSV: CsvColumn<BenchmarkRunRow>[] = [
  { header: 'runGroup', value: (r) => r.group.runGroup },
  { header: 'kind', value: (r) => r.group.kind },
  { header: 'period', value: (r) => r.group.period },
  { header: 'sourceId', value: (r) => r.group.sourceId },
  { header: 'rowsIn', value: (r) => r.group.rowsIn },
  { header: 'groupParity', value: (r) => r.group.parity },
  { header: 'createdAt', value: (r) => r.group.createdAt, type: 'time' },
  ...fieldColumns<BenchmarkRunRow>(['path', 'rep', 'rowsOut', 'durationMs', 'checksum', 'parity']),
];

async function* benchmarkRunRows(groups: Promise<BenchmarkGroupItem[]>) {
  yield (await groups).flatMap((group) => group.runs.map((run) => ({ ...run, group })));
}

const TERMINAL = new Set(['completed', 'failed', 'cancelled']);

function needJobs(jobs: Jobs | undefined): Jobs {
  if (!jobs) {
    throw new AppError('jobs_unavailable', 'background jobs are not running on this server');
  }
  return jobs;
}

function summarize(jobs: JobRow[]) {
  const counts: Record<string, number> = {};
  for (const j of jobs) counts[j.state] = (counts[j.state] ?? 0) + 1;
  const done = jobs.every((j) => TERMINAL.has(j.state));
  const state = !done
    ? 'running'
    : jobs.some((j) => j.state !== 'completed')
    ? 'failed'
    : 'completed';
  return { state, counts };
}

/** Routes mounted under /api/v1 (auth already applied by the caller). */
export function aggregationRoutes(sql: Sql, doc: ApiDoc, jobs?: Jobs) {
  const app = new Hono<{ Variables: AuthVariables }>();

  doc.define(app, {
    method: 'post',
    path: '/aggregations',
    operationId: 'requestAggregation',
    tag: 'Aggregation',
    roles: ['admin'],
    body: AggregationBody,
    bodyError: 'invalid_request',
    summary:
      'Rerun or backfill daily/monthly aggregation over a range (wait: true returns when done)',
    responses: {
      202: 'Queued: request id and job states',
      200: 'Done (wait: true)',
      503: 'Jobs not running',
    },
  }, async (c, { body: b }) => {
    const j = needJobs(jobs);
    if (b.source && !(await sourceExists(sql, b.source))) {
      throw new AppError('invalid_request', `source: no source with id ${b.source}`, {
        issues: [{ path: 'source', message: 'no such source' }],
      });
    }
    const periods = b.kind === 'daily'
      ? daysBetween(b.from, b.to)
      : monthsBetween(toMonthDay(b.from), toMonthDay(b.to));
    if (periods.length > MAX_JOBS_PER_REQUEST) {
      throw new AppError(
        'invalid_request',
        `range too long: ${periods.length} periods (at most ${MAX_JOBS_PER_REQUEST})`,
        { issues: [{ path: 'to', message: 'range too long' }] },
      );
    }
    const engine = b.engine ?? j.engine;
    const enqueued = await enqueueRange(j, { kind: b.kind, sourceId: b.source, periods, engine });
    const refs = enqueued.map((e) => ({
      id: e.id,
      queue: e.queue,
      sourceId: e.sourceId,
      period: e.period,
    }));
    const saved = await saveAggregationRequest(sql, {
      kind: b.kind,
      engine,
      params: b,
      jobs: refs,
      requestedBy: c.get('auth').id ?? null,
    });
    const ids = refs.map((r) => r.id);
    let rows = await jobsByIds(sql, ids);
    if (b.wait) {
      const deadline = Date.now() + WAIT_LIMIT_MS;
      while (!rows.every((r) => TERMINAL.has(r.state)) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 250));
        rows = await jobsByIds(sql, ids);
      }
    }
    const summary = summarize(rows);
    return c.json(
      { id: saved.id, kind: b.kind, engine, ...summary, jobs: rows },
      b.wait && summary.state !== 'running' ? 200 : 202,
    );
  });

  doc.define(app, {
    method: 'get',
    path: '/aggregations/:id',
    operationId: 'getAggregation',
    tag: 'Aggregation',
    roles: ['admin'],
    summary: 'Progress of an aggregation request: its jobs and their states',
    responses: { 200: 'The request', 404: 'No such request' },
  }, async (c) => {
    const id = c.req.param('id') ?? '';
    if (!isUuid(id)) {
      throw new AppError('not_found', `no aggregation request ${id}`);
    }
    const r = await findAggregationRequest(sql, id);
    if (!r) throw new AppError('not_found', `no aggregation request ${id}`);
    const rows = await jobsByIds(sql, r.jobs.map((x) => x.id));
    return c.json({
      id: r.id,
      kind: r.kind,
      engine: r.engine,
      params: r.params,
      createdAt: r.createdAt,
      ...summarize(rows),
      jobs: rows,
    });
  });

  doc.define(app, {
    method: 'get',
    path: '/rollups/daily',
    operationId: 'listDailyRollups',
    tag: 'Aggregation',
    roles: ['viewer'],
    query: RollupParams('day'),
    summary:
      'Daily VM rollups of a day (paged JSON; Accept: text/csv streams the whole day as CSV)',
    responses: {
      200: { description: '`{"items", "total", "next"}` or CSV', produces: ['text/csv'] },
    },
  }, async (c) => {
    const p = parseOr400(RollupParams('day'), query(c.req.query()), 'invalid_query');
    const q = {
      kind: 'daily' as const,
      period: p.day as string,
      sourceId: p.source as number | undefined,
      limit: p.limit as number,
      cursor: p.cursor as string | undefined,
    };
    if (wantsCsv(c.req.header('accept'))) {
      return rollupsCsv(sql, `vmledger-daily-${q.period}.csv`, { ...q, cursor: undefined });
    }
    return c.json(await listRollups(sql, q));
  });

  doc.define(app, {
    method: 'get',
    path: '/rollups/monthly',
    operationId: 'listMonthlyRollups',
    tag: 'Aggregation',
    roles: ['viewer'],
    query: RollupParams('month'),
    summary:
      'Monthly VM rollups of a month (paged JSON; Accept: text/csv streams the whole month as CSV)',
    responses: {
      200: { description: '`{"items", "total", "next"}` or CSV', produces: ['text/csv'] },
    },
  }, async (c) => {
    const p = parseOr400(RollupParams('month'), query(c.req.query()), 'invalid_query');
    const q = {
      kind: 'monthly' as const,
      period: toMonthDay(p.month as string),
      sourceId: p.source as number | undefined,
      limit: p.limit as number,
      cursor: p.cursor as string | undefined,
    };
    if (wantsCsv(c.req.header('accept'))) {
      return rollupsCsv(sql, `vmledger-monthly-${q.period.slice(0, 7)}.csv`, {
        ...q,
        cursor: undefined,
      });
    }
    return c.json(await listRollups(sql, q));
  });

  doc.define(app, {
    method: 'post',
    path: '/benchmarks',
    operationId: 'startBenchmark',
    tag: 'Aggregation',
    roles: ['admin'],
    body: BenchmarkStart,
    bodyError: 'invalid_request',
    summary:
      'Run the SQL-vs-TypeScript benchmark on one period (a job); progress on the Benchmarks page',
    responses: { 202: 'Queued: request id and job id', 503: 'Jobs not running' },
  }, async (c, { body }) => {
    const actor = c.get('auth');
    const r = await startBenchmark(sql, jobs, body, {
      id: actor.id ?? null,
      name: actor.name ?? null,
      ip: clientIp(c),
    });
    return c.json({ id: r.id, jobId: r.jobId, state: 'created' }, 202);
  });

  doc.define(app, {
    method: 'get',
    path: '/benchmarks',
    operationId: 'listBenchmarks',
    tag: 'Aggregation',
    roles: ['viewer'],
    summary:
      'Benchmark runs: path, period, rows, duration, checksum, parity verdict (Accept: text/csv: one row per run)',
    responses: { 200: { description: '`{"items"}` or CSV', produces: ['text/csv'] } },
  }, async (c) => {
    const p = parseOr400(
      z.object({ limit: z.coerce.number().int().min(1).max(100).default(20) }),
      query(c.req.query()),
      'invalid_query',
    );
    if (wantsCsv(c.req.header('accept'))) {
      return csvResponse(
        'vmledger-benchmarks.csv',
        BENCHMARK_CSV,
        benchmarkRunRows(listBenchmarkRuns(sql, p.limit)),
      );
    }
    return c.json({ items: await listBenchmarkRuns(sql, p.limit) });
  });

  app.route('/', jobsRoutes(sql, doc, jobs));
  return app;
}
