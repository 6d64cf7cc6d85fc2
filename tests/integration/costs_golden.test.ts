/**
 * Chargeback golden month (issue 22): April 2026 (30 days, UTC), costed by both engines from
 * daily rollups built by the real daily aggregation over stored samples. Every amount below
 * is computed by hand in the comments; both engines must give exactly these lines.
 *
 * Samples: one capture a day at 12:00, except the 20th with two (00:00 and 12:00), so a
 * VM seen in one of them is present half the day.
 * Rate card "Standard" (USD), base prices per vCPU-hour / GB-RAM-hour / GB-month / VM-month:
 *   v1 from 2026-01-01: 0.010 / 0.004 / 0.090 / 3.00
 *   v2 from 2026-04-16: 0.012 / 0.005 / 0.120 / 3.00   (a mid-month rate change)
 * Tiers: Gold ×2 (v2 Gold has its own VM-month price 9.00), Silver ×1.5, Bronze and
 * unassigned at base prices. Rules: exact "Gold" → Gold, prefix "Silver" → Silver,
 * regex ^bronze-[0-9]+$ → Bronze on the pool, then exact "gold" → Gold on a tag (the VM's tags
 * that day, from its configuration history); anything else (here "Lab", "pve-lab" with the
 * tag "web" only, and no pool) → unassigned.
 * Per line: vCPU = powered-on vCPU-hours × price; RAM likewise; disk = GB-days × price / 30;
 * VM fee = present days × price / 30; each rounded half up to cents; total = their sum.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { runAggregation } from '../../server/aggregate/run.ts';
import { costFingerprint, runCosting } from '../../server/aggregate/cost_run.ts';
import { addCapture, addSource, type Fact } from './aggregate_support.ts';
import { daysBetween } from '../../server/aggregate/period.ts';

const test = suite('costs golden month');
let db: TestDatabase;
let S: number;
let v1: number;
let v2: number;

const MONTH = '2026-04-01';
const day = (d: number) => `2026-04-${String(d).padStart(2, '0')}`;

/** The VMs present in the capture of day `d` at `hh`. */
function factsOn(d: number, hh: string): Fact[] {
  const out: Fact[] = [];
  // steady: Gold all month, 2 vCPU, 4 GB, 50 GB.
  out.push({ key: 'steady', vcpu: 2, memoryMib: 4096, diskGb: '50.000', pool: 'Gold' });
  // created: appears on the 10th, pool Silver-1 (prefix → Silver), 1 vCPU, 2 GB, 20 GB.
  if (d >= 10) {
    out.push({ key: 'created', vcpu: 1, memoryMib: 2048, diskGb: '20.000', pool: 'Silver-1' });
  }
  // deleted: bronze-7 (regex → Bronze), 4 vCPU, 8 GB, 100 GB; powered off on the 1st–5th;
  // deleted on the 20th: in the 00:00 capture, not in the 12:00 one.
  if (d < 20 || (d === 20 && hh === '00')) {
    out.push({
      key: 'deleted',
      vcpu: 4,
      memoryMib: 8192,
      diskGb: '100.000',
      pool: 'bronze-7',
      power: d <= 5 ? 'poweredOff' : 'poweredOn',
    });
  }
  // resized: bronze-2, 2 vCPU / 2 GB until the 10th, 4 vCPU / 4 GB from the 11th; 30 GB.
  out.push({
    key: 'resized',
    vcpu: d <= 10 ? 2 : 4,
    memoryMib: d <= 10 ? 2048 : 4096,
    diskGb: '30.000',
    pool: 'bronze-2',
  });
  // moved: Silver-a (Silver) until the 14th, Gold from the 15th; 1 vCPU, 1 GB, 10 GB.
  out.push({
    key: 'moved',
    vcpu: 1,
    memoryMib: 1024,
    diskGb: '10.000',
    pool: d <= 14 ? 'Silver-a' : 'Gold',
  });
  // unassigned: pool Lab (no rule), 1 vCPU, 1 GB, 10.5 GB.
  out.push({ key: 'unassigned', vcpu: 1, memoryMib: 1024, diskGb: '10.500', pool: 'Lab' });
  // blip: no pool, only in the 20th's 12:00 capture; 1 vCPU, 0.5 GB, 2.5 GB.
  if (d === 20 && hh === '12') {
    out.push({ key: 'blip', vcpu: 1, memoryMib: 512, diskGb: '2.500', pool: null });
  }
  // pve: a Proxmox-style VM in pool pve-lab (no pool rule), 2 vCPU, 2 GB, 30 GB; its tags
  // (vm_config_history labels, below) are "web" until the 10th's capture, "web" and "gold"
  // from it: the tag rule gold → Gold tiers it from the 10th.
  out.push({ key: 'pve', vcpu: 2, memoryMib: 2048, diskGb: '30.000', pool: 'pve-lab' });
  // a template all month: templates are not in the rollups, so never costed.
  out.push({
    key: 'tmpl',
    vcpu: 8,
    memoryMib: 8192,
    diskGb: '40.000',
    template: true,
    pool: 'Gold',
  });
  return out;
}

test.before(async () => {
  db = await createTestDatabase('costs_golden');
  S = await addSource(db.sql, 'costs-golden');
  for (let d = 1; d <= 30; d++) {
    if (d === 20) await addCapture(db.sql, S, `${day(d)}T00:00:00Z`, factsOn(d, '00'));
    await addCapture(db.sql, S, `${day(d)}T12:00:00Z`, factsOn(d, '12'));
  }
  for (const d of daysBetween(day(1), day(30))) {
    await runAggregation(db.sql, 'sql', { kind: 'daily', sourceId: S, period: d, tz: 'UTC' });
  }
  const sql = db.sql;
  for (const [name, position] of [['Gold', 1], ['Silver', 2], ['Bronze', 3]] as const) {
    await sql`insert into cost_tiers (name, position) values (${name}, ${position})`;
  }
  await sql`insert into tier_rules (position, match, pattern, tier) values
    (1, 'exact', 'Gold', 'Gold'), (2, 'prefix', 'Silver', 'Silver'), (3, 'regex', '^bronze-[0-9]+$', 'Bronze')`;
  // A tag rule, after the pool rules; a vSphere-style tag "Tier:Gold" (category:name) matches
  // no rule here (steady carries it and stays on its pool's tier either way).
  await sql`insert into tier_rules (position, field, match, pattern, tier) values (4, 'tag', 'exact', 'gold', 'Gold')`;
  // The configuration history of pve as ingest keeps it: change-only, valid from/to.
  await sql`insert into vm_config_history (source_id, vm_key, valid_from, valid_to, capture_id, config) values
    (${S}, 'pve', '2026-04-01T12:00:00Z', '2026-04-10T12:00:00Z', gen_random_uuid(), ${
    sql.json({ labels: [{ name: 'web' }] })
  }),
    (${S}, 'pve', '2026-04-10T12:00:00Z', null, gen_random_uuid(), ${
    sql.json({ labels: [{ name: 'web' }, { name: 'gold' }] })
  }),
    (${S}, 'steady', '2026-04-01T12:00:00Z', null, gen_random_uuid(), ${
    sql.json({ labels: [{ category: 'Tier', name: 'gold' }] })
  })`;
  const [card] = await sql`insert into rate_cards (name, currency, is_default)
    values ('Standard', 'USD', true) returning id`;
  [{ id: v1 }] = await sql`insert into rate_card_versions
    (card_id, effective_from, vcpu_hour, ram_gb_hour, disk_gb_month, vm_month)
    values (${card.id}, '2026-01-01', 0.010, 0.004, 0.090, 3.00) returning id::int`;
  [{ id: v2 }] = await sql`insert into rate_card_versions
    (card_id, effective_from, vcpu_hour, ram_gb_hour, disk_gb_month, vm_month)
    values (${card.id}, '2026-04-16', 0.012, 0.005, 0.120, 3.00) returning id::int`;
  await sql`insert into rate_card_tier_prices (version_id, tier, multiplier, vm_month) values
    (${v1}, 'Gold', 2, null), (${v1}, 'Silver', 1.5, null), (${v2}, 'Gold', 2, 9.00), (${v2}, 'Silver', 1.5, null)`;
});

test.after(async () => {
  await db?.drop();
});

type Line = [
  vm: string,
  tier: string,
  version: 'v1' | 'v2',
  vcpu: string,
  ram: string,
  disk: string,
  fee: string,
  total: string,
];

// Hand-computed lines, [vm, tier, version, vCPU, RAM, disk, VM fee, total].
const EXPECTED: Line[] = [
  // blip, day 20 only (v2), present 1 of 2 samples: 12 vCPU-h × 0.012 = 0.144 → 0.14;
  // 6 GB-h × 0.005 = 0.03; disk 2.5/2 = 1.25 GB-days × 0.12 / 30 = 0.005 → 0.01 (half up);
  // fee 0.5 × 3 / 30 = 0.05.
  ['blip', 'unassigned', 'v2', '0.14', '0.03', '0.01', '0.05', '0.23'],
  // created, Silver (×1.5). v1 days 10–15 (6): 144 vCPU-h × 0.015 = 2.16; 288 GB-h × 0.006 =
  // 1.728 → 1.73; 120 GB-days × 0.135 / 30 = 0.54; 6 × 4.5 / 30 = 0.90.
  ['created', 'Silver', 'v1', '2.16', '1.73', '0.54', '0.90', '5.33'],
  // v2 days 16–30 (15): 360 × 0.018 = 6.48; 720 × 0.0075 = 5.40; 300 × 0.18 / 30 = 1.80; 15 × 4.5 / 30 = 2.25.
  ['created', 'Silver', 'v2', '6.48', '5.40', '1.80', '2.25', '15.93'],
  // deleted, Bronze (base). v1 days 1–15, powered on 6–15 (10 days): 960 vCPU-h × 0.010 = 9.60;
  // 1920 GB-h × 0.004 = 7.68; disk while off too: 1500 GB-days × 0.09 / 30 = 4.50; 15 × 3 / 30 = 1.50.
  ['deleted', 'Bronze', 'v1', '9.60', '7.68', '4.50', '1.50', '23.28'],
  // v2 days 16–19 full + the 20th half: 4×96 + 48 = 432 × 0.012 = 5.184 → 5.18; 4×192 + 96 = 864
  // × 0.005 = 4.32; 4×100 + 50 = 450 GB-days × 0.12 / 30 = 1.80; 4.5 days × 3 / 30 = 0.45.
  ['deleted', 'Bronze', 'v2', '5.18', '4.32', '1.80', '0.45', '11.75'],
  // moved: Silver v1 days 1–14: 336 × 0.015 = 5.04; 336 × 0.006 = 2.016 → 2.02; 140 × 0.135 / 30 = 0.63; 14 × 4.5 / 30 = 2.10.
  ['moved', 'Silver', 'v1', '5.04', '2.02', '0.63', '2.10', '9.79'],
  // Gold v1 day 15: 24 × 0.02 = 0.48; 24 × 0.008 = 0.192 → 0.19; 10 × 0.18 / 30 = 0.06; 1 × 6 / 30 = 0.20.
  ['moved', 'Gold', 'v1', '0.48', '0.19', '0.06', '0.20', '0.93'],
  // Gold v2 days 16–30: 360 × 0.024 = 8.64; 360 × 0.010 = 3.60; 150 × 0.24 / 30 = 1.20; 15 × 9 / 30 = 4.50.
  ['moved', 'Gold', 'v2', '8.64', '3.60', '1.20', '4.50', '17.94'],
  // pve, unassigned (pool pve-lab, tag web) v1 days 1–9: 432 vCPU-h × 0.010 = 4.32; 432 GB-h ×
  // 0.004 = 1.728 → 1.73; 270 GB-days × 0.09 / 30 = 0.81; 9 × 3 / 30 = 0.90.
  ['pve', 'unassigned', 'v1', '4.32', '1.73', '0.81', '0.90', '7.76'],
  // Gold by its tag from the 10th (its last sample that day is the capture that tagged it).
  // v1 days 10–15: 288 × 0.02 = 5.76; 288 × 0.008 = 2.304 → 2.30; 180 × 0.18 / 30 = 1.08; 6 × 6 / 30 = 1.20.
  ['pve', 'Gold', 'v1', '5.76', '2.30', '1.08', '1.20', '10.34'],
  // v2 days 16–30: 720 × 0.024 = 17.28; 720 × 0.010 = 7.20; 450 × 0.24 / 30 = 3.60; 15 × 9 / 30 = 4.50.
  ['pve', 'Gold', 'v2', '17.28', '7.20', '3.60', '4.50', '32.58'],
  // resized, Bronze. v1 days 1–15: 10×48 + 5×96 = 960 × 0.010 = 9.60; same GB-h 960 × 0.004 = 3.84;
  // 450 × 0.09 / 30 = 1.35; 15 × 3 / 30 = 1.50.
  ['resized', 'Bronze', 'v1', '9.60', '3.84', '1.35', '1.50', '16.29'],
  // v2 days 16–30 at 4 vCPU / 4 GB: 1440 × 0.012 = 17.28; 1440 × 0.005 = 7.20; 450 × 0.12 / 30 = 1.80; 1.50.
  ['resized', 'Bronze', 'v2', '17.28', '7.20', '1.80', '1.50', '27.78'],
  // steady, Gold. v1: 720 × 0.02 = 14.40; 1440 × 0.008 = 11.52; 750 × 0.18 / 30 = 4.50; 15 × 6 / 30 = 3.00.
  ['steady', 'Gold', 'v1', '14.40', '11.52', '4.50', '3.00', '33.42'],
  // v2: 720 × 0.024 = 17.28; 1440 × 0.010 = 14.40; 750 × 0.24 / 30 = 6.00; 15 × 9 / 30 = 4.50.
  ['steady', 'Gold', 'v2', '17.28', '14.40', '6.00', '4.50', '42.18'],
  // unassigned (Lab, base). v1: 360 × 0.010 = 3.60; 360 × 0.004 = 1.44; 157.5 × 0.09 / 30 = 0.4725 → 0.47; 1.50.
  ['unassigned', 'unassigned', 'v1', '3.60', '1.44', '0.47', '1.50', '7.01'],
  // v2: 360 × 0.012 = 4.32; 360 × 0.005 = 1.80; 157.5 × 0.12 / 30 = 0.63; 1.50.
  ['unassigned', 'unassigned', 'v2', '4.32', '1.80', '0.63', '1.50', '8.25'],
];
// 0.23 + 5.33 + 15.93 + 23.28 + 11.75 + 9.79 + 0.93 + 17.94 + 7.76 + 10.34 + 32.58 + 16.29
// + 27.78 + 33.42 + 42.18 + 7.01 + 8.25
const EXPECTED_TOTAL = '270.79';

async function linesOf(runId: number): Promise<Line[]> {
  const rows = await db.sql`
    select vm_key, tier, version_id::int as v, vcpu_cost::text, ram_cost::text, disk_cost::text,
           vm_cost::text, total::text
    from vm_cost_lines where run_id = ${runId} order by vm_key, version_id, tier desc`;
  return rows.map((r) =>
    [
      r.vm_key,
      r.tier,
      r.v === v1 ? 'v1' : 'v2',
      r.vcpu_cost,
      r.ram_cost,
      r.disk_cost,
      r.vm_cost,
      r.total,
    ] as Line
  );
}

test('both engines give the hand-computed lines to the cent, and identical rows', async () => {
  const prints: string[] = [];
  for (const engine of ['sql', 'ts'] as const) {
    const { runId, lines } = await runCosting(db.sql, engine, { sourceId: S, month: MONTH });
    assert.equal(lines, EXPECTED.length, `${engine}: line count`);
    assert.equal(await linesOf(runId), EXPECTED, `${engine}: lines`);
    const [run] = await db.sql`select total::text, engine from cost_runs where id = ${runId}`;
    assert.equal([run.total, run.engine], [EXPECTED_TOTAL, engine], `${engine}: run total`);
    prints.push((await costFingerprint(db.sql, runId)).checksum);
  }
  assert.is(prints[0], prints[1], 'sql and ts lines identical, quantities included');
  // Quantities: the deleted VM's v2 line holds 4.5 present days and 432 powered-on vCPU-hours.
  const [q] = await db.sql`
    select l.days, l.present_days::text, l.vcpu_hours::text, l.disk_gb_days::text
    from vm_cost_lines l join cost_runs r on r.id = l.run_id
    where r.superseded_at is null and l.vm_key = 'deleted' and l.version_id = ${v2}`;
  assert.equal([q.days, q.present_days, q.vcpu_hours, q.disk_gb_days], [
    5,
    '4.500000',
    '432.000000000000',
    '450.000000',
  ]);
});

test('rerunning after a rate change reprices the month and keeps the previous run', async () => {
  const before = await db.sql`select id, total::text from cost_runs
    where source_id = ${S} and month = ${MONTH} and superseded_at is null`;
  assert.is(before.length, 1);
  // v2's vCPU price goes from 0.012 to 0.015: each v2 vCPU amount × 1.25.
  await db.sql`update rate_card_versions set vcpu_hour = 0.015 where id = ${v2}`;
  try {
    for (const engine of ['sql', 'ts'] as const) {
      const { runId } = await runCosting(db.sql, engine, { sourceId: S, month: MONTH });
      const [run] = await db.sql`select total::text from cost_runs where id = ${runId}`;
      // v2 vCPU-hours priced: blip 12 (×1), created 360 (×1.5), deleted 432, moved 360 (×2),
      // pve 720 (×2), resized 1440, steady 720 (×2), unassigned 360. New: 0.18, 8.10, 6.48,
      // 10.80, 21.60, 21.60, 21.60, 5.40 = 95.76 against 0.14 + 6.48 + 5.18 + 8.64 + 17.28
      // + 17.28 + 17.28 + 4.32 = 76.60.
      assert.is(run.total, '289.95', `${engine}: 270.79 + 95.76 - 76.60`);
    }
    const runs = await db.sql`select id, total::text, superseded_at is null as current, line_count
      from cost_runs where source_id = ${S} and month = ${MONTH} order by id`;
    assert.equal(runs.map((r) => r.current), [false, false, false, true], 'one current run');
    assert.is(runs[1].total, EXPECTED_TOTAL, 'the earlier figures stay in history');
    const [{ n }] = await db.sql`select count(*)::int as n from vm_cost_lines where run_id = ${
      before[0].id
    }`;
    assert.is(n, EXPECTED.length, 'superseded lines kept');
  } finally {
    await db.sql`update rate_card_versions set vcpu_hour = 0.012 where id = ${v2}`;
  }
});

test('sums past 2^53 in the TypeScript path (a 6 TB VM, 2 of 3 samples) stay exact', async () => {
  const big = await addSource(db.sql, 'costs-golden-big');
  const vm: Fact = {
    key: 'huge',
    vcpu: 1,
    memoryMib: 6 * 1024 * 1024,
    diskGb: '1.000',
    pool: null,
  };
  await addCapture(db.sql, big, '2026-04-25T00:00:00Z', [vm]);
  await addCapture(db.sql, big, '2026-04-25T08:00:00Z', [vm]);
  await addCapture(db.sql, big, '2026-04-25T16:00:00Z', []);
  await runAggregation(db.sql, 'sql', {
    kind: 'daily',
    sourceId: big,
    period: '2026-04-25',
    tz: 'UTC',
  });
  const prints: string[] = [];
  for (const engine of ['sql', 'ts'] as const) {
    const { runId } = await runCosting(db.sql, engine, { sourceId: big, month: MONTH });
    // v2, unassigned (base): 16 h × 6144 GB = 98304 GB-h × 0.005 = 491.52; 16 vCPU-h × 0.012 =
    // 0.192 → 0.19; 2/3 GB-day (0.666667) × 0.12 / 30 = 0.0027 → 0.00; 0.666667 × 3 / 30 → 0.07.
    assert.equal(await linesOf(runId), [
      ['huge', 'unassigned', 'v2', '0.19', '491.52', '0.00', '0.07', '491.78'],
    ], engine);
    prints.push((await costFingerprint(db.sql, runId)).checksum);
  }
  assert.is(prints[0], prints[1]);
});

test('a month with a day before the first rate version is refused by both engines', async () => {
  await db.sql`update rate_card_versions set effective_from = '2026-04-02' where id = ${v1}`;
  try {
    for (const engine of ['sql', 'ts'] as const) {
      try {
        await runCosting(db.sql, engine, { sourceId: S, month: MONTH });
        assert.unreachable(`${engine} costed a day without a price`);
      } catch (err) {
        assert.match((err as Error).message, /no version in effect on every day of 2026-04/);
      }
    }
  } finally {
    await db.sql`update rate_card_versions set effective_from = '2026-01-01' where id = ${v1}`;
  }
});

test.run();
