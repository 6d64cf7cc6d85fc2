/**
 * Benchmark requests (table benchmark_requests): what an admin asked for, the job that runs
 * it, its progress while it runs and the run group it stored. Data access only.
 */
import type { Sql } from '../db/connect.ts';
import { isUuid } from '../ids.ts';
import type { BenchPath } from './benchmark.ts';

export type BenchmarkRequestState = 'queued' | 'running' | 'completed' | 'failed';

export type BenchmarkRequest = {
  id: string;
  jobId: string | null;
  kind: 'daily' | 'monthly';
  sourceId: number;
  sourceName: string | null;
  period: string;
  reps: number;
  engines: BenchPath[];
  state: BenchmarkRequestState;
  done: number;
  total: number;
  runGroup: string | null;
  error: string | null;
  requestedBy: number | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
};

const iso = (v: unknown) => (v ? new Date(v as string).toISOString() : null);

function fromRow(r: Record<string, unknown>): BenchmarkRequest {
  return {
    id: r.id as string,
    jobId: (r.job_id as string | null) ?? null,
    kind: r.kind as 'daily' | 'monthly',
    sourceId: r.source_id as number,
    sourceName: (r.source_name as string | null) ?? null,
    period: r.period as string,
    reps: r.reps as number,
    engines: r.engines as BenchPath[],
    state: r.state as BenchmarkRequestState,
    done: r.done as number,
    total: r.total as number,
    runGroup: (r.run_group as string | null) ?? null,
    error: (r.error as string | null) ?? null,
    requestedBy: (r.requested_by as number | null) ?? null,
    createdAt: iso(r.created_at)!,
    startedAt: iso(r.started_at),
    finishedAt: iso(r.finished_at),
  };
}

const COLUMNS = (sql: Sql) =>
  sql`b.id::text, b.job_id::text, b.kind, b.source_id, s.name as source_name, b.period::text, b.reps,
      b.engines, b.state, b.done, b.total, b.run_group::text, b.error, b.requested_by, b.created_at,
      b.started_at, b.finished_at`;

/** Records a request before its job is queued; returns its id. */
export async function insertBenchmarkRequest(
  sql: Sql,
  r: {
    kind: string;
    sourceId: number;
    period: string;
    reps: number;
    engines: BenchPath[];
    total: number;
    requestedBy: number | null;
  },
): Promise<string> {
  const [row] = await sql`
    insert into benchmark_requests (kind, source_id, period, reps, engines, total, requested_by)
    values (${r.kind}, ${r.sourceId}, ${r.period}::date, ${r.reps}, ${r.engines}::text[], ${r.total},
            ${r.requestedBy})
    returning id::text`;
  return row.id;
}

export async function setBenchmarkJob(sql: Sql, id: string, jobId: string): Promise<void> {
  await sql`update benchmark_requests set job_id = ${jobId}::uuid where id = ${id}::uuid`;
}

/** The job started: running, nothing done yet. */
export async function markBenchmarkRunning(sql: Sql, id: string, total: number): Promise<void> {
  await sql`update benchmark_requests set state = 'running', done = 0, total = ${total},
    started_at = now(), error = null where id = ${id}::uuid`;
}

export async function markBenchmarkProgress(sql: Sql, id: string, done: number): Promise<void> {
  await sql`update benchmark_requests set done = ${done} where id = ${id}::uuid`;
}

export async function markBenchmarkDone(
  sql: Sql,
  id: string,
  outcome: { runGroup: string } | { error: string },
): Promise<void> {
  if ('runGroup' in outcome) {
    await sql`update benchmark_requests set state = 'completed', done = total,
      run_group = ${outcome.runGroup}::uuid, finished_at = now() where id = ${id}::uuid`;
  } else {
    await sql`update benchmark_requests set state = 'failed', error = ${outcome.error},
      finished_at = now() where id = ${id}::uuid`;
  }
}

/** One request, or null (also for an id that is not a uuid). */
export async function getBenchmarkRequest(
  sql: Sql,
  id: string,
): Promise<BenchmarkRequest | null> {
  if (!isUuid(id)) return null;
  const [row] = await sql`select ${COLUMNS(sql)} from benchmark_requests b
    left join sources s on s.id = b.source_id where b.id = ${id}::uuid`;
  return row ? fromRow(row) : null;
}

/** The newest requests first. */
export async function listBenchmarkRequests(
  sql: Sql,
  limit: number,
): Promise<BenchmarkRequest[]> {
  const rows = await sql`select ${COLUMNS(sql)} from benchmark_requests b
    left join sources s on s.id = b.source_id order by b.created_at desc limit ${limit}`;
  return rows.map(fromRow);
}
