import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createTestApp, type TestApp } from '../support/app.ts';

const test = suite('failed authentication: rate limit and audit');
let t: TestApp;

test.before(async () => {
  t = await createTestApp('failed_auth', { authFailureLimit: 5 });
});
test.after(() => t.close());

test('after too many bad tokens an address gets 429 with Retry-After, even with a good token', async () => {
  for (let i = 0; i < 5; i++) {
    assert.is(
      (await t.call('/api/v1/vms', { token: `vml_guess_${i}_aaaaaaaaaaaaaaaaaaaaaaaaa` })).status,
      401,
    );
  }
  const blocked = await t.call('/api/v1/vms', { token: t.tokens.viewer });
  assert.is(blocked.status, 429);
  assert.ok(Number(blocked.headers.get('retry-after')) > 0);
  const [{ n }] = await t.db
    .sql`select count(*)::int as n from audit_log where action = 'auth.failure'`;
  assert.is(n, 5);
});

test('failed logins are limited too', async () => {
  const form = (token: string) => ({
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `token=${token}`,
  });
  let last = 0;
  for (let i = 0; i < 7; i++) last = (await t.app.request('/login', form(`wrong-${i}`))).status;
  assert.is(last, 429);
});

test.run();
