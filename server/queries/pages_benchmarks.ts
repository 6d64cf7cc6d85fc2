/** Benchmark runs (SQL vs TypeScript aggregation) grouped for the Benchmarks page. Data access only. */
import type { Sql } from '../db/connect.ts';
import { isUuid } from '../ids.ts';

/**
 * The latest benchmark groups (one row per run_group; only `runGroup` when given), newest
 * first, with the median milliseconds per path (null when the path did not run).
 */
export async function listBenchGroups(sql: Sql, limit: number, runGroup?: string) {
  const rows = await sql`
    select b.run_group::text, min(b.kind) as kind, min(b.period)::text as period, min(b.source_id) as source_id,
           min(s.name) as source_name, min(b.created_at) as at, max(b.rows_in) as rows_in, max(b.rows_out) as rows_out,
           max(b.rep) as reps,
           percentile_cont(0.5) within group (order by b.duration_ms) filter (where b.path = 'sql') as sql_ms,
           percentile_cont(0.5) within group (order by b.duration_ms) filter (where b.path = 'ts') as ts_ms,
           percentile_cont(0.5) within group (order by b.duration_ms) filter (where b.path = 'floor') as floor_ms,
           bool_and(b.parity = 'match') filter (where b.path <> 'floor') as parity
    from benchmark_runs b left join sources s on s.id = b.source_id
    ${runGroup ? sql`where b.run_group = ${runGroup}::uuid` : sql``}
    group by b.run_group order by min(b.created_at) desc limit ${limit}`;
  return rows.map((r) => ({
    runGroup: r.run_group,
    kind: r.kind,
    period: r.period,
    sourceId: r.source_id,
    sourceName: r.source_name,
    at: new Date(r.at).toISOString(),
    rowsIn: Number(r.rows_in),
    rowsOut: r.rows_out,
    reps: r.reps,
    // percentile_cont answers float8: numbers already.
    sqlMs: r.sql_ms,
    tsMs: r.ts_ms,
    floorMs: r.floor_ms,
    parity: r.parity !== false,
  }));
}

/** One group's runs and the SQL and TypeScript paths' plans. */
export async function getBenchGroup(sql: Sql, runGroup: string) {
  if (!isUuid(runGroup)) return null;
  const [[group], rows] = await Promise.all([
    listBenchGroups(sql, 1, runGroup),
    sql`select path, rep, duration_ms, rows_out, checksum, parity, explain, notes from benchmark_runs
        where run_group = ${runGroup}::uuid order by array_position(array['sql','ts','floor'], path), rep`,
  ]);
  if (!group) return null;
  return {
    group,
    runs: rows.map((r) => ({
      path: r.path,
      rep: r.rep,
      ms: Number(r.duration_ms),
      rowsOut: r.rows_out,
      checksum: r.checksum,
      parity: r.parity,
      notes: r.notes,
    })),
    explain: rows.find((r) => r.path === 'sql' && r.explain)?.explain ?? null,
    explainTs: rows.find((r) => r.path === 'ts' && r.explain)?.explain ?? null,
  };
}
