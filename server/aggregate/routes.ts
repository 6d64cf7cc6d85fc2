/**
 * HTTP routes of aggregation, mounted under /api/v1:
 *   POST /aggregations (admin)        rerun/backfill a range as jobs; `wait: true` returns when done
 *   GET  /aggregations/:id (admin)    a request with its jobs' states
 *   GET  /rollups/daily?day=&source=  (viewer) and /rollups/monthly?month=&source=
 *   POST /benchmarks (admin), GET /benchmarks (viewer)
 * Reruns and benchmarks go through their actions (request_aggregation.ts,
 * benchmark_action.ts), which the pages call too.
 */
import { type Context, Hono } from 'hono';
import { z } from 'zod';
import type { AuthVariables } from '../auth/middleware.ts';
import { actorOf } from '../http/actions.ts';
import { type ApiDoc, IntId, ListOf } from '../http/api_doc.ts';
import { allPages, type CsvColumn, csvResponse, fieldColumns, wantsCsv } from '../http/csv.ts';
import type { Sql } from '../db/connect.ts';
import { AppError } from '../errors.ts';
import type { Jobs } from '../jobs/boss.ts';
import { BenchmarkStart, startBenchmark } from './benchmark_action.ts';
import { Day, Month } from './inputs.ts';
import { monthOf } from './period.ts';
import { BenchmarkGroupItem, listBenchmarkRuns } from './request_queries.ts';
import {
  AggregationProgress,
  aggregationProgress,
  AggregationRequest,
  requestAggregation,
} from './request_aggregation.ts';
import { listRollups, RollupCursor, RollupItem } from './rollup_queries.ts';
import { cursorParam } from '../cursor.ts';

const WAIT_LIMIT_MS = 10 * 60_000;

const RollupParams = z.object({
  source: IntId.optional(),
  limit: z.coerce.number().int().min(1).max(5000).default(500),
  cursor: cursorParam(RollupCursor).optional(),
});

const MONTHLY_ONLY: string[] = ['daysPresent', 'daysCovered'];
/**
 * A rollup's CSV columns: its fields in order (daysPresent and daysCovered for months only),
 * pool percentages flattened to `pool=pct;…`.
 */
const rollupCsv = (kind: 'daily' | 'monthly'): CsvColumn<RollupItem>[] =>
  fieldColumns<RollupItem>(
    RollupItem.keyof().options.filter((f) => kind === 'monthly' || !MONTHLY_ONLY.includes(f)),
    ['firstSampleAt', 'lastSampleAt', 'firstSeenAt', 'lastSeenAt', 'createdAt', 'deletedAt'],
  ).map((c) =>
    c.header !== 'poolPct' ? c : {
      header: 'poolPct',
      value: (r) => Object.entries(r.poolPct ?? {}).map(([k, v]) => `${k}=${v}`).join(';'),
    }
  );

type BenchmarkRunRow = BenchmarkGroupItem['runs'][number] & { group: BenchmarkGroupItem };
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

/** Routes mounted under /api/v1 (auth already applied by the caller). */
export function aggregationRoutes(sql: Sql, doc: ApiDoc, jobs?: Jobs) {
  const app = new Hono<{ Variables: AuthVariables }>();

  doc.define(app, {
    method: 'post',
    path: '/aggregations',
    operationId: 'requestAggregation',
    tag: 'Aggregation',
    roles: ['admin'],
    body: AggregationRequest,
    bodyError: 'invalid_request',
    summary:
      'Rerun or backfill daily/monthly aggregation over a range (wait: true returns when done)',
    responses: {
      202: { description: 'Queued: the request and its jobs', schema: AggregationProgress },
      200: { description: 'Done (wait: true)', schema: AggregationProgress },
      503: 'Jobs not running',
    },
  }, async (c, { body }) => {
    const id = await requestAggregation(sql, jobs, body, actorOf(c));
    const p = (await aggregationProgress(sql, id, body.wait ? WAIT_LIMIT_MS : 0))!;
    return c.json(p, body.wait && p.state !== 'running' ? 200 : 202);
  });

  doc.define(app, {
    method: 'get',
    path: '/aggregations/:id',
    operationId: 'getAggregation',
    tag: 'Aggregation',
    roles: ['admin'],
    params: z.object({ id: z.string().max(100) }),
    summary: 'Progress of an aggregation request: its jobs and their states',
    responses: {
      200: { description: 'The request', schema: AggregationProgress },
      404: 'No such request',
    },
  }, async (c, { params }) => {
    const p = await aggregationProgress(sql, params.id);
    if (!p) throw new AppError('not_found', `no aggregation request ${params.id}`);
    return c.json(p);
  });

  /** One page of a period's rollups, or (Accept: text/csv) all of them. */
  const rollups = (
    c: Context,
    kind: 'daily' | 'monthly',
    period: string,
    p: z.infer<typeof RollupParams>,
  ) => {
    const q = { kind, period, sourceId: p.source, limit: p.limit, cursor: p.cursor };
    if (wantsCsv(c.req.header('accept'))) {
      const name = `vmledger-${kind}-${kind === 'daily' ? period : period.slice(0, 7)}.csv`;
      // Every row of the period, read 5,000 at a time as the client takes them.
      const page = (cursor?: string) => listRollups(sql, { ...q, limit: 5000, cursor });
      return csvResponse(name, rollupCsv(kind), allPages(page));
    }
    return listRollups(sql, q).then((page) => c.json(page));
  };
  const rollupReply = {
    200: {
      description: '`{"items", "total", "next"}` or CSV',
      schema: ListOf(RollupItem),
      produces: ['text/csv'],
    },
  };

  doc.define(app, {
    method: 'get',
    path: '/rollups/daily',
    operationId: 'listDailyRollups',
    tag: 'Aggregation',
    roles: ['viewer'],
    query: RollupParams.extend({ day: Day }),
    summary:
      'Daily VM rollups of a day (paged JSON; Accept: text/csv streams the whole day as CSV)',
    responses: rollupReply,
  }, (c, { query: p }) => rollups(c, 'daily', p.day, p));

  doc.define(app, {
    method: 'get',
    path: '/rollups/monthly',
    operationId: 'listMonthlyRollups',
    tag: 'Aggregation',
    roles: ['viewer'],
    query: RollupParams.extend({ month: Month }),
    summary:
      'Monthly VM rollups of a month (paged JSON; Accept: text/csv streams the whole month as CSV)',
    responses: rollupReply,
  }, (c, { query: p }) => rollups(c, 'monthly', monthOf(p.month), p));

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
    responses: {
      202: {
        description: 'Queued: request id and job id',
        schema: z.object({ id: z.string(), jobId: z.string(), state: z.literal('created') }),
      },
      503: 'Jobs not running',
    },
  }, async (c, { body }) => {
    const r = await startBenchmark(sql, jobs, body, actorOf(c));
    return c.json({ id: r.id, jobId: r.jobId, state: 'created' as const }, 202);
  });

  doc.define(app, {
    method: 'get',
    path: '/benchmarks',
    operationId: 'listBenchmarks',
    tag: 'Aggregation',
    roles: ['viewer'],
    query: z.object({ limit: z.coerce.number().int().min(1).max(100).default(20) }),
    summary:
      'Benchmark runs: path, period, rows, duration, checksum, parity verdict (Accept: text/csv: one row per run)',
    responses: {
      200: {
        description: '`{"items"}` or CSV',
        schema: z.object({ items: z.array(BenchmarkGroupItem) }),
        produces: ['text/csv'],
      },
    },
  }, async (c, { query: p }) => {
    if (wantsCsv(c.req.header('accept'))) {
      return csvResponse(
        'vmledger-benchmarks.csv',
        BENCHMARK_CSV,
        benchmarkRunRows(listBenchmarkRuns(sql, p.limit)),
      );
    }
    return c.json({ items: await listBenchmarkRuns(sql, p.limit) });
  });

  return app;
}
