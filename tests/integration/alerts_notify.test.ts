/**
 * Alerts to notifications end to end, with the server as `npm start` runs it (startServer,
 * jobs on): captures posted over HTTP (the real ingest path) send the evaluation job, the
 * evaluator's events reach the notifications through `alertHooks`, and a real webhook receiver
 * on 127.0.0.1 verifies each message's HMAC and counts them. The channel, the routes and the
 * silence are made through the API. Counts are asserted after a quiet period.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { evaluationListeners } from '../../server/alerts/alert_jobs.ts';
import { createToken } from '../../server/auth/tokens.ts';
import { loadServerConfig } from '../../server/config.ts';
import { type RunningVmledger, startServer } from '../../server/main.ts';
import { startReceiver, until } from '../support/alert_events.ts';
import { makeCapture } from '../support/captures.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';

const test = suite('alerts → notifications end to end');
const SECRET = 'an-end-to-end-webhook-secret';
const ADMIN = 'alerts-notify-admin-token-0123456789';
/** How long nothing more may arrive before a count is taken as final. */
const QUIET_MS = 1500;
let db: TestDatabase;
let running: RunningVmledger;
let dir: string;
let agent: string;
let hook: Awaited<ReturnType<typeof startReceiver>>;
/** Capture times: an hour ago, one minute apart, so each capture is newer than the last. */
let clock = Date.now() - 3_600_000;

const api = (p: string, method = 'GET', body?: unknown) =>
  fetch(`${running.url}/api/v1${p}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

/** Evaluations after a capture done by the server (in this process) so far. */
let captureEvaluations = 0;
evaluationListeners.push((after) => {
  if (after === 'capture') captureEvaluations++;
});

/** Posts a capture over HTTP and waits until the evaluation it started is done. */
async function capture(o: Omit<Parameters<typeof makeCapture>[0], 'at'>): Promise<void> {
  const done = captureEvaluations;
  clock += 60_000;
  const res = await fetch(`${running.url}/api/v1/captures`, {
    method: 'POST',
    headers: { authorization: `Bearer ${agent}`, 'content-type': 'application/json' },
    body: JSON.stringify(makeCapture({ ...o, at: new Date(clock).toISOString() })),
  });
  assert.is(res.status, 201, await res.clone().text());
  await until(() => captureEvaluations > done, 20_000, 'the evaluation');
}

/** A datastore of 100 GiB at `usedPct` % used. */
const ds = (key: string, usedPct: number) => ({
  key,
  name: key,
  type: 'VMFS',
  capacityGib: 100,
  freeGib: 100 - usedPct,
  accessible: true,
});

/** Waits for `n` messages more than `before`, then a quiet period; returns the new ones. */
async function expectMessages(before: number, n: number, what: string) {
  if (n > 0) await until(() => hook.received.length >= before + n, 15_000, what);
  await new Promise((r) => setTimeout(r, QUIET_MS));
  const got = hook.received.slice(before);
  assert.is(got.length, n, `${what}: ${JSON.stringify(got.map((g) => g.json.kind))}`);
  for (const g of got) assert.ok(g.verified, 'HMAC verified by the receiver');
  return got;
}

const names = (m: { json: Record<string, unknown> }) =>
  (m.json.alerts as { objectName: string }[]).map((a) => a.objectName);

test.before(async () => {
  db = await createTestDatabase('alerts_notify');
  dir = mkdtempSync(path.join(os.tmpdir(), 'vml-alerts-notify-'));
  running = await startServer(loadServerConfig({
    DATABASE_URL: db.url,
    HOST: '127.0.0.1',
    PORT: '0',
    VMLEDGER_DATA_DIR: dir,
    VMLEDGER_ADMIN_TOKEN: ADMIN,
    VMLEDGER_LOG_LEVEL: 'error',
  }));
  agent = (await createToken(db.sql, { name: 'agent', role: 'agent' })).token;
  hook = await startReceiver(SECRET);
  const ch = await api('/channels', 'POST', {
    kind: 'webhook',
    name: 'receiver',
    url: hook.url,
    secret: SECRET,
  });
  assert.is(ch.status, 201, await ch.clone().text());
  const channelId = (await ch.json()).id;
  for (const ruleId of ['datastore_used', 'vm_powered_off']) {
    const r = await api('/notification-routes', 'POST', {
      channelId,
      ruleId,
      groupWaitSeconds: 5,
    });
    assert.is(r.status, 201, await r.clone().text());
  }
});

test.after(async () => {
  await running?.stop();
  await hook?.close();
  await db?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('a datastore crossing the threshold fires one notification; flapping sends none; clearing resolves with one', async () => {
  const at = (usedPct: number) =>
    capture({ sourceId: 'ds-src', vms: [{ key: 'a' }], datastores: [ds('ds-one', usedPct)] });
  await at(50);
  await expectMessages(hook.received.length, 0, 'below the fire level');

  let before = hook.received.length;
  await at(90);
  const [fired] = await expectMessages(before, 1, 'the fired message');
  assert.is(fired.json.kind, 'fired');
  assert.is(fired.json.count, 1);
  assert.equal(names(fired), ['ds-one']);

  // Between the clear level (80) and the fire level (85), and back above: still one alert.
  before = hook.received.length;
  for (const pct of [82, 88, 81, 86, 83]) await at(pct);
  await expectMessages(before, 0, 'flapping');
  const open = await db.sql`select state from alerts
    where rule_id = 'datastore_used' and object_name = 'ds-one'`;
  assert.equal(open.map((a) => a.state), ['firing'], 'one alert, still firing');

  await at(70);
  const [resolved] = await expectMessages(before, 1, 'the resolved message');
  assert.is(resolved.json.kind, 'resolved');
  assert.equal(names(resolved), ['ds-one']);
});

test('a host failure powering off 200 production VMs is one notification', async () => {
  // Half tagged production, half in the Production pool (the rule's defaults); three other
  // VMs on the host are neither and are not alerted.
  const vms = (power: 'poweredOn' | 'poweredOff') => [
    ...Array.from({ length: 200 }, (_, i) => ({
      key: `p${i}`,
      host: 'esx-9',
      powerState: power,
      ...(i % 2 ? { tags: ['Production'] } : { resourcePool: 'Production' }),
    })),
    ...Array.from({ length: 3 }, (_, i) => ({ key: `o${i}`, host: 'esx-9', powerState: power })),
  ];
  await capture({ sourceId: 'host-src', vms: vms('poweredOn') });
  const before = hook.received.length;
  await capture({ sourceId: 'host-src', vms: vms('poweredOff') });
  const [msg] = await expectMessages(before, 1, 'the grouped message');
  assert.is(msg.json.kind, 'fired');
  assert.is(msg.json.count, 200);
  assert.match(String(msg.json.groupKey), /esx-9$/);
  const [{ n }] = await db.sql`select count(*)::int as n from alerts
    where rule_id = 'vm_powered_off' and state = 'firing'`;
  assert.is(n, 200);
});

test('a silence suppresses: the silenced datastore is not told, the other one is', async () => {
  const at = (usedPct: number) =>
    capture({
      sourceId: 'quiet-src',
      vms: [{ key: 'a' }],
      datastores: [ds('loud', usedPct), ds('quiet', usedPct)],
    });
  await at(40);
  const [src] = await db.sql`select id from sources where external_id = 'quiet-src'`;
  const s = await api('/silences', 'POST', {
    objectKind: 'datastore',
    objectKey: `${src.id}:quiet`,
    durationMinutes: 60,
    comment: 'disk swap tonight',
  });
  assert.is(s.status, 201, await s.clone().text());
  const before = hook.received.length;
  await at(95);
  const [msg] = await expectMessages(before, 1, 'the loud datastore only');
  assert.equal(names(msg), ['loud']);
  const rows = await db.sql`select object_name, state, silenced from alerts
    where rule_id = 'datastore_used' and source_id = ${src.id} order by object_name`;
  assert.equal(rows.map((r) => [r.object_name, r.state, r.silenced]), [
    ['loud', 'firing', false],
    ['quiet', 'firing', true],
  ]);
});

test.run();
