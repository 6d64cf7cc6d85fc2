/** Admin aggregation requests and benchmark runs: storage and listings. Data access only. */
import type { JSONValue } from 'postgres';
import { z } from 'zod';
import type { Sql } from '../db/connect.ts';
import { isUuid } from '../ids.ts';

export type StoredJobRef = { id: string; queue: string; sourceId: number; period: string };

/** Records a rerun/backfill request and its jobs; returns its id. */
export async function saveAggregationRequest(
  sql: Sql,
  r: {
    kind: string;
    engine: string;
    params: unknown;
    jobs: StoredJobRef[];
    requestedBy: number | null;
  },
): Promise<string> {
  const [row] = await sql`
    insert into aggregation_requests (kind, engine, params, jobs, requested_by)
    values (${r.kind}, ${r.engine}, ${sql.json(r.params as JSONValue)}, ${
    sql.json(r.jobs)
  }, ${r.requestedBy})
    returning id`;
  return row.id;
}

/** One request, or null (also for an id that is not a uuid). */
export async function findAggregationRequest(sql: Sql, id: string) {
  if (!isUuid(id)) return null;
  const [row] = await sql`select * from aggregation_requests where id = ${id}`;
  if (!row) return null;
  return {
    id: row.id as string,
    kind: row.kind as string,
    engine: row.engine as string,
    params: row.params,
    jobs: row.jobs as StoredJobRef[],
    createdAt: new Date(row.created_at).toISOString(),
  };
}

/** One run of a benchmark group, as listed. */
export const BenchmarkRunItem = z.object({
  path: z.string(),
  rep: z.number().int(),
  rowsOut: z.number().int(),
  durationMs: z.number(),
  checksum: z.string(),
  parity: z.string(),
});
export type BenchmarkRunItem = z.infer<typeof BenchmarkRunItem>;

/** A benchmark group (one `runBenchmark`), as listed. */
export const BenchmarkGroupItem = z.object({
  runGroup: z.string(),
  kind: z.string(),
  period: z.string(),
  sourceId: z.number().int(),
  rowsIn: z.number().int(),
  parity: z.enum(['match', 'mismatch']),
  explain: z.string().nullable().describe("EXPLAIN ANALYZE of the SQL path's statements"),
  explainTs: z.string().nullable().describe("EXPLAIN ANALYZE of the TypeScript path's"),
  notes: z.unknown(),
  createdAt: z.string(),
  runs: z.array(BenchmarkRunItem),
});
export type BenchmarkGroupItem = z.infer<typeof BenchmarkGroupItem>;

/** Benchmark runs, newest group first, summarised per group with every run. */
export async function listBenchmarkRuns(sql: Sql, limit: number): Promise<BenchmarkGroupItem[]> {
  const rows = await sql`
    with g as (
      select run_group, max(created_at) as at from benchmark_runs group by run_group order by at desc limit ${limit}
    )
    select r.run_group, r.path, r.kind, r.period::text as period, r.source_id, r.rep, r.rows_in, r.rows_out,
           r.duration_ms::float8 as duration_ms, r.checksum, r.parity, r.explain, r.notes, r.created_at
    from benchmark_runs r join g using (run_group)
    order by g.at desc, r.run_group, r.rep, r.path`;
  const groups = new Map<string, BenchmarkGroupItem>();
  for (const r of rows) {
    const g: BenchmarkGroupItem = groups.get(r.run_group) ?? {
      runGroup: r.run_group,
      kind: r.kind,
      period: r.period,
      sourceId: r.source_id,
      rowsIn: r.rows_in,
      parity: 'match',
      explain: null,
      explainTs: null,
      notes: r.notes,
      createdAt: new Date(r.created_at).toISOString(),
      runs: [],
    };
    groups.set(r.run_group, g);
    if (r.parity !== 'match') g.parity = 'mismatch';
    if (r.explain && r.path === 'sql') g.explain = r.explain;
    if (r.explain && r.path === 'ts') g.explainTs = r.explain;
    const { path, rep, rows_out: rowsOut, duration_ms: durationMs, checksum, parity } = r;
    g.runs.push({ path, rep, rowsOut, durationMs, checksum, parity });
  }
  return [...groups.values()];
}
