import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { verifyToken } from '../../server/auth/tokens.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';

const test = suite('token CLI');
let db: TestDatabase;
test.before(async () => {
  db = await createTestDatabase('token_cli');
});
test.after(() => db.drop());

const cli = (...args: string[]) =>
  spawnSync(process.execPath, ['scripts/token.ts', ...args], {
    env: { ...process.env, DATABASE_URL: db.url },
    encoding: 'utf8',
  });

test('create prints the value once; it works; list shows no value; revoke ends it', async () => {
  const created = cli(
    'create',
    '--role',
    'viewer',
    '--name',
    'finance export',
    '--expires-days',
    '7',
  );
  assert.is(created.status, 0, created.stderr);
  const token = created.stdout.trim().split('\n').pop()!;
  assert.match(token, /^vml_[A-Za-z0-9_-]{43}$/);
  const info = await verifyToken(db.sql, token);
  assert.is(info?.role, 'viewer');
  const list = cli('list');
  assert.match(list.stdout, /active\s+viewer\s+vml_…[A-Za-z0-9_-]{4}\s+finance export/);
  assert.not.ok(list.stdout.includes(token));
  const revoked = cli('revoke', String(info!.id));
  assert.is(revoked.status, 0);
  assert.is(await verifyToken(db.sql, token), null);
  const again = cli('revoke', String(info!.id));
  assert.is(again.status, 1);
  assert.match(again.stderr, new RegExp(`no live token ${info!.id}`));
  // The same action as the API and the admin page: the same audit rows, the CLI as actor.
  const rows = await db.sql`
    select action, target, actor_name, detail from audit_log order by id`;
  assert.equal(rows.map((r) => [r.action, r.target, r.actor_name, r.detail.name, r.detail.role]), [
    ['token.create', `token:${info!.id}`, 'cli', 'finance export', 'viewer'],
    ['token.revoke', `token:${info!.id}`, 'cli', 'finance export', undefined],
  ]);
  assert.ok(rows[0].detail.expiresAt, 'the expiry is recorded');
});

test('bad usage: clear message, exit code 2, nothing created', async () => {
  const bad = cli('create', '--role', 'king', '--name', 'x');
  assert.is(bad.status, 2);
  assert.match(bad.stderr, /--role: one of admin, viewer, agent, metrics/);
  assert.is(cli('frobnicate').status, 2);
  const bound = cli('create', '--role', 'viewer', '--name', 'x', '--sources', 'vcenter:a');
  assert.is(bound.status, 2);
  assert.match(bound.stderr, /--sources: only agent tokens are bound to sources/);
  const days = cli('create', '--role', 'viewer', '--name', 'x', '--expires-days', '0');
  assert.match(days.stderr, /--expires-days: a number of days above 0/);
  const [{ n }] = await db.sql`select count(*)::int as n from api_tokens`;
  assert.is(n, 1);
});

test.run();
