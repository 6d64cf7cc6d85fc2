/**
 * Usage tiers, golden values: a few facts whose hourly and daily rows are worked out by hand
 * (docs/aggregation.md, "Usage tiers"), checked on both engines; then retention: raw usage
 * cleared only for computed days past the raw retention, hourly and daily tiers deleted
 * past theirs.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { runUsageTiers, usageRawPruned } from '../../server/aggregate/usage_run.ts';
import { pruneUsage } from '../../server/aggregate/usage_retention.ts';
import { runBenchmark } from '../../server/aggregate/benchmark.ts';
import { tierFor, usageSeries } from '../../server/aggregate/usage_series.ts';
import { addCapture, addSource, type Fact } from './aggregate_support.ts';
import { tierRows } from './usage_tiers_support.ts';

const test = suite('usage tiers (golden values, retention)');
const DAY = '2026-04-01';
let db: TestDatabase;
let source: number;

const vm = (key: string, extra: Partial<Fact> = {}): Fact => ({
  key,
  vcpu: 2,
  memoryMib: 2048,
  diskGb: '10.000',
  ...extra,
});
// [time, VM a's cpu / guest / host memory]
const A: [string, number | null, number | null, number | null][] = [
  ['2026-04-01T00:00:00Z', 100, 1000, null],
  ['2026-04-01T00:20:00Z', null, 1001, null],
  ['2026-04-01T00:40:00Z', 301, 1001, null],
  ['2026-04-01T01:10:00Z', 50, null, null],
  ['2026-04-02T00:10:00Z', 7, 7, 7], // the next day: never aggregated here
];

test.before(async () => {
  db = await createTestDatabase('usage_tiers');
  source = await addSource(db.sql, 'usage-golden');
  for (const [at, cpu, guest, host] of A) {
    await addCapture(db.sql, source, at, [vm('a'), vm('t', { template: true }), vm('v1')]);
    await db.sql`update vm_hourly_stats set cpu_usage_mhz = ${cpu}, guest_memory_mib = ${guest},
      host_memory_mib = ${host} where source_id = ${source} and snapshot_time = ${at} and vm_key = 'a'`;
    // a template's usage is left out; v1 carries none (a v1 capture)
    await db.sql`update vm_hourly_stats set cpu_usage_mhz = 999 where source_id = ${source}
      and snapshot_time = ${at} and vm_key = 't'`;
  }
  const host: [string, number | null, number][] = [
    ['2026-04-01T00:00:00Z', 1000.25, 0.1 + 0.2], // 0.30000000000000004 enters as 0.300
    ['2026-04-01T00:20:00Z', 2000.5, 1 / 3],
    ['2026-04-01T01:10:00Z', null, 10.0005],
    ['2026-04-02T00:10:00Z', 5, 5],
  ];
  for (const [at, cpu, mem] of host) {
    await db
      .sql`insert into host_facts (source_id, host_key, snapshot_time, cpu_usage_mhz, memory_usage_mib)
      values (${source}, 'h1', ${at}, ${cpu}, ${mem})`;
  }
  const ds: [string, number, number | null][] = [
    ['2026-04-01T00:00:00Z', 1000, 400],
    ['2026-04-01T00:20:00Z', 1000, 300],
    ['2026-04-01T00:40:00Z', 1000, null], // unknown free: no sample
    ['2026-04-01T01:10:00Z', 1000, 350],
  ];
  for (const [at, cap, free] of ds) {
    await db
      .sql`insert into datastore_facts (source_id, datastore_key, snapshot_time, capacity_gb, free_gb)
      values (${source}, 'd1', ${at}, ${cap}, ${free})`;
  }
});

test.after(async () => {
  await db?.drop();
});

const rows = (t: Parameters<typeof tierRows>[1]) => tierRows(db.sql, t, source, DAY, 'UTC');
const nulls = (...cols: string[]) => Object.fromEntries(cols.map((c) => [c, null]));

for (const engine of ['sql', 'ts'] as const) {
  test(`${engine}: VM hourly and daily rows as worked out by hand`, async () => {
    const r = await runUsageTiers(db.sql, engine, { sourceId: source, period: DAY, tz: 'UTC' });
    assert.is(r.rowsOut, 2, 'VM hourly rows: a at 00 and 01 (not the template, not v1)');
    const common = {
      source_id: String(source),
      vm_key: 'a',
      host_mem_samples: '0',
      host_mem_sum_mib: '0',
    };
    const [h0, h1] = await rows('vm_usage_hourly');
    assert.equal(h0, {
      ...common,
      hour: '2026-04-01T00:00:00+00:00',
      samples: '3',
      cpu_samples: '2',
      cpu_sum_mhz: '401',
      cpu_avg_mhz: '200.500000',
      cpu_max_mhz: '301',
      guest_mem_samples: '3',
      guest_mem_sum_mib: '3002',
      guest_mem_avg_mib: '1000.666667',
      guest_mem_max_mib: '1001',
      ...nulls('host_mem_avg_mib', 'host_mem_max_mib'),
    });
    assert.equal(h1, {
      ...common,
      hour: '2026-04-01T01:00:00+00:00',
      samples: '1',
      cpu_samples: '1',
      cpu_sum_mhz: '50',
      cpu_avg_mhz: '50.000000',
      cpu_max_mhz: '50',
      guest_mem_samples: '0',
      guest_mem_sum_mib: '0',
      ...nulls('guest_mem_avg_mib', 'guest_mem_max_mib', 'host_mem_avg_mib', 'host_mem_max_mib'),
    });
    assert.equal(await rows('vm_usage_daily'), [{
      ...common,
      day: DAY,
      samples: '4',
      cpu_samples: '3',
      cpu_sum_mhz: '451',
      cpu_avg_mhz: '150.333333',
      cpu_max_mhz: '301',
      guest_mem_samples: '3',
      guest_mem_sum_mib: '3002',
      guest_mem_avg_mib: '1000.666667',
      guest_mem_max_mib: '1001',
      ...nulls('host_mem_avg_mib', 'host_mem_max_mib'),
    }]);
  });

  test(`${engine}: host and datastore rows as worked out by hand`, async () => {
    await runUsageTiers(db.sql, engine, { sourceId: source, period: DAY, tz: 'UTC' });
    const host = (await rows('host_usage_hourly')).map((r) => [
      r.hour,
      r.samples,
      r.cpu_samples,
      r.cpu_sum_mhz,
      r.cpu_avg_mhz,
      r.cpu_max_mhz,
      r.mem_samples,
      r.mem_sum_mib,
      r.mem_avg_mib,
      r.mem_max_mib,
    ]);
    assert.equal(host, [
      [
        '2026-04-01T00:00:00+00:00',
        '2',
        '2',
        '3000.750',
        '1500.375000',
        '2000.500',
        '2',
        '0.633',
        '0.316500',
        '0.333',
      ],
      [
        '2026-04-01T01:00:00+00:00',
        '1',
        '0',
        '0.000',
        null,
        null,
        '1',
        '10.001',
        '10.001000',
        '10.001',
      ],
    ]);
    const [hd] = await rows('host_usage_daily');
    assert.equal(
      [hd.samples, hd.cpu_samples, hd.cpu_avg_mhz, hd.mem_sum_mib, hd.mem_avg_mib, hd.mem_max_mib],
      ['3', '2', '1500.375000', '10.634', '3.544667', '10.001'],
    );
    const ds = (await rows('datastore_usage_hourly')).map((r) => [
      r.samples,
      r.used_sum_gb,
      r.used_avg_gb,
      r.used_max_gb,
      r.used_last_gb,
      r.free_sum_gb,
      r.free_avg_gb,
      r.free_min_gb,
      r.free_last_gb,
      r.capacity_last_gb,
    ]);
    assert.equal(ds, [
      [
        '2',
        '1300.000',
        '650.000000',
        '700.000',
        '700.000',
        '700.000',
        '350.000000',
        '300.000',
        '300.000',
        '1000.000',
      ],
      [
        '1',
        '650.000',
        '650.000000',
        '650.000',
        '650.000',
        '350.000',
        '350.000000',
        '350.000',
        '350.000',
        '1000.000',
      ],
    ]);
    const [dd] = await rows('datastore_usage_daily');
    assert.equal(
      [
        dd.samples,
        dd.used_avg_gb,
        dd.used_max_gb,
        dd.used_last_gb,
        dd.free_min_gb,
        dd.free_last_gb,
      ],
      ['3', '650.000000', '700.000', '650.000', '300.000', '350.000'],
    );
  });
}

test('the benchmark times the hourly tier: floor, sql and ts rows agree, runs stored as kind usage', async () => {
  const r = await runBenchmark(db.sql, {
    kind: 'usage',
    sourceId: source,
    period: DAY,
    tz: 'UTC',
    reps: 1,
  });
  assert.ok(r.parity, JSON.stringify(r.runs));
  assert.equal(r.runs.map((x) => [x.path, x.rowsOut]).sort(), [['floor', 2], ['sql', 2], [
    'ts',
    2,
  ]]);
  assert.ok(r.explain?.includes('vm_usage_hourly'), 'the SQL plan');
  const [s] = await db
    .sql`select count(*)::int as n from benchmark_runs where kind = 'usage' and run_group = ${r.runGroup}`;
  assert.is(s.n, 3);
  // rolled back: the stored tiers are what the last engine run above left
  assert.is((await rows('vm_usage_hourly')).length, 2);
});

test('usage series: the finest tier covering the start, then the facts past the computed days', async () => {
  const retention = { rawDays: 7, hourlyDays: 90, dailyDays: 0 };
  const now = new Date('2026-04-05T00:00:00Z');
  assert.is(tierFor(new Date('2026-04-01T00:00:00Z'), now, retention), 'capture');
  assert.is(tierFor(new Date('2026-03-01T00:00:00Z'), now, retention), 'hourly');
  assert.is(tierFor(new Date('2025-12-01T00:00:00Z'), now, retention), 'daily');
  const series = (tier: 'capture' | 'hourly' | 'daily') =>
    usageSeries(db.sql, {
      object: 'vm',
      sourceId: source,
      key: 'a',
      from: new Date('2026-04-01T00:00:00Z'),
      to: new Date('2026-04-03T00:00:00Z'),
      retention,
      tier,
    });
  const brief = (p: Awaited<ReturnType<typeof series>>) =>
    p.map((x) => [x.t.slice(0, 16), x.tier, x.values.cpu_avg, x.values.cpu_max]);
  assert.equal(brief(await series('hourly')), [
    ['2026-04-01T00:00', 'hourly', '200.500000', '301'],
    ['2026-04-01T01:00', 'hourly', '50.000000', '50'],
    ['2026-04-02T00:10', 'capture', '7', '7'],
  ]);
  assert.equal(brief(await series('daily')), [
    ['2026-04-01T00:00', 'daily', '150.333333', '301'],
    ['2026-04-02T00:10', 'capture', '7', '7'],
  ]);
  assert.is((await series('capture')).length, 5);
  const ds = await usageSeries(db.sql, {
    object: 'datastore',
    sourceId: source,
    key: 'd1',
    from: new Date('2026-04-01T00:00:00Z'),
    to: new Date('2026-04-02T00:00:00Z'),
    retention,
    tier: 'hourly',
  });
  assert.equal(ds.map((x) => x.values.free_min), ['300.000', '350.000']);
});

test('retention: raw usage cleared only for computed days past 7 days; hourly after 90; daily kept', async () => {
  const r = { rawDays: 7, hourlyDays: 90, dailyDays: 0 };
  const usage = async () =>
    (await db
      .sql`select snapshot_time::date::text as day, count(cpu_usage_mhz)::int as n from vm_hourly_stats
      where source_id = ${source} group by 1 order by 1`).map((x) => [x.day, x.n]);
  const hostUsage = async () =>
    (await db
      .sql`select count(memory_usage_mib)::int as n from host_facts where source_id = ${source}`)[0]
      .n;
  await runUsageTiers(db.sql, 'sql', { sourceId: source, period: DAY, tz: 'UTC' });

  let out = await pruneUsage(db.sql, r, new Date('2026-04-08T23:59:00Z'));
  assert.is(out.rawDaysPruned, 0, 'the day ended less than 7 days ago');
  assert.equal(await usage(), [['2026-04-01', 7], ['2026-04-02', 2]]);

  out = await pruneUsage(db.sql, r, new Date('2026-04-09T00:00:00Z'));
  assert.is(out.rawDaysPruned, 1);
  assert.is(out.vmFactsCleared, 8, 'a and the template at four captures');
  assert.is(out.hostFactsCleared, 3);
  assert.equal(
    await usage(),
    [['2026-04-01', 0], ['2026-04-02', 2]],
    'the uncomputed day keeps its usage',
  );
  assert.is(await hostUsage(), 1);
  const [d] = await db
    .sql`select count(free_gb)::int as n from datastore_facts where source_id = ${source}`;
  assert.is(d.n, 3, 'datastore facts are the capacity record: kept');
  assert.ok(await usageRawPruned(db.sql, source, DAY));
  assert.not.ok(await usageRawPruned(db.sql, source, '2026-04-02'));
  assert.is((await rows('vm_usage_hourly')).length, 2, 'tiers stay');

  out = await pruneUsage(db.sql, r, new Date('2026-06-29T23:59:59Z'));
  assert.is(out.hourlyDeleted, 0, 'no hour is 90 days old yet');
  out = await pruneUsage(db.sql, r, new Date('2026-06-30T00:30:00Z'));
  assert.is(out.hourlyDeleted, 3, 'the 00:00 hour of the VM, the host and the datastore');
  out = await pruneUsage(db.sql, r, new Date('2026-06-30T01:30:00Z'));
  assert.is(out.hourlyDeleted, 3, 'then their 01:00 hour');
  out = await pruneUsage(db.sql, r, new Date('2036-01-01T00:00:00Z'));
  assert.is(out.dailyDeleted, 0);
  assert.is((await rows('vm_usage_daily')).length, 1, 'daily kept');
  out = await pruneUsage(db.sql, { ...r, dailyDays: 365 }, new Date('2027-04-02T00:00:00Z'));
  assert.is(out.dailyDeleted, 3);
});

test.run();
