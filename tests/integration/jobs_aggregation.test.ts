/**
 * Aggregation through pg-boss on a real PostgreSQL: jobs are idempotent (rerun = same
 * rows), a late capture for a closed day enqueues that day, the daily tick finds stale
 * days, a failing job is visible with its error (API too) and can be retried, and the
 * admin API reruns a range and waits for it.
 */
import { startTestJobs } from '../support/jobs.ts';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { createApp } from '../../server/app.ts';
import { createToken } from '../../server/auth/tokens.ts';
import type { Jobs } from '../../server/jobs/boss.ts';
import {
  dailyTick,
  enqueueAggregation,
  notifyCaptureStored,
} from '../../server/aggregate/aggregation_jobs.ts';
import { type JobRow, jobsByIds } from '../../server/jobs/job_queries.ts';
import { periodFingerprint } from '../../server/aggregate/checksum.ts';
import type { RollupPage } from '../../server/aggregate/rollup_queries.ts';
import { type ApiErrorBody, readJson } from '../support/api_bodies.ts';
import { addCapture, addSource } from './aggregate_support.ts';
import { setLogLevel } from '../../server/log.ts';

const test = suite('aggregation jobs (pg-boss)');
const D = '2026-03-10';
let db: TestDatabase;
let jobs: Jobs;
let source: number;
let admin: string;
let viewer: string;
let app: ReturnType<typeof createApp>;

const call = (path: string, token: string, init: RequestInit = {}) =>
  Promise.resolve(
    app.request(path, {
      ...init,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    }),
  );

async function settle(id: string, timeoutMs = 20_000): Promise<JobRow> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [j] = await jobsByIds(db.sql, [id]);
    if (j && ['completed', 'failed', 'cancelled'].includes(j.state)) return j;
    if (Date.now() > deadline) throw new Error(`job ${id} still ${j?.state}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test.before(async () => {
  setLogLevel('warn');
  db = await createTestDatabase('jobs_aggregation');
  source = await addSource(db.sql, 'jobs');
  for (const hh of ['00', '06', '12', '18']) {
    await addCapture(db.sql, source, `${D}T${hh}:00:00Z`, [
      { key: 'j-1', vcpu: 2, memoryMib: 2048, diskGb: '10.000', pool: 'Gold' },
      {
        key: 'j-2',
        vcpu: 1,
        memoryMib: 1024,
        diskGb: '5.000',
        pool: hh < '12' ? 'Gold' : 'Silver',
      },
    ]);
  }
  jobs = await startTestJobs(db);
  app = createApp(db.sql, { maxBodyBytes: 1 << 20, sessionHours: 1, jobs });
  admin = (await createToken(db.sql, { name: 'admin', role: 'admin' })).token;
  viewer = (await createToken(db.sql, { name: 'viewer', role: 'viewer' })).token;
});

test.after(async () => {
  await jobs?.stop();
  await db?.drop();
});

test('a daily job run twice (sql, then ts) leaves the same rows', async () => {
  const first = await enqueueAggregation(jobs, 'daily', {
    sourceId: source,
    period: D,
    engine: 'sql',
  });
  assert.is((await settle(first.id)).state, 'completed');
  const a = await periodFingerprint(db.sql, 'daily', source, D);
  assert.is(a.rows, 2);
  const second = await enqueueAggregation(jobs, 'daily', {
    sourceId: source,
    period: D,
    engine: 'ts',
  });
  assert.is.not(second.id, first.id);
  assert.is((await settle(second.id)).state, 'completed');
  assert.equal(await periodFingerprint(db.sql, 'daily', source, D), a);
});

test('a late capture for a closed day enqueues that day; an open day enqueues nothing', async () => {
  const now = new Date('2026-03-12T09:00:00Z');
  assert.is(
    await notifyCaptureStored(jobs, { sourceId: source, capturedAt: '2026-03-12T08:00:00Z' }, now),
    null,
  );
  await addCapture(db.sql, source, `${D}T21:00:00Z`, [{
    key: 'j-late',
    vcpu: 4,
    memoryMib: 4096,
    diskGb: '1.000',
  }]);
  const job = await notifyCaptureStored(
    jobs,
    { sourceId: source, capturedAt: `${D}T21:00:00Z` },
    now,
  );
  assert.ok(job);
  assert.equal([job!.queue, job!.period, job!.sourceId], ['aggregate-daily', D, source]);
  assert.is((await settle(job!.id)).state, 'completed');
  const rows = await db
    .sql`select vm_key, total_samples from vm_daily_rollup where source_id = ${source} and day = ${D} order by vm_key`;
  assert.equal(rows.map((r) => [r.vm_key, r.total_samples]), [['j-1', 5], ['j-2', 5], [
    'j-late',
    5,
  ]]);
  // The closed month of that day is re-aggregated after it (cascade).
  await new Promise((r) => setTimeout(r, 300));
  const monthly = await jobs.boss.findJobs('aggregate-monthly', { key: `${source}:2026-03-01` });
  assert.ok(monthly.length >= 1, 'monthly job enqueued for the closed month');
});

test('the daily tick enqueues closed days whose captures are newer than their rollup', async () => {
  assert.equal(await dailyTick(jobs, 3650), [], 'nothing stale after the reruns');
  await addCapture(db.sql, source, `${D}T22:00:00Z`, [{
    key: 'j-1',
    vcpu: 2,
    memoryMib: 2048,
    diskGb: '10.000',
  }]);
  const ticked = await dailyTick(jobs, 3650);
  assert.equal(ticked.map((j) => [j.sourceId, j.period]), [[source, D]]);
  assert.is((await settle(ticked[0].id)).state, 'completed');
});

test('a failing job is visible with its error and an admin can retry it', async () => {
  const bad = await enqueueAggregation(jobs, 'daily', { sourceId: 999999, period: D }, {
    retryLimit: 0,
  });
  const j = await settle(bad.id);
  assert.is(j.state, 'failed');
  assert.match(j.error ?? '', 'source 999999 does not exist');
  const res = await call('/api/v1/jobs?state=failed', admin);
  assert.is(res.status, 200);
  const listed = (await res.json()).items.find((x: JobRow) => x.id === bad.id);
  assert.ok(listed, 'failed job listed');
  assert.match(listed.error, 'source 999999 does not exist');
  assert.is((await call('/api/v1/jobs', viewer)).status, 403);
  const retried = await call(`/api/v1/jobs/aggregate-daily/${bad.id}/retry`, admin, {
    method: 'POST',
  });
  assert.is(retried.status, 200);
  assert.is.not((await retried.json()).job.state, 'failed');
});

test('POST /aggregations reruns a range and waits; progress and rollups are readable', async () => {
  const res = await call('/api/v1/aggregations', admin, {
    method: 'POST',
    body: JSON.stringify({
      kind: 'daily',
      source,
      from: '2026-03-09',
      to: '2026-03-10',
      engine: 'ts',
      wait: true,
    }),
  });
  assert.is(res.status, 200);
  const body = await res.json();
  assert.is(body.state, 'completed');
  assert.is(body.jobs.length, 2);
  const progress = await (await call(`/api/v1/aggregations/${body.id}`, admin)).json();
  assert.equal([progress.state, progress.counts], ['completed', { completed: 2 }]);

  const page = await readJson<RollupPage>(
    await call(`/api/v1/rollups/daily?day=${D}&source=${source}&limit=2`, viewer),
  );
  assert.is(page.total, 3);
  assert.is(page.items.length, 2);
  assert.ok(page.next);
  const j2 = page.items.find((r) => r.key === 'j-2');
  assert.ok(j2, 'j-2 on the first page');
  assert.equal(
    [j2.totalSamples, j2.samplesPresent, j2.presence, j2.avgVcpu, j2.poolPct],
    [6, 4, 0.666667, 0.666667, { Gold: 50, Silver: 50 }],
  );
  for (
    const f of [
      'avgRamGb',
      'avgDiskGb',
      'poweredOnRatio',
      'vcpuHours',
      'ramGbHours',
      'diskGbHours',
    ] as const
  ) assert.type(j2[f], 'number');

  const monthly = await call('/api/v1/aggregations', admin, {
    method: 'POST',
    body: JSON.stringify({ kind: 'monthly', source, from: '2026-03', to: '2026-03', wait: true }),
  });
  assert.is((await monthly.json()).state, 'completed');
  const m = await (await call(`/api/v1/rollups/monthly?month=2026-03&source=${source}`, viewer))
    .json();
  assert.is(m.total, 3);

  // Accept: text/csv streams the whole day (not one page) with a header row.
  const csv = await app.request(`/api/v1/rollups/daily?day=${D}&source=${source}&limit=1`, {
    headers: { authorization: `Bearer ${viewer}`, accept: 'text/csv' },
  });
  assert.is(csv.status, 200);
  assert.match(csv.headers.get('content-type')!, /^text\/csv/);
  assert.match(csv.headers.get('content-disposition')!, new RegExp(`vmledger-daily-${D}\\.csv`));
  const lines = (await csv.text()).trim().split('\r\n');
  assert.is(lines.length, 1 + 3, 'header + every VM of the day');
  const header = lines[0].split(',');
  const row = lines.find((l) => l.startsWith('j-2,'))!.split(',');
  assert.is(row[header.indexOf('presence')], '0.666667');
  assert.is(row[header.indexOf('poolPct')], 'Gold=50;Silver=50');
});

test('bad input answers 400 with every problem and where', async () => {
  const res = await call('/api/v1/aggregations', admin, {
    method: 'POST',
    body: JSON.stringify({ kind: 'weekly', from: '2026-13-01' }),
  });
  assert.is(res.status, 400);
  const { error } = await readJson<ApiErrorBody>(res);
  assert.is(error.code, 'invalid_request');
  const paths = error.issues.map((i) => i.path);
  assert.ok(
    paths.includes('kind') && paths.includes('from') && paths.includes('to'),
    JSON.stringify(error.issues),
  );
  const q = await call('/api/v1/rollups/daily?day=2026-02-30', viewer);
  assert.is(q.status, 400);
  assert.is((await q.json()).error.issues[0].path, 'day');
  assert.is(
    (await call('/api/v1/aggregations', viewer, { method: 'POST', body: '{}' })).status,
    403,
  );
});

test('POST /benchmarks runs a benchmark job stored in benchmark_runs', async () => {
  const res = await call('/api/v1/benchmarks', admin, {
    method: 'POST',
    body: JSON.stringify({ kind: 'daily', source, period: D, reps: 1 }),
  });
  assert.is(res.status, 202);
  const { jobId } = await res.json();
  const j = await settle(jobId, 30_000);
  assert.is(j.state, 'completed', JSON.stringify(j.output));
  assert.is((j.output as { parity: boolean }).parity, true);
  const list = await (await call('/api/v1/benchmarks', viewer)).json();
  assert.is(list.items[0].runs.length, 3);
  assert.is(list.items[0].parity, 'match');
  assert.match(list.items[0].explain, /Buffers|auto_explain/);
});

test.run();
