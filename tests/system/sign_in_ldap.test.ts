/**
 * LDAP sign-in against a real OpenLDAP (Debian's slapd, started by tests/support/slapd.ts on
 * loopback with StartTLS): nested groups to roles, every refusal audited with its reason, and
 * the sessions a sign-in creates (idle and absolute timeouts, logout everywhere, the admin
 * session list, the break-glass admin token).
 */
import * as assert from 'uvu/assert';
import { suiteNeeding } from '../support/parts.ts';
import { createTestApp, type TestApp } from '../support/app.ts';
import { ensureToken } from '../../server/auth/tokens.ts';
import type { LdapConfig } from '../../server/auth/ldap.ts';
import {
  ADMINS,
  BASE,
  SERVICE_DN,
  SERVICE_PASSWORD,
  type Slapd,
  startSlapd,
  VIEWERS,
} from '../support/slapd.ts';

const test = suiteNeeding('sign-in: LDAP against slapd, sessions', ['slapd']);
let t: TestApp;
let ldap: Slapd;

let ldapConfig: LdapConfig;

test.before(async () => {
  ldap = await startSlapd();
  ldapConfig = {
    url: ldap.url,
    startTls: true,
    tls: { ca: ldap.ca },
    bindDn: SERVICE_DN,
    bindPassword: SERVICE_PASSWORD,
    userBase: `ou=people,${BASE}`,
    userFilter: '(&(objectClass=person)(uid={username}))',
    groupBase: `ou=groups,${BASE}`,
    groupFilter: '(member={dn})',
    nestedGroups: true,
    nameAttribute: 'cn',
    roles: { admin: [ADMINS], viewer: [VIEWERS.toUpperCase()] },
    timeoutMs: 5000,
  };
  t = await createTestApp('sign_in_ldap', { signIn: { idleMinutes: 30, ldap: ldapConfig } });
});
test.after(async () => {
  await t?.close();
  await ldap?.stop();
});

const form = (body: Record<string, string>) => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams(body).toString(),
});

function signIn(username: string, password: string, next = '/vms') {
  return t.app.request('/login/ldap', form({ username, password, next }));
}

const cookieOf = (res: Response) => res.headers.get('set-cookie')!.split(';')[0];

async function lastAudit(action: string) {
  const [row] = await t.db.sql`
    select actor_id, actor_name, target, detail from audit_log where action = ${action}
    order by id desc limit 1`;
  return row;
}

test('the login page offers the directory form beside the token', async () => {
  const html = await (await t.app.request('/login')).text();
  assert.match(html, /action="\/login\/ldap"/);
  assert.match(html, /name="username"/);
  assert.match(html, /action="\/login"/);
});

test('alice (admin through a group in a group) signs in; audited with the method', async () => {
  const res = await signIn('alice', 'alice-pass');
  assert.is(res.status, 303);
  assert.is(res.headers.get('location'), '/vms');
  assert.match(res.headers.get('set-cookie')!, /HttpOnly/i);
  const page = await t.app.request('/admin', { headers: { cookie: cookieOf(res) } });
  assert.is(page.status, 200, 'admin page open to an admin');
  assert.match(await page.text(), /Alice Example/);
  const [p] = await t.db.sql`
    select id, role, kind, subject, name from api_tokens where kind = 'ldap' and name = 'Alice Example'`;
  assert.is(p.role, 'admin');
  assert.is(p.subject, `uid=alice,ou=people,${BASE}`);
  const a = await lastAudit('auth.login');
  assert.is(a.actor_id, p.id);
  assert.is(a.detail.method, 'ldap');
  assert.is(a.detail.role, 'admin');
  // A directory person is not a token: not listed, and nothing can be presented for it.
  const tokens = await (await t.call('/api/v1/tokens', { token: t.tokens.admin })).json();
  assert.not.ok(tokens.items.some((i: { name: string }) => i.name === 'Alice Example'));
});

test('bob (viewer, group DN matched case-insensitively) is a viewer: no admin pages', async () => {
  const res = await signIn('bob', 'bob-pass');
  assert.is(res.status, 303);
  const cookie = cookieOf(res);
  assert.is((await t.app.request('/vms', { headers: { cookie } })).status, 200);
  assert.is((await t.app.request('/admin', { headers: { cookie } })).status, 403);
});

const refusals: [string, string, string, number, RegExp][] = [
  ['wrong password', 'bob', 'not-bobs', 401, /Wrong user name or password/],
  ['unknown user', 'eve', 'eve-pass', 401, /Wrong user name or password/],
  ['filter injection', '*', 'alice-pass', 401, /Wrong user name or password/],
  ['empty password (would be an anonymous bind)', 'bob', '', 401, /Wrong user name/],
  ['locked account (pwdAccountLockedTime)', 'dave', 'dave-pass', 401, /locked or disabled/],
  ['no mapped group', 'carol', 'carol-pass', 403, /Carol Example.*none of the groups/s],
];
for (const [what, username, password, status, message] of refusals) {
  test(`refused and audited: ${what}`, async () => {
    const before = await t.db.sql`select count(*)::int as n from sessions`;
    const res = await signIn(username, password);
    assert.is(res.status, status);
    assert.is(res.headers.get('set-cookie'), null, 'no session cookie');
    assert.match(await res.text(), message);
    const after = await t.db.sql`select count(*)::int as n from sessions`;
    assert.is(after[0].n, before[0].n, 'no session created');
    const a = await lastAudit('auth.failure');
    assert.is(a.detail.method, 'ldap');
    assert.is(a.detail.username, username);
    const reason = {
      locked: 'locked',
      no: 'no_group',
    }[what.split(' ')[0]] ?? 'bad_credentials';
    assert.is(a.detail.reason, reason);
  });
}

test('an unreachable directory says so (503), audited', async () => {
  const app2 = await createTestApp('sign_in_ldap_down', {
    signIn: {
      ldap: {
        url: 'ldap://127.0.0.1:1',
        startTls: true,
        bindDn: SERVICE_DN,
        bindPassword: SERVICE_PASSWORD,
        userBase: BASE,
        userFilter: '(uid={username})',
        groupBase: BASE,
        groupFilter: '(member={dn})',
        nestedGroups: false,
        nameAttribute: 'cn',
        roles: { admin: [ADMINS], viewer: [] },
        timeoutMs: 2000,
      },
    },
  });
  try {
    const res = await app2.app.request('/login/ldap', form({ username: 'alice', password: 'x' }));
    assert.is(res.status, 503);
    assert.match(await res.text(), /could not be reached/);
    const [a] = await app2.db.sql`select detail from audit_log where action = 'auth.failure'`;
    assert.is(a.detail.reason, 'unavailable');
  } finally {
    await app2.close();
  }
});

test('idle and absolute timeouts end a session', async () => {
  const idle = cookieOf(await signIn('bob', 'bob-pass'));
  const absolute = cookieOf(await signIn('bob', 'bob-pass'));
  assert.is((await t.app.request('/vms', { headers: { cookie: idle } })).status, 200);
  const [{ sid: idleSid }] = await t.db.sql`select max(sid) - 1 as sid from sessions`;
  const [{ sid: absSid }] = await t.db.sql`select max(sid) as sid from sessions`;
  const [s] = await t.db.sql`select idle_seconds, method from sessions where sid = ${idleSid}`;
  assert.is(s.idle_seconds, 30 * 60);
  assert.is(s.method, 'ldap');
  await t.db
    .sql`update sessions set last_seen_at = now() - interval '31 minutes' where sid = ${idleSid}`;
  await t.db
    .sql`update sessions set expires_at = now() - interval '1 second' where sid = ${absSid}`;
  assert.is((await t.app.request('/vms', { headers: { cookie: idle } })).status, 303);
  assert.is((await t.app.request('/vms', { headers: { cookie: absolute } })).status, 303);
  // Used within the idle time, a session goes on (and its last use moves).
  const live = cookieOf(await signIn('bob', 'bob-pass'));
  await t.db
    .sql`update sessions set last_seen_at = now() - interval '29 minutes' where sid = (select max(sid) from sessions)`;
  assert.is((await t.app.request('/vms', { headers: { cookie: live } })).status, 200);
  const [touched] = await t.db
    .sql`select last_seen_at > now() - interval '1 minute' as fresh from sessions where sid = (select max(sid) from sessions)`;
  assert.ok(touched.fresh);
});

test('the admin session list; ending one session; logout everywhere', async () => {
  const admin = cookieOf(await signIn('alice', 'alice-pass'));
  const bob1 = cookieOf(await signIn('bob', 'bob-pass'));
  const bob2 = cookieOf(await signIn('bob', 'bob-pass'));
  const list = await t.app.request('/admin/sessions', { headers: { cookie: admin } });
  assert.is(list.status, 200);
  const html = await list.text();
  assert.match(html, /Bob Example/);
  assert.match(html, /LDAP/);
  const api = await (await t.call('/api/v1/sessions', { token: t.tokens.admin })).json();
  const bobs = api.items.filter((i: { name: string }) => i.name === 'Bob Example');
  assert.ok(bobs.length >= 2);
  assert.is(bobs[0].method, 'ldap');
  assert.is(bobs[0].subject, `uid=bob,ou=people,${BASE}`);
  // A viewer sees no session list.
  assert.is((await t.app.request('/admin/sessions', { headers: { cookie: bob1 } })).status, 403);
  // Bob logs out everywhere from one browser: both his sessions end, alice's does not.
  const page = await (await t.app.request('/vms', { headers: { cookie: bob1 } })).text();
  const csrf = /name="csrf" value="([^"]+)"/.exec(page)![1];
  const out = await t.app.request('/logout/everywhere', {
    ...form({ csrf }),
    headers: { ...form({}).headers, cookie: bob1 },
  });
  assert.is(out.status, 303);
  assert.is((await t.app.request('/vms', { headers: { cookie: bob1 } })).status, 303);
  assert.is((await t.app.request('/vms', { headers: { cookie: bob2 } })).status, 303);
  assert.is((await t.app.request('/vms', { headers: { cookie: admin } })).status, 200);
  const a = await lastAudit('session.end_all');
  assert.is(a.actor_name, 'Bob Example');
  assert.ok(a.detail.ended >= 2);
  // An admin ends alice's own other session through the API by its number.
  const other = cookieOf(await signIn('alice', 'alice-pass'));
  const [{ sid }] = await t.db.sql`select max(sid) as sid from sessions`;
  const ended = await t.call(`/api/v1/sessions/${sid}`, {
    method: 'DELETE',
    token: t.tokens.admin,
  });
  assert.is(ended.status, 200);
  assert.is((await t.app.request('/vms', { headers: { cookie: other } })).status, 303);
  assert.is((await t.app.request('/vms', { headers: { cookie: admin } })).status, 200);
  assert.is(
    (await t.call(`/api/v1/sessions/${sid}`, { method: 'DELETE', token: t.tokens.admin })).status,
    404,
  );
});

test('the break-glass admin token signs in to pages, audited as such', async () => {
  const value = 'break-glass-admin-token-0123456789';
  await ensureToken(t.db.sql, {
    name: 'admin (VMLEDGER_ADMIN_TOKEN)',
    role: 'admin',
    value,
    breakGlass: true,
  });
  const res = await t.app.request('/login', form({ token: value, next: '/' }));
  assert.is(res.status, 303);
  const a = await lastAudit('auth.login');
  assert.is(a.detail.method, 'token');
  assert.is(a.detail.breakGlass, true);
  assert.is(a.actor_name, 'admin (VMLEDGER_ADMIN_TOKEN)');
  // An ordinary token's sign-in is audited without the flag; a wrong one as a token failure.
  await t.app.request('/login', form({ token: t.tokens.viewer, next: '/' }));
  assert.is((await lastAudit('auth.login')).detail.breakGlass, undefined);
  assert.is(
    (await t.app.request('/login', form({ token: 'vml_nope_nope_nope', next: '/' }))).status,
    401,
  );
  const f = await lastAudit('auth.failure');
  assert.is(f.detail.method, 'token');
  assert.is(f.detail.reason, 'bad_token');
});

test('guessing is limited before the directory is asked: 5 failures for one user, then 429', async () => {
  const limitedApp = await createTestApp('sign_in_ldap_limit', {
    authFailureLimit: 10,
    signIn: { ldap: ldapConfig },
  });
  try {
    const guess = (password: string) =>
      limitedApp.app.request('/login/ldap', form({ username: 'bob', password }));
    for (let i = 0; i < 5; i++) assert.is((await guess(`wrong-${i}`)).status, 401);
    const blocked = await guess('bob-pass');
    assert.is(blocked.status, 429, 'even the right password waits');
    assert.ok(Number(blocked.headers.get('retry-after')) > 0);
    const [{ n }] = await limitedApp.db.sql`
      select count(*)::int as n from audit_log where action = 'auth.failure'`;
    assert.is(n, 5, 'the blocked attempt never reached the directory');
  } finally {
    await limitedApp.close();
  }
});

test('a revoked directory person cannot sign in again', async () => {
  const [p] = await t.db
    .sql`select id from api_tokens where kind = 'ldap' and name = 'Bob Example'`;
  const live = cookieOf(await signIn('bob', 'bob-pass'));
  const revoked = await t.call(`/api/v1/tokens/${p.id}`, {
    method: 'DELETE',
    token: t.tokens.admin,
  });
  assert.is(revoked.status, 200);
  assert.is((await t.app.request('/vms', { headers: { cookie: live } })).status, 303);
  const res = await signIn('bob', 'bob-pass');
  assert.is(res.status, 403);
  assert.match(await res.text(), /disabled in vmledger/);
  assert.is((await lastAudit('auth.failure')).detail.reason, 'revoked');
  await t.db.sql`update api_tokens set revoked_at = null where id = ${p.id}`;
});

test.run();
