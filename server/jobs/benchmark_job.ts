/**
 * The benchmark job: runs SQL vs TypeScript vs the floor on one stored period (see
 * server/aggregate/benchmark_action.ts, which also queues it) and returns the summary as
 * the job's output.
 */
import { type BenchmarkJobData, runBenchmarkJob } from '../aggregate/benchmark_action.ts';
import type { Jobs } from './boss.ts';
import { work } from './instrument.ts';
import { QUEUES } from './queues.ts';

/** Median of a non-empty list. */
function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export type { BenchmarkJobData };

export async function registerBenchmarkWorker(jobs: Jobs, pollingIntervalSeconds: number) {
  await work<BenchmarkJobData>(
    jobs,
    QUEUES.benchmark,
    { pollingIntervalSeconds },
    async ([job]) => {
      const r = await runBenchmarkJob(jobs.sql, job.data, { tz: jobs.reportTz, jobId: job.id });
      const med = (p: string) => {
        const ms = r.runs.filter((x) => x.path === p).map((x) => x.ms);
        return ms.length ? Math.round(median(ms)) : null;
      };
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
