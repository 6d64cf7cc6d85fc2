/**
 * API token checks are cached per node for a few seconds (server/auth/tokens.ts TokenCache,
 * issue 20), and yet what takes a token away holds at once on the node that did it and within
 * milliseconds on every other: two caches on two pools of one database stand for two server
 * nodes. Also: the cache is used (hits), a token's expiry ends its entry, a wrong token is
 * never kept, and a touch of last_used_at alone notifies nobody.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createApp } from '../../server/app.ts';
import {
  createToken,
  revokeToken,
  TOKEN_CHANNEL,
  TokenCache,
  tokenCache,
} from '../../server/auth/tokens.ts';
import { createPool, type Sql } from '../../server/db/connect.ts';
import { setLogLevel } from '../../server/log.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';

const test = suite('token cache: fewer reads, revocation everywhere');
let db: TestDatabase;
let other: Sql; // the second node's pool

test.before(async () => {
  setLogLevel('error'); // the 401 below is logged as a warning
  db = await createTestDatabase('token_cache');
  other = createPool(db.url);
});
test.after(async () => {
  await other?.end({ timeout: 5 });
  await db?.drop();
});

/** Polls until `f` is true (a notification on its way), at most 2 s. */
async function soon(f: () => Promise<boolean>, what: string) {
  const end = Date.now() + 2000;
  while (!(await f())) {
    if (Date.now() > end) assert.unreachable(what);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A cache whose listener is up (entries are kept only then). */
async function ready(sql: Sql, token: string, options = {}): Promise<TokenCache> {
  const cache = new TokenCache(sql, options);
  await soon(async () => {
    await cache.verify(token);
    await cache.verify(token);
    return cache.hits > 0;
  }, 'the cache never kept a live token');
  return cache;
}

test('a live token is read once, then served from the cache; a wrong one is read every time', async () => {
  const { token, id } = await createToken(db.sql, { name: 'reader', role: 'viewer' });
  const cache = await ready(db.sql, token);
  const misses = cache.misses;
  for (let i = 0; i < 10; i++) assert.is((await cache.verify(token))?.id, id);
  assert.is(cache.misses, misses, 'no read while the entry is fresh');
  for (let i = 0; i < 3; i++) assert.is(await cache.verify('vml_wrong'), null);
  assert.is(cache.misses, misses + 3);
});

test('revoked on this node: refused at once here, and within milliseconds on the other node', async () => {
  const { token, id } = await createToken(db.sql, { name: 'to revoke', role: 'viewer' });
  const here = await ready(db.sql, token);
  const there = await ready(other, token);
  assert.ok(await there.verify(token));
  await revokeToken(db.sql, id);
  assert.is(await here.verify(token), null, 'the revoking node refuses at once');
  await soon(async () => (await there.verify(token)) === null, 'the other node kept the token');
});

test('changed on the other node (role, scope, deletion): seen here without waiting for the TTL', async () => {
  const { token, id } = await createToken(db.sql, { name: 'changing', role: 'viewer' });
  const here = await ready(db.sql, token, { ttlMs: 60_000 });
  assert.is((await here.verify(token))?.role, 'viewer');
  await other`update api_tokens set role = 'admin' where id = ${id}`;
  await soon(async () => (await here.verify(token))?.role === 'admin', 'role change not seen');
  await other`update api_tokens set role = 'viewer', scope = ${['source:1']} where id = ${id}`;
  await soon(
    async () => JSON.stringify((await here.verify(token))?.scope) === '["source:1"]',
    'scope change not seen',
  );
  await other`delete from api_tokens where id = ${id}`;
  await soon(async () => (await here.verify(token)) === null, 'deletion not seen');
});

test('an entry ends with its token: expiry is not outlived', async () => {
  const { token } = await createToken(db.sql, {
    name: 'short-lived',
    role: 'viewer',
    expiresAt: new Date(Date.now() + 1500),
  });
  const cache = await ready(db.sql, token, { ttlMs: 60_000 });
  await new Promise((r) => setTimeout(r, Math.max(0, 1600)));
  assert.is(await cache.verify(token), null);
});

test('last_used_at is still touched, and a touch alone notifies no node', async () => {
  const { token, id } = await createToken(db.sql, { name: 'touched', role: 'viewer' });
  const heard: string[] = [];
  const listener = await other.listen(TOKEN_CHANNEL, (x) => heard.push(x));
  const cache = new TokenCache(db.sql);
  await cache.verify(token);
  const [r] = await db.sql`select last_used_at from api_tokens where id = ${id}`;
  assert.ok(r.last_used_at, 'touched');
  await db.sql`update api_tokens set last_used_at = now() - interval '2 minutes' where id = ${id}`;
  await db.sql`update api_tokens set revoked_at = now() where id = ${id}`;
  await soon(() => Promise.resolve(heard.length > 0), 'the revocation was not heard');
  assert.equal(heard, [String(id)], 'only the revocation notified');
  await listener.unlisten();
});

test('the API: a revoked token gets 401 on the next request; the app keeps one cache per pool', async () => {
  const app = createApp(db.sql, { maxBodyBytes: 1024 * 1024, sessionHours: 1 });
  const { token, id } = await createToken(db.sql, { name: 'api', role: 'viewer' });
  const whoami = () =>
    Promise.resolve(
      app.request('/api/v1/whoami', { headers: { authorization: `Bearer ${token}` } }),
    ).then((r) => r.status);
  const cache = tokenCache(db.sql);
  await soon(async () => {
    const before = cache.hits;
    assert.is(await whoami(), 200);
    return cache.hits > before;
  }, 'the app did not use the pool cache');
  await revokeToken(db.sql, id);
  assert.is(await whoami(), 401);
});

test.run();
