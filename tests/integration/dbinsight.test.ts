/**
 * Database insight on a planted workload (issue 24), through the API: a 1 M-row table with
 * a selective filter on an unindexed column, a filter on two columns, two correlated columns
 * (a skewed estimate), a redundant index and an unused one, a correlated subquery. Each is
 * found with the expected DDL; EXPLAIN of a write is refused (400) and of a read is a tree
 * with chips; without the extension the API says what to run. On a server without
 * pg_stat_statements preloaded (Debian's, unless provisioned) the statement rules are not
 * reachable: the suite checks that the API says so, and the catalogue rules still. With
 * hypopg, an index proposal carries the planner's cost before and after.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createTestApp, json, type TestApp } from '../support/app.ts';
import { makeCapture } from '../support/captures.ts';
import { runAggregation } from '../../server/aggregate/run.ts';
import { evaluateAlerts } from '../../server/alerts/evaluate.ts';
import { insightStatus, takeSnapshot } from '../../server/dbinsight/stats.ts';
import { dbInsightFeature } from '../../server/dbinsight/snapshot_jobs.ts';
import { JOB_FEATURES } from '../../server/main.ts';
import { pageSession } from '../support/jobs.ts';
import { indexEstimate } from '../../server/dbinsight/rules.ts';
import type { Findings } from '../../server/dbinsight/rules.ts';

const test = suite('dbinsight: statements, findings, explain');
let t: TestApp;
let ready = false;
let hypopg = false;
// Big enough for a 'high' missing-index finding (at least 100 000 rows, server/dbinsight/rules.ts)
// with room to spare; 1 M rows took the seeding and every seq scan five times as long.
const ROWS = 200_000;

const api = async (path: string, token = t.tokens.admin) => {
  const res = await t.call(`/api/v1${path}`, { token });
  return { status: res.status, body: await res.json() };
};

test.before(async () => {
  t = await createTestApp('dbinsight');
  const sql = t.db.sql;
  await sql.unsafe(`
    create table insight_big (
      id bigint primary key, owner int not null, status int not null, region int not null,
      a int not null, b int not null, k int not null, payload text not null)
      -- No autovacuum: once it marks the pages all-visible, an index-only scan on (k, id) wins
      -- over insight_big_k for "select id ... where k = $1", and the unused index is used.
      with (autovacuum_enabled = false);
    insert into insight_big
      select i, i % 5000, i % 50, i % 97, i % 100, i % 100, i % 1000, 'p' || i
        from generate_series(1, ${ROWS}) i;
    create index insight_big_k on insight_big (k);
    create index insight_big_k_id on insight_big (k, id);
    create table insight_owner (id int primary key, name text not null);
    insert into insight_owner select i, 'o' || i from generate_series(1, 5000) i;
    analyze insight_big;
    analyze insight_owner;`);
  const status = await insightStatus(sql);
  ready = status.ready;
  hypopg = status.hypopg;
  if (ready) {
    await sql`select pg_stat_statements_reset()`;
    for (let i = 0; i < 3; i++) {
      await sql`select id, payload from insight_big where owner = ${i + 7}`;
      await sql`select id from insight_big where status = ${i} and region = ${i + 1}`;
      await sql`select id from insight_big where a = ${i + 3} and b = ${i + 3}`;
      await sql`select id from insight_big where k = ${i}`;
    }
    await sql`
      select o.id, (select count(*) from insight_big b where b.owner = o.id) as n
        from insight_owner o where o.id < ${3}`;
    await sql`insert into insight_owner values (${9001}, ${'new'})`;
    // Index scans counted: insight_big_k is used, insight_big_k_id never.
    await sql`select pg_stat_force_next_flush()`.catch(() => {});
  }
});
test.after(async () => {
  await t?.close();
});

test('statements appear with their module, by each order; a viewer may not see them', async () => {
  const r = await api('/db/statements?order=total&limit=100');
  assert.is(r.status, 200);
  if (!ready) {
    assert.equal(r.body.items, []);
    assert.ok(r.body.status.run.length > 0, 'says what to run');
    return;
  }
  const texts = r.body.items.map((s: { query: string }) => s.query);
  assert.ok(
    texts.some((q: string) => /from insight_big where owner = \$1/.test(q)),
    texts.join('\n'),
  );
  const tagged = r.body.items.find((s: { module: string | null }) => s.module === 'dbinsight');
  assert.ok(tagged, 'the insight module tags its own SQL');
  for (const order of ['mean', 'calls', 'rows', 'reads']) {
    const o = await api(`/db/statements?order=${order}&limit=5`);
    assert.is(o.status, 200);
    assert.is(o.body.order, order);
  }
  assert.is((await api('/db/statements', t.tokens.viewer)).status, 403);
  assert.is((await api('/db/statements?order=nope')).status, 400);
});

test('a snapshot gives each statement a trend; old snapshots are deleted', async () => {
  await t.db.sql`insert into db_insight_snapshots (taken_at) values (now() - interval '15 days')`;
  const snap = await takeSnapshot(t.db.sql, { retentionDays: 14 });
  assert.is(snap.deleted, 1);
  if (!ready) return;
  assert.ok(snap.id && snap.statements > 0, JSON.stringify(snap));
  await t.db.sql`select id, payload from insight_big where owner = ${42}`;
  const r = await api('/db/statements?limit=200');
  const s = r.body.items.find((x: { query: string }) => /where owner = \$1$/.test(x.query));
  assert.ok(s?.trend, JSON.stringify(s));
  assert.is(s.trend.calls, 1);
  assert.ok(JOB_FEATURES.includes(dbInsightFeature), 'the hourly snapshot job is scheduled');
});

test('the trend between two chosen snapshots; a bad snapshot is a 400 naming the field', async () => {
  const sql = t.db.sql;
  const a = await takeSnapshot(sql);
  for (const o of [11, 12]) await sql`select id, payload from insight_big where owner = ${o}`;
  const b = await takeSnapshot(sql);
  await sql`select id, payload from insight_big where owner = ${13}`;
  const owner = (items: { query: string }[]) =>
    items.find((x) => /where owner = \$1$/.test(x.query)) as
      | { calls: number; trend: Record<string, number | string | null> }
      | undefined;
  const between = await api(`/db/statements?from=${a.id}&to=${b.id}&limit=500`);
  assert.is(between.status, 200, JSON.stringify(between.body));
  assert.is(between.body.window.from.id, a.id);
  assert.is(between.body.window.to.id, b.id);
  if (ready) {
    const s = owner(between.body.items)!;
    assert.ok(s, 'the statement called in between is listed');
    assert.is(s.trend.calls, 2);
    assert.is(s.trend.until, between.body.window.to.takenAt);
    assert.ok((s.trend.rows as number) > 0 && (s.trend.totalMs as number) > 0);
    assert.is(typeof s.trend.sharedBlksRead, 'number');
    assert.ok(Math.abs((s.trend.meanMs as number) - (s.trend.totalMs as number) / 2) < 0.002);
    assert.ok(
      !between.body.items.some((x: { query: string }) => /where k = \$1$/.test(x.query)),
      'a statement not called in between is left out',
    );
    assert.ok(s.calls >= 3, 'the totals stay the totals');
    const toNow = await api(`/db/statements?from=${a.id}&limit=500`);
    assert.is(owner(toNow.body.items)!.trend.calls, 3);
    assert.is(owner(toNow.body.items)!.trend.until, null);
    const byTime = await api(
      `/db/statements?from=${encodeURIComponent(between.body.window.from.takenAt)}&to=${
        encodeURIComponent(between.body.window.to.takenAt)
      }&limit=500`,
    );
    assert.is(byTime.body.window.from.id, a.id);
    assert.is(owner(byTime.body.items)!.trend.calls, 2);
  }
  const bad = async (q: string, field: string, message: RegExp) => {
    const r = await api(`/db/statements?${q}`);
    assert.is(r.status, 400, `${q}: ${JSON.stringify(r.body)}`);
    assert.is(r.body.error.code, 'invalid_query');
    assert.is(r.body.error.issues[0].path, field, q);
    assert.match(r.body.error.message, message);
  };
  await bad(`from=${b.id}&to=${a.id}`, 'from', /must be before to/);
  await bad(`from=${a.id}&to=${a.id}`, 'from', /must be before to/);
  await bad('from=987654321', 'from', /no snapshot 987654321/);
  await bad(`from=${a.id}&to=987654321`, 'to', /no snapshot 987654321/);
  await bad('from=2001-01-01', 'from', /no snapshot by 2001-01-01/);
  await bad(`to=${b.id}`, 'from', /required with to/);
  await bad('from=yesterday', 'from', /snapshot id or an ISO 8601 time/);
});

test('the findings: each planted problem with its DDL', async () => {
  const r = await api('/db/findings');
  assert.is(r.status, 200, JSON.stringify(r.body));
  const f = r.body as Findings;
  const by = (rule: string, table = 'insight_big') =>
    f.items.filter((i) => i.rule === rule && i.table === table);
  assert.equal(by('redundant_index').map((i) => i.ddl), [
    'drop index concurrently insight_big_k;',
  ]);
  assert.ok(
    by('unused_index').some((i) => i.ddl === 'drop index concurrently insight_big_k_id;'),
    JSON.stringify(by('unused_index')),
  );
  // vmledger's own schema: captures_source_time, the same columns as the unique constraint's
  // index, is gone (migration 0058); nothing redundant is left on captures.
  assert.equal(by('redundant_index', 'captures'), []);
  const capturesIdx = await t.db.sql<{ name: string; def: string }[]>`
    select indexname as name, indexdef as def from pg_indexes where tablename = 'captures'`;
  assert.ok(!capturesIdx.some((i) => i.name === 'captures_source_time'));
  assert.ok(
    capturesIdx.some((i) => /^CREATE UNIQUE INDEX .* \(source_id, captured_at\)$/.test(i.def)),
    JSON.stringify(capturesIdx),
  );
  if (!ready) {
    assert.ok(f.status.run.length > 0);
    return;
  }
  const ddls = f.items.map((i) => `${i.rule}: ${i.ddl}`);
  const has = (line: string) => assert.ok(ddls.includes(line), `${line}\n${ddls.join('\n')}`);
  has('missing_index: create index concurrently on insight_big (owner);');
  has('composite_index: create index concurrently on insight_big (status, region);');
  has('estimate_skew: create statistics on a, b from insight_big; analyze insight_big;');
  has('correlated_subquery: create index concurrently on insight_big (owner);');
  const missing = by('missing_index')[0];
  assert.is(missing.confidence, 'high');
  if (hypopg) {
    assert.ok(missing.estimate && missing.estimate.after < missing.estimate.before);
  } else {
    assert.is(missing.estimate, null);
    assert.match(missing.estimateNote ?? '', /estimate unavailable/);
  }
  assert.ok(f.ms < 2000, `scanned in ${f.ms} ms`);
});

test('EXPLAIN: a read is a tree with chips; a write is refused with 400', async () => {
  if (!ready) return;
  const list = (await api('/db/statements?limit=200')).body.items as {
    id: string;
    query: string;
  }[];
  const read = list.find((s) => /where owner = \$1$/.test(s.query))!;
  const r = await api(`/db/statements/${read.id}?explain=analyze`);
  assert.is(r.status, 200, JSON.stringify(r.body));
  assert.is(r.body.explain.analyzed, true);
  const chips = JSON.stringify(r.body.explain.tree);
  assert.match(chips, /seq scan on 200 k rows/);
  const write = list.find((s) => /^insert into insight_owner/i.test(s.query))!;
  assert.ok(write, 'the insert is in the list');
  const w = await api(`/db/statements/${write.id}?explain=plan`);
  assert.is(w.status, 400);
  assert.is(w.body.error.code, 'invalid_request');
  assert.match(w.body.error.message, /only reads are explained/);
  assert.is((await api('/db/statements/12345?explain=plan')).status, 404);
  assert.is((await t.db.sql`select count(*)::int as n from insight_owner`)[0].n, 5001);
});

test('EXPLAIN on demand runs with real sample values, and says which', async () => {
  if (!ready) return;
  const sql = t.db.sql;
  await sql.unsafe(`create table insight_fresh (id int primary key, name text not null);
    insert into insight_fresh values (1, 'alpha'), (2, 'beta');
    create table insight_arr (id int primary key, tags int[] not null);
    insert into insight_arr select i, array[i % 3, 7] from generate_series(1, 300) i;
    analyze insight_arr;`);
  await sql`select id from insight_arr where tags = ${[1, 7]}`;
  await sql`select id from insight_big where k > ${5} and region in (${1}, ${2}) order by id limit ${10}`;
  await sql`select f.id from insight_fresh f where f.name = ${'beta'}`;
  const list = (await api('/db/statements?limit=500')).body.items as {
    id: string;
    query: string;
  }[];
  const find = (re: RegExp) => list.find((s) => re.test(s.query))!;
  const explain = async (re: RegExp) => {
    const r = await api(`/db/statements/${find(re).id}?explain=analyze`);
    assert.is(r.status, 200, JSON.stringify(r.body));
    return { ...r.body.explain, q: find(re).query } as {
      q: string;
      parameters: { n: number; value: string | null; column: string | null; source: string }[];
      tree: { actualRows: number };
    };
  };
  const owner = await explain(/where owner = \$1$/);
  assert.equal(owner.parameters.map((p) => [p.column, p.source]), [
    ['insight_big.owner', 'most_common_value'],
  ]);
  assert.match(owner.parameters[0].value!, /^\d+$/);
  assert.is(owner.tree.actualRows, ROWS / 5000, 'run on the rows of a real owner');
  const range = await explain(/where k > \$1 and region in/);
  // PostgreSQL 18 keeps an IN list as its first element: `in ($2 /*, ... */)`.
  const inList = /\/\*, \.\.\. \*\//.test(range.q)
    ? [[2, 'insight_big.region', 'most_common_value']]
    : [[2, 'insight_big.region', 'most_common_value'], [
      3,
      'insight_big.region',
      'most_common_value',
    ]];
  assert.equal(range.parameters.map((p) => [p.n, p.column, p.source]), [
    [1, 'insight_big.k', 'histogram'],
    ...inList,
    [inList.length + 2, null, 'limit'],
  ], range.q);
  assert.is(range.parameters.at(-1)!.value, '50');
  const fresh = await explain(/from insight_fresh f where f\.name = \$1/);
  assert.equal(fresh.parameters.map((p) => [p.column, p.source, p.value]), [
    ['insight_fresh.name', 'table_row', 'alpha'],
  ]);
  assert.is(fresh.tree.actualRows, 1);
  // An array column: pg_stats' values are arrays (not read as one element), so a row's.
  const arr = await explain(/from insight_arr where tags = \$1/);
  assert.equal(arr.parameters.map((p) => [p.column, p.source]), [[
    'insight_arr.tags',
    'table_row',
  ]]);
  assert.match(arr.parameters[0].value!, /^\{\d,7\}$/);
  const admin = (await pageSession(t.app, t.tokens.admin)).cookie;
  const html = await (await t.app.request(
    `/database/statements/${find(/where owner = \$1$/).id}?explain=analyze`,
    { headers: { cookie: admin } },
  )).text();
  assert.match(
    html,
    /id="db-parameters"><li><code class="mono">\$1<\/code> (integer|bigint) = <code class="mono">\d+<\/code> <span class="muted">\(insight_big\.owner, most common value\)/,
  );
  await sql`drop table insight_fresh, insight_arr`;
});

test('hypopg: a proposed index is costed without being built', async () => {
  const status = await insightStatus(t.db.sql);
  const e = await indexEstimate(
    t.db.sql,
    'select id from insight_big where owner = $1',
    'create index on insight_big (owner)',
    status,
  );
  if (!status.hypopg) {
    assert.match(e.note ?? '', /estimate unavailable/);
    return;
  }
  assert.ok(e.value && e.value.after < e.value.before / 10, JSON.stringify(e));
  const [{ n }] = await t.db.sql<{ n: number }[]>`
    select count(*)::int as n from pg_indexes where tablename = 'insight_big'`;
  assert.is(n, 3, 'no index was built');
});

test('the Database page: admin nav, statements, findings after first paint, plan chips', async () => {
  const admin = (await pageSession(t.app, t.tokens.admin)).cookie;
  const viewer = (await pageSession(t.app, t.tokens.viewer)).cookie;
  const get = (path: string, cookie = admin) => t.app.request(path, { headers: { cookie } });
  const res = await get('/database');
  const html = await res.text();
  assert.is(res.status, 200, html);
  assert.match(html, 'href="/database" aria-current="page"');
  assert.match(html, 'hx-get="/database/findings"');
  assert.match(html, 'insight_big');
  assert.not.match(await (await get('/', viewer)).text(), 'href="/database"');
  assert.is((await get('/database', viewer)).status, 403);
  assert.match(html, 'id="db-window"');
  const snaps = await t.db.sql<{ id: string }[]>`
    select id::text from db_insight_snapshots order by taken_at`;
  const [from, to] = snaps.slice(-2).map((x) => x.id);
  const compared = await (await get(`/database?order=calls&from=${from}&to=${to}`)).text();
  assert.match(compared, `<option value="${from}" selected>`);
  assert.match(compared, `<option value="${to}" selected>`);
  assert.match(compared, /<th scope="col">Change [^<]+ → [^<]+ UTC<\/th>/);
  assert.match(compared, `href="/database?order=total&amp;from=${from}&amp;to=${to}"`);
  assert.is((await get(`/database?from=${to}&to=${from}`)).status, 400);
  const findings = await (await get('/database/findings')).text();
  assert.match(findings, 'drop index concurrently insight_big_k;');
  if (!ready) {
    assert.match(html, 'pg_stat_statements is not available on this database.');
    return;
  }
  assert.match(findings, 'create index concurrently on insight_big (owner);');
  const list = (await api('/db/statements?limit=200')).body.items as {
    id: string;
    query: string;
  }[];
  const read = list.find((s) => /where owner = \$1$/.test(s.query))!;
  const plan = await (await get(`/database/statements/${read.id}?explain=plan`)).text();
  assert.match(plan, 'id="db-plan"');
  assert.match(plan, /class="chip" data-kind="seq_scan">seq scan on 200 k rows/);
  const write = list.find((s) => /^insert into insight_owner/i.test(s.query))!;
  const refused = await get(`/database/statements/${write.id}?explain=analyze`);
  assert.is(refused.status, 400);
  assert.match(await refused.text(), 'id="db-refusal"');
});

test('the CLI prints the same findings, read-only', async () => {
  const { stdout } = await promisify(execFile)('node_modules/.bin/node', [
    'scripts/db_insight.ts',
    '--url',
    t.db.url,
    '--json',
  ]);
  const out = JSON.parse(stdout) as Findings;
  const ddls = out.items.map((i) => i.ddl);
  assert.ok(ddls.includes('drop index concurrently insight_big_k;'), stdout.slice(0, 2000));
  if (ready) assert.ok(ddls.includes('create index concurrently on insight_big (owner);'));
  const text = await promisify(execFile)('node_modules/.bin/node', [
    'scripts/db_insight.ts',
    '--url',
    t.db.url,
  ]);
  assert.match(text.stdout, '[high] redundant_index: Index insight_big_k is redundant');
});

test("the main modules' statements carry their module tag after a workload", async () => {
  if (!ready) return;
  const at = new Date(Date.now() - 3600_000).toISOString();
  const capture = makeCapture({ sourceId: 'vc-insight', at, vms: [{ key: 'a' }, { key: 'b' }] });
  const posted = await t.call('/api/v1/captures', { ...json(capture), token: t.tokens.agent });
  assert.ok(posted.status < 300, await posted.text());
  assert.is((await api('/vms')).status, 200);
  const [{ id: sourceId }] = await t.db.sql<{ id: number }[]>`
    select id from sources where external_id = ${'vc-insight'}`;
  await runAggregation(t.db.sql, 'sql', {
    kind: 'daily',
    sourceId,
    period: at.slice(0, 10),
    tz: 'UTC',
  });
  assert.is((await api(`/costs?month=${at.slice(0, 7)}`)).status, 200);
  await evaluateAlerts(t.db.sql);
  assert.is((await api('/reports')).status, 200);
  const items = (await api('/db/statements?limit=500')).body.items as {
    query: string;
    module: string | null;
  }[];
  const modules = new Set(items.map((s) => s.module));
  for (const m of ['ingest', 'inventory', 'aggregate', 'costs', 'alerts', 'reports']) {
    assert.ok(modules.has(m), `${m} tagged; modules: ${[...modules].join(', ')}`);
  }
  const ingest = items.find((s) => s.module === 'ingest')!;
  assert.match(ingest.query, /\n\/\* vmledger:ingest \*\/$/, 'the tag stands at the end, kept');
  // What the tests and tools send (not from server/) stays as written.
  assert.ok(items.some((s) => /^select id from insight_big where k = \$1$/.test(s.query)));
});

test('without the extension, the API says exactly what to run', async () => {
  await t.db.sql`drop extension if exists pg_stat_statements`;
  const r = await api('/db/statements');
  assert.is(r.status, 200);
  assert.is(r.body.status.ready, false);
  assert.ok(
    r.body.status.run.some((l: string) => l.startsWith('CREATE EXTENSION pg_stat_statements;')),
    JSON.stringify(r.body.status.run),
  );
  const f = await api('/db/findings');
  assert.is(f.status, 200);
  assert.is(f.body.status.ready, false);
  const d = await api('/db/statements/1');
  assert.is(d.status, 404);
  assert.ok(d.body.error.run.length > 0);
});

test.run();
