/**
 * Issue 21, alerts: rules evaluated over histories stored through the real ingest path, at
 * explicit moments (`now`), checked against the alerts and their timelines: hysteresis, the
 * `for` duration, hosts, agents, incomplete captures, two evaluators at once, silences,
 * acknowledgement with its audit row, and the API's refusals.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createPool } from '../../server/db/connect.ts';
import { alertHooks, evaluateAlerts } from '../../server/alerts/evaluate.ts';
import { evaluationListeners, requestAlertEvaluation } from '../../server/alerts/alert_jobs.ts';
import { pageSession, startTestJobs } from '../support/jobs.ts';
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
    // A pending one that clears before `for` resolves without having fired.
    await post(
      makeCapture({
        sourceId: 'for-src',
        at: nextAt(),
        vms: [{ key: 'a' }],
        datastores: [ds('f1', 95), ds('f2', 95)],
      }),
    );
    await evaluate(['datastore_used'], new Date(t0.getTime() + 32 * 60_000));
    await post(
      makeCapture({
        sourceId: 'for-src',
        at: nextAt(),
        vms: [{ key: 'a' }],
        datastores: [ds('f1', 95), ds('f2', 50)],
      }),
    );
    await evaluate(['datastore_used'], new Date(t0.getTime() + 33 * 60_000));
    const [f2] = (await alertsOf('datastore_used')).filter((x) => x.object_name === 'name-f2');
    assert.is(f2.state, 'resolved');
    assert.is(f2.fired_at, null);
    assert.equal(f2.kinds, ['pending', 'resolved']);
    const [ev] = await t.db
      .sql`select details from alert_events where alert_id = ${f2.id} and kind = 'resolved'`;
    assert.is(ev.details.from, 'pending');
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

test('VM rules: a production VM powered off, a VM deleted, an old snapshot; hosts in maintenance', async () => {
  const src = 'vm-src';
  const snap = (createdAt: string) => ({ id: 's1', name: 'before upgrade', createdAt });
  const t1 = nextAt();
  await post(makeCapture({
    sourceId: src,
    at: t1,
    vms: [
      { key: 'p', tags: ['Production'] },
      { key: 'q' },
      { key: 'gone' },
      { key: 's', snapshots: [snap('2026-04-01T00:00:00Z')] },
    ],
    hosts: [host('h1', 'connected', { maintenanceMode: true })],
  }));
  const t2 = nextAt();
  await post(makeCapture({
    sourceId: src,
    at: t2,
    vms: [
      { key: 'p', tags: ['Production'], powerState: 'poweredOff' },
      { key: 'q', powerState: 'poweredOff' },
      { key: 's', snapshots: [snap('2026-04-01T00:00:00Z')] },
    ],
    hosts: [host('h1', 'connected', { maintenanceMode: true })],
  }));
  const rules = ['vm_powered_off', 'vm_deleted', 'snapshot_old', 'host_maintenance'];
  const soon = new Date(Date.parse(t2) + 60_000);
  await evaluate(rules, soon);
  const open = async (rule: string) =>
    (await alertsOf(rule)).filter((a) => a.state !== 'resolved').map((a) => a.object_name);
  assert.equal(await open('vm_powered_off'), ['vm-p'], 'the tagged VM only');
  assert.equal(await open('vm_deleted'), ['vm-gone']);
  assert.equal(await open('snapshot_old'), ['vm-s']);
  assert.ok((await open('host_maintenance')).includes('h1'));
  const [off] = await alertsOf('vm_powered_off');
  assert.match(off.group_key, /^host:\d+:h1$/, 'grouped with its host');

  // p on again, the snapshot removed, out of maintenance; a day later the deletion is old.
  await post(makeCapture({
    sourceId: src,
    at: nextAt(),
    vms: [{ key: 'p', tags: ['Production'] }, { key: 'q', powerState: 'poweredOff' }, { key: 's' }],
    hosts: [host('h1', 'connected', { maintenanceMode: false })],
  }));
  await evaluate(rules, new Date(Date.parse(t2) + 25 * 3600_000));
  for (const rule of rules) assert.equal(await open(rule), [], `${rule} resolved`);
});

test('datastore full soon by its trend; a stale source; a spool backlog after `for`', async () => {
  let last = '';
  for (const free of [500, 450, 400, 350]) {
    last = nextAt();
    await post(makeCapture({
      sourceId: 'trend-src',
      at: last,
      vms: [{ key: 'a' }],
      datastores: [{ ...ds('t1', 0), freeGib: free }],
    }));
  }
  const after = (min: number) => new Date(Date.parse(last) + min * 60_000);
  await evaluate(['datastore_full_soon', 'source_stale'], after(1));
  const [full] = (await alertsOf('datastore_full_soon')).filter((a) => a.object_name === 'name-t1');
  assert.ok(full, 'full in well under 14 days at 50 GiB an hour');
  assert.ok(full.details.gibPerDay < -1000);
  assert.not.ok(
    (await alertsOf('source_stale')).some((a) =>
      a.object_name === 'trend-src' && a.state !== 'resolved'
    ),
  );
  await evaluate(['source_stale'], after(121));
  const stale = (await alertsOf('source_stale')).filter((a) => a.object_name === 'trend-src');
  assert.equal(stale.map((a) => a.state), ['firing'], 'two hourly intervals without a capture');

  const hb = {
    agentVersion: '1.0.0',
    hostname: 'spool-host',
    sentAt: new Date().toISOString(),
    sources: [],
    spool: { pending: 30, pendingBytes: 1e6, rejected: 0, refusedAtCap: 0, maxBytes: 1e9 },
    delivery: { delivered: 0, rejected: 0, lastDeliveredAt: null, lastError: null, retryAt: null },
  };
  assert.is(
    (await t.call('/api/v1/heartbeats', { ...json(hb), token: t.tokens.agent2 })).status,
    200,
  );
  const now = Date.now();
  await evaluate(['spool_backlog'], new Date(now));
  let spool = (await alertsOf('spool_backlog')).filter((a) => a.object_name === 'spool-host');
  assert.equal(spool.map((a) => a.state), ['pending']);
  await evaluate(['spool_backlog'], new Date(now + 11 * 60_000));
  spool = (await alertsOf('spool_backlog')).filter((a) => a.object_name === 'spool-host');
  assert.equal(spool.map((a) => a.state), ['firing']);
  hb.spool.pending = 10;
  await t.call('/api/v1/heartbeats', { ...json(hb), token: t.tokens.agent2 });
  await evaluate(['spool_backlog'], new Date(now + 12 * 60_000));
  spool = (await alertsOf('spool_backlog')).filter((a) => a.object_name === 'spool-host');
  assert.equal(spool.map((a) => a.state), ['firing'], '10 is above the clear level 4');
  hb.spool.pending = 2;
  await t.call('/api/v1/heartbeats', { ...json(hb), token: t.tokens.agent2 });
  await evaluate(['spool_backlog'], new Date(now + 13 * 60_000));
  spool = (await alertsOf('spool_backlog')).filter((a) => a.object_name === 'spool-host');
  assert.equal(spool.map((a) => a.state), ['resolved']);
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

const api = (path: string, init: RequestInit & { token?: string } = {}) =>
  t.call(`/api/v1${path}`, { token: t.tokens.admin, ...init });
const send = (method: string, body: unknown) => ({
  method,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

async function firingDatastore(key: string) {
  await post(
    makeCapture({
      sourceId: `src-${key}`,
      at: nextAt(),
      vms: [{ key: 'a' }],
      datastores: [ds(key, 96)],
    }),
  );
  await evaluate(['datastore_used']);
  const [a] = await t.db
    .sql`select * from alerts where object_name = ${`name-${key}`} and state <> 'resolved'`;
  return a;
}

test('API: list (firing first, filters), detail with timeline, ack with who and note, audit', async () => {
  const a = await firingDatastore('ack1');
  let res = await api('/alerts?state=firing&rule=datastore_used', { token: t.tokens.viewer });
  assert.is(res.status, 200);
  const list = await res.json();
  assert.ok(list.items.some((x: { id: number }) => x.id === Number(a.id)));
  assert.ok(list.items.every((x: { state: string }) => x.state === 'firing'));
  res = await api('/alerts?state=all');
  const states = (await res.json()).items.map((x: { state: string }) => x.state);
  assert.is(states[0], 'firing', 'firing first');
  assert.is(states.at(-1), 'resolved');

  // Viewers may not acknowledge; an empty note is refused; nothing changes.
  res = await api(`/alerts/${a.id}/ack`, {
    ...send('POST', { note: 'on it' }),
    token: t.tokens.viewer,
  });
  assert.is(res.status, 403);
  res = await api(`/alerts/${a.id}/ack`, send('POST', { note: '  ' }));
  assert.is(res.status, 400);
  assert.is((await res.json()).error.issues[0].path, 'note');
  res = await api(`/alerts/${a.id}/ack`, send('POST', { note: 'on it', extra: 1 }));
  assert.is(res.status, 400);
  assert.is((await t.db.sql`select state from alerts where id = ${a.id}`)[0].state, 'firing');

  res = await api(`/alerts/${a.id}/ack`, send('POST', { note: 'adding a shelf' }));
  assert.is(res.status, 200);
  const ack = await res.json();
  assert.is(ack.acknowledgedBy, 'test admin');
  assert.is(ack.ackNote, 'adding a shelf');
  res = await api(`/alerts/${a.id}/ack`, send('POST', { note: 'again' }));
  assert.is(res.status, 409);
  assert.is((await res.json()).error.code, 'alert_not_firing');
  res = await api('/alerts/999999999/ack', send('POST', { note: 'x' }));
  assert.is(res.status, 404);

  res = await api(`/alerts/${a.id}`, { token: t.tokens.viewer });
  const detail = await res.json();
  assert.equal(detail.timeline.map((e: { kind: string }) => e.kind), ['fired', 'acknowledged']);
  assert.is(detail.timeline[1].actor, 'test admin');
  assert.is(detail.timeline[1].note, 'adding a shelf');
  const audit = await t.db
    .sql`select * from audit_log where action = 'alert.acknowledge' and target = ${`alert:${a.id}`}`;
  assert.is(audit.length, 1);
  assert.is(audit[0].actor_name, 'test admin');
  assert.is(audit[0].detail.note, 'adding a shelf');

  // Acknowledged stays acknowledged while the condition holds; resolves when it clears.
  await post(
    makeCapture({
      sourceId: 'src-ack1',
      at: nextAt(),
      vms: [{ key: 'a' }],
      datastores: [ds('ack1', 70)],
    }),
  );
  await evaluate(['datastore_used']);
  res = await api(`/alerts/${a.id}`);
  const after = await res.json();
  assert.is(after.state, 'resolved');
  assert.equal(after.timeline.map((e: { kind: string }) => e.kind), [
    'fired',
    'acknowledged',
    'resolved',
  ]);
});

test('a silence marks matching alerts silenced (new ones too); its end unsilences them', async () => {
  const a = await firingDatastore('sil1');
  const [src] = await t.db.sql`select id from sources where external_id = 'src-sil1'`;
  // Refusals first: nothing is created.
  for (
    const [body, path] of [
      [{ comment: 'x', durationMinutes: 10 }, 'ruleId'],
      [{ sourceId: src.id, comment: 'x' }, 'endsAt'],
      [{ sourceId: src.id, durationMinutes: 10 }, 'comment'],
      [{ ruleId: 'nope', durationMinutes: 10, comment: 'x' }, 'ruleId'],
      [{ sourceId: 999999, durationMinutes: 10, comment: 'x' }, 'sourceId'],
      [{ sourceId: src.id, endsAt: '2020-01-01T00:00:00Z', comment: 'x' }, 'endsAt'],
    ] as const
  ) {
    const res = await api('/silences', send('POST', body));
    assert.is(res.status, 400, JSON.stringify(body));
    assert.is((await res.json()).error.issues[0].path, path, JSON.stringify(body));
  }
  assert.is((await t.db.sql`select count(*)::int as n from alert_silences`)[0].n, 0);

  let res = await api(
    '/silences',
    send('POST', { sourceId: src.id, durationMinutes: 10, comment: 'storage work' }),
  );
  assert.is(res.status, 201);
  const silence = await res.json();
  assert.is(silence.active, true);
  assert.is((await t.db.sql`select silenced from alerts where id = ${a.id}`)[0].silenced, true);
  res = await api('/silences', { token: t.tokens.viewer });
  assert.is((await res.json()).items.length, 1);

  // Expiry: an evaluation after the end unsilences.
  const now = new Date(Date.now() + 11 * 60_000);
  await evaluate(['datastore_used'], now);
  const [after] = await t.db.sql`select silenced, state from alerts where id = ${a.id}`;
  assert.is(after.silenced, false, 'unsilenced after the end');
  const kinds = (await t.db.sql`select kind from alert_events where alert_id = ${a.id} order by id`)
    .map((e) => e.kind);
  assert.equal(kinds, ['fired', 'silenced', 'unsilenced']);

  // DELETE ends one at once (the first is still running by the clock: end it too).
  res = await api(`/silences/${silence.id}`, { method: 'DELETE' });
  assert.is(res.status, 200);
  res = await api(
    '/silences',
    send('POST', { ruleId: 'datastore_used', durationMinutes: 60, comment: 'x' }),
  );
  const s2 = await res.json();
  assert.is((await t.db.sql`select silenced from alerts where id = ${a.id}`)[0].silenced, true);
  res = await api(`/silences/${s2.id}`, { method: 'DELETE' });
  assert.is(res.status, 200);
  assert.is((await res.json()).active, false);
  assert.is(
    (await t.db.sql`select silenced from alerts where id = ${a.id}`)[0].silenced,
    false,
    'unsilenced by DELETE',
  );
  res = await api(`/silences/${s2.id}`, { method: 'DELETE' });
  assert.is(res.status, 404);
  const audit = await t.db
    .sql`select action from audit_log where action like 'alert.silence.%' order by id`;
  assert.equal(audit.map((r) => r.action), [
    'alert.silence.create',
    'alert.silence.expire',
    'alert.silence.create',
    'alert.silence.expire',
  ]);
});

test('rules: list, update validated per rule (nothing changed on a refusal), overrides', async () => {
  let res = await api('/alert-rules', { token: t.tokens.viewer });
  const rules = (await res.json()).items;
  assert.is(rules.length, 13);
  const du = rules.find((r: { id: string }) => r.id === 'datastore_used');
  assert.equal(du.params, { usedPct: 85, clearPct: 80, forMinutes: 0 });

  const before =
    (await t.db.sql`select params, severity, enabled from alert_rules where id = 'datastore_used'`)[
      0
    ];
  for (
    const [body, path] of [
      [{ params: { usedPct: 'high' } }, 'params.usedPct'],
      [{ params: { usedPct: 150 } }, 'params.usedPct'],
      [{ params: { clearPct: 90 } }, 'params.clearPct'],
      [{ params: { bogus: 1 } }, 'params'],
      [{ severity: 'loud' }, 'severity'],
      [{ enabled: 'yes' }, 'enabled'],
      [{ colour: 'red' }, '(root)'],
    ] as const
  ) {
    res = await api('/alert-rules/datastore_used', send('PUT', body));
    assert.is(res.status, 400, JSON.stringify(body));
    const err = (await res.json()).error;
    assert.is(err.code, 'invalid_body');
    assert.is(err.issues[0].path, path, JSON.stringify(body));
  }
  assert.equal(
    (await t.db.sql`select params, severity, enabled from alert_rules where id = 'datastore_used'`)[
      0
    ],
    before,
  );
  res = await api('/alert-rules/nope', send('PUT', { enabled: false }));
  assert.is(res.status, 404);
  res = await api('/alert-rules/datastore_used', {
    ...send('PUT', { enabled: false }),
    token: t.tokens.viewer,
  });
  assert.is(res.status, 403);

  res = await api(
    '/alert-rules/datastore_used',
    send('PUT', { params: { usedPct: 90, clearPct: 85 }, severity: 'critical' }),
  );
  assert.is(res.status, 200);
  const changed = await res.json();
  assert.equal(changed.params, { usedPct: 90, clearPct: 85, forMinutes: 0 });
  assert.is(changed.severity, 'critical');

  // A datastore override: lower levels for one datastore by name.
  res = await api(
    '/alert-rules/datastore_used/overrides/datastore/name-ov1',
    send('PUT', { params: { usedPct: 50, clearPct: 40 } }),
  );
  assert.is(res.status, 200);
  res = await api(
    '/alert-rules/datastore_used/overrides/datastore/name-ov1',
    send('PUT', { params: { clearPct: 95 } }),
  );
  assert.is(res.status, 400);
  res = await api('/alert-rules/datastore_used/overrides/planet/x', send('PUT', { params: {} }));
  assert.is(res.status, 400);
  await post(
    makeCapture({
      sourceId: 'src-ov',
      at: nextAt(),
      vms: [{ key: 'a' }],
      datastores: [ds('ov1', 60), ds('ov2', 60)],
    }),
  );
  await evaluate(['datastore_used']);
  const open = await t.db
    .sql`select object_name, severity from alerts where rule_id = 'datastore_used' and state = 'firing' and object_name like 'name-ov%'`;
  assert.equal(open.map((r) => [r.object_name, r.severity]), [['name-ov1', 'critical']]);
  res = await api('/alert-rules/datastore_used/overrides/datastore/name-ov1', { method: 'DELETE' });
  assert.is(res.status, 200);
  await evaluate(['datastore_used']);
  assert.is(
    (await t.db
      .sql`select count(*)::int as n from alerts where object_name = 'name-ov1' and state <> 'resolved'`)[
        0
      ].n,
    0,
  );
  await api(
    '/alert-rules/datastore_used',
    send('PUT', { params: { usedPct: 85, clearPct: 80 }, severity: 'warning' }),
  );
});

test('API refusals name the field: queries, paths, override scopes; a disabled rule resolves its alerts', async () => {
  for (
    const [path, field] of [
      ['/alerts?state=bogus', 'state'],
      ['/alerts?severity=loud', 'severity'],
      ['/alerts?source=x', 'source'],
      ['/alerts?limit=0', 'limit'],
      ['/alerts/abc', 'id'],
    ] as const
  ) {
    const res = await api(path, { token: t.tokens.viewer });
    assert.is(res.status, 400, path);
    assert.is((await res.json()).error.issues[0].path, field, path);
  }
  let res = await api('/alerts/123456789', { token: t.tokens.viewer });
  assert.is(res.status, 404);
  res = await api('/silences/abc', { method: 'DELETE' });
  assert.is(res.status, 400);
  res = await api(
    '/alert-rules/datastore_used/overrides/source/999999',
    send('PUT', { params: {} }),
  );
  assert.is(res.status, 400);
  assert.is((await res.json()).error.issues[0].path, 'value');
  res = await api(
    '/alert-rules/datastore_used/overrides/tag/prod',
    send('PUT', { params: { days: 3 } }),
  );
  assert.is(res.status, 400);
  assert.is((await res.json()).error.issues[0].path, 'params.days');
  res = await api('/alert-rules/datastore_used/overrides/tag/none', { method: 'DELETE' });
  assert.is(res.status, 404);
  assert.is((await t.db.sql`select count(*)::int as n from alert_rule_overrides`)[0].n, 0);

  const a = await firingDatastore('off1');
  res = await api('/alert-rules/datastore_used', send('PUT', { enabled: false }));
  assert.is(res.status, 200);
  await evaluate(['datastore_used']);
  assert.is((await t.db.sql`select state from alerts where id = ${a.id}`)[0].state, 'resolved');
  await api('/alert-rules/datastore_used', send('PUT', { enabled: true }));
  await evaluate(['datastore_used']);
  const again = await t.db
    .sql`select state from alerts where object_name = 'name-off1' order by id`;
  assert.equal(again.map((r) => r.state), ['resolved', 'firing'], 'enabled again: a new alert');
});

test('/metrics: vmledger_alerts_firing by rule and severity', async () => {
  await evaluate(['datastore_used']);
  const [n] = await t.db.sql`
    select count(*)::int as n from alerts where rule_id = 'datastore_used' and state in ('firing', 'acknowledged')`;
  const res = await t.call('/metrics', { token: t.tokens.admin });
  const text = await res.text();
  assert.ok(n.n > 0);
  assert.ok(
    text.includes(`vmledger_alerts_firing{rule="datastore_used",severity="warning"} ${n.n}\n`),
    text.split('\n').filter((l) => l.includes('alerts')).join('\n'),
  );
});

test('after a capture a worker node evaluates at once; hooks get the committed events', async () => {
  const seen: number[] = [];
  const hook = async (sql: typeof t.db.sql, ids: number[]) => {
    const rows = await sql`select kind from alert_events where id = any(${ids}::bigint[])`;
    assert.is(rows.length, ids.length, 'the events are committed when the hook runs');
    seen.push(...ids);
  };
  alertHooks.afterEvents.push(hook);
  const jobs = await startTestJobs(t.db);
  try {
    await post(
      makeCapture({
        sourceId: 'job-src',
        at: nextAt(),
        vms: [{ key: 'a' }],
        datastores: [ds('job1', 99)],
      }),
    );
    await requestAlertEvaluation(jobs, 'capture');
    const deadline = Date.now() + 15_000;
    let a;
    while (Date.now() < deadline) {
      [a] = await t.db
        .sql`select id from alerts where object_name = 'name-job1' and state = 'firing'`;
      if (a && seen.length) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(a, 'fired by the evaluation after the capture');
    const [fired] = await t.db.sql`select id from alert_events where alert_id = ${
      a!.id
    } and kind = 'fired'`;
    assert.ok(seen.includes(Number(fired.id)));
  } finally {
    alertHooks.afterEvents.splice(alertHooks.afterEvents.indexOf(hook), 1);
    await jobs.stop();
  }
});

test('requests coalesce: a burst of captures makes one more evaluation, not one each', async () => {
  const runs: string[] = [];
  const listener = (after: string) => runs.push(after);
  evaluationListeners.push(listener);
  const jobs = await startTestJobs(t.db);
  try {
    for (let i = 0; i < 6; i++) await requestAlertEvaluation(jobs, 'capture');
    await requestAlertEvaluation(jobs, 'heartbeat');
    const deadline = Date.now() + 15_000;
    while (runs.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 300));
    // The first capture request runs; the five during it make one more; the heartbeat's
    // kind runs beside them.
    assert.equal(runs.filter((k) => k === 'capture').length, 2);
    assert.equal(runs.filter((k) => k === 'heartbeat').length, 1);
  } finally {
    evaluationListeners.splice(evaluationListeners.indexOf(listener), 1);
    await jobs.stop();
  }
});

test('a node without workers sends a job; a worker node evaluates it', async () => {
  const ingestOnly = await startTestJobs(t.db, { workers: false, schedule: false });
  const worker = await startTestJobs(t.db);
  try {
    await post(
      makeCapture({
        sourceId: 'job-src2',
        at: nextAt(),
        vms: [{ key: 'a' }],
        datastores: [ds('job2', 99)],
      }),
    );
    await requestAlertEvaluation(ingestOnly, 'capture');
    const [sent] = await t.db.sql`
      select count(*)::int as n from pgboss.job where name = 'alerts-evaluate' and data->>'after' = 'capture'`;
    assert.ok(sent.n >= 1, 'the job is sent');
    const deadline = Date.now() + 15_000;
    let a;
    while (!a && Date.now() < deadline) {
      [a] = await t.db
        .sql`select id from alerts where object_name = 'name-job2' and state = 'firing'`;
      if (!a) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(a, 'fired by the worker node');
  } finally {
    await ingestOnly.stop();
    await worker.stop();
  }
});

test('pages: list with filters, detail with timeline, ack and silence by form, rules edited, dashboard panel', async () => {
  const a = await firingDatastore('page1');
  const { cookie, csrf } = await pageSession(t.app, t.tokens.admin, '/alerts');
  const get = async (path: string) => {
    const res = await t.app.request(path, { headers: { cookie } });
    return { status: res.status, html: await res.text() };
  };
  const form = (path: string, fields: Record<string, string>) =>
    t.app.request(path, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ csrf, ...fields }).toString(),
    });
  let page = await get('/alerts?state=firing&severity=warning');
  assert.is(page.status, 200);
  assert.match(page.html, /href="\/alerts" aria-current="page">Alerts</);
  assert.ok(page.html.includes(`href="/alerts/${a.id}"`));
  assert.ok(page.html.includes('name-page1 is 96'));
  page = await get('/alerts?severity=critical&state=firing&rule=datastore_used');
  assert.not.ok(page.html.includes(`href="/alerts/${a.id}"`), 'filtered out by severity');
  assert.is((await get('/alerts?state=bogus')).status, 400);

  let res = await form(`/alerts/${a.id}/ack`, { note: 'page <b>note</b>' });
  assert.is(res.status, 303);
  page = await get(`/alerts/${a.id}`);
  assert.ok(page.html.includes('page &lt;b&gt;note&lt;/b&gt;'), 'the note is escaped');
  assert.match(page.html, /acknowledged/);
  res = await form(`/alerts/${a.id}/ack`, { note: 'twice' });
  assert.is(res.status, 409);
  res = await t.app.request(`/alerts/${a.id}/ack`, {
    method: 'POST',
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'note=x',
  });
  assert.is(res.status, 403, 'no CSRF token');

  res = await form('/silences', {
    ruleId: 'datastore_used',
    objectKind: 'datastore',
    objectKey: a.object_key,
    durationMinutes: '60',
    comment: 'page silence',
    back: `/alerts/${a.id}`,
  });
  assert.is(res.status, 303);
  assert.is(res.headers.get('location'), `/alerts/${a.id}?done=silenced`);
  assert.is((await t.db.sql`select silenced from alerts where id = ${a.id}`)[0].silenced, true);
  page = await get('/alerts');
  const [sil] = await t.db.sql`select id from alert_silences where comment = 'page silence'`;
  assert.ok(page.html.includes(`data-silence="${sil.id}"`));
  res = await form(`/silences/${sil.id}/expire`, {});
  assert.is(res.status, 303);
  assert.is((await t.db.sql`select silenced from alerts where id = ${a.id}`)[0].silenced, false);

  page = await get('/alert-rules');
  assert.ok(page.html.includes('name="p.usedPct"'));
  res = await form('/alert-rules/snapshot_old', {
    enabled: 'true',
    severity: 'warning',
    'p.days': 'soon',
    'p.forMinutes': '0',
  });
  assert.is(res.status, 400);
  assert.match(await res.text(), /params\.days/);
  res = await form('/alert-rules/snapshot_old', {
    enabled: 'true',
    severity: 'info',
    'p.days': '3',
    'p.forMinutes': '0',
  });
  assert.is(res.status, 303);
  const [rule] = await t.db.sql`select severity, params from alert_rules where id = 'snapshot_old'`;
  assert.is(rule.severity, 'info');
  assert.is(rule.params.days, 3);
  res = await form('/alert-rules/vm_powered_off', {
    enabled: 'true',
    severity: 'critical',
    'p.tags': 'production, prod',
    'p.pools': '',
    'p.forMinutes': '0',
  });
  assert.is(res.status, 303);
  assert.equal(
    (await t.db.sql`select params from alert_rules where id = 'vm_powered_off'`)[0].params.tags,
    ['production', 'prod'],
  );

  // Overrides: set for a datastore (blank fields: as the rule), refused with a bad value, removed.
  res = await form('/alert-rules/datastore_used/overrides', {
    kind: 'datastore',
    value: 'name-page1',
    enabled: '',
    'p.usedPct': '97',
    'p.clearPct': '90',
    'p.forMinutes': '',
  });
  assert.is(res.status, 303);
  let [ov] = await t.db.sql`select * from alert_rule_overrides where rule_id = 'datastore_used'`;
  assert.equal([ov.scope_kind, ov.scope_value, ov.enabled, ov.params], [
    'datastore',
    'name-page1',
    null,
    {
      usedPct: 97,
      clearPct: 90,
    },
  ]);
  page = await get('/alert-rules');
  assert.match(page.html, /datastore <strong>name-page1<\/strong>: usedPct 97, clearPct 90/);
  res = await form('/alert-rules/datastore_used/overrides', {
    kind: 'datastore',
    value: 'x',
    'p.clearPct': '99',
  });
  assert.is(res.status, 400);
  assert.match(await res.text(), /params\.clearPct/);
  res = await form('/alert-rules/nope/overrides', { kind: 'datastore', value: 'x' });
  assert.is(res.status, 404);
  res = await form('/alert-rules/datastore_used/overrides/delete', {
    kind: 'datastore',
    value: 'name-page1',
  });
  assert.is(res.status, 303);
  [ov] = await t.db.sql`select * from alert_rule_overrides where rule_id = 'datastore_used'`;
  assert.is(ov, undefined);

  // Viewers see, do not act.
  const viewer = await pageSession(t.app, t.tokens.viewer, '/alerts');
  const vpage =
    await (await t.app.request('/alerts?state=all', { headers: { cookie: viewer.cookie } })).text();
  assert.not.ok(vpage.includes('Acknowledge</button>'));
  res = await t.app.request('/alert-rules/snapshot_old', {
    method: 'POST',
    headers: { cookie: viewer.cookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ csrf: viewer.csrf, 'p.days': '1' }).toString(),
  });
  assert.is(res.status, 403);

  page = await get('/');
  assert.match(page.html, /id="alerts-panel"/);
  assert.match(page.html, /warning alerts<\/div><div class="value">\d+/);
});

test('every rule evaluates over this history without error', async () => {
  const r = await evaluateAlerts(t.db.sql, { now: new Date() });
  assert.is(r.evaluated.length + r.skipped.length, 13);
  assert.is(r.skipped.length, 0);
  // pg-boss is there now (the job test): the failed-job rule reads its table.
  assert.ok(r.evaluated.includes('job_failed'));
});

test.run();
