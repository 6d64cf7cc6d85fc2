/**
 * "Rerun aggregation": the one action behind the Jobs page's form and
 * `POST /api/v1/aggregations`. Both validate with `AggregationRequest` (same errors); the
 * action checks the source and the range, queues one job per source and period (the
 * stately queues collapse duplicates), records the request with its jobs and writes one
 * audit row (`aggregation.request`, target `aggregation:<id>`). Its progress is its jobs'
 * states (`aggregationProgress`), which the API answers and the page polls.
 */
import { z } from 'zod';
import { type Actor, auditAction } from '../audit/audit_log.ts';
import type { Sql } from '../db/connect.ts';
import { AppError } from '../errors.ts';
import { assertJobs, type Jobs } from '../jobs/boss.ts';
import { JobRow, jobsByIds } from '../jobs/job_queries.ts';
import { enqueueRange } from './aggregation_jobs.ts';
import { Month, SourceId } from './inputs.ts';
import { daysBetween, isDay, monthOf, monthsBetween } from './period.ts';
import { requireSource } from './pending.ts';
import { findAggregationRequest, saveAggregationRequest } from './request_queries.ts';

const MAX_JOBS_PER_REQUEST = 5000;

/** What a rerun carries (the API's JSON body; the page form is read into it). */
export const AggregationRequest = z
  .object({
    kind: z.enum(['daily', 'monthly']),
    source: SourceId.optional().describe('omit for every source'),
    from: Month,
    to: Month,
    engine: z.enum(['sql', 'ts']).optional().describe(
      "default: the server's (VMLEDGER_AGG_ENGINE)",
    ),
    wait: z.boolean().optional().describe(
      'API: answer when every job is done (at most 10 minutes)',
    ),
  })
  .strict()
  .refine((b) => b.kind === 'monthly' || (isDay(b.from) && isDay(b.to)), {
    message: 'daily ranges need days YYYY-MM-DD',
    path: ['from'],
  })
  .refine((b) => b.from <= b.to, { message: 'must not be after `to`', path: ['from'] });
export type AggregationRequest = z.output<typeof AggregationRequest>;

/** A request and its jobs: `running` until every job is done, then `completed` or `failed`. */
export const AggregationProgress = z.object({
  id: z.string(),
  kind: z.string(),
  engine: z.string(),
  params: z.unknown(),
  createdAt: z.string(),
  state: z.enum(['running', 'completed', 'failed']),
  counts: z.record(z.string(), z.number()),
  jobs: z.array(JobRow),
});
export type AggregationProgress = z.infer<typeof AggregationProgress>;

const TERMINAL = new Set(['completed', 'failed', 'cancelled']);

/** Checks, queues, records and audits a rerun; returns the request's id. */
export async function requestAggregation(
  sql: Sql,
  jobs: Jobs | undefined,
  b: AggregationRequest,
  actor: Actor,
): Promise<string> {
  assertJobs(jobs);
  if (b.source) await requireSource(sql, b.source);
  const periods = b.kind === 'daily'
    ? daysBetween(b.from, b.to)
    : monthsBetween(b.from, monthOf(b.to));
  if (periods.length > MAX_JOBS_PER_REQUEST) {
    throw new AppError(
      'invalid_request',
      `range too long: ${periods.length} periods (at most ${MAX_JOBS_PER_REQUEST})`,
      { issues: [{ path: 'to', message: 'range too long' }] },
    );
  }
  const engine = b.engine ?? jobs.engine;
  const enqueued = await enqueueRange(jobs, { kind: b.kind, sourceId: b.source, periods, engine });
  const id = await saveAggregationRequest(sql, {
    kind: b.kind,
    engine,
    params: b,
    jobs: enqueued.map(({ kind: _kind, ...job }) => job),
    requestedBy: actor.id,
  });
  const { wait: _wait, ...asked } = b;
  await auditAction(sql, actor, 'aggregation.request', `aggregation:${id}`, {
    ...asked,
    engine,
    jobs: enqueued.length,
  });
  return id;
}

/** A request with its jobs' states, or null; with `waitMs`, once every job is done or the time is up. */
export async function aggregationProgress(
  sql: Sql,
  id: string,
  waitMs = 0,
): Promise<AggregationProgress | null> {
  const r = await findAggregationRequest(sql, id);
  if (!r) return null;
  const ids = r.jobs.map((x) => x.id);
  const deadline = Date.now() + waitMs;
  let rows = await jobsByIds(sql, ids);
  while (!rows.every((j) => TERMINAL.has(j.state)) && Date.now() < deadline) {
    await new Promise((ok) => setTimeout(ok, 250));
    rows = await jobsByIds(sql, ids);
  }
  const counts: Record<string, number> = {};
  for (const j of rows) counts[j.state] = (counts[j.state] ?? 0) + 1;
  const state = !rows.every((j) => TERMINAL.has(j.state))
    ? 'running'
    : rows.some((j) => j.state !== 'completed')
    ? 'failed'
    : 'completed';
  return { ...r, state, counts, jobs: rows };
}
