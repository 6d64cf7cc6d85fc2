/**
 * Per-source visibility (auth/scope.ts, migration 0059): a viewer limited to the tenant
 * `acme` walks every registered GET route of the API and of the pages — the list comes from
 * the app's route table, so a new route cannot be forgotten — with the other tenant's ids
 * in the path and its IP and UUID as the search, and no answer may hold any name, key, UUID
 * or address of the other tenant's VMs. The other tenant's VM by id is 404 (not 403).
 */
import ExcelJS from 'exceljs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createToken } from '../../server/auth/tokens.ts';
import { runAggregation } from '../../server/aggregate/run.ts';
import { makeCapture } from '../support/captures.ts';
import { createTestApp, json, type TestApp } from '../support/app.ts';

const test = suite('scoped viewer: no other tenant in any route');
let t: TestApp;
let scoped: string;
let cookie: string;
let acmeId: number;
let betaId: number;

const UUID = (n: number) => `bbbbbbbb-0000-4000-8000-00000000000${n}`;
const beta = (at: string, size: number) =>
  makeCapture({
    sourceId: 'vc-beta',
    at,
    vms: [1, 2].map((i) => ({
      key: `beta-key-${i}`,
      name: `beta-secret-${i}`,
      instanceUuid: UUID(i),
      ipAddresses: [`10.66.0.${i}`],
      vcpu: size,
    })),
  });
const acme = (at: string, size: number) =>
  makeCapture({
    sourceId: 'vc-acme',
    at,
    vms: [1, 2, 3].map((i) => ({
      key: `acme-key-${i}`,
      name: `acme-vm-${i}`,
      ipAddresses: [`10.11.0.${i}`],
      vcpu: size,
    })),
  });
/** What must never reach the acme viewer: every name, key, UUID and address of beta's VMs. */
const SECRETS = [1, 2].flatMap((
  i,
) => [`beta-secret-${i}`, `beta-key-${i}`, UUID(i), `10.66.0.${i}`])
  .concat(['vc-beta']);

test.before(async () => {
  t = await createTestApp('scoped_viewer');
  for (const c of [beta('2026-05-10T10:00:00Z', 2), acme('2026-05-10T10:00:00Z', 2)]) {
    const r = await t.call('/api/v1/captures', { ...json(c), token: t.tokens.agent });
    assert.is(r.status, 201, await r.text());
  }
  // A second capture each: resizes, so `changes` has rows of both tenants.
  for (const c of [beta('2026-05-11T10:00:00Z', 4), acme('2026-05-11T10:00:00Z', 4)]) {
    const r = await t.call('/api/v1/captures', { ...json(c), token: t.tokens.agent });
    assert.is(r.status, 201, await r.text());
  }
  const rows = await t.db.sql`select id, external_id from sources order by id`;
  acmeId = rows.find((r) => r.external_id === 'vc-acme')!.id;
  betaId = rows.find((r) => r.external_id === 'vc-beta')!.id;
  // May costed for both tenants through the real path: rollups of the two days and the
  // month, a default rate card, POST /cost-runs (the monthly job needs jobs).
  for (const sourceId of [acmeId, betaId]) {
    for (const day of ['2026-05-10', '2026-05-11']) {
      await runAggregation(t.db.sql, 'sql', { kind: 'daily', sourceId, period: day, tz: 'UTC' });
    }
    await runAggregation(t.db.sql, 'sql', {
      kind: 'monthly',
      sourceId,
      period: '2026-05-01',
      tz: 'UTC',
    });
  }
  const admin = async (path: string, body: unknown) => {
    const r = await t.call(`/api/v1${path}`, { ...json(body), token: t.tokens.admin });
    assert.ok(r.status < 300, `${path}: ${r.status} ${await r.clone().text()}`);
    return await r.json();
  };
  const card = await admin('/rate-cards', { name: 'Std', currency: 'EUR', isDefault: true });
  await admin(`/rate-cards/${card.id}/versions`, {
    effectiveFrom: '2026-01-01',
    vcpuHour: '0.01',
    ramGbHour: '0.005',
    diskGbMonth: '0.10',
    vmMonth: '3.00',
  });
  for (const sourceId of [acmeId, betaId]) {
    await admin('/cost-runs', { sourceId, month: '2026-05', engine: 'sql' });
  }
  // A firing alert with an event on one VM of each tenant (the evaluator needs jobs: by hand).
  await t.db.sql`
    insert into alert_rules (id, name, description, severity)
    values ('vm_test', 'VM test', 'a rule for this test', 'warning')`;
  for (const [source, key] of [[acmeId, 'acme-key-1'], [betaId, 'beta-key-1']] as const) {
    const name = key.replace('key', key.startsWith('beta') ? 'secret' : 'vm');
    const [a] = await t.db.sql`
      insert into alerts (rule_id, object_kind, object_key, object_name, source_id, group_key,
                          severity, state, summary, pending_since, fired_at, last_evaluated_at)
      values ('vm_test', 'vm', ${key}, ${name}, ${source}, ${key}, 'warning', 'firing',
              ${name + ' is in trouble'}, now(), now(), now())
      returning id`;
    await t.db.sql`
      insert into alert_events (alert_id, at, kind, details)
      values (${a.id}, now(), 'fired', ${t.db.sql.json({ vm: name })})`;
  }
  const tag = await t.call(`/api/v1/sources/${acmeId}/tags`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ tags: ['tenant=acme'] }),
    token: t.tokens.admin,
  });
  assert.is(tag.status, 200, await tag.text());
  scoped = (await createToken(t.db.sql, {
    name: 'acme automation',
    role: 'viewer',
    scope: ['tag:tenant=acme'],
  })).token;
  const login = await t.app.request('/login', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: scoped }).toString(),
  });
  cookie = login.headers.get('set-cookie')!.split(';')[0];
});
test.after(() => t.close());

function getRoutes(api: boolean): string[] {
  const seen = new Set<string>();
  for (const r of t.app.routes) {
    if (r.method !== 'GET' || r.path.endsWith('*')) continue;
    if (api !== (r.path.startsWith('/api/v1/') || r.path === '/metrics')) continue;
    if (['/events', '/login', '/login/oidc', '/login/oidc/callback', '/healthz'].includes(r.path)) {
      continue;
    }
    if (r.path.startsWith('/static') || r.path.includes('.js') || r.path.includes('.css')) continue;
    seen.add(r.path);
  }
  return [...seen];
}

/** The other tenant's ids in the path (its source, VM key) and its address/UUID as the search. */
const fill = (path: string) =>
  path.replace(/:source\b/, String(betaId)).replace(/:key\b/, 'beta-key-1')
    .replace(/:id\b/, path.includes('/sources/') ? String(betaId) : '1')
    .replace(/:[A-Za-z_]+/g, '1');
const searches = () => [
  '',
  '?q=10.66.0.1',
  `?q=${UUID(1)}`,
  '?q=beta-secret',
  `?source=${betaId}`,
  '?at=2026-05-10T12:00:00Z',
  '?from=2026-05-01&to=2026-06-01', // the captures' month: changes, history, rollups
  '?month=2026-05&group_by=vm', // the costed month, VM by VM
];

/**
 * The secrets in an answer, but for one the request itself holds (an error message or a
 * search box repeats it): the VM's other names and addresses still give a leak away.
 */
function leaks(body: string, url: string): string[] {
  const asked = decodeURIComponent(url).split(/[/?=&]/);
  return SECRETS.filter((s) => !asked.includes(s) && body.includes(s));
}

test('the scoped viewer sees its own tenant: list, totals, search', async () => {
  const res = await t.call('/api/v1/vms', { token: scoped });
  const body = await res.json();
  assert.is(res.status, 200);
  assert.equal(body.items.map((v: { name: string }) => v.name).sort(), [
    'acme-vm-1',
    'acme-vm-2',
    'acme-vm-3',
  ]);
  const all = await (await t.call('/api/v1/vms', { token: t.tokens.viewer })).json();
  assert.is(all.items.length, 5, 'an unscoped viewer sees both tenants (the walk can fail)');
  const who = await (await t.call('/api/v1/whoami', { token: scoped })).json();
  assert.equal(who.scope, ['tag:tenant=acme']);
  const alerts = await (await t.call('/api/v1/alerts', { token: scoped })).json();
  assert.equal(alerts.items.map((a: { objectName: string }) => a.objectName), ['acme-vm-1']);
  const ip = await (await t.call('/api/v1/vms?q=10.11.0.2', { token: scoped })).json();
  assert.equal(ip.items.map((v: { name: string }) => v.name), ['acme-vm-2']);
});

test("another tenant's VM, source, hosts by id: 404, not 403", async () => {
  for (const path of [`/api/v1/vms/${betaId}/beta-key-1`, `/api/v1/sources/${betaId}`]) {
    const res = await t.call(path, { token: scoped });
    assert.is(res.status, 404, `${path}: ${res.status}`);
    assert.is((await t.call(path, { token: t.tokens.viewer })).status, 200, `${path} exists`);
  }
});

/** Every cell of a workbook, as text. */
async function cells(buf: ArrayBuffer): Promise<string> {
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.load(buf);
  const out: string[] = [];
  wb.eachSheet((ws) => ws.eachRow((row) => out.push(JSON.stringify(row.values))));
  return out.join('\n');
}

test("reports: one of the tenant's source is theirs to download, one of every source is 404", async () => {
  const mine = await (await t.call('/api/v1/rvtools', {
    ...json({ source: acmeId, wait: true }),
    token: t.tokens.admin,
  })).json();
  assert.is(mine.status, 'ready', JSON.stringify(mine));
  const file = await t.call(`/api/v1/reports/${mine.id}/file`, { token: scoped });
  assert.is(file.status, 200);
  const text = await cells(await file.arrayBuffer());
  assert.ok(text.includes('acme-vm-1'), 'holds acme');
  assert.equal(leaks(text, ''), [], 'holds no beta');
  const all = await (await t.call('/api/v1/reports', {
    ...json({ kind: 'inventory', wait: true }),
    token: t.tokens.admin,
  })).json();
  assert.is(all.status, 'ready', JSON.stringify(all));
  const whole = await t.call(`/api/v1/reports/${all.id}/file`, { token: t.tokens.viewer });
  assert.ok((await cells(await whole.arrayBuffer())).includes('beta-secret-1'), 'can fail');
  for (const path of [`/api/v1/reports/${all.id}`, `/api/v1/reports/${all.id}/file`]) {
    assert.is((await t.call(path, { token: scoped })).status, 404, path);
  }
  const list = await (await t.call('/api/v1/reports', { token: scoped })).json();
  assert.equal(list.items.map((r: { id: string }) => r.id), [mine.id]);
});

test('every API GET route × searches: no other tenant in any answer', async () => {
  const problems: string[] = [];
  let checked = 0;
  for (const path of getRoutes(true)) {
    // Detail routes carry the other tenant's ids in the path; lists get the searches too.
    for (const search of path.includes(':') ? [''] : searches()) {
      const url = fill(path) + search;
      const res = await t.call(url, { token: scoped });
      const body = await res.text();
      checked++;
      if (res.status >= 500) problems.push(`${url}: ${res.status} ${body.slice(0, 200)}`);
      const found = leaks(body, url);
      if (found.length) problems.push(`${url}: ${res.status} holds ${found.join(', ')}`);
    }
  }
  assert.ok(checked > 100, `${checked} requests`);
  assert.equal(problems, []);
});

test('every page GET route × searches (and CSV): no other tenant in any page', async () => {
  const problems: string[] = [];
  let ok = 0;
  for (const path of getRoutes(false)) {
    // Detail routes carry the other tenant's ids in the path; lists get the searches too.
    for (const search of path.includes(':') ? [''] : searches()) {
      const url = fill(path) + search;
      const res = await t.app.request(url, { headers: { cookie } });
      const body = await res.text();
      if (res.status === 200) ok++;
      if (res.status >= 500) problems.push(`${url}: ${res.status} ${body.slice(0, 200)}`);
      const found = leaks(body, url);
      if (found.length) problems.push(`${url}: ${res.status} holds ${found.join(', ')}`);
    }
  }
  assert.ok(ok > 50, `${ok} pages answered 200`);
  assert.equal(problems, []);
});

test("the walk can fail: an unscoped viewer's lists hold the other tenant", async () => {
  const found = new Set<string>();
  for (const path of getRoutes(true).filter((p) => !p.includes(':'))) {
    for (const search of ['', '?from=2026-05-01&to=2026-06-01', '?month=2026-05&group_by=vm']) {
      const body = await (await t.call(path + search, { token: t.tokens.viewer })).text();
      if (leaks(body, path).length) found.add(path);
    }
  }
  for (
    const path of [
      '/api/v1/vms',
      '/api/v1/alerts',
      '/api/v1/changes',
      '/api/v1/sources',
      '/api/v1/costs',
    ]
  ) {
    assert.ok(found.has(path), `${path} holds beta for an unscoped viewer`);
  }
});

test.run();
