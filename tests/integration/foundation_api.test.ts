import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { demoCapture } from '../../agent/collectors/demo/fleet.ts';
import type { Page, VmListItem } from '../../server/inventory/list_query.ts';
import { type ApiErrorBody, type LooseCapture, readJson } from '../support/api_bodies.ts';
import { createTestApp, json, type TestApp } from '../support/app.ts';

const test = suite('foundation API: healthz, auth, ingest, VM list');
let t: TestApp;
const at = new Date('2026-05-04T10:00:00Z');
const capture = (over: Record<string, unknown> = {}) => ({
  ...demoCapture({ flavor: 'vcenter', seed: 9, totalVms: 50, at, since: null }),
  ...over,
});

test.before(async () => {
  t = await createTestApp('foundation_api');
});
test.after(() => t.close());

async function count(table: string) {
  const [r] = await t.db.sql.unsafe(`select count(*)::int as n from ${table}`);
  return r.n as number;
}

test('GET /healthz answers ok when the database answers', async () => {
  const res = await t.call('/healthz');
  assert.is(res.status, 200);
  assert.equal(await res.json(), { status: 'ok', db: 'ok' });
});

test('POST /api/v1/captures without a token → 401 JSON; bad token → 401', async () => {
  const res = await t.call('/api/v1/captures', json(capture()));
  assert.is(res.status, 401);
  assert.is((await readJson<ApiErrorBody>(res)).error.code, 'unauthorized');
  const bad = await t.call('/api/v1/captures', {
    ...json(capture()),
    token: 'vml_not_a_real_token_at_all',
  });
  assert.is(bad.status, 401);
  assert.is(await count('captures'), 0);
});

test('a viewer token may not post captures (403)', async () => {
  const res = await t.call('/api/v1/captures', { ...json(capture()), token: t.tokens.viewer });
  assert.is(res.status, 403);
});

test('a malformed body → 400 naming the bad field; nothing stored', async () => {
  const c: LooseCapture = capture();
  c.vms[3].memoryMib = 'lots';
  const res = await t.call('/api/v1/captures', { ...json(c), token: t.tokens.agent });
  assert.is(res.status, 400);
  const body = await readJson<ApiErrorBody>(res);
  assert.is(body.error.code, 'invalid_capture');
  assert.is(body.error.issues[0].path, 'vms.3.memoryMib');
  assert.match(body.error.message, /vms\.3\.memoryMib/);
  const notJson = await t.call('/api/v1/captures', {
    method: 'POST',
    body: '{"captureId":',
    token: t.tokens.agent,
  });
  assert.is(notJson.status, 400);
  assert.is((await readJson<ApiErrorBody>(notJson)).error.code, 'invalid_json');
  assert.is(await count('captures'), 0);
  assert.is(await count('vm_hourly_stats'), 0);
  assert.is(await count('sources'), 0);
});

test('a valid capture is stored; the VM list returns it in the shared list shape', async () => {
  const c = capture();
  const res = await t.call('/api/v1/captures', { ...json(c), token: t.tokens.agent });
  assert.is(res.status, 201);
  assert.is((await readJson<{ duplicate: boolean }>(res)).duplicate, false);
  assert.is(await count('vm_hourly_stats'), c.vms.length);
  const list = await t.call('/api/v1/vms?limit=10', { token: t.tokens.viewer });
  assert.is(list.status, 200);
  const body = await readJson<Page<VmListItem>>(list);
  assert.is(body.total, c.vms.length);
  assert.is(body.items.length, 10);
  assert.type(body.next, 'string');
  const names = body.items.map((v) => v.name);
  assert.equal(
    names,
    [...names].sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase())),
  );
  // Following the cursor walks the whole list exactly once.
  const all = new Set(body.items.map((v) => v.key));
  let next = body.next;
  while (next) {
    const page = await readJson<Page<VmListItem>>(
      await t.call(`/api/v1/vms?limit=10&cursor=${next}`, { token: t.tokens.viewer }),
    );
    for (const v of page.items) all.add(v.key);
    next = page.next;
  }
  assert.is(all.size, c.vms.length);
});

test('VM list search and filters; bad parameters → 400', async () => {
  const c = capture();
  const target = c.vms[7];
  const res = await readJson<Page<VmListItem>>(
    await t.call(`/api/v1/vms?q=${encodeURIComponent(target.name)}`, { token: t.tokens.viewer }),
  );
  assert.ok(res.items.some((v) => v.key === target.key));
  const off = await readJson<Page<VmListItem>>(
    await t.call('/api/v1/vms?power=poweredOff&limit=1000', { token: t.tokens.admin }),
  );
  assert.ok(off.items.every((v) => v.powerState === 'poweredOff'));
  const bad = await t.call('/api/v1/vms?limit=abc', { token: t.tokens.viewer });
  assert.is(bad.status, 400);
  assert.is((await readJson<ApiErrorBody>(bad)).error.issues[0].path, 'limit');
  const badCursor = await t.call('/api/v1/vms?cursor=zzz', { token: t.tokens.viewer });
  assert.is(badCursor.status, 400);
});

test('an agent token cannot read the inventory (403); unknown API route → 404 JSON', async () => {
  assert.is((await t.call('/api/v1/vms', { token: t.tokens.agent })).status, 403);
  const res = await t.call('/api/v1/nope', { token: t.tokens.admin });
  assert.is(res.status, 404);
  assert.is((await readJson<ApiErrorBody>(res)).error.code, 'not_found');
});

test.run();
