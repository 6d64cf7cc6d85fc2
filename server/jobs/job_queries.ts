/**
 * Job listings for the API and the Jobs page, read from pg-boss's job table (schema
 * `pgboss`): state, data, output (a failed job's error), attempts and times, and counts by
 * queue and state. Data access only.
 */
import { z } from 'zod';
import type { Sql } from '../db/connect.ts';
import { isUuid } from '../ids.ts';

export const JOB_STATES = [
  'created',
  'retry',
  'active',
  'completed',
  'cancelled',
  'failed',
] as const;

/** A job as the API and the Jobs page show it: a failed (or retrying) job carries `error`. */
export const JobRow = z.object({
  id: z.string(),
  queue: z.string(),
  state: z.enum(JOB_STATES),
  data: z.unknown(),
  output: z.unknown(),
  error: z.string().nullable(),
  retryCount: z.number().int(),
  retryLimit: z.number().int(),
  singletonKey: z.string().nullable(),
  createdOn: z.string(),
  startedOn: z.string().nullable(),
  completedOn: z.string().nullable(),
});
export type JobRow = z.infer<typeof JobRow>;

/** A row of pgboss.job as `selectJobs` selects it. */
type JobTableRow = {
  id: string;
  name: string;
  state: JobRow['state'];
  data: unknown;
  output: unknown;
  retry_count: number;
  retry_limit: number;
  singleton_key: string | null;
  created_on: Date;
  started_on: Date | null;
  completed_on: Date | null;
};

function toRow(r: JobTableRow): JobRow {
  const output = r.output ?? null;
  const message = (output as { message?: unknown } | null)?.message;
  const error = r.state === 'failed' || r.state === 'retry'
    ? (typeof message === 'string' ? message : output ? JSON.stringify(output) : null)
    : null;
  return {
    id: r.id,
    queue: r.name,
    state: r.state,
    data: r.data,
    output,
    error,
    retryCount: r.retry_count,
    retryLimit: r.retry_limit,
    singletonKey: r.singleton_key,
    createdOn: new Date(r.created_on).toISOString(),
    startedOn: r.started_on ? new Date(r.started_on).toISOString() : null,
    completedOn: r.completed_on ? new Date(r.completed_on).toISOString() : null,
  };
}

const selectJobs = (sql: Sql) =>
  sql`select id, name, state::text, data, output, retry_count, retry_limit, singleton_key, created_on,
    started_on, completed_on from pgboss.job`;

type JobFilter = { queues?: string[]; state?: string; since?: Date };
const where = (sql: Sql, q: JobFilter) =>
  sql`where true ${q.queues ? sql`and name = any(${q.queues})` : sql``}
      ${q.state ? sql`and state::text = ${q.state}` : sql``}
      ${q.since ? sql`and created_on >= ${q.since}` : sql``}`;

/** Newest jobs first, of the given queues (default: every queue), state and age. */
export async function listJobs(sql: Sql, q: JobFilter & { limit: number }): Promise<JobRow[]> {
  const rows = await sql<JobTableRow[]>`
    ${selectJobs(sql)} ${where(sql, q)} order by created_on desc, id limit ${q.limit}`;
  return rows.map(toRow);
}

/** Failed jobs of the last `days` days (the dashboard): the newest `limit` and how many. */
export async function failedJobs(
  sql: Sql,
  options: { days: number; limit: number },
): Promise<{ total: number; items: JobRow[] }> {
  const q = { state: 'failed', since: new Date(Date.now() - options.days * 86400_000) };
  const [items, [{ total }]] = await Promise.all([
    listJobs(sql, { ...q, limit: options.limit }),
    sql`select count(*)::int as total from pgboss.job ${where(sql, q)}`,
  ]);
  return { total, items };
}

/** How many jobs each queue holds, by state; every queue of `queues` is listed, even empty. */
export async function jobCounts(
  sql: Sql,
  queues: string[] = [],
): Promise<{ queue: string; counts: Record<string, number> }[]> {
  const rows = await sql<{ name: string; state: string; n: number }[]>`
    select name, state::text, count(*)::int as n from pgboss.job group by name, state`;
  const byQueue = new Map(queues.map((q) => [q, {} as Record<string, number>]));
  for (const r of rows) {
    const counts = byQueue.get(r.name) ?? {};
    byQueue.set(r.name, { ...counts, [r.state]: r.n });
  }
  return [...byQueue].map(([queue, counts]) => ({ queue, counts }))
    .sort((a, b) => a.queue.localeCompare(b.queue));
}

/** The jobs with these ids (any order of input; output in input order; ids that are not uuids are not found). */
export async function jobsByIds(sql: Sql, given: string[]): Promise<JobRow[]> {
  const ids = given.filter(isUuid);
  if (ids.length === 0) return [];
  const rows = await sql<JobTableRow[]>`${selectJobs(sql)} where id = any(${ids}::uuid[])`;
  const byId = new Map(rows.map((r) => [String(r.id), toRow(r)]));
  return ids.map((id) => byId.get(id)).filter((r): r is JobRow => r !== undefined);
}
