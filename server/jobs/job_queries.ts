/**
 * Job listings for the API and pages, read from pg-boss's job table (schema `pgboss`):
 * state, data, output (a failed job's error), attempts and times. Data access only.
 */
import type { Sql } from '../db/connect.ts';
import { ALL_QUEUES } from './queues.ts';

export type JobRow = {
  id: string;
  queue: string;
  state: string;
  data: unknown;
  output: unknown;
  error: string | null;
  retryCount: number;
  retryLimit: number;
  singletonKey: string | null;
  createdOn: string;
  startedOn: string | null;
  completedOn: string | null;
};

export const JOB_STATES = [
  'created',
  'retry',
  'active',
  'completed',
  'cancelled',
  'failed',
] as const;

/** A row of pgboss.job as the queries below select it. */
type JobTableRow = {
  id: string;
  name: string;
  state: string;
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
  const message = typeof output === 'object' && output !== null && 'message' in output
    ? output.message
    : undefined;
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

/** Newest jobs first, optionally by state and queue. */
export async function listJobs(
  sql: Sql,
  q: { state?: string; queue?: string; limit: number },
): Promise<JobRow[]> {
  const rows = await sql<JobTableRow[]>`
    select id, name, state::text, data, output, retry_count, retry_limit, singleton_key, created_on, started_on, completed_on
    from pgboss.job
    where name = any(${q.queue ? [q.queue] : ALL_QUEUES})
      ${q.state ? sql`and state::text = ${q.state}` : sql``}
    order by created_on desc, id
    limit ${q.limit}`;
  return rows.map(toRow);
}

/** The jobs with these ids (any order of input; output in input order). */
export async function jobsByIds(sql: Sql, ids: string[]): Promise<JobRow[]> {
  if (ids.length === 0) return [];
  const rows = await sql<JobTableRow[]>`
    select id, name, state::text, data, output, retry_count, retry_limit, singleton_key, created_on, started_on, completed_on
    from pgboss.job where id = any(${ids}::uuid[])`;
  const byId = new Map(rows.map((r) => [String(r.id), toRow(r)]));
  return ids.map((id) => byId.get(id)).filter((r): r is JobRow => r !== undefined);
}
