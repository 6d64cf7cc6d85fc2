/**
 * Chargeback costing benchmark: costing one month of N VMs (default 100,000 × 31 days of
 * daily rollups) with the SQL routine (cost_month) vs TypeScript (cost_ts.ts) vs the bare
 * INSERT … SELECT … GROUP BY vm_key floor over the same daily rollups (cost_floor.ts).
 *
 *   npm run bench -- costs --cost-vms 100000 --cost-reps 3
 *
 * The daily rollups are generated set-based (values as the daily aggregation derives them:
 * rollup_ratio of exact sums), with a mix of tiers (exact, prefix and regex rules, unmapped
 * pools), partial presence (11 of 24 samples), powered-off and half-powered VMs and VMs in
 * two pools. Every timed run is stored in benchmark_runs (kind 'costs'); parity is the
 * checksum of the run's lines, SQL vs TS. Goals: the faster engine within 1.5× of the
 * floor, the slower within 3× of the faster.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createPool, ensureDatabase } from '../server/db/connect.ts';
import { startEmbeddedPostgres } from '../server/db/embedded.ts';
import { migrate } from '../server/db/migrate.ts';
import { runBenchmark } from '../server/aggregate/benchmark.ts';
import { freePort } from '../scripts/free_port.ts';
import { type BenchReport, median } from './harness.ts';

function arg(argv: string[], name: string, fallback: number): number {
  const i = argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(argv[i + 1]) : fallback;
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} must be a positive integer`);
  return v;
}

const MONTH = '2026-01-01';

export default async function costsBench(argv: string[]): Promise<BenchReport[]> {
  const vms = arg(argv, 'cost-vms', 100_000);
  const reps = arg(argv, 'cost-reps', 3);
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
  await admin.unsafe('drop database if exists vmledger_bench_costs with (force)');
  await admin.end();
  const sql = createPool(await ensureDatabase(base, 'vmledger_bench_costs'), { max: 4 });
  try {
    await migrate(sql);
    const [{ id: sourceId }] = await sql`
      insert into sources (kind, external_id, name) values ('demo', 'bench-costs', 'bench-costs') returning id`;
    const t = performance.now();
    const days = await sql`select d::date::text as d from generate_series(${MONTH}::date,
      (${MONTH}::date + interval '1 month' - interval '1 day'), interval '1 day') d`;
    for (const { d } of days) {
      await sql`
        insert into vm_daily_rollup
        select ${sourceId}, ${d}::date, 'vm-' || lpad(i::text, 6, '0'), 'id-' || i, 'vm-' || i,
               24, v.sp, v.on_s, 86400, v.sp * v.vcpu, v.sp * v.ram, v.sp * v.disk,
               rollup_ratio(v.sp, 24), rollup_ratio(v.sp * v.vcpu, 24), rollup_ratio(v.sp * v.ram, 1024 * 24),
               rollup_ratio(v.sp * v.disk, 24), rollup_ratio(v.on_s, v.sp),
               rollup_ratio(v.on_s * 86400, 3600 * 24), rollup_ratio(v.sp * v.vcpu * 86400, 3600 * 24),
               rollup_ratio(v.sp * v.ram * 86400, 3600 * 1024 * 24), rollup_ratio(v.sp * v.disk * 86400, 3600 * 24),
               case when i % 13 = 0 then jsonb_build_object(v.pool, v.sp - 3, 'Gold', 3)
                    else jsonb_build_object(v.pool, v.sp) end,
               case when i % 13 = 0 then jsonb_build_object(v.pool, rollup_ratio((v.sp - 3) * 100, v.sp),
                      'Gold', rollup_ratio(300, v.sp))
                    else jsonb_build_object(v.pool, 100.000000) end,
               ${d}::date + time '00:00', ${d}::date + time '23:00', null, null, null, null
        from generate_series(1, ${vms}::int) i
        cross join lateral (
          select s.sp,
                 case when i % 10 = 0 then 0 when i % 7 = 0 then s.sp / 2 else s.sp end as on_s,
                 (1 + i % 8)::bigint as vcpu, (1024 * (1 + i % 16))::bigint as ram, (10 + i % 500) + 0.125 as disk,
                 case i % 5 when 0 then 'Gold' when 1 then 'silver-' || (i % 3)
                   when 2 then 'bronze-' || (i % 7) when 3 then 'lab' else 'pool-' || (i % 20) end as pool
          from (select case when i % 50 = 0 then 11 else 24 end as sp) s
        ) v`;
    }
    await sql`vacuum analyze vm_daily_rollup`;
    for (const [name, position] of [['Gold', 1], ['Silver', 2], ['Bronze', 3]] as const) {
      await sql`insert into cost_tiers (name, position) values (${name}, ${position})`;
    }
    await sql`insert into tier_rules (position, match, pattern, tier) values
      (1, 'exact', 'Gold', 'Gold'), (2, 'prefix', 'silver-', 'Silver'), (3, 'regex', '^bronze-[0-9]+$', 'Bronze')`;
    const [card] = await sql`insert into rate_cards (name, currency, is_default)
      values ('Standard', 'USD', true) returning id`;
    // In effect all January; the next version starts in February.
    for (const [from, vcpu] of [['2025-12-01', '0.010'], ['2026-02-01', '0.012']]) {
      const [v] = await sql`insert into rate_card_versions
        (card_id, effective_from, vcpu_hour, ram_gb_hour, disk_gb_month, vm_month)
        values (${card.id}, ${from}, ${vcpu}, 0.004, 0.090, 3.00) returning id`;
      await sql`insert into rate_card_tier_prices (version_id, tier, multiplier, vm_month) values
        (${v.id}, 'Gold', 2, 9.00), (${v.id}, 'Silver', 1.5, null)`;
    }
    console.log(
      `  generated ${vms} VMs × ${days.length} daily rollups in ${
        ((performance.now() - t) / 1000).toFixed(1)
      } s`,
    );
    const r = await runBenchmark(sql, {
      kind: 'costs',
      sourceId,
      period: MONTH,
      tz: 'UTC',
      reps,
      notes: { vms },
    });
    console.log(`  costing benchmark done (${r.parity ? 'parity match' : 'PARITY MISMATCH'})`);
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
      name: 'costs-month',
      title:
        `costing a month of ${vms} VMs from ${r.rowsIn} daily rollups: SQL vs TypeScript vs bare INSERT…SELECT…GROUP BY floor`,
      goal: 'faster engine ≤ 1.5× floor, slower ≤ 3× faster, identical lines',
      met: faster <= 1.5 * floor && slower <= 3 * faster && r.parity,
      metrics: {
        rowsIn: r.rowsIn,
        linesOut: r.runs.find((x) => x.path === 'sql')?.rowsOut ?? 0,
        floorMs: Math.round(floor),
        sqlMs: Math.round(sqlMs),
        tsMs: Math.round(tsMs),
        faster: sqlMs <= tsMs ? 'sql' : 'ts',
        ...ratios,
        parity: r.parity ? 'match' : 'MISMATCH',
        runGroup: r.runGroup,
      },
      notes:
        `medians of ${reps} reps each, rolled-back transactions, ${os.cpus().length} CPUs; runs in benchmark_runs (kind costs)`,
    }];
  } finally {
    await sql.end({ timeout: 5 });
    await stop?.().catch(() => {});
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }
}
