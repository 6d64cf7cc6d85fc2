import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { appendFileSync, cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { migrate, MigrationError } from '../../server/db/migrate.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';

const test = suite('migrations');
let db: TestDatabase;
let sqlDir = '';

test.before(async () => {
  db = await createTestDatabase('migrate', { migrate: false });
  sqlDir = mkdtempSync(path.join(os.tmpdir(), 'vml-sql-'));
  cpSync(path.resolve('sql'), sqlDir, { recursive: true });
});
test.after(async () => {
  await db.drop();
  rmSync(sqlDir, { recursive: true, force: true });
});

test('two concurrent starts apply each migration once', async () => {
  const [a, b] = await Promise.all([migrate(db.sql, sqlDir), migrate(db.sql, sqlDir)]);
  const applied = [...a.applied, ...b.applied].sort();
  const rows = await db.sql`select name from schema_migrations order by name`;
  assert.equal(applied, rows.map((r) => r.name));
  assert.ok(rows.length >= 2);
});

test('a second start applies nothing', async () => {
  const again = await migrate(db.sql, sqlDir);
  assert.equal(again, { applied: [], routines: [] });
});

test('a changed routine is re-applied', async () => {
  appendFileSync(
    path.join(sqlDir, 'routines', 'vm_hourly_stats_ensure_partition.sql'),
    '\n-- touched\n',
  );
  const r = await migrate(db.sql, sqlDir);
  assert.equal(r.routines, ['vm_hourly_stats_ensure_partition.sql']);
});

test('changing an applied migration is refused, naming the file', async () => {
  appendFileSync(path.join(sqlDir, 'migrations', '0001_foundation.sql'), '\n-- edited\n');
  try {
    await migrate(db.sql, sqlDir);
    assert.unreachable('should refuse');
  } catch (err) {
    assert.instance(err, MigrationError);
    assert.match((err as Error).message, /0001_foundation\.sql/);
  }
});

test('a failing migration rolls back completely', async () => {
  writeFileSync(
    path.join(sqlDir, 'migrations', '0999_broken.sql'),
    'create table half_done (id int);\nselect * from no_such_table;',
  );
  rmSync(path.join(sqlDir, 'migrations', '0001_foundation.sql'));
  cpSync(
    path.resolve('sql/migrations/0001_foundation.sql'),
    path.join(sqlDir, 'migrations', '0001_foundation.sql'),
  );
  try {
    await migrate(db.sql, sqlDir);
    assert.unreachable('should fail');
  } catch (err) {
    assert.match((err as Error).message, /0999_broken\.sql/);
  }
  const [{ t }] = await db.sql`select to_regclass('half_done')::text as t`;
  assert.is(t, null);
});

test.run();
