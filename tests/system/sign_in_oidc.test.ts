/**
 * OpenID Connect sign-in against a real provider (npm oidc-provider, started by
 * tests/support/oidc_provider.ts on loopback): authorization code + PKCE, the groups claim to
 * roles, key rotation, and every refusal audited — tampered, expired, wrong-audience ID
 * tokens, a replayed nonce, a replayed callback, a callback this browser did not start.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createTestApp, json, type TestApp } from '../support/app.ts';
import { makeCapture } from '../support/captures.ts';
import {
  CLIENT_ID,
  CLIENT_SECRET,
  type IdTokenChange,
  startProvider,
  type TestProvider,
} from '../support/oidc_provider.ts';

const test = suite('sign-in: OpenID Connect against oidc-provider');
const REDIRECT = 'http://vmledger.test/login/oidc/callback';
let t: TestApp;
let p: TestProvider;

test.before(async () => {
  p = await startProvider(REDIRECT);
  t = await createTestApp('sign_in_oidc', {
    signIn: {
      idleMinutes: 60,
      oidc: {
        issuer: p.issuer,
        clientId: CLIENT_ID,
        clientSecret: CLIENT_SECRET,
        redirectUri: REDIRECT,
        scopes: 'openid profile groups',
        groupsClaim: 'groups',
        nameClaim: 'name',
        roles: {
          admin: ['vmledger-admins'],
          viewer: ['vmledger-viewers', 'acme-viewers|tag:tenant=acme'],
        },
        label: 'Example SSO',
      },
    },
  });
});
test.after(async () => {
  await t?.close();
  await p?.stop();
});

/** Starts a login at vmledger, signs in at the provider; the callback URL and state cookie. */
async function toCallback(login: string) {
  const start = await t.app.request('/login/oidc?next=/vms');
  assert.is(start.status, 303);
  const to = new URL(start.headers.get('location')!);
  assert.is(to.origin, p.issuer);
  assert.is(to.searchParams.get('code_challenge_method'), 'S256');
  assert.ok(to.searchParams.get('nonce'));
  const stateCookie = start.headers.get('set-cookie')!.split(';')[0];
  assert.match(start.headers.get('set-cookie')!, /HttpOnly/i);
  const back = await p.browse(to.href, login);
  return { back, stateCookie };
}

function callback(back: URL, stateCookie: string | null) {
  return t.app.request(`/login/oidc/callback${back.search}`, {
    headers: stateCookie ? { cookie: stateCookie } : {},
  });
}

async function signIn(login: string) {
  const { back, stateCookie } = await toCallback(login);
  return callback(back, stateCookie);
}

async function lastAudit(action: string) {
  const [row] = await t.db.sql`
    select actor_id, actor_name, detail from audit_log where action = ${action}
    order by id desc limit 1`;
  return row;
}

test('the login page offers single sign-on', async () => {
  const html = await (await t.app.request('/login')).text();
  assert.match(html, /href="\/login\/oidc\?next=%2F"/);
  assert.match(html, /Sign in with Example SSO/);
});

test('olivia (admin by the groups claim) signs in; audited with the method', async () => {
  const res = await signIn('olivia');
  assert.is(res.status, 200);
  const html = await res.text();
  assert.match(html, /url=\/vms/, 'moves on to where the login started');
  const cookie = res.headers.get('set-cookie')!.split(/,(?=\s*vmledger_session=)/).find((c) =>
    c.trim().startsWith('vmledger_session=')
  );
  assert.ok(cookie, 'a session cookie');
  const session = cookie!.trim().split(';')[0];
  assert.is((await t.app.request('/admin', { headers: { cookie: session } })).status, 200);
  const [row] = await t.db
    .sql`select id, role, subject from api_tokens where kind = 'oidc' and name = 'Olivia Admin'`;
  assert.is(row.role, 'admin');
  assert.is(row.subject, `${p.issuer}|olivia`);
  const a = await lastAudit('auth.login');
  assert.is(a.actor_id, row.id);
  assert.is(a.detail.method, 'oidc');
});

test('victor (viewer) signs in as a viewer', async () => {
  const res = await signIn('victor');
  assert.is(res.status, 200);
  const [row] = await t.db
    .sql`select role from api_tokens where kind = 'oidc' and name = 'Victor Viewer'`;
  assert.is(row.role, 'viewer');
});

test("tara (a viewer group limited to tag tenant=acme) sees acme's VMs only", async () => {
  for (const id of ['vc-acme', 'vc-beta']) {
    const capture = makeCapture({
      sourceId: id,
      at: '2026-05-10T10:00:00Z',
      vms: [{ key: `${id}-vm` }],
    });
    const r = await t.call('/api/v1/captures', { ...json(capture), token: t.tokens.agent });
    assert.is(r.status, 201);
  }
  await t.db.sql`update sources set tags = '{tenant=acme}' where external_id = 'vc-acme'`;
  const res = await signIn('tara');
  assert.is(res.status, 200);
  const [row] = await t.db.sql`select role, scope from api_tokens where name = 'Tara Tenant'`;
  assert.equal([row.role, row.scope], ['viewer', ['tag:tenant=acme']]);
  const cookie =
    res.headers.get('set-cookie')!.split(/,(?=\s*vmledger_session=)/).find((c) =>
      c.trim().startsWith('vmledger_session=')
    )!.trim().split(';')[0];
  const page = await (await t.app.request('/vms', { headers: { cookie } })).text();
  assert.ok(page.includes('vm-vc-acme-vm'), 'acme VM listed');
  assert.not.ok(page.includes('vc-beta'), 'nothing of beta');
  const all = await (await t.call('/api/v1/vms', { token: t.tokens.viewer })).json();
  assert.is(all.items.length, 2, 'both exist');
});

test('logout of an OIDC session signs out at the provider too (end_session_endpoint, id_token_hint)', async () => {
  const res = await signIn('victor');
  const cookie =
    res.headers.get('set-cookie')!.split(/,(?=\s*vmledger_session=)/).find((c) =>
      c.trim().startsWith('vmledger_session=')
    )!.trim().split(';')[0];
  const page = await (await t.app.request('/vms', { headers: { cookie } })).text();
  const csrf = /name="csrf" value="([^"]+)"/.exec(page)![1];
  const out = await t.app.request('/logout', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
    body: new URLSearchParams({ csrf }).toString(),
  });
  assert.is(out.status, 200);
  const to = /content="0;url=([^"]+)"/.exec(await out.text())![1].replaceAll('&amp;', '&');
  const url = new URL(to);
  assert.is(url.origin, p.issuer);
  assert.is(url.searchParams.get('id_token_hint'), p.idTokens[p.idTokens.length - 1]);
  assert.is(url.searchParams.get('post_logout_redirect_uri'), new URL('/login', REDIRECT).href);
  // The provider knows the end_session URL it advertised, and the vmledger session is over.
  const atProvider = await fetch(url, { redirect: 'manual' });
  assert.ok(atProvider.status < 400, `provider answered ${atProvider.status}`);
  assert.is((await t.app.request('/vms', { headers: { cookie } })).status, 303);
});

async function refused(res: Response, status: number, reason: string, message: RegExp) {
  assert.is(res.status, status);
  assert.not.match(res.headers.get('set-cookie') ?? '', /vmledger_session=[^;]/);
  assert.match(await res.text(), message);
  const a = await lastAudit('auth.failure');
  assert.is(a.detail.method, 'oidc');
  assert.is(a.detail.reason, reason);
  return a;
}

test('nadia (no mapped group) is refused with a clear message, audited', async () => {
  await refused(await signIn('nadia'), 403, 'no_group', /Nadia Nogroup.*none of the groups/s);
});

test('a replayed callback (same state, same code) is refused, audited', async () => {
  const { back, stateCookie } = await toCallback('victor');
  assert.is((await callback(back, stateCookie)).status, 200);
  await refused(await callback(back, stateCookie), 401, 'state', /used already/);
});

test('a callback this browser did not start (no state cookie) is refused, audited', async () => {
  const { back } = await toCallback('olivia');
  await refused(await callback(back, null), 401, 'state', /not started here/);
});

async function withIdToken(change: IdTokenChange, login = 'olivia') {
  p.idToken = change;
  try {
    return await signIn(login);
  } finally {
    p.idToken = null;
  }
}

test('a tampered ID token (groups changed, signature kept) is refused, audited', async () => {
  const res = await withIdToken((token, { claims }) => {
    const [h, , s] = token.split('.');
    const body = Buffer.from(JSON.stringify({ ...claims, groups: ['vmledger-admins'] }))
      .toString('base64url');
    return `${h}.${body}.${s}`;
  }, 'nadia');
  const a = await refused(res, 401, 'id_token', /not valid/);
  assert.match(a.detail.error, /signature verification failed/i);
});

test('an ID token without the groups claim: the groups come from the userinfo endpoint', async () => {
  const res = await withIdToken((_t, { claims }, resign) => {
    const { groups: _groups, ...rest } = claims;
    return resign(rest);
  }, 'olivia');
  assert.is(res.status, 200);
  const [row] = await t.db.sql`select role from api_tokens where name = 'Olivia Admin'`;
  assert.is(row.role, 'admin');
  const a = await lastAudit('auth.login');
  assert.is(a.detail.method, 'oidc');
});

test('an expired ID token (signed by the provider) is refused, audited', async () => {
  const now = Math.floor(Date.now() / 1000);
  const res = await withIdToken((_t, { claims }, resign) =>
    resign({ ...claims, iat: now - 1200, exp: now - 600 })
  );
  const a = await refused(res, 401, 'id_token', /not valid/);
  assert.match(a.detail.error, /"exp"/);
});

test('an ID token for another audience is refused, audited', async () => {
  const res = await withIdToken((_t, { claims }, resign) =>
    resign({ ...claims, aud: 'another-client' })
  );
  const a = await refused(res, 401, 'id_token', /not valid/);
  assert.match(a.detail.error, /"aud"/);
});

test('a replayed nonce (an earlier login’s valid ID token) is refused, audited', async () => {
  const earlier = p.idTokens[0];
  assert.ok(earlier);
  const res = await withIdToken(() => earlier);
  const a = await refused(res, 401, 'id_token', /not valid/);
  assert.match(a.detail.error, /"nonce"/);
});

test('key rotation: a token signed with the new key is accepted after one JWKS fetch', async () => {
  const before = p.jwksFetches;
  await p.rotate();
  const res = await signIn('olivia');
  assert.is(res.status, 200);
  const last = p.idTokens[p.idTokens.length - 1];
  const kid = JSON.parse(Buffer.from(last.split('.')[0], 'base64url').toString()).kid;
  assert.is(kid, p.keys[0].kid);
  assert.is.not(kid, 'key-1');
  assert.is(p.jwksFetches, before + 1, 'the new key set fetched once');
  // The next login with the same key uses the cached set.
  assert.is((await signIn('victor')).status, 200);
  assert.is(p.jwksFetches, before + 1);
});

test.run();
