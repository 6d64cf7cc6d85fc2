/**
 * Both directory sign-in flows in Chromium against a real server: the LDAP form (a real slapd)
 * and OpenID Connect through a real provider's login and consent pages (oidc-provider), back to
 * the page the login started from. A refusal shows its message on the login page.
 * Screenshots (login page, Admin · Sessions) go to .tmp/screenshots/.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BrowserContext } from 'playwright-core';
import * as assert from 'uvu/assert';
import { freePort } from '../../scripts/free_port.ts';
import { listen, type RunningServer } from '../../server/runtime.ts';
import { createTestApp, type TestApp } from '../support/app.ts';
import { launchChromium } from '../support/chromium.ts';
import {
  CLIENT_ID,
  CLIENT_SECRET,
  startProvider,
  type TestProvider,
} from '../support/oidc_provider.ts';
import { suiteNeeding } from '../support/parts.ts';
import {
  ADMINS,
  BASE,
  SERVICE_DN,
  SERVICE_PASSWORD,
  type Slapd,
  startSlapd,
  VIEWERS,
} from '../support/slapd.ts';

const test = suiteNeeding('browser: LDAP and OpenID Connect sign-in in Chromium', [
  'chromium',
  'slapd',
]);

let t: TestApp;
let ldap: Slapd;
let provider: TestProvider;
let server: RunningServer;
let base: string;
let profile: string;
let context: BrowserContext;
const SHOTS = path.resolve('.tmp/screenshots');

test.before(async () => {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  ldap = await startSlapd();
  provider = await startProvider(`${base}/login/oidc/callback`);
  t = await createTestApp('sign_in_browser', {
    signIn: {
      idleMinutes: 60,
      ldap: {
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
        roles: { admin: [ADMINS], viewer: [VIEWERS] },
        timeoutMs: 5000,
      },
      oidc: {
        issuer: provider.issuer,
        clientId: CLIENT_ID,
        clientSecret: CLIENT_SECRET,
        redirectUri: `${base}/login/oidc/callback`,
        scopes: 'openid profile groups',
        groupsClaim: 'groups',
        nameClaim: 'name',
        roles: { admin: ['vmledger-admins'], viewer: ['vmledger-viewers'] },
        label: 'Test SSO',
      },
    },
  });
  server = await listen(t.app.fetch, '127.0.0.1', port);
  profile = mkdtempSync(path.join(os.tmpdir(), 'vml-chromium-'));
  context = await launchChromium(profile);
});

test.after(async () => {
  await context?.close();
  await server?.close();
  await t?.close();
  await provider?.stop();
  await ldap?.stop();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

test('LDAP: a wrong password shows the message; the right one signs in to the page asked for', async () => {
  await context.clearCookies();
  const page = await context.newPage();
  await page.goto(`${base}/vms`);
  assert.match(page.url(), /\/login\?next=%2Fvms/);
  await page.fill('#username', 'alice');
  await page.fill('#password', 'not-alices');
  await page.click('form[action="/login/ldap"] button[type=submit]');
  await page.waitForSelector('#login-error');
  assert.match(await page.textContent('#login-error') ?? '', /Wrong user name or password/);
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, 'sign-in-login-error.png'), fullPage: true });
  assert.is(await page.inputValue('#username'), 'alice', 'the user name is kept');
  await page.fill('#password', 'alice-pass');
  await Promise.all([
    page.waitForURL((u) => u.pathname === '/vms'),
    page.click('form[action="/login/ldap"] button[type=submit]'),
  ]);
  assert.match(await page.textContent('header .who .name') ?? '', /Alice Example/);
  assert.ok(await page.isVisible('nav a[href="/admin"]'), 'admin through nested groups');
  await page.goto(`${base}/admin/sessions`);
  assert.match(await page.textContent('main') ?? '', /Alice Example.*LDAP/s);
  await page.screenshot({ path: path.join(SHOTS, 'sign-in-admin-sessions.png'), fullPage: true });
  await page.close();
});

test('OIDC: the provider’s login and consent, then back to the page asked for', async () => {
  await context.clearCookies();
  const page = await context.newPage();
  await page.goto(`${base}/login?next=/changes`);
  await page.click('text=Sign in with Test SSO');
  await page.waitForURL((u) => u.origin === provider.issuer, { waitUntil: 'commit' });
  // Its pages import a web font this machine cannot fetch: wait for the form, not "load".
  await page.waitForSelector('input[name=login]');
  await page.fill('input[name=login]', 'victor');
  await page.fill('input[name=password]', 'any');
  await page.click('button[type=submit]');
  // The provider asks for consent once, then returns to vmledger.
  await page.waitForURL((u) => u.origin === base || /interaction/.test(u.pathname), {
    waitUntil: 'commit',
  });
  if (new URL(page.url()).origin !== base) await page.click('button[type=submit]');
  await page.waitForURL((u) => u.origin === base && u.pathname === '/changes');
  assert.match(await page.textContent('header .who .name') ?? '', /Victor Viewer/);
  assert.not.ok(await page.isVisible('nav a[href="/admin"]'), 'a viewer has no admin link');
  await page.close();
});

test('OIDC: someone in no mapped group reads why on the login page', async () => {
  await context.clearCookies();
  const page = await context.newPage();
  await page.goto(`${base}/login`);
  await page.click('text=Sign in with Test SSO');
  await page.waitForURL((u) => u.origin === provider.issuer, { waitUntil: 'commit' });
  // Its pages import a web font this machine cannot fetch: wait for the form, not "load".
  await page.waitForSelector('input[name=login]');
  await page.fill('input[name=login]', 'nadia');
  await page.fill('input[name=password]', 'any');
  await page.click('button[type=submit]');
  await page.waitForURL((u) => u.origin === base || /interaction/.test(u.pathname), {
    waitUntil: 'commit',
  });
  if (new URL(page.url()).origin !== base) await page.click('button[type=submit]');
  await page.waitForSelector('#login-error');
  assert.match(await page.textContent('#login-error') ?? '', /Nadia Nogroup.*none of the groups/s);
  await page.close();
});

test.run();
