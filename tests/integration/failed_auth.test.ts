import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createTestApp, type TestApp } from '../support/app.ts';

const test = suite('failed authentication: rate limit and audit');
let t: TestApp;

test.before(async () => {
  t = await createTestApp('failed_auth', { authFailureLimit: 5 });
});
test.after(() => t.close());

test('after too many bad tokens the failing ones get 429 with Retry-After; a good token still passes', async () => {
  for (let i = 0; i < 5; i++) {
    assert.is(
      (await t.call('/api/v1/vms', { token: `vml_guess_${i}_aaaaaaaaaaaaaaaaaaaaaaaaa` })).status,
      401,
    );
  }
  const blocked = await t.call('/api/v1/vms', { token: 'vml_guess_6_aaaaaaaaaaaaaaaaaaaaaaaaa' });
  assert.is(blocked.status, 429);
  assert.ok(Number(blocked.headers.get('retry-after')) > 0);
  assert.is((await t.call('/api/v1/vms', { token: t.tokens.viewer })).status, 200);
  const [{ n }] = await t.db
    .sql`select count(*)::int as n from audit_log where action = 'auth.failure'`;
  assert.is(n, 5, 'counted failures are audited; those answered 429 are not');
});

test('failed logins are limited too; a valid login still works', async () => {
  const form = (token: string) => ({
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `token=${token}`,
  });
  let last = 0;
  for (let i = 0; i < 7; i++) last = (await t.app.request('/login', form(`wrong-${i}`))).status;
  assert.is(last, 429);
  assert.is((await t.app.request('/login', form(encodeURIComponent(t.tokens.admin)))).status, 303);
});

test.run();
