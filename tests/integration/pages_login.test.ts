import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { demoCapture } from '../../agent/collectors/demo/fleet.ts';
import { createTestApp, json, type TestApp } from '../support/app.ts';

const test = suite('pages: login, session, VM page');
let t: TestApp;

test.before(async () => {
  t = await createTestApp('pages_login');
  const c = demoCapture({
    flavor: 'proxmox',
    seed: 4,
    totalVms: 40,
    at: new Date('2026-05-04T10:00:00Z'),
    since: null,
  });
  assert.is((await t.call('/api/v1/captures', { ...json(c), token: t.tokens.agent })).status, 201);
});
test.after(() => t.close());

async function login(token: string) {
  const res = await t.app.request('/login', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token, next: '/vms' }).toString(),
  });
  return res;
}

test('pages need a login: / redirects to /login', async () => {
  const res = await t.app.request('/');
  assert.is(res.status, 303);
  assert.match(res.headers.get('location')!, /^\/login/);
  const page = await t.app.request('/login');
  assert.is(page.status, 200);
  assert.match(await page.text(), /<form method="post" action="\/login">/);
});

test('a wrong token or an agent token cannot log in', async () => {
  assert.is((await login('vml_wrong_wrong_wrong_wrong_wrong')).status, 401);
  assert.is((await login(t.tokens.agent)).status, 401);
});

test('logging in sets an HttpOnly SameSite=Strict session; the VM page lists the VMs', async () => {
  const res = await login(t.tokens.admin);
  assert.is(res.status, 303);
  assert.is(res.headers.get('location'), '/vms');
  const cookie = res.headers.get('set-cookie')!;
  assert.match(cookie, /HttpOnly/i);
  assert.match(cookie, /SameSite=Strict/i);
  const session = cookie.split(';')[0];
  const page = await t.app.request('/vms', { headers: { cookie: session } });
  assert.is(page.status, 200);
  const html = await page.text();
  assert.match(html, /<script src="\/static\/htmx.min.js"/);
  const [{ name }] = await t.db.sql`select name from vm_inventory order by lower(name) limit 1`;
  assert.ok(html.includes(name), 'first VM shown');
  // htmx search returns just the table fragment.
  const frag = await t.app.request(`/vms?q=${encodeURIComponent(name)}`, {
    headers: { cookie: session, 'hx-request': 'true' },
  });
  const fragment = await frag.text();
  assert.not.match(fragment, /<html/);
  assert.ok(fragment.includes(name));
  // Logging out needs the CSRF token; afterwards the session is gone.
  const noCsrf = await t.app.request('/logout', {
    method: 'POST',
    headers: { cookie: session, 'content-type': 'application/x-www-form-urlencoded' },
    body: '',
  });
  assert.is(noCsrf.status, 403);
  const csrf = /name="csrf" value="([^"]+)"/.exec(html)![1];
  const out = await t.app.request('/logout', {
    method: 'POST',
    headers: { cookie: session, 'content-type': 'application/x-www-form-urlencoded' },
    body: `csrf=${csrf}`,
  });
  assert.is(out.status, 303);
  assert.is((await t.app.request('/vms', { headers: { cookie: session } })).status, 303);
});

test('static htmx comes from the npm package; open redirects are refused', async () => {
  const js = await t.app.request('/static/htmx.min.js');
  assert.is(js.status, 200);
  assert.match(await js.text(), /htmx/);
  const res = await t.app.request('/login', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: t.tokens.viewer, next: '//evil.example' }).toString(),
  });
  assert.is(res.headers.get('location'), '/');
});

test.run();
