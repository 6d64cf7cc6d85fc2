/**
 * "Start a benchmark": the one action behind the Benchmarks page form and
 * `POST /api/v1/benchmarks`. It validates the request (same schema, same errors for both),
 * records it in benchmark_requests, queues the `benchmark` job and writes one audit row
 * (`benchmark.start`). The job's body is `runBenchmarkJob`: it runs the benchmark, keeping
 * the request's progress up to date for the page that watches it.
 */
import { z } from 'zod';
import { audit } from '../audit/audit_log.ts';
import type { Sql } from '../db/connect.ts';
import { MAX_INT_ID } from '../http/api_doc.ts';
import { AppError } from '../errors.ts';
import { parseOr400 } from '../http/validate.ts';
import type { Jobs } from '../jobs/boss.ts';
import { QUEUES } from '../jobs/queues.ts';
import { log } from '../log.ts';
import { BENCH_PATHS, type BenchmarkResult, benchmarkSteps, runBenchmark } from './benchmark.ts';
import {
  insertBenchmarkRequest,
  markBenchmarkDone,
  markBenchmarkProgress,
  markBenchmarkRunning,
  setBenchmarkJob,
} from './benchmark_requests.ts';
import { isDay, monthOf } from './period.ts';
import { sourceExists } from './pending.ts';
import type { Kind } from './run.ts';

const Day = z.string().refine(isDay, 'must be a date YYYY-MM-DD');
const Month = z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'must be a month YYYY-MM').or(Day);

/** What a benchmark request carries (the API's JSON body; the page form is read into it). */
export const BenchmarkStart = z
  .object({
    kind: z.enum(['daily', 'monthly']),
    source: z.number().int().positive().max(MAX_INT_ID),
    period: Month,
    reps: z.number().int().min(1).max(20).default(3),
    engines: z.array(z.enum(['sql', 'ts', 'floor'])).min(1).max(3)
      .refine((e) => new Set(e).size === e.length, 'each engine at most once')
      .default(['floor', 'sql', 'ts']),
  })
  .strict();
export type BenchmarkStartInput = z.input<typeof BenchmarkStart>;

export type Actor = { id: number | null; name: string | null; ip?: string | null };

/** The benchmark job's data. */
export type BenchmarkJobData = {
  kind: Kind;
  sourceId: number;
  period: string;
  reps: number;
  engines?: ('sql' | 'ts' | 'floor')[];
  /** The benchmark_requests row it reports progress to (absent in jobs queued before it). */
  requestId?: string;
};

/** Validates, records, queues and audits a benchmark; returns the request and job ids. */
export async function startBenchmark(
  sql: Sql,
  jobs: Jobs | undefined,
  input: unknown,
  actor: Actor,
): Promise<{ id: string; jobId: string; state: 'queued' }> {
  if (!jobs) {
    throw new AppError('jobs_unavailable', 'background jobs are not running on this server');
  }
  const b = parseOr400(BenchmarkStart, input);
  if (b.kind === 'daily' && !isDay(b.period)) {
    throw new AppError('invalid_request', 'period: a daily benchmark needs a day YYYY-MM-DD', {
      issues: [{ path: 'period', message: 'must be a day' }],
    });
  }
  if (!(await sourceExists(sql, b.source))) {
    throw new AppError('invalid_request', `source: no source with id ${b.source}`, {
      issues: [{ path: 'source', message: 'no such source' }],
    });
  }
  const period = b.kind === 'monthly'
    ? monthOf(b.period.length === 7 ? `${b.period}-01` : b.period)
    : b.period;
  const engines = BENCH_PATHS.filter((p) => b.engines.includes(p));
  const id = await insertBenchmarkRequest(sql, {
    kind: b.kind,
    sourceId: b.source,
    period,
    reps: b.reps,
    engines,
    total: benchmarkSteps(engines, b.reps),
    requestedBy: actor.id,
  });
  const data: BenchmarkJobData = {
    kind: b.kind,
    sourceId: b.source,
    period,
    reps: b.reps,
    engines,
    requestId: id,
  };
  const jobId = await jobs.boss.send(QUEUES.benchmark, data);
  if (!jobId) {
    await markBenchmarkDone(sql, id, { error: 'could not enqueue the benchmark' });
    throw new AppError('jobs_unavailable', 'could not enqueue the benchmark');
  }
  await setBenchmarkJob(sql, id, jobId);
  await audit(sql, {
    action: 'benchmark.start',
    actorId: actor.id,
    actorName: actor.name,
    ip: actor.ip ?? null,
    target: `benchmark:${id}`,
    detail: { kind: b.kind, source: b.source, period, reps: b.reps, engines },
  });
  return { id, jobId, state: 'queued' };
}

/** The benchmark job: runs it, reporting progress to its request row. */
export async function runBenchmarkJob(
  sql: Sql,
  data: BenchmarkJobData,
  o: { tz: string; jobId: string },
): Promise<BenchmarkResult> {
  const requestId = data.requestId;
  const paths = data.engines ?? [...BENCH_PATHS];
  if (requestId) await markBenchmarkRunning(sql, requestId, benchmarkSteps(paths, data.reps));
  try {
    const r = await runBenchmark(sql, {
      kind: data.kind,
      sourceId: data.sourceId,
      period: data.period,
      reps: data.reps,
      paths,
      tz: o.tz,
      notes: { jobId: o.jobId, ...(requestId ? { requestId } : {}) },
      onProgress: requestId ? (done) => markBenchmarkProgress(sql, requestId, done) : undefined,
    });
    if (requestId) await markBenchmarkDone(sql, requestId, { runGroup: r.runGroup });
    return r;
  } catch (err) {
    log.warn('benchmark failed', { jobId: o.jobId, error: err as Error });
    if (requestId) {
      await markBenchmarkDone(sql, requestId, { error: (err as Error).message })
        .catch(() => {});
    }
    throw err;
  }
}
