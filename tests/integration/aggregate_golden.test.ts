/**
 * Golden cases for daily and monthly aggregation with hand-computed expectations. Every
 * case runs both engines (SQL and TypeScript) on the same facts: each must equal the
 * expectation, and the two must be identical row for row (all columns, as text).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { type Engine, type Kind, runAggregation } from '../../server/aggregate/run.ts';
import { periodFingerprint, totalsFingerprint } from '../../server/aggregate/checksum.ts';
import {
  addCapture,
  addLifecycle,
  addSource,
  dailyRows,
  type Fact,
  monthlyRows,
  type RollupRow,
} from './aggregate_support.ts';

const test = suite('aggregation golden cases');
let db: TestDatabase;
let A: number; // UTC, 4 captures on 2026-03-10
let B: number; // UTC, a missed capture; a month with a missing day
let C: number; // Europe/Berlin DST day

const D = '2026-03-10';
const at = (hh: string, day = D) => `${day}T${hh}:00:00Z`;

/** Runs both engines on one period; returns the rows of each and asserts they are identical. */
async function both(kind: Kind, sourceId: number, period: string, tz = 'UTC') {
  const out: Record<Engine, RollupRow[]> = { sql: [], ts: [] };
  const prints: Record<Engine, string[]> = { sql: [], ts: [] };
  for (const engine of ['sql', 'ts'] as const) {
    await runAggregation(db.sql, engine, { kind, sourceId, period, tz });
    out[engine] = kind === 'daily'
      ? await dailyRows(db.sql, sourceId, period)
      : await monthlyRows(db.sql, sourceId, period);
    prints[engine] = [
      (await periodFingerprint(db.sql, kind, sourceId, period)).checksum,
      await totalsFingerprint(db.sql, kind, sourceId, period),
    ];
  }
  assert.equal(
    out.ts.map((r) => ({ ...r })),
    out.sql.map((r) => ({ ...r })),
    'ts rows equal sql rows',
  );
  assert.equal(prints.ts, prints.sql, 'checksums of rows and totals equal');
  return out;
}

const byKey = (rows: RollupRow[]) => Object.fromEntries(rows.map((r) => [String(r.vm_key), r]));

test.before(async () => {
  db = await createTestDatabase('aggregate_golden');
  A = await addSource(db.sql, 'golden-a');
  B = await addSource(db.sql, 'golden-b');
  C = await addSource(db.sql, 'golden-c');

  const steady: Fact = {
    key: 'vm-steady',
    vcpu: 2,
    memoryMib: 4096,
    diskGb: '50.000',
    pool: 'Gold',
  };
  const created: Fact = {
    key: 'qemu/100@2',
    vmId: '100',
    vcpu: 4,
    memoryMib: 8192,
    diskGb: '100.500',
    pool: 'Gold',
  };
  const deleted: Fact = {
    key: 'qemu/100@1',
    vmId: '100',
    vcpu: 1,
    memoryMib: 1024,
    diskGb: '20.000',
    pool: 'Gold',
  };
  const small: Fact = {
    key: 'vm-resize',
    vcpu: 2,
    memoryMib: 2048,
    diskGb: '10.001',
    pool: 'Gold',
  };
  const big: Fact = { ...small, vcpu: 4, memoryMib: 6144 };
  const pool = (p: string): Fact => ({
    key: 'vm-pool',
    vcpu: 3,
    memoryMib: 3000,
    diskGb: '7.777',
    pool: p,
  });
  const power = (s: Fact['power']): Fact => ({
    key: 'vm-power',
    vcpu: 1,
    memoryMib: 512,
    diskGb: '0.000',
    pool: null,
    power: s,
  });
  const tmpl: Fact = { key: 'tmpl', vcpu: 8, memoryMib: 8192, diskGb: '40.000', template: true };
  // The day before and after: must not leak into D.
  await addCapture(db.sql, A, '2026-03-09T23:59:59Z', [steady, { ...steady, key: 'vm-yesterday' }]);
  await addCapture(db.sql, A, at('00'), [
    steady,
    deleted,
    small,
    pool('Gold'),
    power('poweredOn'),
    tmpl,
  ]);
  await addCapture(db.sql, A, at('06'), [
    steady,
    deleted,
    small,
    pool('Silver'),
    power('poweredOff'),
    tmpl,
  ]);
  await addCapture(db.sql, A, at('12'), [
    steady,
    created,
    { ...big, name: 'vm-resize-renamed' },
    pool('Silver'),
    power('poweredOff'),
    tmpl,
  ]);
  await addCapture(db.sql, A, at('18'), [
    steady,
    created,
    { ...big, name: 'vm-resize-renamed' },
    power('suspended'),
    tmpl,
  ]);
  await addCapture(db.sql, A, '2026-03-11T00:00:00Z', [steady]);
  await addLifecycle(db.sql, A, 'vm-steady', {
    firstSeen: '2026-01-01T00:00:00Z',
    lastSeen: '2026-03-11T00:00:00Z',
    created: '2025-06-01T08:00:00Z',
  });
  await addLifecycle(db.sql, A, 'qemu/100@2', {
    vmId: '100',
    firstSeen: at('12'),
    lastSeen: at('18'),
    created: '2026-03-10T10:30:00Z',
  });
  await addLifecycle(db.sql, A, 'qemu/100@1', {
    vmId: '100',
    firstSeen: '2026-02-01T00:00:00Z',
    lastSeen: at('06'),
    created: '2026-02-01T00:00:00Z',
    deleted: '2026-03-10T07:15:00Z',
  });
  await addLifecycle(db.sql, A, 'vm-power', {
    firstSeen: '2026-01-01T00:00:00Z',
    lastSeen: at('18'),
    created: null,
  });
});

test.after(async () => {
  await db?.drop();
});

test('daily: steady VM, creation and deletion inside the day, vmid reuse, resize, pools, power, no creation time', async () => {
  const { sql: rows } = await both('daily', A, D);
  const r = byKey(rows);
  assert.equal(Object.keys(r), [
    'qemu/100@1',
    'qemu/100@2',
    'vm-pool',
    'vm-power',
    'vm-resize',
    'vm-steady',
  ], 'templates and other days excluded');
  // 4 captures, 86,400 s: each sample stands for 6 hours.
  assert.equal(
    [
      r['vm-steady'].total_samples,
      r['vm-steady'].samples_present,
      r['vm-steady'].day_seconds,
      r['vm-steady'].presence,
    ],
    [4, 4, 86400, '1.000000'],
  );
  assert.equal(
    [
      r['vm-steady'].avg_vcpu,
      r['vm-steady'].avg_ram_gb,
      r['vm-steady'].avg_disk_gb,
      r['vm-steady'].vcpu_hours,
      r['vm-steady'].ram_gb_hours,
      r['vm-steady'].disk_gb_hours,
    ],
    ['2.000000', '4.000000', '50.000000', '48.000000', '96.000000', '1200.000000'],
  );
  assert.is(r['vm-steady'].created_at, '2025-06-01 08:00:00+00');
  assert.is(r['vm-steady'].pool_pct, '{"Gold": 100.000000}');

  // Created 10:30, seen at 12 and 18: half the day, half its size on average.
  const c = r['qemu/100@2'];
  assert.equal([
    c.source_vm_id,
    c.samples_present,
    c.presence,
    c.avg_vcpu,
    c.avg_ram_gb,
    c.avg_disk_gb,
  ], ['100', 2, '0.500000', '2.000000', '4.000000', '50.250000']);
  assert.equal([c.vcpu_hours, c.ram_gb_hours, c.disk_gb_hours], [
    '48.000000',
    '96.000000',
    '1206.000000',
  ]);
  assert.equal([c.created_at, c.deleted_at, c.first_sample_at], [
    '2026-03-10 10:30:00+00',
    null,
    '2026-03-10 12:00:00+00',
  ]);

  // Same vmid 100, an older generation deleted at 07:15: a separate row.
  const d = r['qemu/100@1'];
  assert.equal([d.source_vm_id, d.presence, d.avg_vcpu, d.avg_ram_gb, d.avg_disk_gb], [
    '100',
    '0.500000',
    '0.500000',
    '0.500000',
    '10.000000',
  ]);
  assert.equal([d.vcpu_hours, d.ram_gb_hours, d.disk_gb_hours], [
    '12.000000',
    '12.000000',
    '240.000000',
  ]);
  assert.equal([d.deleted_at, d.last_sample_at], [
    '2026-03-10 07:15:00+00',
    '2026-03-10 06:00:00+00',
  ]);

  // Resized at noon from 2 vCPU / 2 GB to 4 vCPU / 6 GB; renamed with it.
  const z = r['vm-resize'];
  assert.equal([z.name, z.avg_vcpu, z.avg_ram_gb, z.avg_disk_gb], [
    'vm-resize-renamed',
    '3.000000',
    '4.000000',
    '10.001000',
  ]);
  assert.equal([z.vcpu_hours, z.ram_gb_hours, z.disk_gb_hours], [
    '72.000000',
    '96.000000',
    '240.024000',
  ]);

  // Gold once, Silver twice, absent at 18: partial presence and thirds.
  const p = r['vm-pool'];
  assert.equal([p.samples_present, p.presence, p.pool_samples, p.pool_pct], [
    3,
    '0.750000',
    '{"Gold": 1, "Silver": 2}',
    '{"Gold": 33.333333, "Silver": 66.666667}',
  ]);
  // 9000 MB / 1024 / 4 = 2.197265625 → 2.197266 (half up); 23.331 GB / 4 = 5.83275.
  assert.equal([p.avg_vcpu, p.avg_ram_gb, p.avg_disk_gb], ['2.250000', '2.197266', '5.832750']);
  assert.equal([p.vcpu_hours, p.ram_gb_hours, p.disk_gb_hours], [
    '54.000000',
    '52.734375',
    '139.986000',
  ]);

  // On, off, off, suspended: a quarter on; no pool; the source never gave a creation time.
  const w = r['vm-power'];
  assert.equal([w.powered_on_samples, w.powered_on_ratio, w.powered_on_hours], [
    1,
    '0.250000',
    '6.000000',
  ]);
  assert.equal([w.pool_pct, w.avg_ram_gb, w.created_at], [
    '{"(none)": 100.000000}',
    '0.500000',
    null,
  ]);
});

test('daily source totals are exact sums over the VMs', async () => {
  await both('daily', A, D);
  const [t] = await db.sql`select * from source_daily_totals where source_id = ${A} and day = ${D}`;
  assert.is(t.total_samples, 4);
  assert.is(t.vm_count, 6);
  // Samples present: 4 + 2 + 2 + 4 + 3 + 4 = 19 → 19 / 4 VMs on average.
  assert.is(t.samples_present, 19);
  assert.is(t.avg_vm_count, '4.750000');
  // vCPU samples: 8 + 8 + 2 + 12 + 9 + 4 = 43 → 43 × 6 h.
  assert.is(t.vcpu_hours, '258.000000');
  const [reg] = await db
    .sql`select row_count, complete from snapshot_registry where kind = 'daily' and source_id = ${A}`;
  assert.equal([reg.row_count, reg.complete], [6, true]);
});

test('daily: a missed capture leaves 3 samples of 8 hours each', async () => {
  await addCapture(db.sql, B, at('00'), [
    { key: 'b-1', vcpu: 2, memoryMib: 1024, diskGb: '1.000' },
    {
      key: 'b-2',
      vcpu: 3,
      memoryMib: 1000,
      diskGb: '3.000',
    },
  ]);
  await addCapture(
    db.sql,
    B,
    at('08'),
    [{ key: 'b-1', vcpu: 2, memoryMib: 1024, diskGb: '1.000' }],
    false,
  );
  // (the 12:00 capture never arrived)
  await addCapture(db.sql, B, at('16'), [{
    key: 'b-1',
    vcpu: 2,
    memoryMib: 1024,
    diskGb: '1.000',
  }]);
  const r = byKey((await both('daily', B, D)).sql);
  assert.equal([r['b-1'].total_samples, r['b-1'].presence, r['b-1'].vcpu_hours], [
    3,
    '1.000000',
    '48.000000',
  ]);
  // 1000 MB / 1024 / 3 = 0.3255208… → 0.325521; 1000/1024 GB × 8 h = 7.8125.
  assert.equal([
    r['b-2'].presence,
    r['b-2'].avg_vcpu,
    r['b-2'].avg_ram_gb,
    r['b-2'].vcpu_hours,
    r['b-2'].ram_gb_hours,
  ], ['0.333333', '1.000000', '0.325521', '24.000000', '7.812500']);
  const [reg] = await db
    .sql`select complete from snapshot_registry where kind = 'daily' and source_id = ${B}`;
  assert.is(reg.complete, false, 'an incomplete capture makes the day incomplete');
});

test('daily: the DST day in Europe/Berlin has 23 hours', async () => {
  // Local 2026-03-29 runs from 2026-03-28T23:00Z to 2026-03-29T22:00Z.
  await addCapture(db.sql, C, '2026-03-28T22:00:00Z', [{
    key: 'c-1',
    vcpu: 2,
    memoryMib: 1024,
    diskGb: '1.000',
  }]); // previous local day
  for (let i = 0; i < 23; i++) {
    const t = new Date(Date.UTC(2026, 2, 28, 23 + i)).toISOString();
    const facts: Fact[] = [{ key: 'c-1', vcpu: 2, memoryMib: 1024, diskGb: '1.000' }];
    if (i < 10) facts.push({ key: 'c-2', vcpu: 1, memoryMib: 1024, diskGb: '2.000' });
    await addCapture(db.sql, C, t, facts);
  }
  await addCapture(db.sql, C, '2026-03-29T22:00:00Z', [{
    key: 'c-1',
    vcpu: 2,
    memoryMib: 1024,
    diskGb: '1.000',
  }]); // next local day
  const r = byKey((await both('daily', C, '2026-03-29', 'Europe/Berlin')).sql);
  assert.equal([
    r['c-1'].total_samples,
    r['c-1'].day_seconds,
    r['c-1'].presence,
    r['c-1'].vcpu_hours,
    r['c-1'].powered_on_hours,
  ], [23, 82800, '1.000000', '46.000000', '23.000000']);
  // 10 of 23 samples: 10/23 = 0.4347826… → 0.434783; 10 samples × 1 h × 2 GB disk = 20 GB-hours.
  assert.equal(
    [r['c-2'].presence, r['c-2'].avg_vcpu, r['c-2'].vcpu_hours, r['c-2'].disk_gb_hours],
    ['0.434783', '0.434783', '10.000000', '20.000000'],
  );
  assert.is(r['c-2'].first_sample_at, '2026-03-28 23:00:00+00');
});

test('monthly: a month with a missing day weighs days by their samples', async () => {
  const m1 = (vcpu: number, pool: string): Fact => ({
    key: 'm-1',
    vcpu,
    memoryMib: 2048,
    diskGb: '10.000',
    pool,
  });
  const m2: Fact = { key: 'm-2', vcpu: 4, memoryMib: 2048, diskGb: '5.500', pool: 'Gold' };
  // April 1: 2 captures (12 h each); April 2: none; April 3: 4 captures (6 h each).
  await addCapture(db.sql, B, '2026-04-01T00:00:00Z', [m1(2, 'Gold'), m2]);
  await addCapture(db.sql, B, '2026-04-01T12:00:00Z', [m1(2, 'Gold')]);
  for (const hh of ['00', '06', '12', '18']) {
    await addCapture(db.sql, B, `2026-04-03T${hh}:00:00Z`, [m1(2, 'Silver')]);
  }
  await both('daily', B, '2026-04-01');
  await both('daily', B, '2026-04-02');
  await both('daily', B, '2026-04-03');
  const r = byKey((await both('monthly', B, '2026-04-01')).sql);
  assert.equal([
    r['m-1'].total_samples,
    r['m-1'].days_covered,
    r['m-1'].days_present,
    r['m-1'].samples_present,
  ], [6, 2, 2, 6]);
  assert.equal([r['m-1'].presence, r['m-1'].avg_vcpu, r['m-1'].vcpu_hours, r['m-1'].ram_gb_hours], [
    '1.000000',
    '2.000000',
    '96.000000',
    '96.000000',
  ]);
  assert.is(r['m-1'].pool_pct, '{"Gold": 33.333333, "Silver": 66.666667}');
  // m-2: day 1 average 2 vCPU over 2 samples, absent on day 3 → (2 × 2) / 6 = 0.666667.
  assert.equal([
    r['m-2'].presence,
    r['m-2'].avg_vcpu,
    r['m-2'].avg_disk_gb,
    r['m-2'].vcpu_hours,
    r['m-2'].days_present,
  ], ['0.166667', '0.666667', '0.916667', '48.000000', 1]);
  const [t] = await db
    .sql`select * from source_monthly_totals where source_id = ${B} and month = '2026-04-01'`;
  assert.equal([t.total_samples, t.days_covered, t.complete, t.vm_count, t.vcpu_hours], [
    6,
    2,
    false,
    2,
    '144.000000',
  ]);
});

test('rerunning a period replaces it: same rows, no duplicates', async () => {
  const first = await periodFingerprint(db.sql, 'daily', A, D);
  await runAggregation(db.sql, 'sql', { kind: 'daily', sourceId: A, period: D, tz: 'UTC' });
  await runAggregation(db.sql, 'ts', { kind: 'daily', sourceId: A, period: D, tz: 'UTC' });
  assert.equal(await periodFingerprint(db.sql, 'daily', A, D), first);
});

test.run();
