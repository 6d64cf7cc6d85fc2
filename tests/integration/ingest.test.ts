import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { gzipSync } from 'node:zlib';
import { type ApiErrorBody, type LooseCapture, readJson } from '../support/api_bodies.ts';
import { createTestApp, json, type TestApp } from '../support/app.ts';
import { makeCapture } from '../support/captures.ts';

const test = suite('ingest: idempotency, limits, lifecycle, order');
let t: TestApp;

test.before(async () => {
  t = await createTestApp('ingest', { maxBodyBytes: 256 * 1024 });
});
test.after(() => t.close());

const post = (body: unknown, token = t.tokens.agent, headers: Record<string, string> = {}) =>
  t.call('/api/v1/captures', { ...json(body, headers), token });

async function lifecycle(source: string, key: string) {
  const [row] = await t.db.sql`
    select l.* from vm_lifecycle l join sources s on s.id = l.source_id where s.external_id = ${source} and l.vm_key = ${key}`;
  return row;
}
async function live(source: string): Promise<string[]> {
  const rows = await t.db.sql`
    select i.vm_key from vm_inventory i join sources s on s.id = i.source_id where s.external_id = ${source} order by 1`;
  return rows.map((r) => r.vm_key);
}
async function rows(table: string, source: string): Promise<number> {
  const [r] = await t.db.sql.unsafe(
    `select count(*)::int as n from ${table} x join sources s on s.id = x.source_id where s.external_id = $1`,
    [source],
  );
  return r.n;
}

test('the same capture id twice → 200 duplicate, nothing written twice', async () => {
  const c = makeCapture({
    sourceId: 'dup',
    at: '2026-05-01T10:00:00Z',
    vms: [{ key: 'a' }, { key: 'b' }],
  });
  assert.is((await post(c)).status, 201);
  const again = await post(c);
  assert.is(again.status, 200);
  assert.equal(await again.json(), { captureId: c.captureId, duplicate: true });
  assert.is(await rows('vm_hourly_stats', 'dup'), 2);
  assert.is(await rows('source_totals', 'dup'), 1);
});

test('two copies at the same moment: one stored, one duplicate', async () => {
  const c = makeCapture({
    sourceId: 'dup',
    at: '2026-05-01T11:00:00Z',
    vms: [{ key: 'a' }, { key: 'b' }, { key: 'c' }],
  });
  const [r1, r2, r3] = await Promise.all([post(c), post(c), post(c)]);
  assert.equal([r1.status, r2.status, r3.status].sort(), [200, 200, 201]);
  assert.is(await rows('vm_hourly_stats', 'dup'), 5);
  assert.is(await rows('captures', 'dup'), 2);
});

test('a different capture id for the same source and time → 409', async () => {
  const c = makeCapture({ sourceId: 'dup', at: '2026-05-01T11:00:00Z', vms: [{ key: 'z' }] });
  const res = await post(c);
  assert.is(res.status, 409);
  assert.is((await res.json()).error.code, 'capture_conflict');
  assert.is(await rows('vm_hourly_stats', 'dup'), 5);
});

test("posting for another agent token's source → 403, nothing stored", async () => {
  const c = makeCapture({ sourceId: 'dup', at: '2026-05-01T12:00:00Z', vms: [{ key: 'a' }] });
  const res = await post(c, t.tokens.agent2);
  assert.is(res.status, 403);
  assert.is((await res.json()).error.code, 'source_not_yours');
  assert.is(await rows('captures', 'dup'), 2);
});

test('oversize body → 413; gzip bomb cut off → 413; malformed gzip → 400; unknown encoding → 415', async () => {
  const big = makeCapture({
    sourceId: 'limits',
    at: '2026-05-01T10:00:00Z',
    vms: Array.from({ length: 3000 }, (_, i) => ({ key: `k${i}` })),
  });
  const r1 = await post(big);
  assert.is(r1.status, 413);
  assert.is((await r1.json()).error.code, 'body_too_large');
  // 50 MB of zeros gzips to ~50 KB: it must be refused while inflating, not after.
  const bomb = gzipSync(Buffer.alloc(50 * 1024 * 1024, 0x20));
  assert.ok(bomb.length < 256 * 1024);
  const r2 = await t.call('/api/v1/captures', {
    method: 'POST',
    body: bomb,
    token: t.tokens.agent,
    headers: { 'content-encoding': 'gzip' },
  });
  assert.is(r2.status, 413);
  const r3 = await t.call('/api/v1/captures', {
    method: 'POST',
    body: Buffer.from('not gzip at all'),
    token: t.tokens.agent,
    headers: { 'content-encoding': 'gzip' },
  });
  assert.is(r3.status, 400);
  assert.is((await r3.json()).error.code, 'invalid_gzip');
  const r4 = await t.call('/api/v1/captures', {
    method: 'POST',
    body: 'x',
    token: t.tokens.agent,
    headers: { 'content-encoding': 'br' },
  });
  assert.is(r4.status, 415);
  // A gzipped valid capture is accepted.
  const small = makeCapture({
    sourceId: 'limits',
    at: '2026-05-01T10:00:00Z',
    vms: [{ key: 'a' }],
  });
  const r5 = await t.call('/api/v1/captures', {
    method: 'POST',
    body: gzipSync(JSON.stringify(small)),
    token: t.tokens.agent,
    headers: { 'content-encoding': 'gzip' },
  });
  assert.is(r5.status, 201);
  assert.is(await rows('captures', 'limits'), 1);
});

test('wrong types → 400 listing every bad field; nothing stored', async () => {
  const c: LooseCapture = makeCapture({
    sourceId: 'types',
    at: '2026-05-01T10:00:00Z',
    vms: [{ key: 'a' }],
  });
  c.vms[0].vcpu = -1;
  c.vms[0].powerState = 'on';
  c.capturedAt = 'yesterday';
  const res = await post(c);
  assert.is(res.status, 400);
  const paths = (await readJson<ApiErrorBody>(res)).error.issues.map((i) => i.path).sort();
  assert.equal(paths, ['capturedAt', 'vms.0.powerState', 'vms.0.vcpu']);
  assert.is(
    (await t.db.sql`select count(*)::int as n from sources where external_id = 'types'`)[0].n,
    0,
  );
});

test('an incomplete capture never deletes; the next complete one does, with the event time', async () => {
  const s = 'life';
  await post(
    makeCapture({
      sourceId: s,
      at: '2026-05-02T10:00:00Z',
      vms: [{ key: 'a', createdAt: '2026-04-01T00:00:00Z' }, { key: 'b' }, { key: 'c' }],
    }),
  );
  const r = await post(
    makeCapture({ sourceId: s, at: '2026-05-02T11:00:00Z', vms: [{ key: 'a' }], complete: false }),
  );
  assert.is((await r.json()).deleted, 0);
  assert.equal(await live(s), ['a', 'b', 'c']);
  const r2 = await post(makeCapture({
    sourceId: s,
    at: '2026-05-02T12:00:00Z',
    vms: [{ key: 'a' }, { key: 'c' }],
    events: [{
      type: 'deleted',
      at: '2026-05-02T11:40:00Z',
      vmKey: 'b',
      sourceVmId: 'b',
      vmName: 'vm-b',
      detail: null,
    }],
  }));
  assert.is((await r2.json()).deleted, 1);
  assert.equal(await live(s), ['a', 'c']);
  const b = await lifecycle(s, 'b');
  assert.is(b.deleted_at.toISOString(), '2026-05-02T11:40:00.000Z');
  assert.is(b.deleted_from, 'event');
  assert.is(await rows('vm_hourly_stats', s), 3 + 1 + 2, 'history kept');
  const a = await lifecycle(s, 'a');
  assert.is(a.created_at.toISOString(), '2026-04-01T00:00:00.000Z');
  assert.is(a.created_from, 'source');
});

test('deletion by absence uses the capture time; a VM that comes back is a reappearance', async () => {
  const s = 'life';
  await post(makeCapture({ sourceId: s, at: '2026-05-02T13:00:00Z', vms: [{ key: 'a' }] }));
  const c = await lifecycle(s, 'c');
  assert.is(c.deleted_at.toISOString(), '2026-05-02T13:00:00.000Z');
  assert.is(c.deleted_from, 'absence');
  assert.is(c.last_seen_at.toISOString(), '2026-05-02T12:00:00.000Z');
  const res = await post(
    makeCapture({ sourceId: s, at: '2026-05-02T14:00:00Z', vms: [{ key: 'a' }, { key: 'c' }] }),
  );
  assert.is((await res.json()).reappeared, 1);
  const back = await lifecycle(s, 'c');
  assert.is(back.deleted_at, null);
  assert.is(back.reappeared_count, 1);
  assert.equal(await live(s), ['a', 'c']);
  const [ev] = await t.db
    .sql`select type, at from vm_events where vm_key = 'c' and type = 'reappeared'`;
  assert.is(ev.at.toISOString(), '2026-05-02T14:00:00.000Z');
});

test('creation time from a creation event when the source gives none', async () => {
  const s = 'life';
  await post(makeCapture({
    sourceId: s,
    at: '2026-05-02T15:00:00Z',
    vms: [{ key: 'a' }, { key: 'c' }, { key: 'n' }],
    events: [{
      type: 'created',
      at: '2026-05-02T14:30:00Z',
      vmKey: 'n',
      sourceVmId: 'n',
      vmName: 'vm-n',
      detail: 'VmClonedEvent',
    }],
  }));
  const n = await lifecycle(s, 'n');
  assert.is(n.created_at.toISOString(), '2026-05-02T14:30:00.000Z');
  assert.is(n.created_from, 'event');
  const c = await lifecycle(s, 'c');
  assert.is(c.created_at, null, 'never invented');
});

test('vmid reuse: a new creation time is a new VM; the old one is deleted', async () => {
  const s = 'pve';
  const old = 'pve:105:1700000000';
  const fresh = 'pve:105:1746000000';
  await post(
    makeCapture({
      kind: 'proxmox',
      sourceId: s,
      at: '2026-05-03T10:00:00Z',
      vms: [{ key: old, sourceVmId: '105', name: 'db' }],
    }),
  );
  await post(makeCapture({
    kind: 'proxmox',
    sourceId: s,
    at: '2026-05-03T11:00:00Z',
    vms: [{ key: fresh, sourceVmId: '105', name: 'db', createdAt: '2026-05-03T10:30:00Z' }],
    events: [{
      type: 'deleted',
      at: '2026-05-03T10:20:00Z',
      vmKey: null,
      sourceVmId: '105',
      vmName: null,
      detail: 'qmdestroy',
    }],
  }));
  assert.equal(await live(s), [fresh]);
  const o = await lifecycle(s, old);
  assert.is(o.deleted_at.toISOString(), '2026-05-03T10:20:00.000Z');
  const f = await lifecycle(s, fresh);
  assert.is(f.deleted_at, null);
  assert.is(f.reappeared_count, 0);
});

test('out-of-order captures: a late capture adds facts, never overwrites newer state, deletes in captured-at order', async () => {
  const s = 'order';
  await post(
    makeCapture({
      sourceId: s,
      at: '2026-05-04T10:00:00Z',
      vms: [{ key: 'a', vcpu: 2 }, { key: 'b' }],
    }),
  );
  await post(
    makeCapture({ sourceId: s, at: '2026-05-04T12:00:00Z', vms: [{ key: 'a', vcpu: 8 }] }),
  );
  assert.equal(await live(s), ['a']);
  // 11:00 arrives last: a had 4 vCPU then, b still existed, and x lived only around 11:00.
  const res = await post(
    makeCapture({
      sourceId: s,
      at: '2026-05-04T11:00:00Z',
      vms: [{ key: 'a', vcpu: 4 }, { key: 'b' }, { key: 'x' }],
    }),
  );
  const body = await res.json();
  assert.is(body.late, true);
  assert.is(body.deleted, 0);
  const [inv] = await t.db
    .sql`select vcpu, state_at from vm_inventory where vm_key = 'a' and source_id = (select id from sources where external_id = ${s})`;
  assert.is(inv.vcpu, 8, 'newer state kept');
  assert.equal(await live(s), ['a'], 'b and x stay gone');
  const b = await lifecycle(s, 'b');
  assert.is(b.last_seen_at.toISOString(), '2026-05-04T11:00:00.000Z');
  assert.is(b.deleted_at.toISOString(), '2026-05-04T12:00:00.000Z');
  const x = await lifecycle(s, 'x');
  assert.is(x.first_seen_at.toISOString(), '2026-05-04T11:00:00.000Z');
  assert.is(x.deleted_at.toISOString(), '2026-05-04T12:00:00.000Z');
  assert.is(await rows('vm_hourly_stats', s), 6);
});

test('hosts, datastores and source totals are recorded per capture; templates excluded from sizing', async () => {
  const s = 'cap';
  await post(makeCapture({
    sourceId: s,
    at: '2026-05-05T10:00:00Z',
    vms: [{ key: 'a', vcpu: 4, memoryMib: 8192, provisionedDiskGib: 100.5 }, {
      key: 'b',
      powerState: 'poweredOff',
      vcpu: 2,
    }, { key: 't', isTemplate: true, vcpu: 64 }],
    hosts: [{
      key: 'host-1',
      name: 'esx1',
      datacenter: 'dc1',
      cluster: 'c1',
      connectionState: 'connected',
      powerState: 'poweredOn',
      cpuCores: 32,
      cpuMhz: 2400,
      memoryMib: 524288,
      version: '8.0',
    }],
    datastores: [{
      key: 'ds-1',
      name: 'vsan',
      type: 'vsan',
      capacityGib: 1000,
      freeGib: 400,
      accessible: true,
    }],
  }));
  const [tot] = await t.db
    .sql`select * from source_totals where source_id = (select id from sources where external_id = ${s})`;
  assert.is(tot.vm_count, 2);
  assert.is(tot.powered_on_count, 1);
  assert.is(tot.template_count, 1);
  assert.is(Number(tot.vcpu), 6);
  assert.is(Number(tot.provisioned_disk_gb), 140.5);
  assert.is(await rows('host_facts', s), 1);
  assert.is(await rows('datastore_inventory', s), 1);
  assert.is(await rows('snapshot_registry', s), 1);
});

test('heartbeat stores poll health; an admin capture-now reaches the owning agent once', async () => {
  const [src] = await t.db.sql`select id from sources where external_id = 'cap'`;
  assert.is(
    (await t.call(`/api/v1/sources/${src.id}/capture`, { method: 'POST', token: t.tokens.viewer }))
      .status,
    403,
  );
  assert.is(
    (await t.call('/api/v1/sources/99999/capture', { method: 'POST', token: t.tokens.admin }))
      .status,
    404,
  );
  assert.is(
    (await t.call(`/api/v1/sources/${src.id}/capture`, { method: 'POST', token: t.tokens.admin }))
      .status,
    202,
  );
  const hb = {
    agentVersion: '0.1.0',
    hostname: 'site-a',
    sentAt: new Date().toISOString(),
    sources: [{
      name: 'cap',
      kind: 'vcenter',
      sourceId: 'cap',
      running: false,
      lastRunAt: null,
      lastSuccessAt: null,
      lastError: 'boom',
      lastDurationMs: 10,
      lastVmCount: 2,
      lastComplete: true,
      nextRunAt: null,
      consecutiveFailures: 1,
    }],
    spool: { pending: 3, pendingBytes: 1000, rejected: 0, refusedAtCap: 0, maxBytes: 1e9 },
    delivery: { delivered: 5, rejected: 0, lastDeliveredAt: null, lastError: null, retryAt: null },
  };
  const other = await (await t.call('/api/v1/heartbeats', { ...json(hb), token: t.tokens.agent2 }))
    .json();
  assert.equal(other.captureNow, [], 'not for another agent');
  const mine = await (await t.call('/api/v1/heartbeats', { ...json(hb), token: t.tokens.agent }))
    .json();
  assert.equal(mine.captureNow, [{ sourceId: 'cap' }]);
  const again = await (await t.call('/api/v1/heartbeats', { ...json(hb), token: t.tokens.agent }))
    .json();
  assert.equal(again.captureNow, []);
  const [h] = await t.db.sql`select health from source_health where source_id = ${src.id}`;
  assert.is(h.health.lastError, 'boom');
  const bad = await t.call('/api/v1/heartbeats', {
    ...json({ ...hb, spool: 'full' }),
    token: t.tokens.agent,
  });
  assert.is(bad.status, 400);
  assert.is((await bad.json()).error.issues[0].path, 'spool');
});

test('text with COPY and array metacharacters is stored exactly, in facts and inventory', async () => {
  const name = 'odd\tname\nwith\\back\rslash \\N "quoted"';
  const tags = ['a"b', 'c\\d', 'e,f', '{g}', 'NULL', '', 'tab\there'];
  const annotation = 'line 1\nline 2\t\\ end';
  const c = makeCapture({
    sourceId: 'escapes',
    at: '2026-05-03T10:00:00Z',
    vms: [
      { key: 'k\t1', name, tags, annotation, ipAddresses: ['10.0.0.1', 'fe80::1'], folder: '\\N' },
      { key: 'k2', name: 'plain', tags: [], annotation: null },
    ],
  });
  assert.is((await post(c)).status, 201);
  const inv = await t.db.sql`
    select i.vm_key, i.name, i.tags, i.annotation, i.ip_addresses, i.folder from vm_inventory i
    join sources s on s.id = i.source_id where s.external_id = 'escapes' order by i.vm_key`;
  assert.equal(inv.map((r) => ({ ...r })), [
    {
      vm_key: 'k\t1',
      name,
      tags,
      annotation,
      ip_addresses: ['10.0.0.1', 'fe80::1'],
      folder: '\\N',
    },
    { vm_key: 'k2', name: 'plain', tags: [], annotation: null, ip_addresses: [], folder: null },
  ]);
  const facts = await t.db.sql`
    select f.vm_key, f.name, f.folder from vm_hourly_stats f join sources s on s.id = f.source_id
    where s.external_id = 'escapes' order by f.vm_key`;
  assert.equal(facts.map((r) => [r.vm_key, r.name, r.folder]), [['k\t1', name, '\\N'], [
    'k2',
    'plain',
    null,
  ]]);
});

test.run();
