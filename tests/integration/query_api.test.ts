import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { AuditRow } from '../../server/audit/audit_log.ts';
import type { TokenListItem } from '../../server/auth/tokens.ts';
import type { Page, VmListItem } from '../../server/inventory/list_query.ts';
import type { TotalsPoint } from '../../server/queries/history.ts';
import type { SourceRow } from '../../server/queries/sources.ts';
import type { TraceChange, TracePoint } from '../../server/queries/vm_detail.ts';
import { type ApiErrorBody, readJson } from '../support/api_bodies.ts';
import { createTestApp, json, type TestApp } from '../support/app.ts';
import { makeCapture } from '../support/captures.ts';

const test = suite('query API: VMs, trace, sources, history, tokens, audit, metrics');
let t: TestApp;
let sourceId = 0;

test.before(async () => {
  t = await createTestApp('query_api');
  const post = (c: unknown) => t.call('/api/v1/captures', { ...json(c), token: t.tokens.agent });
  const vms = (h: number) => [
    {
      key: 'k-web',
      name: 'web-01',
      vcpu: h >= 12 ? 4 : 2,
      ipAddresses: ['10.0.0.5'],
      instanceUuid: '5011aa00-0000-4000-8000-000000000001',
      cluster: 'prod',
      resourcePool: 'Gold',
    },
    {
      key: 'k-db',
      name: 'db-01',
      vcpu: 8,
      memoryMib: 32768,
      cluster: 'prod',
      resourcePool: 'Silver',
      powerState: h === 11 ? 'poweredOff' as const : 'poweredOn' as const,
    },
    {
      key: 'k-tpl',
      name: 'tpl-ubuntu',
      isTemplate: true,
      powerState: 'poweredOff' as const,
      cluster: 'dev',
    },
    ...(h < 12 ? [{ key: 'k-tmp', name: 'tmp-99', cluster: 'dev' }] : []),
  ];
  for (const h of [10, 11, 12]) {
    const r = await post(
      makeCapture({ sourceId: 'vc-q', at: `2026-05-10T${h}:00:00Z`, vms: vms(h) }),
    );
    sourceId = (await readJson<{ sourceId: number }>(r)).sourceId;
  }
});
test.after(() => t.close());

/** GET as `token`: the status and the body, read as `T` (unknown when only the status matters). */
const get = async <T = unknown>(path: string, token = t.tokens.viewer) => {
  const res = await t.call(path, { token });
  return { status: res.status, body: await readJson<T>(res) };
};

type Vms = Page<VmListItem>;
/** GET /vms/:source/:key, the parts read here. */
type VmDetail = {
  live: boolean;
  current: VmListItem | null;
  lastState: { name: string } | null;
  lifecycle: { firstSeenAt: string | null; deletedAt: string | null };
};
type Trace = { points: TracePoint[]; changes: TraceChange[] };
type Captures = Page<{ capturedAt: string }>;
type Created = { id: number; token: string };

test('units by name: memoryMib and provisionedDiskGib, the v1 names answered as aliases', async () => {
  const db = (await get<Vms>('/api/v1/vms?q=db-01')).body.items[0];
  assert.is(db.memoryMib, 32768);
  assert.is(db.ramMb, db.memoryMib, 'deprecated alias, same value');
  assert.is(db.provisionedDiskGb, db.provisionedDiskGib);
  assert.is(db.usedDiskGb, db.usedDiskGib);
  const csv = await t.call('/api/v1/vms?q=db-01', {
    token: t.tokens.viewer,
    headers: { accept: 'text/csv' },
  });
  const header = (await csv.text()).replace(/^\uFEFF/, '').split('\r\n')[0].split(',');
  assert.ok(header.includes('memory_mib') && header.includes('provisioned_disk_gib'), `${header}`);
  assert.not.ok(header.includes('ram_mb'));
});

test('VM list: search by name, IP, UUID; filters; sort and cursor', async () => {
  const names = async (path: string) => (await get<Vms>(path)).body.items.map((v) => v.name);
  assert.equal(await names('/api/v1/vms?q=web'), ['web-01']);
  assert.equal(await names('/api/v1/vms?q=10.0.0.5'), ['web-01']);
  assert.equal(await names('/api/v1/vms?q=5011AA00-0000-4000-8000-000000000001'), ['web-01']);
  assert.equal(await names('/api/v1/vms?template=true'), ['tpl-ubuntu']);
  assert.equal(await names('/api/v1/vms?cluster=prod&pool=Silver'), ['db-01']);
  const byVcpu = await get<Vms>('/api/v1/vms?sort=vcpu&order=desc&limit=1');
  assert.is(byVcpu.body.items[0].name, 'db-01');
  const next = await get<Vms>(
    `/api/v1/vms?sort=vcpu&order=desc&limit=1&cursor=${byVcpu.body.next}`,
  );
  assert.is(next.body.items[0].name, 'web-01');
  assert.is(next.body.total, 3);
  assert.is((await get('/api/v1/vms?sort=colour')).status, 400);
});

test('one VM: live state and lifecycle; a deleted VM keeps its lifecycle and last state', async () => {
  const web = await get<VmDetail>(`/api/v1/vms/${sourceId}/k-web`);
  assert.is(web.status, 200);
  assert.is(web.body.live, true);
  assert.is(web.body.current?.vcpu, 4);
  assert.is(web.body.lifecycle.firstSeenAt, '2026-05-10T10:00:00.000Z');
  const tmp = await get<VmDetail>(`/api/v1/vms/${sourceId}/k-tmp`);
  assert.is(tmp.body.live, false);
  assert.is(tmp.body.current, null);
  assert.is(tmp.body.lifecycle.deletedAt, '2026-05-10T12:00:00.000Z');
  assert.is(tmp.body.lastState?.name, 'tmp-99');
  assert.is((await get(`/api/v1/vms/${sourceId}/nope`)).status, 404);
  assert.is((await get('/api/v1/vms/abc/k-web')).status, 400);
});

test('trace per capture lists what changed when', async () => {
  const r = await get<Trace>(
    `/api/v1/vms/${sourceId}/k-web/trace?from=2026-05-10T00:00:00Z&to=2026-05-11T00:00:00Z`,
  );
  assert.is(r.status, 200);
  assert.is(r.body.points.length, 3);
  assert.equal(r.body.changes, [{ at: '2026-05-10T12:00:00.000Z', field: 'vCPU', from: 2, to: 4 }]);
  const db = await get<Trace>(
    `/api/v1/vms/${sourceId}/k-db/trace?from=2026-05-10T00:00:00Z&to=2026-05-11T00:00:00Z`,
  );
  assert.equal(db.body.changes.map((c) => [c.field, c.to]), [['power', 'poweredOff'], [
    'power',
    'poweredOn',
  ]]);
  assert.is(
    (await get(`/api/v1/vms/${sourceId}/k-web/trace?from=2026-05-12&to=2026-05-11`)).status,
    400,
  );
  assert.is((await get(`/api/v1/vms/${sourceId}/k-web/trace?granularity=hourly`)).status, 400);
});

test('sources, captures, snapshots and totals', async () => {
  const sources = await get<Page<SourceRow>>('/api/v1/sources');
  assert.is(sources.body.total, 1);
  assert.is(sources.body.items[0].lastCapture?.vmCount, 3);
  assert.is(sources.body.items[0].agent?.name, 'test agent');
  assert.is((await get<SourceRow>(`/api/v1/sources/${sourceId}`)).body.externalId, 'vc-q');
  assert.is((await get('/api/v1/sources/424242')).status, 404);
  const caps = await get<Captures>('/api/v1/captures?limit=2');
  assert.is(caps.body.total, 3);
  assert.is(caps.body.items[0].capturedAt, '2026-05-10T12:00:00.000Z');
  const older = await get<Captures>(`/api/v1/captures?limit=2&cursor=${caps.body.next}`);
  assert.equal(older.body.items.map((c) => c.capturedAt), ['2026-05-10T10:00:00.000Z']);
  assert.is((await get<Page<unknown>>('/api/v1/snapshots?kind=capture')).body.total, 3);
  const totals = await get<{ items: TotalsPoint[] }>(
    '/api/v1/totals?granularity=capture&from=2026-05-10T00:00:00Z&to=2026-05-11T00:00:00Z',
  );
  assert.equal(totals.body.items.map((p) => [p.vmCount, p.poweredOn, p.vcpu]), [[3, 3, 12], [
    3,
    2,
    12,
  ], [2, 2, 12]]);
});

test('tokens: create (value shown once), use, list without values, revoke → 401; audit records it', async () => {
  assert.is(
    (await t.call('/api/v1/tokens', {
      ...json({ name: 'ro', role: 'viewer' }),
      token: t.tokens.viewer,
    })).status,
    403,
  );
  const bad = await t.call('/api/v1/tokens', {
    ...json({ name: '', role: 'king' }),
    token: t.tokens.admin,
  });
  assert.is(bad.status, 400);
  assert.equal((await readJson<ApiErrorBody>(bad)).error.issues.map((i) => i.path).sort(), [
    'name',
    'role',
  ]);
  const created = await t.call('/api/v1/tokens', {
    ...json({ name: 'report bot', role: 'viewer', expiresInDays: 30 }),
    token: t.tokens.admin,
  });
  assert.is(created.status, 201);
  const { id, token } = await readJson<Created>(created);
  assert.match(token, /^vml_/);
  assert.is((await get('/api/v1/vms?limit=1', token)).status, 200);
  const list = await get<{ items: TokenListItem[] }>('/api/v1/tokens', t.tokens.admin);
  const mine = list.body.items.find((x) => x.id === id);
  assert.ok(mine, 'the new token is listed');
  assert.is(mine.status, 'active');
  assert.ok(mine.lastUsedAt);
  assert.not.ok(JSON.stringify(list.body).includes(token), 'values never listed');
  assert.is(
    (await t.call(`/api/v1/tokens/${id}`, { method: 'DELETE', token: t.tokens.admin })).status,
    200,
  );
  assert.is((await get('/api/v1/vms?limit=1', token)).status, 401);
  assert.is(
    (await t.call(`/api/v1/tokens/${id}`, { method: 'DELETE', token: t.tokens.admin })).status,
    404,
  );
  const auditLog = await get<{ items: AuditRow[] }>('/api/v1/audit', t.tokens.admin);
  const actions = auditLog.body.items.map((e) => e.action);
  assert.ok(
    actions.includes('token.create') && actions.includes('token.revoke') &&
      actions.includes('auth.failure'),
  );
});

test('an agent token created for named sources may post only for those', async () => {
  const r = await t.call('/api/v1/tokens', {
    ...json({ name: 'site b', role: 'agent', sources: ['vcenter:vc-b'] }),
    token: t.tokens.admin,
  });
  const { token } = await readJson<Created>(r);
  const ok = await t.call('/api/v1/captures', {
    ...json(makeCapture({ sourceId: 'vc-b', at: '2026-05-10T10:00:00Z', vms: [{ key: 'a' }] })),
    token,
  });
  assert.is(ok.status, 201);
  const other = await t.call('/api/v1/captures', {
    ...json(makeCapture({ sourceId: 'vc-c', at: '2026-05-10T10:00:00Z', vms: [{ key: 'a' }] })),
    token,
  });
  assert.is(other.status, 403);
  assert.is(
    (await t.call('/api/v1/tokens', {
      ...json({ name: 'x', role: 'viewer', sources: ['vcenter:a'] }),
      token: t.tokens.admin,
    })).status,
    400,
  );
});

test('an expired token is refused', async () => {
  const r = await t.call('/api/v1/tokens', {
    ...json({ name: 'soon', role: 'viewer', expiresAt: new Date(Date.now() + 1500).toISOString() }),
    token: t.tokens.admin,
  });
  const { token } = await readJson<Created>(r);
  assert.is((await get('/api/v1/vms?limit=1', token)).status, 200);
  await new Promise((res) => setTimeout(res, 1700));
  assert.is((await get('/api/v1/vms?limit=1', token)).status, 401);
});

test('/metrics in Prometheus text for admin or a metrics token', async () => {
  const m = await t.call('/api/v1/tokens', {
    ...json({ name: 'prometheus', role: 'metrics' }),
    token: t.tokens.admin,
  });
  const { token } = await readJson<Created>(m);
  assert.is((await t.call('/metrics', { token: t.tokens.viewer })).status, 403);
  const res = await t.call('/metrics', { token });
  assert.is(res.status, 200);
  const text = await res.text();
  assert.match(text, /vmledger_captures_received_total\{outcome="stored"\} \d+/);
  assert.match(
    text,
    /vmledger_source_seconds_since_last_capture\{source="vc-q",kind="vcenter"\} \d+/,
  );
  assert.match(text, /vmledger_inventory_vms\{source="vc-q",kind="vcenter"\} 3/);
  assert.match(text, /vmledger_ingest_duration_seconds_bucket/);
  assert.is((await get('/api/v1/vms', token)).status, 403, 'a metrics token reads nothing else');
});

test.run();
