import { suite } from 'uvu';
import { pageSession } from '../support/jobs.ts';
import * as assert from 'uvu/assert';
import { demoCapture, type DemoFlavor } from '../../agent/collectors/demo/fleet.ts';
import { runBenchmark } from '../../server/aggregate/benchmark.ts';
import { runAggregation } from '../../server/aggregate/run.ts';
import { verifyToken } from '../../server/auth/tokens.ts';
import { createTestApp, json, type TestApp } from '../support/app.ts';

const test = suite('pages: every page, live updates, CSRF-protected actions');
let t: TestApp;
let admin: { cookie: string; csrf: string };
let viewer: { cookie: string; csrf: string };
const START = Date.parse('2026-05-01T00:00:00Z');
const STEP = 3 * 3600_000;
const CAPTURES = 24;

/** Demo captures of two sources, every 3 hours for 3 days, through the real ingest API. */
async function seed(t: TestApp, flavors: DemoFlavor[] = ['vcenter', 'proxmox']) {
  for (let i = 0; i < CAPTURES; i++) {
    for (const flavor of flavors) {
      const at = new Date(START + i * STEP);
      const c = demoCapture({
        flavor,
        seed: 4,
        totalVms: 120,
        at,
        since: i === 0 ? null : new Date(at.getTime() - STEP),
      });
      const res = await t.call('/api/v1/captures', { ...json(c), token: t.tokens.agent });
      assert.is(res.status, 201, await res.clone().text());
    }
  }
}

const login = (token: string) => pageSession(t.app, token);

const get = (path: string, who = admin, headers: Record<string, string> = {}) =>
  t.app.request(path, { headers: { cookie: who.cookie, ...headers } });
const post = (path: string, form: Record<string, string>, who = admin) =>
  t.app.request(path, {
    method: 'POST',
    headers: { cookie: who.cookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
  });

test.before(async () => {
  t = await createTestApp('pages_ui');
  await seed(t);
  admin = await login(t.tokens.admin);
  viewer = await login(t.tokens.viewer);
});
test.after(() => t.close());

test('every page renders for an admin, with the shell and no inline scripts or styles', async () => {
  const [{ id: sourceId }] = await t.db.sql`select id from sources order by id limit 1`;
  const [vm] = await t.db
    .sql`select source_id, vm_key from vm_inventory order by lower(name) limit 1`;
  const paths = [
    '/',
    '/vms',
    '/sources',
    `/sources/${sourceId}`,
    '/totals',
    '/totals?granularity=daily',
    '/totals?granularity=monthly',
    `/totals?source=${sourceId}`,
    '/capture-history',
    '/capture-history?kind=capture',
    '/costs',
    '/reports',
    '/benchmarks',
    '/admin',
    '/admin/agents',
    '/admin/jobs',
    '/admin/audit',
    `/vms/${vm.source_id}/${encodeURIComponent(vm.vm_key)}`,
    `/vms/${vm.source_id}/${encodeURIComponent(vm.vm_key)}?granularity=daily`,
  ];
  for (const path of paths) {
    const res = await get(path);
    assert.is(res.status, 200, path);
    const html = await res.text();
    assert.match(html, /<nav aria-label="Main">/, path);
    assert.not.match(
      html,
      /<script>|<script [^>]*>[^<]|\sstyle="/,
      `${path}: no inline script/style`,
    );
  }
});

test('dashboard: KPIs with change vs yesterday, source cards, recent captures; live fragment', async () => {
  const html = await (await get('/')).text();
  const [now] = await t.db.sql`
    select sum(vm_count)::int as vms from (select distinct on (source_id) vm_count from source_totals order by source_id, captured_at desc) x`;
  assert.ok(
    html.includes(new Intl.NumberFormat('en-US').format(now.vms)),
    'VM total from the latest captures',
  );
  assert.match(html, /vs yesterday/);
  assert.match(html, /Recent captures/);
  assert.match(html, /data-events="\/events\?since=/);
  assert.is((html.match(/class="card source"/g) ?? []).length, 2);
  const frag = await (await get('/?part=live', admin, { 'hx-request': 'true' })).text();
  assert.not.match(frag, /<html/);
  assert.match(frag, /^<div id="live" hx-get="\/\?part=live" hx-trigger="vml-capture from:body"/);
});

test('VMs: search, filters, sort with aria-sort, pages, CSV export of the whole filtered list', async () => {
  const [{ n: total }] = await t.db.sql`select count(*)::int as n from vm_inventory`;
  const page = await (await get('/vms')).text();
  assert.match(page, /<label class="grow" for="q">/);
  assert.match(page, /aria-sort="ascending"/);
  assert.ok(page.includes(`${total} VMs`));
  // Fragment for htmx with out-of-band sort state.
  const frag = await (await get('/vms?sort=vcpu&order=desc', admin, { 'hx-request': 'true' }))
    .text();
  assert.not.match(frag, /<html/);
  assert.match(
    frag,
    /<th scope="col" class="num" aria-sort="descending"><a href="\/vms\?sort=vcpu&amp;order=asc"/,
  );
  assert.match(frag, /id="f-sort" name="sort" value="vcpu" hx-swap-oob="true"/);
  const [big] = await t.db.sql`select max(vcpu) as v from vm_inventory`;
  const firstRow = /<tbody>[\s\S]*?<td class="num">(\d+)<\/td>/.exec(frag)!;
  assert.is(Number(firstRow[1]), big.v);
  // Filters.
  const [{ n: on }] = await t.db
    .sql`select count(*)::int as n from vm_inventory where power_state = 'poweredOn'`;
  assert.ok(
    (await (await get('/vms?power=poweredOn', admin, { 'hx-request': 'true' })).text()).includes(
      `${on} VMs`,
    ),
  );
  const [{ cluster }] = await t.db
    .sql`select cluster from vm_inventory where cluster is not null limit 1`;
  const [{ n: inCluster }] = await t.db
    .sql`select count(*)::int as n from vm_inventory where cluster = ${cluster}`;
  assert.ok(
    (await (await get(`/vms?cluster=${encodeURIComponent(cluster)}`, admin, {
      'hx-request': 'true',
    })).text()).includes(`${inCluster} VMs`),
  );
  const [{ name }] = await t.db.sql`select name from vm_inventory order by name desc limit 1`;
  const found =
    await (await get(`/vms?q=${encodeURIComponent(name)}`, admin, { 'hx-request': 'true' })).text();
  assert.ok(found.includes(`>${name}</a>`));
  const none = await (await get('/vms?q=no-such-vm-anywhere', admin, { 'hx-request': 'true' }))
    .text();
  assert.match(none, /No VMs match/);
  // A bad filter value is answered inside the table region, not as JSON.
  const bad = await get('/vms?power=sideways', admin, { 'hx-request': 'true' });
  assert.match(await bad.text(), /role="alert"/);
  // CSV: header plus one line per VM of the filter.
  const csv = await get('/vms.csv?power=poweredOn');
  assert.is(csv.status, 200);
  assert.match(csv.headers.get('content-disposition')!, /attachment; filename="vms-/);
  const lines = (await csv.text()).trim().split('\r\n');
  assert.is(lines[0].split(',')[0], 'source');
  assert.is(lines.length, on + 1);
});

test('VMs: keyset pages carry the filters and a page number', async () => {
  // 100 per page; the seeded fleet has more than that across both sources.
  const [{ n }] = await t.db.sql`select count(*)::int as n from vm_inventory`;
  assert.ok(n > 100, `need more than one page (${n})`);
  const first = await (await get('/vms')).text();
  const next = /href="(\/vms\?cursor=[^"]+)"[^>]*rel="next"|rel="next" href="([^"]+)"/.exec(first);
  const url = (next?.[1] ?? next?.[2])!.replace(/&amp;/g, '&');
  assert.match(url, /p=2/);
  const second = await (await get(url, admin, { 'hx-request': 'true' })).text();
  assert.match(second, /page 2 of/);
  assert.match(second, /First page/);
});

test('VM detail: state, lifecycle, SVG charts with titles at every granularity, what changed', async () => {
  // A VM whose size or power changed during the seeded days.
  const [vm] = await t.db.sql`
    select source_id, vm_key from vm_hourly_stats group by source_id, vm_key
    having count(distinct (vcpu, ram_mb, power_state)) > 1 limit 1`;
  assert.ok(vm, 'the demo fleet has a VM that changed');
  const base = `/vms/${vm.source_id}/${encodeURIComponent(vm.vm_key)}`;
  const html = await (await get(base)).text();
  assert.match(html, /Lifecycle/);
  for (const id of ['vcpu', 'ram', 'disk', 'power']) {
    assert.match(html, new RegExp(`<figure class="chart" id="chart-${id}">`));
  }
  assert.match(
    html,
    /<svg viewBox="0 0 520 200" role="img" aria-labelledby="chart-vcpu-title chart-vcpu-desc"/,
  );
  assert.match(html, /<rect class="hit"[^>]*><title>2026-05-0\d \d\d:\d\d UTC\n/);
  assert.match(html, /What changed when/);
  assert.match(html, /<caption class="visually-hidden">Changes<\/caption>/);
  const monthly = await get(`${base}?granularity=monthly`);
  assert.is(monthly.status, 200);
  const missing = await get('/vms/1/no-such-vm');
  assert.is(missing.status, 404);
  assert.match(await missing.text(), /VM not found/);
});

test('sources: health cards; capture now needs admin and the CSRF token, and queues a request', async () => {
  const [{ id }] = await t.db.sql`select id from sources order by id limit 1`;
  const list = await (await get('/sources')).text();
  assert.match(list, /Capture now/);
  assert.not.match(await (await get('/sources', viewer)).text(), /Capture now/);
  assert.is((await post(`/sources/${id}/capture`, {})).status, 403);
  assert.is((await post(`/sources/${id}/capture`, { csrf: 'wrong' })).status, 403);
  assert.is((await post(`/sources/${id}/capture`, { csrf: viewer.csrf }, viewer)).status, 403);
  const ok = await post(`/sources/${id}/capture`, { csrf: admin.csrf });
  assert.is(ok.status, 303);
  assert.is(ok.headers.get('location'), '/sources?done=requested');
  const [{ n }] = await t.db
    .sql`select count(*)::int as n from capture_requests where source_id = ${id} and picked_up_at is null`;
  assert.is(n, 1);
  const after = await (await get('/sources?done=requested')).text();
  assert.match(after, /Capture requested/);
  assert.match(after, /waiting for the agent/);
  const detail = await (await get(`/sources/${id}`)).text();
  assert.match(detail, /Capture history/);
  assert.match(detail, /<figure class="chart" id="chart-vms">/);
});

test('admin: a viewer gets 403; tokens are created once-shown and revoked with CSRF', async () => {
  assert.is((await get('/admin', viewer)).status, 403);
  // The token this session logged in with is marked, not offered for a revoke the server refuses.
  const own = await (await get('/admin')).text();
  const ownRow = own.split('<tr>').find((row) => row.includes('<td>test admin</td>'))!;
  assert.match(ownRow, /this session/);
  assert.not.match(ownRow, /Revoke/);
  assert.match(own, /aria-label="Revoke test viewer"/);
  assert.not.match(await (await get('/', viewer)).text(), /href="\/admin"/);
  assert.is((await post('/admin/tokens', { name: 'x', role: 'viewer' })).status, 403);
  const created = await post('/admin/tokens', {
    csrf: admin.csrf,
    name: 'page-made',
    role: 'viewer',
    days: '30',
  });
  assert.is(created.status, 200);
  assert.is(created.headers.get('cache-control'), 'no-store');
  const token =
    /<code class="secret" id="new-token">([^<]+)<\/code>/.exec(await created.text())![1];
  const info = await verifyToken(t.db.sql, token);
  assert.is(info?.name, 'page-made');
  const bad = await post('/admin/tokens', { csrf: admin.csrf, name: '', role: 'viewer' });
  assert.is(bad.status, 400);
  const revoke = await post(`/admin/tokens/${info!.id}/revoke`, { csrf: admin.csrf });
  assert.is(revoke.status, 303);
  assert.is(await verifyToken(t.db.sql, token), null);
  const audit = await (await get('/admin/audit')).text();
  assert.match(audit, /token\.create/);
  assert.match(audit, /token\.revoke/);
  assert.match(audit, /capture\.request/);
});

test('server-sent events: a capture arriving after the page was rendered is announced', async () => {
  const page = await (await get('/')).text();
  const url = /data-events="([^"]+)"/.exec(page)![1].replace(/&amp;/g, '&');
  const ctl = new AbortController();
  const res = await t.app.request(url, { headers: { cookie: admin.cookie }, signal: ctl.signal });
  assert.is(res.status, 200);
  assert.match(res.headers.get('content-type')!, /text\/event-stream/);
  const reader = res.body!.getReader();
  let text = '';
  const read = async (until: RegExp, ms: number) => {
    const deadline = Date.now() + ms;
    while (!until.test(text) && Date.now() < deadline) {
      const r = await Promise.race([
        reader.read(),
        new Promise<null>((ok) => setTimeout(() => ok(null), deadline - Date.now())),
      ]);
      if (!r || r.done) break;
      text += new TextDecoder().decode(r.value);
    }
    return until.test(text);
  };
  assert.ok(await read(/event: hello/, 5000), 'hello');
  const at = new Date(START + CAPTURES * STEP);
  const c = demoCapture({
    flavor: 'vcenter',
    seed: 4,
    totalVms: 120,
    at,
    since: new Date(at.getTime() - STEP),
  });
  assert.is((await t.call('/api/v1/captures', { ...json(c), token: t.tokens.agent })).status, 201);
  assert.ok(
    await read(
      /event: capture\ndata: \{"count":2,"lastCapturedAt":"2026-05-04T00:00:00.000Z"\}/,
      8000,
    ),
    `capture event, got ${text}`,
  );
  ctl.abort();
  await reader.cancel().catch(() => {});
});

test('rollups, benchmarks and reports: daily/monthly views, SQL vs TS chart with parity and plan, report download', async () => {
  const sources = await t.db.sql`select id from sources order by id`;
  for (const { id } of sources) {
    for (const day of ['2026-05-01', '2026-05-02']) {
      await runAggregation(t.db.sql, 'sql', {
        kind: 'daily',
        sourceId: id,
        period: day,
        tz: 'UTC',
      });
    }
    await runAggregation(t.db.sql, 'sql', {
      kind: 'monthly',
      sourceId: id,
      period: '2026-05-01',
      tz: 'UTC',
    });
  }
  const [vm] = await t.db
    .sql`select source_id, vm_key from vm_daily_rollup order by source_id, vm_key limit 1`;
  const daily =
    await (await get(`/vms/${vm.source_id}/${encodeURIComponent(vm.vm_key)}?granularity=daily`))
      .text();
  assert.match(daily, /vCPU \(average\)/);
  assert.match(daily, /<rect class="bar s0"/);
  assert.match(daily, /<title>2026-05-01\n/);
  const totals = await (await get('/totals?granularity=daily')).text();
  assert.match(totals, /<td>2026-05-02<\/td>/);
  assert.match(await (await get('/totals?granularity=monthly')).text(), /<td>2026-05<\/td>/);
  const history = await (await get('/capture-history?kind=daily')).text();
  assert.match(history, />daily<\/span>/);
  assert.match(history, /<h1[^>]*>Capture history<\/h1>/);
  // Its old name ("Snapshots", which a vSphere admin reads as VM snapshots) redirects.
  const old = await get('/snapshots?kind=daily&source=1');
  assert.is(old.status, 301);
  assert.is(old.headers.get('location'), '/capture-history?kind=daily&source=1');

  const bench = await runBenchmark(t.db.sql, {
    kind: 'daily',
    sourceId: sources[0].id,
    period: '2026-05-02',
    tz: 'UTC',
    reps: 2,
  });
  const list = await (await get('/benchmarks')).text();
  assert.match(list, /<figure class="chart" id="chart-bench">/);
  assert.match(list, /badge ok">match</);
  const detail = await get(`/benchmarks/${bench.runGroup}`);
  assert.is(detail.status, 200);
  const html = await detail.text();
  assert.match(html, /parity: match/);
  assert.match(html, /<h2>SQL plan<\/h2>/);
  assert.is((await get('/benchmarks/00000000-0000-0000-0000-000000000000')).status, 404);

  const [r] = await t.db.sql`
    insert into reports (kind, period, format, status, file_name, content_type, size_bytes, chunk_count, row_count, expires_at)
    values ('monthly', '2026-05', 'csv', 'ready', 'vmledger-monthly-2026-05.zip', 'application/zip', 6, 2, 10, now() + interval '1 day')
    returning id`;
  await t.db.sql`insert into report_chunks (report_id, seq, data) values (${r.id}, 0, ${
    Buffer.from('abc')
  }), (${r.id}, 1, ${Buffer.from('def')})`;
  const reports = await (await get('/reports')).text();
  assert.match(reports, new RegExp(`href="/reports/${r.id}/download"`));
  const dl = await get(`/reports/${r.id}/download`);
  assert.is(dl.status, 200);
  assert.is(dl.headers.get('content-type'), 'application/zip');
  assert.match(dl.headers.get('content-disposition')!, /vmledger-monthly-2026-05\.zip/);
  assert.is(await dl.text(), 'abcdef');
  assert.is((await get('/reports/not-a-uuid/download')).status, 404);

  // Generate from the page: admin + CSRF; generated in the background (no job runner here).
  assert.is((await post('/reports', { kind: 'inventory', format: 'csv' })).status, 403);
  assert.is(
    (await post('/reports', { csrf: viewer.csrf, kind: 'inventory', format: 'csv' }, viewer))
      .status,
    403,
  );
  const badPeriod = await post('/reports', {
    csrf: admin.csrf,
    kind: 'monthly',
    period: 'last tuesday',
    format: 'xlsx',
  });
  assert.is(badPeriod.status, 400);
  assert.match(await badPeriod.text(), /period: a monthly report needs a month/);
  const made = await post('/reports', { csrf: admin.csrf, kind: 'inventory', format: 'csv' });
  assert.is(made.status, 303);
  assert.match(made.headers.get('location')!, /^\/reports\?requested=/);
  let status = '';
  for (let i = 0; i < 100 && status !== 'ready' && status !== 'failed'; i++) {
    [{ status }] = await t.db
      .sql`select status from reports where kind = 'inventory' order by created_at desc limit 1`;
    if (status !== 'ready') await new Promise((ok) => setTimeout(ok, 100));
  }
  assert.is(status, 'ready');
  const table = await (await get('/reports?part=table', admin, { 'hx-request': 'true' })).text();
  assert.match(table, /^<div id="reports">/);
  assert.match(table, /inventory/);
});

test('page ids that are not uuids are not found (404), never a failed cast', async () => {
  const dashes = '-'.repeat(36);
  for (const path of [`/benchmarks/${dashes}`, `/reports/${dashes}/download`]) {
    const res = await get(path);
    assert.is(res.status, 404, path);
  }
});

test('static assets: app.js and CSS served gzipped with an ETag; unknown assets 404', async () => {
  const res = await t.app.request('/static/app.js', { headers: { 'accept-encoding': 'gzip' } });
  assert.is(res.status, 200);
  assert.is(res.headers.get('content-encoding'), 'gzip');
  const etag = res.headers.get('etag')!;
  assert.is(
    (await t.app.request('/static/app.js', { headers: { 'if-none-match': etag } })).status,
    304,
  );
  assert.is((await t.app.request('/static/nope.js')).status, 404);
});

test.run();
