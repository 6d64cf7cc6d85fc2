/**
 * Admin · Channels page: the same actions as the API through CSRF-protected forms — add a
 * channel (a refusal names the field and stores nothing), send test through htmx to a real
 * receiver, add a route, retry a dead delivery — and no secret is ever on the page.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { notificationJobs } from '../../server/notifications/notify_jobs.ts';
import { startReceiver } from '../support/alert_events.ts';
import { createTestApp, type TestApp } from '../support/app.ts';
import { pageSession, startTestJobs } from '../support/jobs.ts';

const test = suite('pages: admin channels');
const SECRET = 'page-webhook-secret-0123456789';
let t: TestApp;
let hook: Awaited<ReturnType<typeof startReceiver>>;
let cookie = '';
let csrf = '';

const post = (path: string, form: Record<string, string>, headers: Record<string, string> = {}) =>
  t.app.request(path, {
    method: 'POST',
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams({ csrf, ...form }).toString(),
  });
const get = async (path: string) => (await t.app.request(path, { headers: { cookie } })).text();

test.before(async () => {
  t = await createTestApp('pages_channels', {
    jobs: (db) => startTestJobs(db, { features: [notificationJobs({ retryLimit: 1 })] }),
  });
  hook = await startReceiver(SECRET);
  ({ cookie, csrf } = await pageSession(t.app, t.tokens.admin, '/admin/channels'));
});
test.after(async () => {
  await hook?.close();
  await t?.close();
});

test('the admin tabs link to Channels; a viewer is refused', async () => {
  assert.match(await get('/admin'), 'href="/admin/channels"');
  const viewer = await pageSession(t.app, t.tokens.viewer);
  const res = await t.app.request('/admin/channels', { headers: { cookie: viewer.cookie } });
  assert.is(res.status, 403);
});

test('add a channel: a bad field is named and nothing stored; then added, secret not shown', async () => {
  const bad = await post('/admin/channels', {
    name: 'hook',
    kind: 'webhook',
    url: hook.url,
    secret: 'short',
  });
  assert.is(bad.status, 400);
  assert.match(await bad.text(), /secret: Too small/);
  const [{ n }] = await t.db.sql`select count(*)::int as n from notification_channels`;
  assert.is(n, 0);
  assert.is((await post('/admin/channels', { name: 'x', kind: 'webhook' }, {})).status, 400);
  const noCsrf = await t.app.request('/admin/channels', {
    method: 'POST',
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'name=x&kind=slack&url=http://x.test/',
  });
  assert.is(noCsrf.status, 403);

  const ok = await post('/admin/channels', {
    name: 'hook <b>',
    kind: 'webhook',
    url: hook.url,
    secret: SECRET,
  });
  assert.is(ok.status, 303);
  const html = await get('/admin/channels');
  assert.match(html, 'hook &lt;b&gt;');
  assert.not.match(html, SECRET);
  const [{ id }] = await t.db.sql`select id from notification_channels`;
  const edit = await get(`/admin/channels/${id}`);
  assert.match(edit, `value="${hook.url}"`);
  assert.not.match(edit, SECRET);
});

test('send test through htmx: the outcome swapped in, the receiver verified it', async () => {
  const [{ id }] = await t.db.sql`select id from notification_channels`;
  const res = await post(`/admin/channels/${id}/test`, {}, { 'hx-request': 'true' });
  assert.is(res.status, 200);
  assert.match(await res.text(), 'test delivered');
  assert.is(hook.received.length, 1);
  assert.ok(hook.received[0].verified);
  assert.is(hook.received[0].json.kind, 'test');
});

test('add a route; a bad one is refused naming the field', async () => {
  const [{ id }] = await t.db.sql`select id from notification_channels`;
  const bad = await post('/admin/notification-routes', {
    channelId: String(id),
    groupWaitSeconds: 'soon',
  });
  assert.is(bad.status, 400);
  assert.match(await bad.text(), /groupWaitSeconds/);
  const ok = await post('/admin/notification-routes', {
    channelId: String(id),
    minSeverity: 'warning',
    groupWaitSeconds: '10',
    repeatSeconds: '3600',
  });
  assert.is(ok.status, 303);
  assert.match(await get('/admin/channels'), /warning\+/);
});

test('a dead delivery is listed under dead letters with Retry, which queues it again', async () => {
  const [{ id: ch }] = await t.db.sql`select id from notification_channels`;
  const [{ id }] = await t.db.sql`
    insert into notifications (channel_id, kind, state, attempts, last_error)
    values (${ch}, 'fired', 'dead', 2, 'webhook answered HTTP 503') returning id::text`;
  const html = await get('/admin/channels?state=dead');
  assert.match(html, 'webhook answered HTTP 503');
  assert.match(html, `action="/admin/notifications/${id}/retry"`);
  const res = await post(`/admin/notifications/${id}/retry`, {});
  assert.is(res.status, 303);
  const [{ n }] = await t.db.sql`select count(*)::int as n from audit_log
    where action = 'notification.retry' and target = ${`notification:${id}`}`;
  assert.is(n, 1);
  const again = await post(`/admin/notifications/${id}/retry`, {});
  assert.is(again.status, 409);
});

test.run();
