/**
 * Aggregation benchmark: SQL procedure vs TypeScript vs the bare INSERT … SELECT floor,
 * daily (N VMs × 24 hourly captures) and monthly (N VMs × D days of daily rollups).
 *
 *   npm run bench:agg -- --vms 10000 --days 31 --reps 5
 *
 * Uses DATABASE_URL when set (a scratch database `vmledger_bench_agg` is created on that
 * server), else starts an embedded PostgreSQL in a temp folder. Every run is stored in
 * benchmark_runs (checksum + parity verdict, EXPLAIN of the SQL path). Goals: the faster
 * engine within 1.5× of the floor, the slower within 3× of the faster.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createPool, ensureDatabase } from '../server/db/connect.ts';
import { startEmbeddedPostgres } from '../server/db/embedded.ts';
import { migrate } from '../server/db/migrate.ts';
import { type BenchmarkResult, runBenchmark } from '../server/aggregate/benchmark.ts';
import { runAggregation } from '../server/aggregate/run.ts';
import { generateFacts } from '../tests/support/synthetic_facts.ts';
import { addDays } from '../server/aggregate/period.ts';
import { freePort } from '../scripts/free_port.ts';
import { type BenchReport, median } from './harness.ts';

function arg(argv: string[], name: string, fallback: number): number {
  const i = argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(argv[i + 1]) : fallback;
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} must be a positive integer`);
  return v;
}

function report(kind: 'daily' | 'monthly', r: BenchmarkResult, sizes: string): BenchReport {
  const med = (p: string) => median(r.runs.filter((x) => x.path === p).map((x) => x.ms));
  const floor = med('floor');
  const sql = med('sql');
  const ts = med('ts');
  const faster = Math.min(sql, ts);
  const slower = Math.max(sql, ts);
  const fasterName = sql <= ts ? 'sql' : 'ts';
  const met = faster <= 1.5 * floor && slower <= 3 * faster && r.parity;
  return {
    name: `aggregate-${kind}`,
    title: `${kind} aggregation, ${sizes}: SQL procedure vs TypeScript vs bare INSERT…SELECT floor`,
    goal: 'faster engine ≤ 1.5× floor, slower ≤ 3× faster, identical checksums',
    met,
    metrics: {
      rowsIn: r.rowsIn,
      rowsOut: r.runs[0].rowsOut,
      floorMs: Math.round(floor),
      sqlMs: Math.round(sql),
      tsMs: Math.round(ts),
      faster: fasterName,
      fasterVsFloor: Number((faster / floor).toFixed(2)),
      slowerVsFaster: Number((slower / faster).toFixed(2)),
      parity: r.parity ? 'match' : 'MISMATCH',
      runGroup: r.runGroup,
    },
    notes: `medians of ${
      r.runs.length / 3
    } reps each, rolled-back transactions, ${os.cpus().length} CPUs; runs in benchmark_runs`,
  };
}

export default async function aggregateBench(argv: string[]): Promise<BenchReport[]> {
  const vms = arg(argv, 'vms', 10_000);
  const days = arg(argv, 'days', 31);
  const reps = arg(argv, 'reps', 5);
  let stop: (() => Promise<void>) | null = null;
  let tmp: string | null = null;
  let base = process.env.DATABASE_URL;
  if (!base) {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'vmledger-bench-'));
    const pg = await startEmbeddedPostgres({ pgDir: path.join(tmp, 'pg'), port: await freePort() });
    base = pg.url;
    stop = pg.stop;
  }
  const admin = createPool(base, { max: 1 });
  await admin.unsafe('drop database if exists vmledger_bench_agg with (force)');
  await admin.end();
  const sql = createPool(await ensureDatabase(base, 'vmledger_bench_agg'), { max: 4 });
  try {
    await migrate(sql);
    const [{ id: sourceId }] = await sql`
      insert into sources (kind, external_id, name) values ('demo', 'bench-agg', 'bench-agg') returning id`;
    const start = '2026-01-01T00:00:00Z';
    let t = performance.now();
    const facts = await generateFacts(sql, {
      sourceId,
      vms,
      start,
      captures: 24 * days,
      intervalSeconds: 3600,
      seed: 42,
    });
    await sql`vacuum analyze vm_hourly_stats`;
    console.log(
      `  generated ${facts} facts (${vms} VMs × ${days} days × 24) in ${
        ((performance.now() - t) / 1000).toFixed(1)
      } s`,
    );

    // Daily: the first day (all VMs alive, 24 captures).
    const daily = await runBenchmark(sql, {
      kind: 'daily',
      sourceId,
      period: '2026-01-01',
      tz: 'UTC',
      reps,
      notes: { vms, days },
    });
    console.log(`  daily benchmark done (${daily.parity ? 'parity match' : 'PARITY MISMATCH'})`);

    // Monthly: daily rollups of every day first (SQL engine), then the month.
    t = performance.now();
    for (let d = 0; d < days; d++) {
      await runAggregation(sql, 'sql', {
        kind: 'daily',
        sourceId,
        period: addDays('2026-01-01', d),
        tz: 'UTC',
      });
    }
    await sql`vacuum analyze vm_daily_rollup`;
    console.log(`  ${days} daily rollups in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    const monthly = await runBenchmark(sql, {
      kind: 'monthly',
      sourceId,
      period: '2026-01-01',
      tz: 'UTC',
      reps,
      notes: { vms, days },
    });
    console.log(
      `  monthly benchmark done (${monthly.parity ? 'parity match' : 'PARITY MISMATCH'})`,
    );
    return [
      report('daily', daily, `${vms} VMs × 24 captures`),
      report('monthly', monthly, `${vms} VMs × ${days} days`),
    ];
  } finally {
    await sql.end({ timeout: 5 });
    await stop?.().catch(() => {});
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }
}
