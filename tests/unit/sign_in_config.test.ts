import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError, loadServerConfig } from '../../server/config.ts';
import { accessFor, groupList, roleFor } from '../../server/auth/role_map.ts';
import { escapeFilterValue, lockedEntry } from '../../server/auth/ldap.ts';

const test = suite('sign-in: settings, group mapping, LDAP filter values');

test('no LDAP or OIDC setting: tokens only, idle timeout 60 minutes', () => {
  const c = loadServerConfig({});
  assert.is(c.signIn.ldap, undefined);
  assert.is(c.signIn.oidc, undefined);
  assert.is(c.signIn.idleMinutes, 60);
});

test('LDAP settings: StartTLS by default, groups split on ";", group base defaults to the user base', () => {
  const c = loadServerConfig({
    VMLEDGER_LDAP_URL: 'ldap://dc1.example.com',
    VMLEDGER_LDAP_BIND_DN: 'cn=svc,dc=example,dc=com',
    VMLEDGER_LDAP_BIND_PASSWORD: 'x',
    VMLEDGER_LDAP_USER_BASE: 'dc=example,dc=com',
    VMLEDGER_LDAP_ADMIN_GROUPS: 'cn=A,ou=g,dc=example,dc=com; cn=B,ou=g,dc=example,dc=com',
  });
  const l = c.signIn.ldap!;
  assert.is(l.startTls, true);
  assert.is(l.groupBase, 'dc=example,dc=com');
  assert.equal(l.roles.admin, ['cn=A,ou=g,dc=example,dc=com', 'cn=B,ou=g,dc=example,dc=com']);
  assert.equal(l.roles.viewer, []);
});

test('bad sign-in settings stop the start, naming the setting', () => {
  assert.throws(() => loadServerConfig({ VMLEDGER_LDAP_URL: 'http://x' }), /VMLEDGER_LDAP_URL/);
  assert.throws(
    () => loadServerConfig({ VMLEDGER_LDAP_URL: 'ldaps://x' }),
    (e: Error) => e instanceof ConfigError && /VMLEDGER_LDAP_USER_BASE/.test(e.message),
  );
  assert.throws(
    () =>
      loadServerConfig({
        VMLEDGER_LDAP_URL: 'ldaps://x',
        VMLEDGER_LDAP_USER_BASE: 'dc=x',
        VMLEDGER_LDAP_USER_FILTER: '(uid=*)',
      }),
    /\{username\}/,
  );
  assert.throws(
    () =>
      loadServerConfig({
        VMLEDGER_OIDC_ISSUER: 'https://idp.example.com',
        VMLEDGER_OIDC_CLIENT_ID: 'c',
      }),
    /VMLEDGER_OIDC_REDIRECT_URI/,
  );
});

test('groups to roles: admin wins, DNs compared without case or spaces, no group: null', () => {
  const map = {
    admin: groupList('cn=Admins, ou=G,dc=x'),
    viewer: groupList('cn=viewers,ou=g,dc=x;staff'),
  };
  assert.is(roleFor(['CN=admins,OU=g,DC=x', 'staff'], map), 'admin');
  assert.is(roleFor(['staff'], map), 'viewer');
  assert.is(roleFor(['cn=other,dc=x'], map), null);
  assert.is(roleFor([], map), null);
});

test('LDAP filter values are escaped (RFC 4515); locked and disabled entries are recognised', () => {
  assert.is(escapeFilterValue('a*)(uid=*'), 'a\\2a\\29\\28uid=\\2a');
  assert.is(escapeFilterValue('back\\slash'), 'back\\5cslash');
  assert.ok(lockedEntry({ pwdAccountLockedTime: '000001010000Z' }));
  assert.ok(lockedEntry({ userAccountControl: '514' }), 'AD ACCOUNTDISABLE');
  assert.ok(lockedEntry({ lockoutTime: '133456789012345678' }), 'AD locked out');
  assert.not.ok(lockedEntry({ userAccountControl: '512', lockoutTime: '0' }));
  assert.not.ok(lockedEntry({}));
});

test('groups to per-source visibility: group|selectors; unscoped viewer group wins; scopes add up; admin unscoped', () => {
  const map = {
    admin: groupList('cn=admins,ou=g,dc=x'),
    viewer: groupList(
      'cn=acme, ou=g,dc=x|tag:tenant=acme; beta|tag:tenant=beta, vcenter:vc-b; noc',
    ),
  };
  assert.equal(accessFor(['CN=Acme,ou=g,dc=x'], map), {
    role: 'viewer',
    scope: ['tag:tenant=acme'],
  });
  assert.equal(accessFor(['cn=acme,ou=g,dc=x', 'beta'], map), {
    role: 'viewer',
    scope: ['tag:tenant=acme', 'tag:tenant=beta', 'vcenter:vc-b'],
  });
  assert.equal(accessFor(['beta', 'noc'], map), { role: 'viewer', scope: null });
  assert.equal(accessFor(['beta', 'cn=admins,ou=g,dc=x'], map), { role: 'admin', scope: null });
  assert.is(accessFor(['other'], map), null);
  assert.is(roleFor(['beta'], map), 'viewer');
  assert.throws(
    () =>
      loadServerConfig({
        VMLEDGER_OIDC_ISSUER: 'https://idp.example.com',
        VMLEDGER_OIDC_CLIENT_ID: 'c',
        VMLEDGER_OIDC_REDIRECT_URI: 'https://v.example.com/login/oidc/callback',
        VMLEDGER_OIDC_VIEWER_GROUPS: 'acme|tenant=acme',
      }),
    /VMLEDGER_OIDC_VIEWER_GROUPS: "tenant=acme"/,
  );
});

test.run();
