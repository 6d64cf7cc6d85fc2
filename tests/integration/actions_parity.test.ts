/**
 * One path per action: requesting a report, retrying a job, rerunning aggregation and
 * starting a benchmark are each one module that the page form and the API route both call.
 * Each action is driven once through its page form (session + CSRF) and once through the
 * API with the same token, and the effects are compared: the rows written, the job queued
 * (same queue, same data), the worker's result, and the audit row (same action, target
 * shape, actor). Bad input gives the same error both ways (the page shows the API's
 * message) and changes nothing. `GET /api/v1/jobs` and the Jobs page see every queue.
 */
import { pageSession, startTestJobs } from '../support/jobs.ts';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { AGGREGATION_QUEUES } from '../../server/aggregate/aggregation_jobs.ts';
import { BENCHMARK_QUEUE } from '../../server/aggregate/benchmark_action.ts';
import { runAggregation } from '../../server/aggregate/run.ts';
import { createApp } from '../../server/app.ts';
import { createToken } from '../../server/auth/tokens.ts';
import { ApiDoc } from '../../server/http/api_doc.ts';
import type { Jobs } from '../../server/jobs/boss.ts';
import { MAINTENANCE_QUEUE } from '../../server/maintenance/maintenance_jobs.ts';
import { REPORT_QUEUES, reportsFeature } from '../../server/reports/report_jobs.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { addCapture, addSource } from './aggregate_support.ts';

const test = suite('actions: the page form and the API do the same thing');
const D = '2026-04-07';
let db: TestDatabase;
let jobs: Jobs;
const doc = new ApiDoc();
let app: ReturnType<typeof createApp>;
let source = 0;
let token = '';
let cookie = '';
let csrf = '';

test.before(async () => {
  db = await createTestDatabase('actions_parity');
  source = await addSource(db.sql, 'parity');
  for (const hh of ['00', '08', '16']) {
    await addCapture(db.sql, source, `${D}T${hh}:00:00Z`, [
      { key: 'p-1', vcpu: 2, memoryMib: 2048, diskGb: '10.000', pool: 'Gold' },
      { key: 'p-2', vcpu: 4, memoryMib: 1024, diskGb: '5.500' },
    ]);
  }
  await runAggregation(db.sql, 'sql', { kind: 'daily', sourceId: source, period: D, tz: 'UTC' });
  // Every feature's queues, no workers: queued jobs stay where the actions put them.
  jobs = await startTestJobs(db, { workers: false });
  app = createApp(db.sql, { maxBodyBytes: 1 << 20, sessionHours: 1, jobs, doc });
  // The page's session and the API's Bearer are the same token: the same actor.
  token = (await createToken(db.sql, { name: 'parity admin', role: 'admin' })).token;
  ({ cookie, csrf } = await pageSession(app, token, '/admin/jobs'));
});

test.after(async () => {
  await jobs?.stop();
  await db?.drop();
});

/** A page form post with the session and its CSRF token. */
const viaPage = (path: string, form: Record<string, string>) =>
  Promise.resolve(app.request(path, {
    method: 'POST',
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ csrf, ...form }).toString(),
  }));

/** An API call with the same token; every JSON answer must match its declared schema. */
async function viaApi(method: string, path: string, body?: unknown) {
  const res = await app.request(`/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json();
  const route = doc.find(method, `/api/v1${path.split('?')[0]}`)!;
  const schema = ApiDoc.replySchema(route, res.status);
  assert.ok(schema, `${method} ${path} ${res.status} declares a schema`);
  const parsed = schema!.safeParse(json);
  assert.ok(parsed.success, `${method} ${path} ${res.status}: ${JSON.stringify(json)}`);
  return { status: res.status, json };
}

/** The audit row of `target`, without its id and time. */
async function auditOf(target: string) {
  const rows = await db.sql`
    select action, actor_id, actor_name, ip, detail from audit_log where target = ${target}`;
  assert.is(rows.length, 1, `one audit row for ${target}`);
  return { ...rows[0] };
}

const escapeHtml = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');

test('request a report: same row, same queue, same audit row; the worker generates both', async () => {
  const page = await viaPage('/reports', { kind: 'daily', period: D, format: 'csv' });
  assert.is(page.status, 303);
  const [{ id: pageId }] = await db.sql`select id from reports order by created_at desc limit 1`;
  const api = await viaApi('POST', '/reports', { kind: 'daily', period: D, format: 'csv' });
  assert.is(api.status, 202);
  const effect = async (id: string) => {
    const [r] = await db.sql`
      select kind, period, format, status, origin, requested_by from reports where id = ${id}`;
    const queued = await jobs.boss.findJobs(REPORT_QUEUES.generate, { data: { reportId: id } });
    assert.is(queued.length, 1, `one ${REPORT_QUEUES.generate} job for ${id}`);
    return { report: { ...r }, audit: await auditOf(`report:${id}`) };
  };
  const a = await effect(pageId);
  const b = await effect(api.json.id);
  assert.equal(a, b);
  assert.equal(a.report, {
    kind: 'daily',
    period: D,
    format: 'csv',
    status: 'queued',
    origin: 'request',
    requested_by: a.audit.actor_id,
  });
  assert.equal([a.audit.action, a.audit.actor_name], ['report.request', 'parity admin']);
  assert.equal(a.audit.detail, { kind: 'daily', period: D, format: 'csv' });

  // The report job's worker (on any node: here a second job runner) generates both.
  const worker = await startTestJobs(db, { features: [reportsFeature] });
  try {
    const ids = [pageId, api.json.id];
    let rows: { status: string; row_count: number }[] = [];
    // Up to a minute: the worker polls its queue, and a loaded CI machine is slow to start it.
    for (let i = 0; i < 600; i++) {
      rows = [...await db.sql`select status, row_count from reports where id = any(${ids})`] as {
        status: string;
        row_count: number;
      }[];
      if (rows.every((r) => r.status === 'ready' || r.status === 'failed')) break;
      await new Promise((ok) => setTimeout(ok, 100));
    }
    assert.equal(rows.map((r) => r.status), ['ready', 'ready']);
    assert.is(rows[0].row_count, rows[1].row_count);
    assert.ok(rows[0].row_count > 0);
  } finally {
    await worker.stop();
  }
});

test('retry a job: both failed jobs go back to pg-boss with the same audit row', async () => {
  const failed = async (key: string) => {
    const id = (await jobs.boss.send(AGGREGATION_QUEUES.daily, { sourceId: source, period: D }, {
      singletonKey: key,
      retryLimit: 0,
    }))!;
    await jobs.boss.fail(AGGREGATION_QUEUES.daily, id, { message: 'failed on purpose' });
    return id;
  };
  const pageJob = await failed('parity:1');
  const apiJob = await failed('parity:2');
  const page = await viaPage(`/admin/jobs/${AGGREGATION_QUEUES.daily}/${pageJob}/retry`, {});
  assert.is(page.status, 303);
  const api = await viaApi('POST', `/jobs/${AGGREGATION_QUEUES.daily}/${apiJob}/retry`);
  assert.is(api.status, 200);
  assert.is(api.json.job.state, 'retry');
  const states = await db.sql`
    select id::text, state::text from pgboss.job where id = any(${[pageJob, apiJob]}::uuid[])`;
  assert.equal(states.map((s) => s.state), ['retry', 'retry']);
  const a = await auditOf(`job:${AGGREGATION_QUEUES.daily}/${pageJob}`);
  const b = await auditOf(`job:${AGGREGATION_QUEUES.daily}/${apiJob}`);
  assert.equal(a, b);
  assert.equal([a.action, a.actor_name], ['job.retry', 'parity admin']);
});

test('rerun aggregation: the same request, the same job, the same audit row; a progress page', async () => {
  const form = { kind: 'daily', source: String(source), from: D, to: D, engine: 'ts' };
  const page = await viaPage('/admin/aggregations', form);
  assert.is(page.status, 303);
  const pageId = /^\/admin\/aggregations\/([0-9a-f-]{36})$/.exec(page.headers.get('location')!)![1];
  const api = await viaApi('POST', '/aggregations', { ...form, source });
  assert.is(api.status, 202);
  const effect = async (id: string) => {
    const [r] = await db.sql`
      select kind, engine, params, jobs, requested_by from aggregation_requests where id = ${id}`;
    return { request: { ...r }, audit: await auditOf(`aggregation:${id}`) };
  };
  const a = await effect(pageId);
  const b = await effect(api.json.id);
  assert.equal(a, b);
  // One (source, day) is one job: the stately queue keeps one queued, both requests name it.
  assert.equal(a.request.jobs.map((j: { queue: string; period: string }) => [j.queue, j.period]), [
    [AGGREGATION_QUEUES.daily, D],
  ]);
  assert.equal(a.request.params, { kind: 'daily', source, from: D, to: D, engine: 'ts' });
  assert.equal([a.audit.action, a.audit.actor_name], ['aggregation.request', 'parity admin']);
  const [job] = await db.sql`select name, data from pgboss.job where id = ${a.request.jobs[0].id}`;
  assert.equal([job.name, job.data.engine, job.data.sourceId], [
    AGGREGATION_QUEUES.daily,
    'ts',
    source,
  ]);
  // The page shows the request's progress and polls while its jobs run; so does the API.
  const progress =
    await (await app.request(`/admin/aggregations/${pageId}`, { headers: { cookie } }))
      .text();
  assert.match(progress, /data-state="running"/);
  assert.match(progress, new RegExp(`hx-get="/admin/aggregations/${pageId}\\?part=status"`));
  assert.is((await viaApi('GET', `/aggregations/${pageId}`)).json.state, 'running');
});

test('start a benchmark: the same request, job and audit row', async () => {
  const page = await viaPage('/benchmarks', {
    source: String(source),
    kind: 'daily',
    period: D,
    reps: '1',
    engines: 'sql',
  });
  assert.is(page.status, 303);
  const pageId = /([0-9a-f-]{36})$/.exec(page.headers.get('location')!)![1];
  const api = await viaApi('POST', '/benchmarks', {
    source,
    kind: 'daily',
    period: D,
    reps: 1,
    engines: ['sql'],
  });
  assert.is(api.status, 202);
  const effect = async (id: string) => {
    const [r] = await db.sql`
      select b.kind, b.source_id, b.period::text, b.reps, b.engines, b.state, j.name as queue
      from benchmark_requests b join pgboss.job j on j.id = b.job_id where b.id = ${id}::uuid`;
    return { request: { ...r }, audit: await auditOf(`benchmark:${id}`) };
  };
  const a = await effect(pageId);
  assert.equal(a, await effect(api.json.id));
  assert.is(a.request.queue, BENCHMARK_QUEUE);
  assert.equal(a.request.engines, ['sql']);
  assert.equal([a.audit.action, a.audit.actor_name], ['benchmark.start', 'parity admin']);
});

test('GET /jobs and the Jobs page list every queue: a report job and a maintenance job too', async () => {
  const maintenance = (await jobs.boss.send(MAINTENANCE_QUEUE, {}))!;
  const all = await viaApi('GET', '/jobs?limit=1000');
  assert.equal([...all.json.queues].sort(), [...jobs.queues].sort());
  const queues = new Set(all.json.items.map((j: { queue: string }) => j.queue));
  for (const q of [REPORT_QUEUES.generate, MAINTENANCE_QUEUE, AGGREGATION_QUEUES.daily]) {
    assert.ok(queues.has(q), `GET /jobs lists a ${q} job`);
  }
  const only = await viaApi('GET', `/jobs?queue=${MAINTENANCE_QUEUE}`);
  assert.equal(only.json.items.map((j: { id: string }) => j.id), [maintenance]);
  const html = await (await app.request('/admin/jobs', { headers: { cookie } })).text();
  for (const q of jobs.queues) assert.match(html, new RegExp(`<td>${q}</td>`));
});

test('bad input: the same error through the page and the API, and nothing changes', async () => {
  const counts = async () =>
    (await db.sql`
      select (select count(*) from reports)::int as reports,
             (select count(*) from aggregation_requests)::int as aggregations,
             (select count(*) from benchmark_requests)::int as benchmarks,
             (select count(*) from audit_log)::int as audit,
             (select count(*) from pgboss.job)::int as jobs,
             (select count(*) from pgboss.job where state = 'retry')::int as retrying`)[0];
  const before = await counts();
  const [done] = await db.sql`select id::text from pgboss.job where name = ${MAINTENANCE_QUEUE}`;
  const missing = crypto.randomUUID();
  const cases: [string, Record<string, string>, string, unknown, number][] = [
    ['/reports', { kind: 'monthly', period: 'October' }, '/reports', {
      kind: 'monthly',
      period: 'October',
    }, 400],
    ['/reports', { kind: 'weekly' }, '/reports', { kind: 'weekly' }, 400],
    ['/reports', { kind: 'daily', period: '2999-01-01' }, '/reports', {
      kind: 'daily',
      period: '2999-01-01',
    }, 400],
    ['/admin/aggregations', { kind: 'daily', from: '2026-04', to: '2026-04' }, '/aggregations', {
      kind: 'daily',
      from: '2026-04',
      to: '2026-04',
    }, 400],
    [
      '/admin/aggregations',
      { kind: 'daily', source: '99999', from: D, to: D },
      '/aggregations',
      { kind: 'daily', source: 99999, from: D, to: D },
      400,
    ],
    ['/admin/aggregations', { kind: 'monthly', from: '2026-05', to: '2026-04' }, '/aggregations', {
      kind: 'monthly',
      from: '2026-05',
      to: '2026-04',
    }, 400],
    [
      '/benchmarks',
      { source: String(source), kind: 'daily', period: '2026-04', reps: '1', engines: 'ts' },
      '/benchmarks',
      { source, kind: 'daily', period: '2026-04', reps: 1, engines: ['ts'] },
      400,
    ],
    [
      `/admin/jobs/${AGGREGATION_QUEUES.daily}/${missing}/retry`,
      {},
      `/jobs/${AGGREGATION_QUEUES.daily}/${missing}/retry`,
      undefined,
      404,
    ],
    [
      `/admin/jobs/${MAINTENANCE_QUEUE}/${done.id}/retry`,
      {},
      `/jobs/${MAINTENANCE_QUEUE}/${done.id}/retry`,
      undefined,
      409,
    ],
  ];
  for (const [pagePath, form, apiPath, body, status] of cases) {
    const page = await viaPage(pagePath, form);
    const api = await viaApi('POST', apiPath, body);
    assert.is(api.status, status, `${apiPath} ${JSON.stringify(body)}`);
    assert.is(page.status, status, `${pagePath} ${JSON.stringify(form)}`);
    const html = await page.text();
    assert.match(page.headers.get('content-type')!, /^text\/html/);
    assert.ok(
      html.includes(escapeHtml(api.json.error.message)),
      `${pagePath} shows "${api.json.error.message}"`,
    );
  }
  assert.equal(await counts(), before);
});

test.run();
