/**
 * Usage tiers benchmark: the hourly usage rollup of one day, SQL routine
 * (aggregate_usage_hourly) vs TypeScript (usage_ts.ts) vs the bare INSERT … SELECT … GROUP BY
 * floor (usage_floor.ts), for N VMs × 24 hourly captures plus 200 hosts and 1,000 datastores.
 *
 *   npm run bench -- usage_tiers --usage-vms 100000 --usage-reps 3
 *
 * Uses DATABASE_URL when set (scratch database `vmledger_bench_usage`), else an embedded
 * PostgreSQL in a temp folder. Every timed run is stored in benchmark_runs (kind 'usage',
 * checksum of the VM hourly rows, parity verdict against SQL). Then both engines compute
 * both tiers once more for real and all six tier tables are compared (full parity).
 * Goals: the faster engine within 1.5× of the floor, the slower within 3× of the faster.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createPool, ensureDatabase, type Sql } from '../server/db/connect.ts';
import { startEmbeddedPostgres } from '../server/db/embedded.ts';
import { migrate } from '../server/db/migrate.ts';
import { runBenchmark } from '../server/aggregate/benchmark.ts';
import { runUsageTiers } from '../server/aggregate/usage_run.ts';
import { generateFacts } from '../tests/support/synthetic_facts.ts';
import { addSiteFacts, addVmUsage } from '../tests/support/synthetic_usage.ts';
import { freePort } from '../scripts/free_port.ts';
import { type BenchReport, median } from './harness.ts';

function arg(argv: string[], name: string, fallback: number): number {
  const i = argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(argv[i + 1]) : fallback;
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} must be a positive integer`);
  return v;
}

const TABLES = [
  'vm_usage_hourly',
  'vm_usage_daily',
  'host_usage_hourly',
  'host_usage_daily',
  'datastore_usage_hourly',
  'datastore_usage_daily',
];

/** md5 of every row of every tier table of the source (all one day here). */
async function allTiers(sql: Sql, sourceId: number) {
  const out: string[] = [];
  for (const t of TABLES) {
    const [r] =
      await sql`select count(*)::int as n, md5(coalesce(string_agg(u::text, E'\n' order by u::text), '')) as c
      from ${sql(t)} u where source_id = ${sourceId}`;
    out.push(`${t}:${r.n}:${r.c}`);
  }
  return out;
}

export default async function usageTiersBench(argv: string[]): Promise<BenchReport[]> {
  const vms = arg(argv, 'usage-vms', 100_000);
  const reps = arg(argv, 'usage-reps', 3);
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
  await admin.unsafe('drop database if exists vmledger_bench_usage with (force)');
  await admin.end();
  const sql = createPool(await ensureDatabase(base, 'vmledger_bench_usage'), { max: 4 });
  try {
    await migrate(sql);
    const [{ id: sourceId }] = await sql`
      insert into sources (kind, external_id, name) values ('demo', 'bench-usage', 'bench-usage') returning id`;
    const t = performance.now();
    const facts = await generateFacts(sql, {
      sourceId,
      vms,
      start: '2026-01-01T00:00:00Z',
      captures: 24,
      intervalSeconds: 3600,
      seed: 42,
    });
    await addVmUsage(sql, sourceId, 42);
    const [hosts, stores] = await addSiteFacts(sql, {
      sourceId,
      hosts: 200,
      datastores: 1000,
      seed: 42,
    });
    await sql`vacuum analyze vm_hourly_stats`;
    await sql`vacuum analyze host_facts`;
    await sql`vacuum analyze datastore_facts`;
    console.log(
      `  generated ${facts} VM facts with usage, ${hosts} host and ${stores} datastore facts in ${
        ((performance.now() - t) / 1000).toFixed(1)
      } s`,
    );
    const r = await runBenchmark(sql, {
      kind: 'usage',
      sourceId,
      period: '2026-01-01',
      tz: 'UTC',
      reps,
      notes: { vms, hosts: 200, datastores: 1000 },
    });
    console.log(`  hourly usage benchmark done (${r.parity ? 'parity match' : 'PARITY MISMATCH'})`);

    // Full parity: both tiers for real with each engine, all six tables compared.
    const target = { sourceId, period: '2026-01-01', tz: 'UTC' };
    await runUsageTiers(sql, 'sql', target);
    const bySql = await allTiers(sql, sourceId);
    await runUsageTiers(sql, 'ts', target);
    const byTs = await allTiers(sql, sourceId);
    const fullParity = bySql.every((x, k) => x === byTs[k]);
    console.log(`  all six tier tables: ${fullParity ? 'identical' : 'DIFFERENT'}`);

    const med = (p: string) => median(r.runs.filter((x) => x.path === p).map((x) => x.ms));
    const floor = med('floor');
    const sqlMs = med('sql');
    const tsMs = med('ts');
    const faster = Math.min(sqlMs, tsMs);
    const slower = Math.max(sqlMs, tsMs);
    const ratios = {
      fasterVsFloor: Number((faster / floor).toFixed(2)),
      slowerVsFaster: Number((slower / faster).toFixed(2)),
    };
    console.log(
      `  floor ${Math.round(floor)} ms, sql ${Math.round(sqlMs)} ms, ts ${Math.round(tsMs)} ms; ` +
        `faster/floor ${ratios.fasterVsFloor}×, slower/faster ${ratios.slowerVsFaster}×`,
    );
    return [{
      name: 'usage-hourly',
      title:
        `hourly usage rollup of a day, ${vms} VMs × 24 captures + 200 hosts + 1,000 datastores: SQL vs TypeScript vs bare INSERT…SELECT…GROUP BY floor`,
      goal: 'faster engine ≤ 1.5× floor, slower ≤ 3× faster, identical rows',
      met: faster <= 1.5 * floor && slower <= 3 * faster && r.parity && fullParity,
      metrics: {
        rowsIn: r.rowsIn,
        rowsOut: r.runs[0].rowsOut,
        floorMs: Math.round(floor),
        sqlMs: Math.round(sqlMs),
        tsMs: Math.round(tsMs),
        faster: sqlMs <= tsMs ? 'sql' : 'ts',
        ...ratios,
        parity: r.parity ? 'match' : 'MISMATCH',
        fullParity: fullParity ? 'match' : 'MISMATCH',
        runGroup: r.runGroup,
      },
      notes:
        `medians of ${reps} reps each, rolled-back transactions, ${os.cpus().length} CPUs; runs in benchmark_runs (kind usage)`,
    }];
  } finally {
    await sql.end({ timeout: 5 });
    await stop?.().catch(() => {});
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }
}
