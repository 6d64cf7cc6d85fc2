/**
 * vm_daily_rollup.day_pool, the pool a VM-day is charged to: the pool holding most of the
 * day's samples, ties to the first name in byte order (not UTF-16 order). Both daily engines
 * store the same value, day_pool(pool_samples) agrees with it, and both costing engines tier
 * by it: VMs moving between pools within a day, ties, unmapped pools and no pool.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { runAggregation } from '../../server/aggregate/run.ts';
import { costFingerprint, runCosting } from '../../server/aggregate/cost_run.ts';
import { addCapture, addSource, dailyRows, type Fact } from './aggregate_support.ts';

const test = suite('costs: the day pool');
let db: TestDatabase;
let S: number;
const DAY = '2026-05-04';
const FF21 = '\uFF21'; // Ａ: before U+1F600 in bytes, after it in UTF-16 code units
const SMILE = '\u{1F600}';

/** The VMs of capture `i` (0–3) of the day: pools per capture, by VM. */
const POOLS: Record<string, (string | null)[]> = {
  tie: ['b-Silver', 'Gold', 'b-Silver', 'Gold'], // 2:2 → "Gold" (G < b)
  moved: ['Silver-1', 'Gold', 'Gold', 'Gold'], // 1:3 → Gold
  bytes: [FF21, SMILE, FF21, SMILE], // 2:2 → U+FF21 in byte order
  split: ['Lab', 'Lab', 'Silver-2', null], // 2:1:1 → Lab (unmapped)
  nopool: [null, null, null, null], // "(none)"
  upper: ['pool-a', 'pool-Z', 'pool-a', 'pool-Z'], // 2:2 → "pool-Z"
};

test.before(async () => {
  db = await createTestDatabase('costs_day_pool');
  S = await addSource(db.sql, 'day-pool');
  for (let i = 0; i < 4; i++) {
    const facts: Fact[] = Object.entries(POOLS).map(([key, pools]) => ({
      key,
      vcpu: 2,
      memoryMib: 2048,
      diskGb: '10.000',
      pool: pools[i],
    }));
    await addCapture(db.sql, S, `${DAY}T0${i * 2}:00:00Z`, facts);
  }
  await db
    .sql`insert into cost_tiers (name, position) values ('Gold', 1), ('Silver', 2), ('Wide', 3)`;
  await db.sql`insert into tier_rules (position, match, pattern, tier) values
    (1, 'exact', 'Gold', 'Gold'), (2, 'prefix', 'Silver', 'Silver'), (3, 'regex', '^b-', 'Silver'),
    (4, 'exact', ${FF21}, 'Wide'), (5, 'regex', '^pool-[a-z]$', 'Silver')`;
  const [card] = await db.sql`insert into rate_cards (name, currency, is_default)
    values ('Standard', 'USD', true) returning id`;
  await db.sql`insert into rate_card_versions (card_id, effective_from, vcpu_hour, ram_gb_hour,
    disk_gb_month, vm_month) values (${card.id}, '2026-01-01', 0.010, 0.004, 0.090, 3.00)`;
});

test.after(async () => {
  await db?.drop();
});

const EXPECTED_POOL: Record<string, string> = {
  bytes: FF21,
  moved: 'Gold',
  nopool: '(none)',
  split: 'Lab',
  tie: 'Gold',
  upper: 'pool-Z',
};

test('both daily engines store the same day pool, and day_pool(pool_samples) agrees', async () => {
  const rows: Record<string, Awaited<ReturnType<typeof dailyRows>>> = {};
  for (const engine of ['ts', 'sql'] as const) {
    await runAggregation(db.sql, engine, { kind: 'daily', sourceId: S, period: DAY, tz: 'UTC' });
    rows[engine] = await dailyRows(db.sql, S, DAY);
    const pools = Object.fromEntries(rows[engine].map((r) => [r.vm_key, r.day_pool]));
    assert.equal(pools, EXPECTED_POOL, `${engine}: day pools`);
    const [d] = await db.sql`select count(*)::int as n from vm_daily_rollup
      where source_id = ${S} and day = ${DAY} and day_pool is distinct from day_pool(pool_samples)`;
    assert.is(d.n, 0, `${engine}: day_pool(pool_samples) agrees`);
  }
  assert.equal(rows.ts, rows.sql, 'the engines agree row by row');
});

test('both costing engines tier each day by its day pool, with identical lines', async () => {
  const prints: string[] = [];
  for (const engine of ['sql', 'ts'] as const) {
    const { runId } = await runCosting(db.sql, engine, { sourceId: S, month: '2026-05-01' });
    const lines = await db.sql`select vm_key, tier from vm_cost_lines where run_id = ${runId}
      order by vm_key`;
    assert.equal(Object.fromEntries(lines.map((l) => [l.vm_key, l.tier])), {
      bytes: 'Wide',
      moved: 'Gold',
      nopool: 'unassigned',
      split: 'unassigned',
      tie: 'Gold',
      upper: 'unassigned', // pool-Z: the regex is lowercase only
    }, `${engine}: tiers`);
    prints.push((await costFingerprint(db.sql, runId)).checksum);
  }
  assert.is(prints[0], prints[1], 'sql and ts lines identical');
});

test.run();
