/**
 * Usage tiers in the jobs: the daily aggregation job of a (source, day) computes that day's
 * tiers with its engine (both engines leave the same rows), a day whose raw usage was pruned
 * keeps its tiers, and the maintenance run applies the usage retention it is given.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startTestJobs } from '../support/jobs.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import type { Jobs } from '../../server/jobs/boss.ts';
import { enqueueAggregation } from '../../server/aggregate/aggregation_jobs.ts';
import { type JobRow, jobsByIds } from '../../server/jobs/job_queries.ts';
import { runMaintenance } from '../../server/maintenance/maintenance.ts';
import { setLogLevel } from '../../server/log.ts';
import { addCapture, addSource } from './aggregate_support.ts';
import { tierRows } from './usage_tiers_support.ts';

const test = suite('usage tiers in the aggregation and maintenance jobs');
const D = '2026-03-10';
let db: TestDatabase;
let jobs: Jobs;
let source: number;

async function settle(id: string, timeoutMs = 20_000): Promise<JobRow> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [j] = await jobsByIds(db.sql, [id]);
    if (j && ['completed', 'failed', 'cancelled'].includes(j.state)) return j;
    if (Date.now() > deadline) throw new Error(`job ${id} still ${j?.state}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const daily = async (engine: 'sql' | 'ts') => {
  const j = await enqueueAggregation(jobs, 'daily', { sourceId: source, period: D, engine });
  const done = await settle(j.id);
  assert.is(done.state, 'completed', JSON.stringify(done.output));
  return done.output as { usage: unknown };
};
const tiers = async () => ({
  hourly: await tierRows(db.sql, 'vm_usage_hourly', source, D, 'UTC'),
  daily: await tierRows(db.sql, 'vm_usage_daily', source, D, 'UTC'),
  hosts: await tierRows(db.sql, 'host_usage_daily', source, D, 'UTC'),
});

test.before(async () => {
  setLogLevel('warn');
  db = await createTestDatabase('usage_tiers_jobs');
  source = await addSource(db.sql, 'usage-jobs');
  for (const hh of ['00', '06', '12', '18']) {
    const at = `${D}T${hh}:00:00Z`;
    await addCapture(db.sql, source, at, [
      { key: 'u-1', vcpu: 2, memoryMib: 2048, diskGb: '10.000' },
      { key: 'u-2', vcpu: 1, memoryMib: 1024, diskGb: '5.000' },
    ]);
    await db.sql`update vm_hourly_stats set cpu_usage_mhz = ${Number(hh) * 10 + 1},
      guest_memory_mib = 512, host_memory_mib = 600 where source_id = ${source} and snapshot_time = ${at}`;
    await db
      .sql`insert into host_facts (source_id, host_key, snapshot_time, cpu_usage_mhz, memory_usage_mib)
      values (${source}, 'h', ${at}, ${Number(hh) * 100.5}, 1024)`;
  }
  jobs = await startTestJobs(db);
});

test.after(async () => {
  await jobs?.stop();
  await db?.drop();
});

test('the daily job computes the day’s usage tiers with its engine; both engines leave the same rows', async () => {
  const out = await daily('sql');
  assert.equal((out.usage as { vmHourlyRows: number }).vmHourlyRows, 8, JSON.stringify(out));
  const bySql = await tiers();
  assert.is(bySql.daily.length, 2);
  assert.equal(bySql.daily[0].cpu_avg_mhz, '91.000000');
  const [d] = await db
    .sql`select engine from usage_tier_days where source_id = ${source} and day = ${D}`;
  assert.is(d.engine, 'sql');
  await daily('ts');
  assert.equal(await tiers(), bySql);
  const [e] = await db
    .sql`select engine from usage_tier_days where source_id = ${source} and day = ${D}`;
  assert.is(e.engine, 'ts');
});

test('maintenance clears the raw usage of the computed day; a later daily job keeps its tiers', async () => {
  const before = await tiers();
  const r = await runMaintenance(db.sql, {
    retentionMonths: 0,
    usage: { rawDays: 7, hourlyDays: 90, dailyDays: 0 },
    now: new Date('2026-03-20T00:00:00Z'),
  });
  assert.equal([r.usage?.rawDaysPruned, r.usage?.vmFactsCleared, r.usage?.hostFactsCleared], [
    1,
    8,
    4,
  ]);
  const out = await daily('sql');
  assert.is(out.usage, 'kept (raw usage pruned)');
  assert.equal(await tiers(), before, 'the tiers are not recomputed from the cleared facts');
});

test.run();
