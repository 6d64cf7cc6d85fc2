/**
 * Randomized (seeded) parity: 2,000 VMs with churn, hourly captures over three local days
 * in America/New_York (the middle one is the 23-hour DST day), one capture missed. Both
 * engines aggregate every day and the month; their rows must be equal row by row, column
 * by column, as must the source totals.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { type Engine, type Kind, runAggregation } from '../../server/aggregate/run.ts';
import { generateFacts } from '../support/synthetic_facts.ts';
import { addSource, dailyRows, monthlyRows } from './aggregate_support.ts';

const test = suite('aggregation parity (seeded, 2,000 VMs)');
const TZ = 'America/New_York';
const DAYS = ['2026-03-07', '2026-03-08', '2026-03-09'];
let db: TestDatabase;
let source: number;
let facts = 0;

test.before(async () => {
  db = await createTestDatabase('aggregate_parity');
  source = await addSource(db.sql, 'parity');
  // Local midnight of March 7 is 05:00Z; 24 + 23 + 24 hourly captures cover the three days.
  facts = await generateFacts(db.sql, {
    sourceId: source,
    vms: 2000,
    start: '2026-03-07T05:00:00Z',
    captures: 71,
    intervalSeconds: 3600,
    seed: 20260307,
    skip: [30],
  });
});

test.after(async () => {
  await db?.drop();
});

async function snapshot(kind: Kind, period: string) {
  const rows = kind === 'daily'
    ? await dailyRows(db.sql, source, period)
    : await monthlyRows(db.sql, source, period);
  const totals = kind === 'daily'
    ? await db
      .sql`select * from source_daily_totals where source_id = ${source} and day = ${period}`
    : await db
      .sql`select * from source_monthly_totals where source_id = ${source} and month = ${period}`;
  return { rows: rows.map((r) => ({ ...r })), totals: totals.map((r) => ({ ...r })) };
}

async function compare(kind: Kind, period: string) {
  const out = {} as Record<Engine, Awaited<ReturnType<typeof snapshot>>>;
  for (const engine of ['ts', 'sql'] as const) {
    await runAggregation(db.sql, engine, { kind, sourceId: source, period, tz: TZ });
    out[engine] = await snapshot(kind, period);
  }
  assert.ok(out.sql.rows.length > 1500, `${period}: expected most VMs, got ${out.sql.rows.length}`);
  assert.is(out.ts.rows.length, out.sql.rows.length, `${period}: row count`);
  for (let i = 0; i < out.sql.rows.length; i++) {
    assert.equal(
      out.ts.rows[i],
      out.sql.rows[i],
      `${period}: row ${i} (${out.sql.rows[i].vm_key})`,
    );
  }
  assert.equal(out.ts.totals, out.sql.totals, `${period}: totals`);
  return out.sql;
}

test('the generator made churn: partial presence, several pools, power changes, no creation time', async () => {
  assert.ok(facts > 110_000, `facts: ${facts}`);
  const [r] = await db.sql`
    select count(distinct vm_key)::int as vms, count(distinct resource_pool)::int as pools,
           count(*) filter (where power_state <> 'poweredOn')::int as off, count(distinct snapshot_time)::int as caps
    from vm_hourly_stats where source_id = ${source}`;
  assert.ok(r.vms >= 1990 && r.pools === 3 && r.off > 1000, JSON.stringify(r));
  assert.is(r.caps, 70, 'one capture missed');
  const [l] = await db
    .sql`select count(*) filter (where created_at is null)::int as unknown_created,
    count(*) filter (where deleted_at is not null)::int as deleted from vm_lifecycle where source_id = ${source}`;
  assert.ok(l.unknown_created > 50 && l.deleted > 100, JSON.stringify(l));
});

for (const day of DAYS) {
  test(`daily ${day}: sql and ts agree row by row`, async () => {
    const { rows } = await compare('daily', day);
    const hours = day === '2026-03-08' ? 23 : 24;
    assert.is(rows[0].day_seconds, hours * 3600);
    assert.ok(rows.some((r) => r.presence !== '1.000000'), 'some partial presence');
    assert.ok(
      rows.some((r) => Object.keys(JSON.parse(String(r.pool_pct))).length > 1),
      'some pool moves',
    );
  });
}

test('monthly March: sql and ts agree row by row', async () => {
  const { rows } = await compare('monthly', '2026-03-01');
  assert.is(rows[0].days_covered, 3);
  assert.is(rows[0].total_samples, 70);
});

test.run();
