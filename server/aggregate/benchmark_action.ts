/**
 * "Start a benchmark": the one action behind the Benchmarks page form and
 * `POST /api/v1/benchmarks`. Both validate with `BenchmarkStart` (same errors); the action
 * checks the source, records the request in benchmark_requests, queues the `benchmark` job
 * and writes one audit row (`benchmark.start`). `benchmarkFeature` is the job's queue and
 * worker: it runs the benchmark, keeping the request's progress up to date for the page that
 * watches it, and returns the summary as the job's output.
 */
import { z } from 'zod';
import { type Actor, auditAction } from '../audit/audit_log.ts';
import type { Sql } from '../db/connect.ts';
import { AppError } from '../errors.ts';
import { assertJobs, type JobFeature, type Jobs } from '../jobs/boss.ts';
import { work } from '../jobs/instrument.ts';
import { log } from '../log.ts';
import {
  BENCH_PATHS,
  type BenchmarkInput,
  type BenchmarkResult,
  benchmarkSteps,
  type BenchPath,
  runBenchmark,
} from './benchmark.ts';
import {
  insertBenchmarkRequest,
  markBenchmarkDone,
  markBenchmarkProgress,
  markBenchmarkRunning,
  setBenchmarkJob,
} from './benchmark_requests.ts';
import { Month, SourceId } from './inputs.ts';
import { isDay, monthOf } from './period.ts';
import { requireSource } from './pending.ts';

export const BENCHMARK_QUEUE = 'benchmark';

/** What a benchmark request carries (the API's JSON body; the page form is read into it). */
export const BenchmarkStart = z
  .object({
    kind: z.enum(['daily', 'monthly', 'usage', 'costs'])
      .describe("usage: one day's hourly usage tier; costs: costing a month (chargeback)"),
    source: SourceId,
    period: Month,
    reps: z.number().int().min(1).max(20).default(3),
    engines: z.array(z.enum(['sql', 'ts', 'floor'])).min(1).max(3)
      .refine((e) => new Set(e).size === e.length, 'each engine at most once')
      .optional().describe('default: every engine'),
  })
  .strict();
export type BenchmarkStart = z.output<typeof BenchmarkStart>;

/** The benchmark job's data. */
export type BenchmarkJobData = Pick<BenchmarkInput, 'kind' | 'sourceId' | 'period' | 'reps'> & {
  engines?: BenchPath[];
  /** The benchmark_requests row it reports progress to (absent in jobs queued before it). */
  requestId?: string;
};

/** Checks, records, queues and audits a benchmark; returns the request and job ids. */
export async function startBenchmark(
  sql: Sql,
  jobs: Jobs | undefined,
  b: BenchmarkStart,
  actor: Actor,
): Promise<{ id: string; jobId: string; state: 'queued' }> {
  assertJobs(jobs);
  const monthly = b.kind === 'monthly' || b.kind === 'costs';
  if (!monthly && !isDay(b.period)) {
    throw new AppError('invalid_request', `period: a ${b.kind} benchmark needs a day YYYY-MM-DD`, {
      issues: [{ path: 'period', message: 'must be a day' }],
    });
  }
  await requireSource(sql, b.source);
  const period = monthly ? monthOf(b.period) : b.period;
  const engines = BENCH_PATHS.filter((p) => b.engines?.includes(p) ?? true);
  const data = { kind: b.kind, sourceId: b.source, period, reps: b.reps, engines };
  const total = benchmarkSteps(engines, b.reps);
  const id = await insertBenchmarkRequest(sql, { ...data, total, requestedBy: actor.id });
  const job: BenchmarkJobData = { ...data, requestId: id };
  const jobId = await jobs.boss.send(BENCHMARK_QUEUE, job);
  if (!jobId) {
    await markBenchmarkDone(sql, id, { error: 'could not enqueue the benchmark' });
    throw new AppError('jobs_unavailable', 'could not enqueue the benchmark');
  }
  await setBenchmarkJob(sql, id, jobId);
  const { sourceId: source, ...asked } = data;
  await auditAction(sql, actor, 'benchmark.start', `benchmark:${id}`, { ...asked, source });
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
      ...data,
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

/** The median milliseconds of `path`'s runs, rounded; null when the path did not run. */
function medianMs(r: BenchmarkResult, path: BenchPath): number | null {
  const s = r.runs.filter((x) => x.path === path).map((x) => x.ms).sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length ? Math.round(s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2) : null;
}

/** The benchmark queue and its worker (the job's output: medians per engine and parity). */
export const benchmarkFeature: JobFeature = {
  name: 'benchmark',
  queues: [{
    name: BENCHMARK_QUEUE,
    options: {
      policy: 'standard',
      retryLimit: 0,
      expireInSeconds: 60 * 60,
      deleteAfterSeconds: 30 * 86400,
    },
  }],
  async workers(jobs, pollingIntervalSeconds) {
    await work<BenchmarkJobData>(
      jobs,
      BENCHMARK_QUEUE,
      { pollingIntervalSeconds },
      async ([job]) => {
        const r = await runBenchmarkJob(jobs.sql, job.data, { tz: jobs.reportTz, jobId: job.id });
        const { runGroup, parity, rowsIn } = r;
        const [floorMs, sqlMs, tsMs] = (['floor', 'sql', 'ts'] as const).map((p) => medianMs(r, p));
        return { runGroup, parity, rowsIn, floorMs, sqlMs, tsMs };
      },
    );
  },
};
