/**
 * Costing through the real job path (issue 22): a monthly aggregation job of a closed month
 * costs the month with the configured engine after checking the other engine gives the same
 * lines; rerunning the job changes nothing (the current run stays); a rate change makes the
 * next run reprice it; without a default rate card the job completes and says why it did not
 * cost.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startTestJobs } from '../support/jobs.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import type { Jobs } from '../../server/jobs/boss.ts';
import { enqueueAggregation } from '../../server/aggregate/aggregation_jobs.ts';
import { type JobRow, jobsByIds } from '../../server/jobs/job_queries.ts';
import { runAggregation } from '../../server/aggregate/run.ts';
import { daysBetween } from '../../server/aggregate/period.ts';
import { addCapture, addSource } from './aggregate_support.ts';
import { setLogLevel } from '../../server/log.ts';

const test = suite('costing after the monthly aggregation job');
const MONTH = '2026-02-01';
let db: TestDatabase;
let jobs: Jobs;
let source: number;
let card: number;

async function settle(id: string, timeoutMs = 30_000): Promise<JobRow> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [j] = await jobsByIds(db.sql, [id]);
    if (j && ['completed', 'failed', 'cancelled'].includes(j.state)) return j;
    if (Date.now() > deadline) throw new Error(`job ${id} still ${j?.state}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function monthlyJob(engine?: 'sql' | 'ts') {
  const job = await enqueueAggregation(jobs, 'monthly', {
    sourceId: source,
    period: MONTH,
    engine,
  });
  const done = await settle(job.id);
  assert.is(done.state, 'completed', JSON.stringify(done.output));
  return done.output as { costs: Record<string, unknown> };
}

const runs = () =>
  db.sql`select id::int, engine, total::text, superseded_at is null as current
         from cost_runs where source_id = ${source} and month = ${MONTH} order by id`;

test.before(async () => {
  setLogLevel('warn');
  db = await createTestDatabase('jobs_costing');
  source = await addSource(db.sql, 'jobs-costing');
  // Two VMs all of February 2026 (28 days), one capture a day; "b" powered off from the 15th.
  for (const d of daysBetween('2026-02-01', '2026-02-28')) {
    await addCapture(db.sql, source, `${d}T12:00:00Z`, [
      { key: 'a', vcpu: 2, memoryMib: 2048, diskGb: '28.000', pool: 'Gold' },
      {
        key: 'b',
        vcpu: 1,
        memoryMib: 1024,
        diskGb: '14.000',
        pool: 'Lab',
        power: d >= '2026-02-15' ? 'poweredOff' : 'poweredOn',
      },
    ]);
    await runAggregation(db.sql, 'sql', { kind: 'daily', sourceId: source, period: d, tz: 'UTC' });
  }
  jobs = await startTestJobs(db);
});

test.after(async () => {
  await jobs?.stop();
  await db?.drop();
});

test('without a default rate card the monthly job completes and costs nothing', async () => {
  const out = await monthlyJob();
  assert.equal(out.costs, { costed: false, reason: 'no default rate card' });
  assert.is((await runs()).length, 0);
});

test('the monthly job costs the closed month, both engines agreeing', async () => {
  await db.sql`insert into cost_tiers (name) values ('Gold')`;
  await db
    .sql`insert into tier_rules (position, match, pattern, tier) values (1, 'exact', 'Gold', 'Gold')`;
  [{ id: card }] = await db.sql`insert into rate_cards (name, currency, is_default)
    values ('Std', 'EUR', true) returning id::int`;
  const [v] = await db.sql`insert into rate_card_versions
    (card_id, effective_from, vcpu_hour, ram_gb_hour, disk_gb_month, vm_month)
    values (${card}, '2026-01-01', 0.01, 0.005, 0.1, 2.8) returning id::int`;
  await db
    .sql`insert into rate_card_tier_prices (version_id, tier, multiplier) values (${v.id}, 'Gold', 2)`;
  const out = await monthlyJob();
  assert.is(out.costs.costed, true);
  assert.is(out.costs.parity, 'ok');
  const r = await runs();
  assert.equal(r.map((x) => [x.engine, x.current]), [['sql', true]]);
  // a (Gold ×2): 28 × 48 vCPU-h × 0.02 = 26.88; 28 × 48 GB-h × 0.01 = 13.44;
  //   28 GB × 28 days × 0.2 / 28 = 5.60; 28 days × 5.6 / 28 = 5.60 → 51.52.
  // b (unassigned, base): 14 × 24 vCPU-h × 0.01 = 3.36; 14 × 24 GB-h × 0.005 = 1.68;
  //   14 GB × 28 × 0.1 / 28 = 1.40; 28 × 2.8 / 28 = 2.80 → 9.24.
  assert.is(r[0].total, '60.76');
  assert.is(out.costs.runId, r[0].id);
});

test('rerunning the monthly job (either engine) keeps the current run', async () => {
  const before = await runs();
  for (const engine of ['ts', 'sql'] as const) {
    const out = await monthlyJob(engine);
    assert.is(out.costs.costed, false);
    assert.is(out.costs.runId, before[0].id);
  }
  assert.equal(await runs(), before, 'no new run');
});

test('after a rate change the next monthly job reprices the month and keeps the old run', async () => {
  await db.sql`update rate_card_versions set vm_month = 5.6 where card_id = ${card}`;
  const out = await monthlyJob('ts');
  assert.is(out.costs.costed, true);
  const r = await runs();
  assert.equal(r.map((x) => [x.engine, x.current, x.total]), [
    ['sql', false, '60.76'],
    // VM fees double: a 5.60 → 11.20, b 2.80 → 5.60.
    ['ts', true, '69.16'],
  ]);
});

test('an open month is aggregated but not costed', async () => {
  const open = new Date().toISOString().slice(0, 7) + '-01';
  const job = await enqueueAggregation(jobs, 'monthly', { sourceId: source, period: open });
  const done = await settle(job.id);
  assert.is(done.state, 'completed');
  assert.is((done.output as { costs?: unknown }).costs, undefined);
});

test.run();
