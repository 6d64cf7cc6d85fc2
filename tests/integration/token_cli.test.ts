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
  assert.is(cli('revoke', String(info!.id)).status, 1);
});

test('bad usage: clear message, exit code 2, nothing created', async () => {
  const bad = cli('create', '--role', 'king', '--name', 'x');
  assert.is(bad.status, 2);
  assert.match(bad.stderr, /--role must be one of/);
  assert.is(cli('frobnicate').status, 2);
  assert.is(cli('create', '--role', 'viewer', '--name', 'x', '--sources', 'vcenter:a').status, 2);
  const [{ n }] = await db.sql`select count(*)::int as n from api_tokens`;
  assert.is(n, 1);
});

test.run();
