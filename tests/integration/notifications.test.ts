/**
 * Notifications against real peers: a webhook receiver on 127.0.0.1 that verifies the HMAC
 * and counts deliveries, pg-boss delivering with retries (1 s base, 2 retries), alert events
 * written as the evaluator writes them. Grouping (200 events, one message), a receiver down
 * then up (each message once), dead letters and retry, silences, Slack/Teams shapes, send
 * test, and bad input through the API changing nothing.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Jobs } from '../../server/jobs/boss.ts';
import {
  notificationJobs,
  notifyAlertEvents,
  sweepNotifications,
} from '../../server/notifications/notify_jobs.ts';
import { createTestApp, json, type TestApp } from '../support/app.ts';
import { startTestJobs } from '../support/jobs.ts';
import {
  fireAlerts,
  insertRule,
  resolveGroup,
  startReceiver,
  until,
} from '../support/alert_events.ts';

const test = suite('notifications: channels, routing, grouping, delivery');
const SECRET = 'a-webhook-secret-of-some-length';
let t: TestApp;
let jobs: Jobs;
let hook: Awaited<ReturnType<typeof startReceiver>>;
let chat: Awaited<ReturnType<typeof startReceiver>>;

const admin = () => t.tokens.admin;
const api = (path: string, init: RequestInit & { token?: string | null } = {}) =>
  t.call(`/api/v1${path}`, { token: admin(), ...init });
const send = (method: string, path: string, body: unknown, token = admin()) =>
  api(path, { ...json(body), method, token });

async function channel(body: Record<string, unknown>): Promise<number> {
  const res = await send('POST', '/channels', body);
  assert.is(res.status, 201, await res.clone().text());
  return (await res.json()).id;
}

async function route(channelId: number, extra: Record<string, unknown> = {}): Promise<number> {
  const res = await send('POST', '/notification-routes', { channelId, ...extra });
  assert.is(res.status, 201, await res.clone().text());
  return (await res.json()).id;
}

const count = async (table: string) =>
  (await t.db.sql`select count(*)::int as n from ${t.db.sql(table)}`)[0].n as number;

test.before(async () => {
  t = await createTestApp('notifications', {
    jobs: async (db) => (jobs = await startTestJobs(db, {
      features: [notificationJobs({ retryLimit: 2 })],
      schedule: false,
    })),
  });
  hook = await startReceiver(SECRET);
  chat = await startReceiver(null);
  for (const r of ['host_down', 'vm_off', 'ds_full']) await insertRule(t.db.sql, r);
  await insertRule(t.db.sql, 'snap_old', 'info');
});
test.after(async () => {
  await hook?.close();
  await chat?.close();
  await t?.close();
});

test('bad channel and route input: 4xx naming the field, nothing stored', async () => {
  const cases: [unknown, string][] = [
    [{ kind: 'webhook', name: 'w', url: 'http://x.test/h' }, 'secret'],
    [{ kind: 'webhook', name: 'w', url: 'ftp://x.test/h', secret: SECRET }, 'url'],
    [{ kind: 'webhook', name: '', url: 'http://x.test/h', secret: SECRET }, 'name'],
    [{ kind: 'webhook', name: 'w', url: 'http://x.test/h', secret: 'short' }, 'secret'],
    [{ kind: 'pager', name: 'w' }, 'kind'],
    [{ kind: 'email', name: 'm', host: 'smtp.test', from: 'a@b.test', to: ['nope'] }, 'to'],
    [{ kind: 'email', name: 'm', host: 'smtp.test', from: 'a@b.test', to: [], port: 1 }, 'to'],
    [{ kind: 'slack', name: 's', url: 'http://x.test', extra: 1 }, 'extra'],
  ];
  for (const [body, field] of cases) {
    const res = await send('POST', '/channels', body);
    assert.is(res.status, 400, JSON.stringify(body));
    const e = (await res.json()).error;
    assert.ok(
      e.issues.some((i: { path: string; message: string }) =>
        i.path.includes(field) || i.message.includes(`"${field}"`)
      ),
      `${JSON.stringify(body)} → ${JSON.stringify(e.issues)}`,
    );
  }
  const viewer = await send(
    'POST',
    '/channels',
    { kind: 'slack', name: 's', url: 'http://x.test/a' },
    t.tokens.viewer,
  );
  assert.is(viewer.status, 403);
  assert.is((await api('/channels', { token: t.tokens.viewer })).status, 403);
  assert.is(await count('notification_channels'), 0);

  const id = await channel({ kind: 'slack', name: 'dup', url: 'http://127.0.0.1:9/x' });
  const dup = await send('POST', '/channels', {
    kind: 'slack',
    name: 'dup',
    url: 'http://x.test/',
  });
  assert.is(dup.status, 400);
  assert.is((await dup.json()).error.issues[0].path, 'name');
  assert.is((await send('PUT', '/channels/999999', { kind: 'slack', name: 'x' })).status, 404);
  const kindChange = await send('PUT', `/channels/${id}`, {
    kind: 'webhook',
    name: 'dup',
    url: 'http://x.test/',
  });
  assert.is(kindChange.status, 400);
  assert.is((await kindChange.json()).error.issues[0].path, 'secret');
  const badRoute = await send('POST', '/notification-routes', { channelId: 999999 });
  assert.is(badRoute.status, 400);
  assert.is((await badRoute.json()).error.issues[0].path, 'channelId');
  const badRule = await send('POST', '/notification-routes', { channelId: id, ruleId: 'nope' });
  assert.is((await badRule.json()).error.issues[0].path, 'ruleId');
  const badWait = await send('POST', '/notification-routes', {
    channelId: id,
    groupWaitSeconds: -1,
  });
  assert.is((await badWait.json()).error.issues[0].path, 'groupWaitSeconds');
  assert.is(await count('notification_routes'), 0);
  assert.is((await api(`/channels/${id}`, { method: 'DELETE' })).status, 200);
  assert.is(await count('notification_channels'), 0);
});

test('secrets are stored and never returned', async () => {
  const id = await channel({ kind: 'webhook', name: 'hook', url: hook.url, secret: SECRET });
  const slack = await channel({
    kind: 'slack',
    name: 'slack',
    url: `${chat.url}/T000/B000/XXXXsecretpath`,
  });
  const list = await (await api('/channels')).text();
  assert.not.match(list, SECRET);
  assert.not.match(list, 'XXXXsecretpath');
  const one = await (await api(`/channels/${id}`)).json();
  assert.is(one.hasSecret, true);
  assert.is(one.config.url, hook.url);
  // Changing the name without a secret keeps the secret.
  const put = await send('PUT', `/channels/${id}`, {
    kind: 'webhook',
    name: 'hook',
    url: hook.url,
  });
  assert.is(put.status, 200);
  const [{ secret }] = await t.db.sql`select secret from notification_channels where id = ${id}`;
  assert.is(secret, SECRET);
  const audit = await t.db.sql`select detail::text from audit_log where action like 'channel.%'`;
  for (const a of audit) assert.not.match(a.detail, SECRET);
  await api(`/channels/${slack}`, { method: 'DELETE' });
});

test('200 events of one group become one signed webhook message; resolving sends one more', async () => {
  const [{ id: ch }] = await t.db.sql`select id from notification_channels where name = 'hook'`;
  await route(Number(ch), { ruleId: 'vm_off', groupWaitSeconds: 30 });
  const before = hook.received.length;
  const events = await fireAlerts(t.db.sql, {
    ruleId: 'vm_off',
    groupKey: 'host:esx01',
    objects: 200,
  });
  await notifyAlertEvents(t.db.sql, events);
  await until(() => hook.received.length > before, 10_000, 'the grouped message');
  await new Promise((r) => setTimeout(r, 1000));
  assert.is(hook.received.length, before + 1);
  const got = hook.received.at(-1)!;
  assert.ok(got.verified, 'HMAC verified by the receiver');
  assert.is(got.json.kind, 'fired');
  assert.is(got.json.count, 200);
  assert.is((got.json.alerts as unknown[]).length, 200);
  assert.is(got.json.deliveryId, got.deliveryId);
  assert.is(got.json.groupKey, 'host:esx01');
  // The same events notified again (hook and sweep both) are routed once.
  await notifyAlertEvents(t.db.sql, events);
  await new Promise((r) => setTimeout(r, 500));
  assert.is(hook.received.length, before + 1);

  const resolved = await resolveGroup(t.db.sql, 'host:esx01');
  await notifyAlertEvents(t.db.sql, resolved);
  await until(() => hook.received.length > before + 1, 10_000, 'the resolved message');
  assert.is(hook.received.at(-1)!.json.kind, 'resolved');
  assert.is(hook.received.at(-1)!.json.count, 200);
});

test('events of a group within its wait are held and sent together', async () => {
  const [{ id: ch }] = await t.db.sql`select id from notification_channels where name = 'hook'`;
  const r = await route(Number(ch), { ruleId: 'ds_full', groupWaitSeconds: 2 });
  const before = hook.received.length;
  await notifyAlertEvents(
    t.db.sql,
    await fireAlerts(t.db.sql, { ruleId: 'ds_full', groupKey: 'ds:a', objects: 1, prefix: 'a1' }),
  );
  await until(() => hook.received.length === before + 1, 10_000, 'the first at once');
  for (const p of ['a2', 'a3']) {
    await notifyAlertEvents(
      t.db.sql,
      await fireAlerts(t.db.sql, { ruleId: 'ds_full', groupKey: 'ds:a', objects: 1, prefix: p }),
    );
  }
  await new Promise((r) => setTimeout(r, 500));
  assert.is(hook.received.length, before + 1, 'held within the wait');
  await until(() => hook.received.length === before + 2, 10_000, 'the held ones together');
  assert.is(hook.received.at(-1)!.json.count, 2);
  await api(`/notification-routes/${r}`, { method: 'DELETE' });
});

test('a silenced alert is not notified; a rule below the route severity neither', async () => {
  const before = hook.received.length;
  const items = await count('notification_items');
  const silenced = await fireAlerts(t.db.sql, {
    ruleId: 'vm_off',
    groupKey: 'host:quiet',
    objects: 5,
    silenced: true,
  });
  await notifyAlertEvents(t.db.sql, silenced);
  const [{ id: ch }] = await t.db.sql`select id from notification_channels where name = 'hook'`;
  const r = await route(Number(ch), { ruleId: 'snap_old', minSeverity: 'warning' });
  const low = await fireAlerts(t.db.sql, {
    ruleId: 'snap_old',
    groupKey: 'snap',
    objects: 3,
    severity: 'info',
  });
  await notifyAlertEvents(t.db.sql, low);
  await new Promise((r) => setTimeout(r, 1500));
  assert.is(hook.received.length, before);
  assert.is(await count('notification_items'), items);
  const [{ n }] = await t.db.sql`select count(*)::int as n from notification_routed
    where event_id = any(${[...silenced, ...low]}::bigint[])`;
  assert.is(n, 8, 'routed once, so the sweep does not pick them up again');
  await api(`/notification-routes/${r}`, { method: 'DELETE' });
});

test('the sweep sends events the hook missed; acknowledged and repeats are told once each', async () => {
  const before = hook.received.length;
  // Fired without the hook: the sweep routes and sends them.
  const fired = await fireAlerts(t.db.sql, {
    ruleId: 'vm_off',
    groupKey: 'host:swept',
    objects: 3,
  });
  await sweepNotifications(t.db.sql, jobs.boss);
  await until(() => hook.received.length === before + 1, 10_000, 'the swept message');
  assert.is(hook.received.at(-1)!.json.groupKey, 'host:swept');
  await sweepNotifications(t.db.sql, jobs.boss);
  // Not yet due for a repeat: nothing more.
  await new Promise((r) => setTimeout(r, 700));
  assert.is(hook.received.length, before + 1);

  // One acknowledged: one message of kind acknowledged listing it.
  const [ack] = await t.db.sql`
    with a as (update alerts set state = 'acknowledged', acknowledged_at = now(),
                 acknowledged_by = 'ops'
               where id = (select alert_id from alert_events where id = ${fired[0]}) returning id)
    insert into alert_events (alert_id, kind, actor) select id, 'acknowledged', 'ops' from a
    returning id`;
  await notifyAlertEvents(t.db.sql, [Number(ack.id)]);
  await until(() => hook.received.length === before + 2, 10_000, 'the acknowledgement');
  assert.is(hook.received.at(-1)!.json.kind, 'acknowledged');
  assert.is(hook.received.at(-1)!.json.count, 1);

  // The route's repeat interval has passed for the two still firing (items made older).
  await t.db.sql`update notification_items set created_at = created_at - interval '5 hours'
    where group_key = 'host:swept'`;
  await t.db.sql`update notifications set created_at = created_at - interval '5 hours'
    where group_key = 'host:swept'`;
  await sweepNotifications(t.db.sql, jobs.boss);
  await until(() => hook.received.length === before + 3, 10_000, 'the repeat');
  const repeat = hook.received.at(-1)!.json;
  assert.is(repeat.kind, 'repeat');
  assert.is(repeat.count, 2, 'the acknowledged one is not repeated');
  await sweepNotifications(t.db.sql, jobs.boss);
  await new Promise((r) => setTimeout(r, 700));
  assert.is(hook.received.length, before + 3, 'a repeat is not repeated at once');
});

test('a receiver down for a while gets every message once when it returns', async () => {
  const before = hook.received.length;
  hook.state.down = true;
  hook.state.refused = 0;
  for (const g of ['host:b1', 'host:b2', 'host:b3']) {
    await notifyAlertEvents(
      t.db.sql,
      await fireAlerts(t.db.sql, { ruleId: 'vm_off', groupKey: g, objects: 4 }),
    );
  }
  await until(() => hook.state.refused >= 3, 10_000, 'first attempts refused');
  hook.state.down = false;
  await until(() => hook.received.length >= before + 3, 20_000, 'the retries');
  await new Promise((r) => setTimeout(r, 2500));
  const got = hook.received.slice(before);
  assert.is(got.length, 3);
  assert.is(new Set(got.map((g) => g.deliveryId)).size, 3);
  assert.equal(got.map((g) => g.json.groupKey).sort(), ['host:b1', 'host:b2', 'host:b3']);
  const list = await (await api('/notifications?state=delivered')).json();
  for (const g of got) {
    const d = list.items.find((i: { id: string }) => i.id === g.deliveryId);
    assert.ok(d.attempts >= 2, `retried: ${d.attempts}`);
  }
});

test('after the last retry a delivery is dead, listed, and retried on request', async () => {
  hook.state.down = true;
  const before = hook.received.length;
  await notifyAlertEvents(
    t.db.sql,
    await fireAlerts(t.db.sql, { ruleId: 'vm_off', groupKey: 'host:dead', objects: 2 }),
  );
  let dead: { id: string; attempts: number; lastError: string } | undefined;
  await until(
    async () => {
      const list = await (await api('/notifications?state=dead')).json();
      dead = list.items.find((i: { groupKey: string }) => i.groupKey === 'host:dead');
      return !!dead;
    },
    20_000,
    'the dead letter',
  );
  assert.is(dead!.attempts, 3);
  assert.match(dead!.lastError, /503/);
  assert.is((await api(`/notifications/${dead!.id}/retry`, { method: 'POST' })).status, 200);
  hook.state.down = false;
  await until(() => hook.received.length === before + 1, 15_000, 'the retried delivery');
  assert.is(hook.received.at(-1)!.deliveryId, dead!.id);
  const again = await api(`/notifications/${dead!.id}/retry`, { method: 'POST' });
  assert.is(again.status, 409);
  assert.is(
    (await api('/notifications/00000000-0000-0000-0000-000000000000/retry', { method: 'POST' }))
      .status,
    404,
  );
  assert.is((await api('/notifications/nope/retry', { method: 'POST' })).status, 400);
});

test('Slack- and Teams-compatible payloads, escaped; send test', async () => {
  const slack = await channel({ kind: 'slack', name: 'slack', url: `${chat.url}/slack` });
  const teams = await channel({ kind: 'teams', name: 'teams', url: `${chat.url}/teams` });
  await route(slack, { ruleId: 'host_down' });
  await route(teams, { ruleId: 'host_down' });
  const before = chat.received.length;
  await notifyAlertEvents(
    t.db.sql,
    await fireAlerts(t.db.sql, { ruleId: 'host_down', groupKey: 'host:<c>', objects: 30 }),
  );
  await until(() => chat.received.length === before + 2, 10_000, 'slack and teams');
  const bodies = chat.received.slice(before).map((r) => r.json);
  const s = bodies.find((b) => 'blocks' in b)! as {
    text: string;
    blocks: { type: string; text?: { text: string } }[];
  };
  assert.type(s.text, 'string');
  assert.is(s.blocks[0].type, 'header');
  const section = s.blocks.find((b) => b.type === 'section')!.text!.text;
  assert.match(section, '&lt;unexpectedly&gt; &amp;');
  assert.not.match(section, '<unexpectedly>');
  assert.match(section, '… and 10 more');
  const m = bodies.find((b) => b['@type'] === 'MessageCard')! as {
    sections: { facts: { name: string; value: string }[] }[];
  };
  assert.is(m['@context' as never], 'https://schema.org/extensions');
  assert.equal(m.sections[0].facts.find((f) => f.name === 'Objects')!.value, '30');

  const res = await api(`/channels/${slack}/test`, { method: 'POST' });
  assert.is(res.status, 200);
  const r = await res.json();
  assert.is(r.delivered, true);
  assert.is(r.delivery.kind, 'test');
  assert.is(chat.received.at(-1)!.json.text, 'Test notification from vmledger');
  const down = await channel({ kind: 'teams', name: 'nowhere', url: 'http://127.0.0.1:9/x' });
  const failed = await (await api(`/channels/${down}/test`, { method: 'POST' })).json();
  assert.is(failed.delivered, false);
  assert.type(failed.error, 'string');
  assert.not.match(failed.error, '127.0.0.1:9');
});

test.run();
