/**
 * SQL vs TypeScript vs the floor on one period: every path runs `reps` times inside a
 * transaction that is rolled back (so the stored rollups are untouched and each run starts
 * from the same state), each run fingerprints its output before the rollback, and every
 * run is stored in benchmark_runs with a parity verdict against the SQL path (or the first
 * path run, when SQL is left out). The first SQL run also records EXPLAIN (ANALYZE, BUFFERS)
 * of the statements inside the procedure, and the first TypeScript run those of the TS
 * engine's statements (its fact cursor and its writes), both through auto_explain, for the
 * benchmark page.
 */
import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { INT8_AS_NUMBER, resolvedOptions, type Sql } from '../db/connect.ts';
import { periodFingerprint } from './checksum.ts';
import { openFloorRun, runCostFloor } from './cost_floor.ts';
import { costFingerprint, runCosting } from './cost_run.ts';
import { runFloor } from './floor.ts';
import { addMonths, dayBounds, monthOf } from './period.ts';
import { type Kind, runAggregation } from './run.ts';
import { runUsageTiers } from './usage_run.ts';
import { clearUsageHourly, runUsageFloor, usageFingerprint } from './usage_floor.ts';

export type BenchPath = 'sql' | 'ts' | 'floor';
export const BENCH_PATHS: readonly BenchPath[] = ['floor', 'sql', 'ts'];
/**
 * What a benchmark times: a daily or monthly rollup, one day's hourly usage tier, or the
 * costing of a month (kind 'costs', from the month's daily rollups).
 */
export type BenchKind = Kind | 'usage' | 'costs';
export type BenchmarkInput = {
  kind: BenchKind;
  sourceId: number;
  period: string;
  tz: string;
  reps: number;
  /** Paths to time (default all three). */
  paths?: readonly BenchPath[];
  notes?: Record<string, unknown>;
  /** Called after each step (a plan or a timed run) with steps done and steps in all. */
  onProgress?: (done: number, total: number) => void | Promise<void>;
};
export type BenchmarkRun = {
  path: BenchPath;
  rep: number;
  ms: number;
  rowsOut: number;
  checksum: string;
  parity: 'match' | 'mismatch';
};

/** Steps a benchmark of `paths` × `reps` takes (each engine's plan, then every timed run). */
export function benchmarkSteps(paths: readonly BenchPath[], reps: number): number {
  return paths.filter((p) => p !== 'floor').length + paths.length * reps;
}

async function rowsIn(sql: Sql, i: BenchmarkInput): Promise<number> {
  if (i.kind === 'daily' || i.kind === 'usage') {
    const b = await dayBounds(sql, i.period, i.tz);
    const [r] =
      await sql`select count(*)::int as n from vm_hourly_stats where source_id = ${i.sourceId}
      and snapshot_time >= ${b.start}::timestamptz and snapshot_time < ${b.end}::timestamptz`;
    return r.n;
  }
  const m0 = monthOf(i.period);
  const [r] =
    await sql`select count(*)::int as n from vm_daily_rollup where source_id = ${i.sourceId}
    and day >= ${m0}::date and day < ${addMonths(m0, 1)}::date`;
  return r.n;
}

/** One timed run of `path` in a rolled-back transaction, fingerprinted before the rollback. */
async function timedRun(sql: Sql, path: BenchPath, i: BenchmarkInput) {
  if (i.kind === 'usage') return await timedUsageRun(sql, path, i);
  if (i.kind === 'costs') return await timedCostRun(sql, path, i);
  const kind = i.kind;
  const fingerprint = async (tx: Sql) =>
    (await periodFingerprint(tx, kind, i.sourceId, i.period)).checksum;
  if (path !== 'floor') {
    let checksum = '';
    const inspect = async (tx: Sql) => {
      checksum = await fingerprint(tx);
    };
    return {
      ...(await runAggregation(sql, path, { ...i, kind }, { keep: false, inspect })),
      checksum,
    };
  }
  return await rolledBack(sql, async (tx) => {
    // Same starting state as the engines after their replace step: the period empty.
    if (i.kind === 'daily') {
      await tx`delete from vm_daily_rollup where source_id = ${i.sourceId} and day = ${i.period}::date`;
    } else {
      await tx`delete from vm_monthly_rollup where source_id = ${i.sourceId} and month = ${i.period}::date`;
    }
    const started = performance.now();
    const rowsOut = await runFloor(tx, kind, i.sourceId, i.period, i.tz);
    const ms = performance.now() - started;
    return { ms, rowsOut, checksum: await fingerprint(tx) };
  });
}

/**
 * One timed run of the hourly usage tier: an engine (hourly tier alone) or the floor, rolled
 * back, fingerprinted over the day's VM hourly rows (what the floor writes too). The tier
 * tables are vacuumed (untimed) before each run.
 */
async function timedUsageRun(sql: Sql, path: BenchPath, i: BenchmarkInput) {
  // Each run inserts a day of hourly rows and rolls back: without a vacuum the dead rows pile
  // up in the table and its key index, and every later run (its delete, its inserts' unique
  // checks) wades through all earlier runs' rows. Vacuumed first, every run starts alike.
  await sql`vacuum vm_usage_hourly, host_usage_hourly, datastore_usage_hourly`;
  const target = { sourceId: i.sourceId, period: i.period, tz: i.tz };
  if (path !== 'floor') {
    let checksum = '';
    const inspect = async (tx: Sql) => {
      checksum = (await usageFingerprint(tx, i.sourceId, i.period, i.tz)).checksum;
    };
    const r = await runUsageTiers(sql, path, target, { hourlyOnly: true, keep: false, inspect });
    return { ...r, checksum };
  }
  return await rolledBack(sql, async (tx) => {
    await clearUsageHourly(tx, i.sourceId, i.period, i.tz);
    const started = performance.now();
    const rowsOut = await runUsageFloor(tx, i.sourceId, i.period, i.tz);
    const ms = performance.now() - started;
    return {
      ms,
      rowsOut,
      checksum: (await usageFingerprint(tx, i.sourceId, i.period, i.tz)).checksum,
    };
  });
}

/**
 * One timed costing of the month: an engine (a new run with its lines, rolled back) or the
 * floor (cost_floor.ts), fingerprinted over the run's lines. For the floor the fingerprint
 * differs by design (no tiers, no prices); its parity verdict is not a claim.
 */
async function timedCostRun(sql: Sql, path: BenchPath, i: BenchmarkInput) {
  const target = { sourceId: i.sourceId, month: i.period };
  if (path !== 'floor') {
    let checksum = '';
    const inspect = async (tx: Sql, runId: number) => {
      checksum = (await costFingerprint(tx, runId)).checksum;
    };
    const r = await runCosting(sql, path, target, { keep: false, inspect });
    return { ms: r.ms, rowsOut: r.lines, checksum };
  }
  return await rolledBack(sql, async (tx) => {
    const runId = await openFloorRun(tx, i.sourceId, i.period);
    const started = performance.now();
    const rowsOut = await runCostFloor(tx, runId, i.sourceId, i.period);
    const ms = performance.now() - started;
    return { ms, rowsOut, checksum: 'floor' };
  });
}

/** Runs `body` in a transaction that is rolled back whatever happens; returns its result. */
async function rolledBack<T>(sql: Sql, body: (tx: Sql) => Promise<T>): Promise<T> {
  try {
    return await sql.begin(async (tx) => {
      throw new Rollback(await body(tx as unknown as Sql));
    });
  } catch (err) {
    if (err instanceof Rollback) return err.result as T;
    throw err;
  }
}

class Rollback extends Error {
  readonly result: unknown;
  constructor(result: unknown) {
    super('rollback');
    this.result = result;
  }
}

/** A one-connection client on the same database as `sql`, collecting the server's notices. */
function noticeClient(
  sql: Sql,
  notices: string[],
  max = 1,
  connection: Record<string, string> = {},
) {
  const o = resolvedOptions(sql);
  return postgres({
    // Host and port lists, as postgres.js resolved them; its type definitions take one of each.
    ...({ host: o.host, port: o.port } as object),
    database: o.database,
    username: o.user,
    password: o.pass,
    max,
    connection: { TimeZone: 'UTC', application_name: 'vmledger-explain', ...connection },
    onnotice: (n) => notices.push(String(n.message)),
    types: INT8_AS_NUMBER, // as createPool's: the TS engine reads its sums so
  });
}

const AUTO_EXPLAIN = {
  'auto_explain.log_min_duration': '0',
  'auto_explain.log_analyze': 'on',
  'auto_explain.log_buffers': 'on',
  'auto_explain.log_nested_statements': 'on',
  'auto_explain.log_level': 'notice',
  client_min_messages: 'notice',
};

/** EXPLAIN (ANALYZE, BUFFERS) of the SQL procedure's statements via auto_explain, rolled back. */
async function explainSqlPath(sql: Sql, i: BenchmarkInput): Promise<string> {
  const notices: string[] = [];
  const one = noticeClient(sql, notices);
  try {
    return await rolledBack(one, async (tx) => {
      try {
        await tx`load 'auto_explain'`;
      } catch (err) {
        return `auto_explain unavailable: ${(err as Error).message}`;
      }
      await tx.unsafe(
        Object.entries(AUTO_EXPLAIN).map(([k, v]) => `set local ${k} = ${v}`).join('; '),
      );
      if (i.kind === 'daily') {
        await tx`select aggregate_daily(${i.sourceId}, ${i.period}::date, ${i.tz})`;
      } else if (i.kind === 'costs') {
        await tx`select cost_month(${i.sourceId}, ${i.period}::date)`;
      } else if (i.kind === 'usage') {
        await tx`select aggregate_usage_hourly(${i.sourceId}, ${i.period}::date, ${i.tz})`;
      } else await tx`select aggregate_monthly(${i.sourceId}, ${i.period}::date, ${i.tz})`;
      return notices.join('\n\n');
    });
  } finally {
    await one.end({ timeout: 5 });
  }
}

/**
 * EXPLAIN (ANALYZE, BUFFERS) of the TypeScript engine's statements (its read cursor and
 * its batched writes) via auto_explain, on two connections that load it at start (the
 * cursor and the transaction are separate connections); the run is rolled back.
 */
async function explainTsPath(sql: Sql, i: BenchmarkInput): Promise<string> {
  const notices: string[] = [];
  const two = noticeClient(sql, notices, 2, {
    session_preload_libraries: 'auto_explain',
    ...AUTO_EXPLAIN,
  });
  try {
    if (i.kind === 'usage') {
      const target = { sourceId: i.sourceId, period: i.period, tz: i.tz };
      await runUsageTiers(two as unknown as Sql, 'ts', target, { hourlyOnly: true, keep: false });
    } else if (i.kind === 'costs') {
      await runCosting(two as unknown as Sql, 'ts', { sourceId: i.sourceId, month: i.period }, {
        keep: false,
      });
    } else {await runAggregation(two as unknown as Sql, 'ts', { ...i, kind: i.kind }, {
        keep: false,
      });}
    // The engine's own statements: not the advisory lock, not postgres.js's type lookup.
    return notices.filter((n) =>
      /Query Text:/.test(n) && !/pg_advisory_xact_lock|pg_catalog\.pg_type/.test(n)
    )
      .join('\n\n') ||
      'auto_explain logged no plan';
  } catch (err) {
    return `auto_explain unavailable: ${(err as Error).message}`;
  } finally {
    await two.end({ timeout: 5 });
  }
}

/** Runs the benchmark and stores every run; returns the runs and the parity verdict. */
export async function runBenchmark(sql: Sql, i: BenchmarkInput) {
  const runGroup = randomUUID();
  const period = i.kind === 'monthly' || i.kind === 'costs' ? monthOf(i.period) : i.period;
  const input = { ...i, period };
  const order = BENCH_PATHS.filter((p) => !i.paths || i.paths.includes(p));
  if (order.length === 0) throw new Error('a benchmark needs at least one path');
  const total = benchmarkSteps(order, i.reps);
  let done = 0;
  const step = async () => await i.onProgress?.(++done, total);
  const inCount = await rowsIn(sql, input);
  let explain: string | null = null;
  let explainTs: string | null = null;
  if (order.includes('sql')) {
    explain = await explainSqlPath(sql, input);
    await step();
  }
  if (order.includes('ts')) {
    explainTs = await explainTsPath(sql, input);
    await step();
  }
  const runs: BenchmarkRun[] = [];
  for (let rep = 1; rep <= i.reps; rep++) {
    // Rotate the order so no path always runs first (cold) or last.
    const paths = order.map((_, k) => order[(k + rep - 1) % order.length]);
    for (const path of paths) {
      runs.push({ path, rep, ...(await timedRun(sql, path, input)), parity: 'match' });
      await step();
    }
  }
  const reference = (runs.find((r) => r.path === 'sql') ?? runs[0]).checksum;
  for (const r of runs) r.parity = r.checksum === reference ? 'match' : 'mismatch';
  // The costing floor writes unpriced lines: not a parity claim, never a mismatch.
  if (i.kind === 'costs') { for (const r of runs) if (r.path === 'floor') r.parity = 'match'; }
  // Each engine's plan is stored with the first run of its path.
  const plan = (r: BenchmarkRun) =>
    r === runs.find((x) => x.path === r.path)
      ? { sql: explain, ts: explainTs, floor: null }[r.path]
      : null;
  await sql`
    insert into benchmark_runs (run_group, path, kind, period, source_id, rep, rows_in, rows_out, duration_ms,
      checksum, parity, explain, notes)
    select ${runGroup}, r.path, ${i.kind}, ${period}::date, ${i.sourceId}, r.rep, ${inCount}, r.rows_out,
           round(r.ms::numeric, 3), r.checksum, r.parity, r.explain, ${
    sql.json({ ...i.notes, tz: i.tz })
  }
    from jsonb_to_recordset(${
    sql.json(runs.map((r) => ({ ...r, rows_out: r.rowsOut, explain: plan(r) })))
  })
      as r(path text, rep int, rows_out int, ms float8, checksum text, parity text, explain text)`;
  return {
    runGroup,
    kind: i.kind,
    period,
    sourceId: i.sourceId,
    rowsIn: inCount,
    runs,
    parity: runs.every((r) => r.parity === 'match'),
    /** The SQL path's plan (null when SQL was not run). */
    explain,
    /** The TypeScript path's plan (null when TS was not run). */
    explainTs,
  };
}
export type BenchmarkResult = Awaited<ReturnType<typeof runBenchmark>>;
