/**
 * /metrics after real work: scrape, ingest a capture through the API, run an aggregation job
 * through pg-boss (and one that fails), make requests that answer 200, 401 and 404, block the
 * event loop and grow the heap, scrape again; every family moved, with the route template
 * (never the raw path), status, queue and outcome as labels. The exposition parses (escaped
 * label values included), every label name means one thing, and docs/metrics.md lists every
 * family.
 */
import { startTestJobs } from '../support/jobs.ts';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync } from 'node:fs';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { makeCapture } from '../support/captures.ts';
import { createApp } from '../../server/app.ts';
import { createToken } from '../../server/auth/tokens.ts';
import type { Jobs } from '../../server/jobs/boss.ts';
import { enqueueAggregation } from '../../server/aggregate/aggregation_jobs.ts';
import { jobsByIds } from '../../server/jobs/job_queries.ts';
import { setLogLevel } from '../../server/log.ts';
import { evaluateAlerts } from '../../server/alerts/evaluate.ts';

const test = suite('/metrics: every family moves after real work');
const D = '2026-03-10';
// Quote, backslash and a non-ASCII letter: the exposition must escape the first two.
const SOURCE_NAME = 'vc "metrics" \\ Zürich';
let db: TestDatabase;
let jobs: Jobs;
let app: ReturnType<typeof createApp>;
const tokens: Record<'admin' | 'viewer' | 'agent' | 'metrics', string> = {
  admin: '',
  viewer: '',
  agent: '',
  metrics: '',
};

const call = (path: string, token: string | null, init: RequestInit = {}) => {
  const headers = new Headers(init.headers);
  if (token) headers.set('authorization', `Bearer ${token}`);
  return Promise.resolve(app.request(path, { ...init, headers }));
};

type Sample = { name: string; labels: Record<string, string>; value: number };
type Scrape = { samples: Sample[]; types: Map<string, string> };

/** Parses the text exposition strictly enough to catch a broken line or a bad escape. */
function parse(text: string): Scrape {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  const helps = new Set<string>();
  const line = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
  const label = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/y;
  for (const l of text.split('\n')) {
    if (l === '') continue;
    const meta = /^# (HELP|TYPE) (\S+) (.*)$/.exec(l);
    if (meta) {
      const seen = meta[1] === 'TYPE' ? types.has(meta[2]) : helps.has(meta[2]);
      assert.not.ok(seen, `one ${meta[1]} for ${meta[2]}`);
      if (meta[1] === 'TYPE') types.set(meta[2], meta[3]);
      else helps.add(meta[2]);
      continue;
    }
    const m = line.exec(l);
    assert.ok(m, `a sample line: ${l}`);
    const labels: Record<string, string> = {};
    if (m[2]) {
      label.lastIndex = 0;
      while (label.lastIndex < m[2].length) {
        const lm = label.exec(m[2]);
        assert.ok(lm, `labels of ${l}`);
        labels[lm[1]] = lm[2].replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
      }
    }
    const value = m[3] === '+Inf' ? Infinity : Number(m[3]);
    assert.ok(!Number.isNaN(value), `a value: ${l}`);
    samples.push({ name: m[1], labels, value });
  }
  for (const s of samples) {
    const family = s.name.replace(/_(bucket|sum|count)$/, '');
    assert.ok(types.has(s.name) || types.has(family), `${s.name} has a TYPE`);
    assert.ok(helps.has(s.name) || helps.has(family), `${s.name} has a HELP`);
  }
  return { samples, types };
}

/** Sum of the samples of `name` whose labels include `labels`. */
function sum(s: Scrape, name: string, labels: Record<string, string> = {}): number {
  return s.samples
    .filter((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v))
    .reduce((a, x) => a + x.value, 0);
}

async function scrape(): Promise<Scrape> {
  const res = await call('/metrics', tokens.metrics);
  assert.is(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return parse(await res.text());
}

async function settle(id: string): Promise<string> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const [j] = await jobsByIds(db.sql, [id]);
    if (j && ['completed', 'failed', 'cancelled'].includes(j.state)) return j.state;
    if (Date.now() > deadline) throw new Error(`job ${id} still ${j?.state}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test.before(async () => {
  setLogLevel('silent');
  db = await createTestDatabase('metrics');
  jobs = await startTestJobs(db);
  app = createApp(db.sql, { maxBodyBytes: 1 << 20, sessionHours: 1, jobs });
  for (const role of ['admin', 'viewer', 'agent', 'metrics'] as const) {
    tokens[role] = (await createToken(db.sql, { name: role, role })).token;
  }
});

test.after(async () => {
  await jobs?.stop();
  await db?.drop();
});

test('a scrape after real work shows every family moved, with bounded labels', async () => {
  const before = await scrape();

  // Ingest through the API, then aggregate that day through pg-boss (and one job that fails).
  const capture = makeCapture({
    sourceId: 'vc-metrics',
    at: `${D}T12:00:00Z`,
    vms: [{ key: 'm-1' }, { key: 'm-2' }],
  });
  capture.source.name = SOURCE_NAME;
  const posted = await call('/api/v1/captures', tokens.agent, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(capture),
  });
  assert.is(posted.status, 201);
  const invalid = await call('/api/v1/captures', tokens.agent, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...capture, vms: 'none' }),
  });
  assert.is(invalid.status, 400);
  const [{ id: sourceId }] = await db.sql`select id from sources where external_id = 'vc-metrics'`;
  const agg = await call('/api/v1/aggregations', tokens.admin, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ kind: 'daily', source: sourceId, from: D, to: D, wait: true }),
  });
  assert.is(agg.status, 200);
  assert.is((await agg.json()).state, 'completed');
  const failing = await enqueueAggregation(jobs, 'daily', { sourceId: 999_999, period: D }, {
    retryLimit: 0,
  });
  assert.is(await settle(failing.id), 'failed');
  // The failed job fires an alert (rule job_failed).
  await evaluateAlerts(db.sql, { rules: ['job_failed'] });

  // Requests: 200, 401 (a wrong token), 404 from a route with parameters, 404 from the catch-all.
  assert.is((await call('/api/v1/vms?limit=10', tokens.viewer)).status, 200);
  assert.is((await call('/api/v1/vms?limit=10', 'vml_not-a-token')).status, 401);
  assert.is((await call(`/api/v1/vms/${sourceId}/no-such-vm`, tokens.viewer)).status, 404);
  assert.is((await call('/api/v1/no-such-route', tokens.viewer)).status, 404);

  // The event loop blocked for 60 ms; 32 MiB more resident (filled: pages touched).
  const until = performance.now() + 60;
  while (performance.now() < until) { /* busy */ }
  const held = new Uint8Array(32 << 20).fill(1);
  // ~50 MB of live JS objects: the V8 heap grows (its total too, whatever earlier suites left).
  const objects = Array.from({ length: 1_000_000 }, (_, i) => ({ i, s: `o${i}` }));

  const after = await scrape();
  assert.ok(held.length && objects.length);
  const delta = (name: string, labels: Record<string, string> = {}) =>
    sum(after, name, labels) - sum(before, name, labels);

  // HTTP: by method, route template and status; the duration histogram by method and route.
  const http = 'vmledger_http_requests_total';
  assert.is(delta(http, { method: 'POST', route: '/api/v1/captures', status: '201' }), 1);
  assert.is(delta(http, { method: 'POST', route: '/api/v1/captures', status: '400' }), 1);
  assert.is(delta(http, { method: 'POST', route: '/api/v1/aggregations', status: '200' }), 1);
  assert.is(delta(http, { method: 'GET', route: '/api/v1/vms', status: '200' }), 1);
  assert.is(delta(http, { method: 'GET', route: '/api/v1/vms', status: '401' }), 1);
  assert.is(delta(http, { method: 'GET', route: '/api/v1/vms/:source/:key', status: '404' }), 1);
  assert.is(delta(http, { method: 'GET', route: '/api/v1/*', status: '404' }), 1);
  assert.is(
    delta(http, { method: 'GET', route: '/metrics', status: '200' }),
    1,
    'the first scrape',
  );
  const routes = after.samples.filter((s) => s.labels.route).map((s) => s.labels.route);
  assert.not.ok(routes.some((r) => /no-such|vms\/\d/.test(r)), 'templates, never raw paths');
  const hist = 'vmledger_http_request_duration_seconds';
  const vms = { method: 'GET', route: '/api/v1/vms' };
  assert.is(delta(`${hist}_count`, vms), 2);
  assert.ok(delta(`${hist}_sum`, vms) > 0);
  assert.is(sum(after, `${hist}_bucket`, { ...vms, le: '+Inf' }), sum(after, `${hist}_count`, vms));
  const buckets = after.samples.filter((s) =>
    s.name === `${hist}_bucket` && s.labels.route === vms.route && s.labels.method === 'GET'
  ).map((s) => s.value);
  assert.ok(buckets.length > 5 && buckets.every((v, i) => i === 0 || v >= buckets[i - 1]));

  // Jobs: runs and durations by queue and outcome.
  const completed = { queue: 'aggregate-daily', outcome: 'completed' };
  const failed = { queue: 'aggregate-daily', outcome: 'failed' };
  assert.is(delta('vmledger_job_runs_total', completed), 1);
  assert.is(delta('vmledger_job_runs_total', failed), 1);
  assert.is(delta('vmledger_job_duration_seconds_count', completed), 1);
  assert.is(delta('vmledger_job_duration_seconds_count', failed), 1);
  assert.ok(delta('vmledger_job_duration_seconds_sum', completed) > 0);
  assert.ok(delta('vmledger_jobs', { queue: 'aggregate-daily', state: 'completed' }) >= 1);
  assert.ok(delta('vmledger_jobs', { queue: 'aggregate-daily', state: 'failed' }) >= 1);
  assert.is(delta('vmledger_alerts_firing', { rule: 'job_failed', severity: 'warning' }), 1);

  // Ingest, auth, the VM list's answers, the database gauges.
  assert.is(delta('vmledger_captures_received_total', { outcome: 'stored' }), 1);
  assert.is(delta('vmledger_captures_rejected_total', { status: '400' }), 1);
  assert.is(delta('vmledger_ingest_duration_seconds_count'), 1);
  assert.is(delta('vmledger_auth_failures_total', { channel: 'api' }), 1);
  assert.ok(delta('vmledger_vm_list_answers_total') >= 1);
  assert.is(sum(after, 'vmledger_inventory_vms', { source: SOURCE_NAME, kind: 'vcenter' }), 2);
  assert.ok(
    after.samples.some((s) =>
      s.name === 'vmledger_source_seconds_since_last_capture' && s.labels.source === SOURCE_NAME
    ),
  );

  // Process: memory and event-loop delay.
  const rss = 'vmledger_process_resident_memory_bytes';
  assert.ok(sum(after, rss) > 0 && sum(after, rss) !== sum(before, rss));
  const heap = 'vmledger_process_heap_used_bytes';
  assert.ok(sum(after, heap) > 0 && sum(after, heap) !== sum(before, heap));
  assert.ok(sum(after, 'vmledger_process_heap_total_bytes') >= sum(after, heap));
  assert.ok(sum(after, 'vmledger_event_loop_lag_max_seconds') >= 0.04, 'the 60 ms block');
  assert.ok(sum(after, 'vmledger_event_loop_lag_p99_seconds') > 0);

  // Every exported family moved between the scrapes (no series that never move).
  const families = [...after.types.keys()];
  for (const f of families) {
    const values = (s: Scrape) =>
      JSON.stringify(s.samples.filter((x) => x.name.replace(/_(bucket|sum|count)$/, '') === f));
    assert.is.not(values(after), values(before), `${f} moved`);
  }

  // One meaning per label name.
  const names = new Set((await db.sql`select name from sources`).map((r) => r.name as string));
  const meaning: Record<string, (v: string) => boolean> = {
    method: (v) => /^(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS|OTHER)$/.test(v),
    route: (v) => v.startsWith('/') || v === 'unmatched',
    status: (v) => /^[1-5]\d\d$/.test(v),
    outcome: (v) => ['stored', 'duplicate', 'completed', 'failed'].includes(v),
    channel: (v) => ['api', 'login'].includes(v),
    queue: (v) => /^[a-z-]+$/.test(v),
    state: (v) => ['created', 'retry', 'active', 'completed', 'cancelled', 'failed'].includes(v),
    served_from: (v) => ['cache', 'database', 'memory'].includes(v),
    rule: (v) => /^[a-z_]+$/.test(v),
    severity: (v) => ['critical', 'warning', 'info'].includes(v),
    source: (v) => names.has(v),
    kind: (v) => ['vcenter', 'proxmox', 'demo'].includes(v),
    le: (v) => v === '+Inf' || Number.isFinite(Number(v)),
  };
  for (const s of after.samples) {
    for (const [k, v] of Object.entries(s.labels)) {
      assert.ok(meaning[k]?.(v), `${s.name}: label ${k}="${v}"`);
    }
  }

  // docs/metrics.md lists every family.
  const doc = readFileSync(new URL('../../docs/metrics.md', import.meta.url), 'utf8');
  for (const f of families) assert.ok(doc.includes(`\`${f}\``), `docs/metrics.md lists ${f}`);
});

test('every pg-boss worker is registered through jobs/instrument.ts (so its runs are counted)', () => {
  const root = new URL('../../server/', import.meta.url);
  const bypass = (readdirSync(root, { recursive: true }) as string[])
    .filter((f) => f.endsWith('.ts') && f !== 'jobs/instrument.ts')
    .filter((f) => /\bboss\.work\s*[<(]/.test(readFileSync(new URL(f, root), 'utf8')));
  assert.equal(
    bypass,
    [],
    'use work(jobs, queue, options, handler) from server/jobs/instrument.ts',
  );
});

test.run();
