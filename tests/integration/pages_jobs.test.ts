import { Hono } from 'hono';
import { pageSession, startTestJobs } from '../support/jobs.ts';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createToken } from '../../server/auth/tokens.ts';
import { handleError } from '../../server/http/errors.ts';
import type { Jobs } from '../../server/jobs/boss.ts';
import { AGGREGATION_QUEUES as QUEUES } from '../../server/aggregate/aggregation_jobs.ts';
import { pageRoutes } from '../../server/pages/routes.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';

const test = suite('pages: jobs on the dashboard and admin, retry through pg-boss');
let db: TestDatabase;
let jobs: Jobs;
let app: Hono;
let cookie = '';
let csrf = '';
let failedId = '';

test.before(async () => {
  db = await createTestDatabase('pages_jobs');
  // pg-boss without workers or schedules: the jobs stay where the test puts them.
  jobs = await startTestJobs(db, { dailyAt: '01:30', workers: false });
  app = new Hono();
  app.onError(handleError);
  app.route('/', pageRoutes(db.sql, { sessionHours: 1, jobs }));
  const { token } = await createToken(db.sql, { name: 'admin', role: 'admin' });
  ({ cookie, csrf } = await pageSession(app, token));
  failedId =
    (await jobs.boss.send(QUEUES.daily, { sourceId: 1, day: '2026-05-01' }, { retryLimit: 0 }))!;
  await jobs.boss.fail(QUEUES.daily, failedId, { message: 'rollup exploded on purpose' });
});
test.after(async () => {
  await jobs?.stop();
  await db?.drop();
});

test('the dashboard lists failed jobs with their error', async () => {
  const html = await (await app.request('/', { headers: { cookie } })).text();
  assert.match(html, /Failed jobs/);
  assert.match(html, /rollup exploded on purpose/);
  assert.match(html, new RegExp(QUEUES.daily));
});

test('admin jobs: counts by state, failed job retried with CSRF, then queued again', async () => {
  const page = await (await app.request('/admin/jobs?state=failed', { headers: { cookie } }))
    .text();
  assert.match(page, new RegExp(`action="/admin/jobs/${QUEUES.daily}/${failedId}/retry"`));
  const post = (form: string) =>
    app.request(`/admin/jobs/${QUEUES.daily}/${failedId}/retry`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: form,
    });
  assert.is((await post('')).status, 403);
  const ok = await post(`csrf=${csrf}`);
  assert.is(ok.status, 303);
  const [{ state }] = await db.sql`select state::text from pgboss.job where id = ${failedId}::uuid`;
  assert.is(state, 'retry');
  const again = await post(`csrf=${csrf}`);
  assert.is(again.status, 409);
  assert.match(await again.text(), /only failed jobs can be retried/);
  const [{ n }] = await db.sql`select count(*)::int as n from audit_log where action = 'job.retry'`;
  assert.is(n, 1);
});

test('the Jobs page lists every queue of every feature, empty ones too', async () => {
  const page = await (await app.request('/admin/jobs', { headers: { cookie } })).text();
  for (const queue of jobs.queues) assert.match(page, new RegExp(`<td>${queue}</td>`));
  for (const q of ['report-generate', 'maintenance', 'benchmark', QUEUES.daily]) {
    assert.ok(jobs.queues.includes(q), q);
  }
  assert.match(page, /action="\/admin\/aggregations"/);
});

test.run();
