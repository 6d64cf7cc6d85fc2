/**
 * The benchmark job: runs SQL vs TypeScript vs the floor on one stored period (see
 * server/aggregate/benchmark.ts) and returns the summary as the job's output.
 */
import { runBenchmark } from '../aggregate/benchmark.ts';
import type { Kind } from '../aggregate/run.ts';
import type { Jobs } from './boss.ts';
import { QUEUES } from './queues.ts';

/** Median of a non-empty list. */
function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export type BenchmarkJobData = { kind: Kind; sourceId: number; period: string; reps: number };

/** Enqueues a benchmark; returns the job id. */
export async function enqueueBenchmark(jobs: Jobs, data: BenchmarkJobData): Promise<string> {
  const id = await jobs.boss.send(QUEUES.benchmark, data);
  if (!id) throw new Error('could not enqueue the benchmark');
  return id;
}

export async function registerBenchmarkWorker(jobs: Jobs, pollingIntervalSeconds: number) {
  await jobs.boss.work<BenchmarkJobData>(
    QUEUES.benchmark,
    { pollingIntervalSeconds },
    async ([job]) => {
      const r = await runBenchmark(jobs.sql, {
        ...job.data,
        tz: jobs.reportTz,
        notes: { jobId: job.id },
      });
      const med = (p: string) =>
        Math.round(median(r.runs.filter((x) => x.path === p).map((x) => x.ms)));
      return {
        runGroup: r.runGroup,
        parity: r.parity,
        rowsIn: r.rowsIn,
        floorMs: med('floor'),
        sqlMs: med('sql'),
        tsMs: med('ts'),
      };
    },
  );
}
