/**
 * Benchmark requests (table benchmark_requests): what an admin asked for, the job that runs
 * it, its progress while it runs and the run group it stored. Data access only.
 */
import { iso, type Sql } from '../db/connect.ts';
import { isUuid } from '../ids.ts';
import type { BenchPath } from './benchmark.ts';

/** A benchmark request as the Benchmarks page shows it. */
export type BenchmarkRequest = {
  id: string;
  jobId: string | null;
  kind: 'daily' | 'monthly' | 'usage' | 'costs';
  sourceId: number;
  sourceName: string | null;
  period: string;
  reps: number;
  engines: BenchPath[];
  state: 'queued' | 'running' | 'completed' | 'failed';
  done: number;
  total: number;
  runGroup: string | null;
  error: string | null;
  requestedBy: number | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
};

/** A request as `selectRequests` selects it, its times made ISO text. */
const fromRow = (r: Record<string, unknown>) =>
  ({
    ...r,
    createdAt: iso(r.createdAt),
    startedAt: iso(r.startedAt),
    finishedAt: iso(r.finishedAt),
  }) as BenchmarkRequest;

const selectRequests = (sql: Sql) =>
  sql`select b.id::text, b.job_id::text as "jobId", b.kind, b.source_id as "sourceId", s.name as "sourceName",
      b.period::text, b.reps, b.engines, b.state, b.done, b.total, b.run_group::text as "runGroup",
      b.error, b.requested_by as "requestedBy", b.created_at as "createdAt", b.started_at as "startedAt",
      b.finished_at as "finishedAt"
    from benchmark_requests b left join sources s on s.id = b.source_id`;

/** Records a request before its job is queued; returns its id. */
export async function insertBenchmarkRequest(
  sql: Sql,
  r: Pick<
    BenchmarkRequest,
    'kind' | 'sourceId' | 'period' | 'reps' | 'engines' | 'total' | 'requestedBy'
  >,
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
  const [row] = await sql`${selectRequests(sql)} where b.id = ${id}::uuid`;
  return row ? fromRow(row) : null;
}

/** The newest requests first. */
export async function listBenchmarkRequests(
  sql: Sql,
  limit: number,
): Promise<BenchmarkRequest[]> {
  const rows = await sql`${selectRequests(sql)} order by b.created_at desc limit ${limit}`;
  return rows.map(fromRow);
}
