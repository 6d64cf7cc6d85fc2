/**
 * "Start a benchmark" is one action (server/aggregate/benchmark_action.ts) behind the
 * Benchmarks page form and POST /api/v1/benchmarks: the same request row, the same job,
 * the same audit row and the same errors whichever way it comes; its job reports progress
 * and the request page then shows durations with their spread, parity, checksum and both
 * engines' plans.
 */
import { pageSession, startTestJobs } from '../support/jobs.ts';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createApp } from '../../server/app.ts';
import { createToken } from '../../server/auth/tokens.ts';
import { type BenchmarkJobData, runBenchmarkJob } from '../../server/aggregate/benchmark_action.ts';
import { getBenchmarkRequest } from '../../server/aggregate/benchmark_requests.ts';
import type { Jobs } from '../../server/jobs/boss.ts';
import { setLogLevel } from '../../server/log.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { addCapture, addSource } from './aggregate_support.ts';
import { startDemoBenchmark } from '../../scripts/demo_backfill.ts';

const test = suite('benchmark start: one action through the page form and the API');
const D = '2026-04-07';
let db: TestDatabase;
let jobs: Jobs;
let app: ReturnType<typeof createApp>;
let source = 0;
let admin = '';
let cookie = '';
let csrf = '';

test.before(async () => {
  setLogLevel('warn');
  db = await createTestDatabase('benchmark_start');
  source = await addSource(db.sql, 'bench');
  for (const hh of ['00', '08', '16']) {
    await addCapture(db.sql, source, `${D}T${hh}:00:00Z`, [
      { key: 'b-1', vcpu: 2, memoryMib: 2048, diskGb: '10.000', pool: 'Gold' },
      {
        key: 'b-2',
        vcpu: 4,
        memoryMib: 1024,
        diskGb: '5.500',
        power: hh === '16' ? 'poweredOff' : 'poweredOn',
      },
    ]);
  }
  // pg-boss without workers: queued jobs stay where the action put them.
  jobs = await startTestJobs(db, { workers: false });
  app = createApp(db.sql, { maxBodyBytes: 1 << 20, sessionHours: 1, jobs });
  admin = (await createToken(db.sql, { name: 'bench admin', role: 'admin' })).token;
  ({ cookie, csrf } = await pageSession(app, admin, '/benchmarks'));
});

test.after(async () => {
  await jobs?.stop();
  await db?.drop();
});

const viaPage = (form: Record<string, string | string[]>) => {
  const body = new URLSearchParams();
  body.set('csrf', csrf);
  for (const [k, v] of Object.entries(form)) {
    for (const x of Array.isArray(v) ? v : [v]) body.append(k, x);
  }
  return Promise.resolve(app.request('/benchmarks', {
    method: 'POST',
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: body.toString(),
  }));
};

const viaApi = (body: unknown) =>
  Promise.resolve(app.request('/api/v1/benchmarks', {
    method: 'POST',
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  }));

async function effect(id: string) {
  const [r] = await db.sql`
    select kind, source_id, period::text, reps, engines, state, done, total, requested_by, job_id::text
    from benchmark_requests where id = ${id}::uuid`;
  const [job] = await db
    .sql`select name, state::text, data from pgboss.job where id = ${r.job_id}::uuid`;
  const [a] = await db.sql`
    select action, actor_id, actor_name, ip, detail from audit_log where target = ${`benchmark:${id}`}`;
  const { job_id: _j, ...request } = r;
  const { requestId, ...data } = job.data as BenchmarkJobData;
  assert.is(requestId, id);
  return {
    request: { ...request },
    job: { name: job.name, state: job.state, data },
    audit: { ...a },
  };
}

test('the page form and the API start the same benchmark: request, job and audit row', async () => {
  const page = await viaPage({
    source: String(source),
    kind: 'daily',
    period: D,
    reps: '2',
    engines: ['sql', 'ts'],
  });
  assert.is(page.status, 303);
  const pageId =
    /^\/benchmarks\/requests\/([0-9a-f-]{36})$/.exec(page.headers.get('location')!)![1];
  const api = await viaApi({ kind: 'daily', source, period: D, reps: 2, engines: ['ts', 'sql'] });
  assert.is(api.status, 202);
  const body = await api.json();
  assert.ok(body.jobId);
  assert.is.not(body.id, pageId);
  const a = await effect(pageId);
  const b = await effect(body.id);
  assert.equal(a, b);
  assert.equal(a.request, {
    kind: 'daily',
    source_id: source,
    period: D,
    reps: 2,
    engines: ['sql', 'ts'],
    state: 'queued',
    done: 0,
    total: 6,
    requested_by: a.audit.actor_id,
  });
  assert.is(a.job.name, 'benchmark');
  assert.is(a.audit.action, 'benchmark.start');
  assert.is(a.audit.actor_name, 'bench admin');
  assert.equal(a.audit.detail, {
    kind: 'daily',
    source,
    period: D,
    reps: 2,
    engines: ['sql', 'ts'],
  });
  // The request page polls itself while queued.
  const status =
    await (await app.request(`/benchmarks/requests/${pageId}`, { headers: { cookie } }))
      .text();
  assert.match(status, /data-state="queued"/);
  assert.match(status, /hx-trigger="every 1s"/);
});

test('the same errors both ways, and nothing recorded', async () => {
  const [{ before }] = await db.sql`select count(*)::int as before from benchmark_requests`;
  const cases: [Record<string, string | string[]>, Record<string, unknown>][] = [
    [{ source: String(source), kind: 'daily', period: '2026-04', reps: '1', engines: 'sql' }, {
      kind: 'daily',
      source,
      period: '2026-04',
      reps: 1,
      engines: ['sql'],
    }],
    [{ source: '99999', kind: 'daily', period: D, reps: '1', engines: 'sql' }, {
      kind: 'daily',
      source: 99999,
      period: D,
      reps: 1,
      engines: ['sql'],
    }],
    [{ source: String(source), kind: 'daily', period: D, reps: '50', engines: 'sql' }, {
      kind: 'daily',
      source,
      period: D,
      reps: 50,
      engines: ['sql'],
    }],
    [{ source: String(source), kind: 'daily', period: D, reps: '1' }, {
      kind: 'daily',
      source,
      period: D,
      reps: 1,
      engines: [],
    }],
  ];
  for (const [form, json] of cases) {
    const page = await viaPage(form);
    const api = await viaApi(json);
    assert.is(page.status, 400);
    assert.is(api.status, 400);
    const message: string = (await api.json()).error.message;
    const html = await page.text();
    const escaped = message.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;').replace(/'/g, '&#39;');
    assert.ok(html.includes(escaped), `page shows "${message}"`);
  }
  const [{ after }] = await db.sql`select count(*)::int as after from benchmark_requests`;
  assert.is(after, before);
  // A viewer can neither see the form nor post it; without the CSRF token it is refused.
  const viewer = (await createToken(db.sql, { name: 'v', role: 'viewer' })).token;
  assert.is(
    (await Promise.resolve(app.request('/api/v1/benchmarks', {
      method: 'POST',
      headers: { authorization: `Bearer ${viewer}`, 'content-type': 'application/json' },
      body: JSON.stringify(cases[0][1]),
    }))).status,
    403,
  );
  const noCsrf = await app.request('/benchmarks', {
    method: 'POST',
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: `source=${source}&kind=daily&period=${D}&engines=sql`,
  });
  assert.is(noCsrf.status, 403);
});

test('the job keeps its progress; the request page then shows spread, parity, checksum and both plans', async () => {
  const res = await viaPage({
    source: String(source),
    kind: 'daily',
    period: D,
    reps: '2',
    engines: ['sql', 'ts', 'floor'],
  });
  const id = /([0-9a-f-]{36})$/.exec(res.headers.get('location')!)![1];
  const before = await getBenchmarkRequest(db.sql, id);
  const [job] = await db.sql`select id::text, data from pgboss.job where id = ${
    before!.jobId
  }::uuid`;
  const r = await runBenchmarkJob(db.sql, job.data as BenchmarkJobData, {
    tz: 'UTC',
    jobId: job.id,
  });
  assert.is(r.parity, true);
  assert.is(r.runs.length, 6);
  const done = await getBenchmarkRequest(db.sql, id);
  assert.is(done!.state, 'completed');
  assert.is(done!.done, done!.total);
  assert.is(done!.total, 8);
  assert.is(done!.runGroup, r.runGroup);
  const html =
    await (await app.request(`/benchmarks/requests/${id}?part=status`, { headers: { cookie } }))
      .text();
  assert.match(html, /data-state="completed"/);
  assert.not.match(html, /hx-trigger/);
  assert.match(html, /<tr data-engine="sql"><th scope="row">SQL<\/th><td class="num">2<\/td>/);
  assert.match(html, /<tr data-engine="ts">/);
  assert.match(html, /<tr data-engine="floor">/);
  assert.match(html, /Parity: <span class="badge ok"/);
  assert.ok(html.includes(r.runs[0].checksum));
  assert.match(html, /<pre class="plan" id="plan-sql"[^>]*>[^<]*(Buffers|auto_explain)/);
  assert.match(html, /<pre class="plan" id="plan-ts"[^>]*>[^<]*(vm_hourly_stats|auto_explain)/);
  // The list shows the run in its chart and the request as completed.
  const list = await (await app.request('/benchmarks', { headers: { cookie } })).text();
  assert.match(list, /id="chart-bench"/);
  assert.match(list, new RegExp(`href="/benchmarks/requests/${id}">Result`));
});

test('the demo queues one benchmark of yesterday for a demo source, through the same action', async () => {
  const id = await startDemoBenchmark({ sql: db.sql, jobs, tz: 'UTC' });
  assert.ok(id);
  const r = await getBenchmarkRequest(db.sql, id!);
  const yesterday = new Date(Date.now() - 86400_000).toISOString().slice(0, 10);
  assert.equal([r!.kind, r!.sourceId, r!.period, r!.state], ['daily', source, yesterday, 'queued']);
  assert.ok(r!.jobId);
  const [a] = await db.sql`select actor_name from audit_log where target = ${`benchmark:${id}`}`;
  assert.is(a.actor_name, 'demo');
});

test.run();
