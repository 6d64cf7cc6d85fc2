/**
 * Create a token, revoke a token and capture now are each one action
 * (server/auth/token_actions.ts, server/agents/capture_now.ts) behind the page forms and the
 * API: driven once through each, they leave the same rows and the same audit row; bad input
 * gets the same error both ways (the page shows the API's message with its status) and
 * changes nothing.
 */
import { pageSession } from '../support/jobs.ts';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { verifyToken } from '../../server/auth/tokens.ts';
import { setLogLevel } from '../../server/log.ts';
import { createTestApp, json, type TestApp } from '../support/app.ts';

const test = suite('actions: tokens and capture now, through the page and the API');
let t: TestApp;
let adminId = 0;
let source = 0;
let cookie = '';
let csrf = '';

const login = (token: string) => pageSession(t.app, token);

test.before(async () => {
  setLogLevel('warn');
  t = await createTestApp('actions_tokens_capture');
  adminId = (await verifyToken(t.db.sql, t.tokens.admin))!.id;
  ({ cookie, csrf } = await login(t.tokens.admin));
  [{ id: source }] = await t.db.sql`
    insert into sources (kind, external_id, name) values ('vcenter', 'vc-x', 'vc-x') returning id`;
});
test.after(() => t?.close());

const viaPage = (path: string, form: Record<string, string> = {}) =>
  Promise.resolve(t.app.request(path, {
    method: 'POST',
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ csrf, ...form }).toString(),
  }));

const viaApi = (path: string, init: RequestInit = { method: 'POST' }) =>
  t.call(path, { ...init, token: t.tokens.admin });

/** The audit row of `target` with what may differ between two equal actions removed. */
async function auditOf(target: string) {
  const rows = await t.db.sql`
    select action, actor_id, actor_name, ip, detail from audit_log where target = ${target}`;
  assert.is(rows.length, 1, `one audit row for ${target}`);
  return { ...rows[0] };
}

async function tokenRow(id: number) {
  const [r] = await t.db.sql`
    select name, role, allowed_sources, created_by, revoked_at is not null as revoked,
      round(extract(epoch from expires_at - created_at) / 86400) as days
    from api_tokens where id = ${id}`;
  return { ...r };
}

const counts = async () => {
  const [r] = await t.db.sql`
    select (select count(*)::int from api_tokens) as tokens,
      (select count(*)::int from api_tokens where revoked_at is not null) as revoked,
      (select count(*)::int from audit_log where action <> 'auth.failure') as audit,
      (select count(*)::int from capture_requests) as requests,
      (select count(*)::int from sessions) as sessions`;
  return { ...r };
};

const escape = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');

/** The page and the API refuse alike: same status, the page shows the API's message. */
async function sameRefusal(page: Response, api: Response, code: string) {
  const body = await api.json();
  assert.is(body.error.code, code, JSON.stringify(body));
  assert.is(page.status, api.status, `page status for ${body.error.message}`);
  const html = await page.text();
  assert.ok(html.includes(escape(body.error.message)), `page shows "${body.error.message}"`);
}

test('create a token: the same row and audit row through the page form and the API', async () => {
  const page = await viaPage('/admin/tokens', {
    name: ' site-x agent ',
    role: 'agent',
    days: '30',
    sources: 'vcenter:vc-x, proxmox:pve-y',
  });
  assert.is(page.status, 200);
  assert.is(page.headers.get('cache-control'), 'no-store');
  const pageToken =
    /<code class="secret" id="new-token">([^<]+)<\/code>/.exec(await page.text())![1];
  const pageId = (await verifyToken(t.db.sql, pageToken))!.id;
  const api = await viaApi('/api/v1/tokens', {
    ...json({
      name: 'site-x agent',
      role: 'agent',
      expiresInDays: 30,
      sources: ['vcenter:vc-x', 'proxmox:pve-y'],
    }),
  });
  assert.is(api.status, 201);
  assert.is(api.headers.get('cache-control'), 'no-store');
  const created = await api.json();
  assert.match(created.token, /^vml_/);
  assert.ok(await verifyToken(t.db.sql, created.token));
  assert.equal(created.allowedSources, ['vcenter:vc-x', 'proxmox:pve-y']);

  const rows = [await tokenRow(pageId), await tokenRow(created.id)];
  assert.equal(rows[0], rows[1]);
  assert.equal(rows[0], {
    name: 'site-x agent',
    role: 'agent',
    allowed_sources: ['vcenter:vc-x', 'proxmox:pve-y'],
    created_by: adminId,
    revoked: false,
    days: '30',
  });
  const audits = [await auditOf(`token:${pageId}`), await auditOf(`token:${created.id}`)];
  for (const a of audits) {
    const detail = a.detail as { expiresAt: string };
    const days = (Date.parse(detail.expiresAt) - Date.now()) / 86400_000;
    assert.ok(days > 29.9 && days <= 30, `expiresAt ${detail.expiresAt}`);
    detail.expiresAt = '(30 days)';
  }
  assert.equal(audits[0], audits[1]);
  assert.equal(audits[0], {
    action: 'token.create',
    actor_id: adminId,
    actor_name: 'test admin',
    ip: 'local',
    detail: {
      name: 'site-x agent',
      role: 'agent',
      expiresAt: '(30 days)',
      allowedSources: ['vcenter:vc-x', 'proxmox:pve-y'],
    },
  });
});

test('revoke a token: the same effect (revoked, sessions ended) and audit row both ways', async () => {
  const make = async (name: string) => {
    const r = await viaApi('/api/v1/tokens', { ...json({ name, role: 'viewer' }) });
    const { id, token } = await r.json();
    await login(token);
    return id as number;
  };
  const [pageId, apiId] = [await make('to revoke'), await make('to revoke')];
  const sessions = (id: number) =>
    t.db.sql`select count(*)::int as n from sessions where token_id = ${id}`.then((r) => r[0].n);
  assert.is(await sessions(pageId), 1);
  const page = await viaPage(`/admin/tokens/${pageId}/revoke`);
  assert.is(page.status, 303);
  assert.is(page.headers.get('location'), '/admin?revoked=to%20revoke');
  const api = await viaApi(`/api/v1/tokens/${apiId}`, { method: 'DELETE' });
  assert.is(api.status, 200);
  assert.equal(await api.json(), { id: apiId, name: 'to revoke', revoked: true });
  assert.equal(await tokenRow(pageId), await tokenRow(apiId));
  assert.is((await tokenRow(pageId)).revoked, true);
  assert.equal([await sessions(pageId), await sessions(apiId)], [0, 0]);
  const revokes = await t.db.sql`
    select target, action, actor_id, actor_name, ip, detail from audit_log
    where action = 'token.revoke' order by id`;
  assert.equal(revokes.map((r) => ({ ...r })), [
    {
      target: `token:${pageId}`,
      action: 'token.revoke',
      actor_id: adminId,
      actor_name: 'test admin',
      ip: 'local',
      detail: { name: 'to revoke' },
    },
    {
      target: `token:${apiId}`,
      action: 'token.revoke',
      actor_id: adminId,
      actor_name: 'test admin',
      ip: 'local',
      detail: { name: 'to revoke' },
    },
  ]);
});

test('capture now: the same request row and audit row through the page and the API', async () => {
  const page = await viaPage(`/sources/${source}/capture`);
  assert.is(page.status, 303);
  assert.is(page.headers.get('location'), '/sources?done=requested');
  const api = await viaApi(`/api/v1/sources/${source}/capture`);
  assert.is(api.status, 202);
  const body = await api.json();
  assert.equal({ ...body, requestId: 0 }, { requestId: 0, sourceId: source, status: 'pending' });
  const requests = await t.db.sql`
    select id, source_id, requested_by, picked_up_at from capture_requests order by id`;
  assert.is(requests.length, 2);
  assert.is(requests[1].id, body.requestId);
  const audits = await t.db.sql`
    select action, target, actor_id, actor_name, ip, detail from audit_log
    where action = 'capture.request' order by id`;
  assert.is(audits.length, 2);
  for (const [i, r] of requests.entries()) {
    assert.equal({ ...r, id: 0 }, {
      id: 0,
      source_id: source,
      requested_by: adminId,
      picked_up_at: null,
    });
    assert.equal({ ...audits[i] }, {
      action: 'capture.request',
      target: `source:${source}`,
      actor_id: adminId,
      actor_name: 'test admin',
      ip: 'local',
      detail: { requestId: r.id },
    });
  }
});

test('bad input: the same error through the page and the API, and nothing changes', async () => {
  const before = await counts();
  const create: [Record<string, string>, Record<string, unknown>, string][] = [
    [{ name: '', role: 'viewer' }, { name: '', role: 'viewer' }, 'name: required'],
    [{ name: '   ', role: 'viewer' }, { name: '   ', role: 'viewer' }, 'name: required'],
    [{ name: 'x', role: 'king' }, { name: 'x', role: 'king' }, 'role: one of'],
    [
      { name: 'x', role: 'viewer', days: '0' },
      { name: 'x', role: 'viewer', expiresInDays: 0 },
      'expiresInDays',
    ],
    [
      { name: 'x', role: 'viewer', days: 'soon' },
      { name: 'x', role: 'viewer', expiresInDays: 'soon' },
      'expiresInDays',
    ],
    [
      { name: 'x', role: 'viewer', days: '4000' },
      { name: 'x', role: 'viewer', expiresInDays: 4000 },
      'expiresInDays',
    ],
    [
      { name: 'x', role: 'viewer', sources: 'vcenter:a' },
      { name: 'x', role: 'viewer', sources: ['vcenter:a'] },
      'sources: only agent tokens',
    ],
    [
      { name: 'x', role: 'agent', sources: 'vc-a' },
      { name: 'x', role: 'agent', sources: ['vc-a'] },
      'sources.0: must be kind:id',
    ],
    [
      { name: 'x', role: 'admin', scope: 'tag:tenant=acme' },
      { name: 'x', role: 'admin', scope: ['tag:tenant=acme'] },
      'scope: only viewer tokens',
    ],
    [
      { name: 'x', role: 'viewer', scope: 'tenant=acme' },
      { name: 'x', role: 'viewer', scope: ['tenant=acme'] },
      'scope.0: must be source:<id>',
    ],
  ];
  for (const [form, body, message] of create) {
    const api = await viaApi('/api/v1/tokens', { ...json(body) });
    assert.is(api.status, 400);
    assert.ok((await api.clone().json()).error.message.startsWith(message), message);
    await sameRefusal(await viaPage('/admin/tokens', form), api, 'invalid_body');
  }
  const past = await viaApi('/api/v1/tokens', {
    ...json({ name: 'x', role: 'viewer', expiresAt: '2020-01-01T00:00:00Z' }),
  });
  assert.is((await past.json()).error.message, 'expiresAt: must be in the future');

  const [{ id: revokedId }] = await t.db.sql`
    select id from api_tokens where revoked_at is not null order by id limit 1`;
  const revoke: [string, number, string][] = [
    ['999999', 404, 'not_found'],
    [String(revokedId), 404, 'not_found'],
    [String(adminId), 400, 'invalid_request'],
    ['abc', 400, 'invalid_path'],
  ];
  for (const [id, status, code] of revoke) {
    const api = await viaApi(`/api/v1/tokens/${id}`, { method: 'DELETE' });
    assert.is(api.status, status, `revoke ${id}`);
    await sameRefusal(await viaPage(`/admin/tokens/${id}/revoke`), api, code);
  }
  for (const [id, status, code] of [['999999', 404, 'not_found'], ['0', 400, 'invalid_path']]) {
    const api = await viaApi(`/api/v1/sources/${id}/capture`);
    assert.is(api.status, status, `capture ${id}`);
    await sameRefusal(await viaPage(`/sources/${id}/capture`), api, code as string);
  }
  assert.equal(await counts(), before);
  assert.ok(await verifyToken(t.db.sql, t.tokens.admin), 'the admin token still works');
});

test.run();
