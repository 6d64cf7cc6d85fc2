/**
 * server/db/fragments.ts: a constant fragment is made once per handle and the one object is
 * embedded by many statements, concurrent ones included, each with its own parameters and
 * the same answers as fresh fragments give; through the request's scoped handle too.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { scopedSql } from '../../server/auth/scope.ts';
import { constantFragment, noFragment } from '../../server/db/fragments.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';

const test = suite('constant fragments: made once, shared by statements');
let db: TestDatabase;

test.before(async () => {
  db = await createTestDatabase('constant_fragments');
});
test.after(async () => {
  await db?.drop();
});

test('one object per handle and text; another handle has its own', () => {
  const sql = db.sql;
  assert.is(constantFragment(sql, 'desc'), constantFragment(sql, 'desc'));
  assert.is.not(constantFragment(sql, 'desc'), constantFragment(sql, 'asc'));
  assert.is(noFragment(sql), noFragment(sql));
  assert.is.not(constantFragment(scopedSql(sql), 'desc'), constantFragment(sql, 'desc'));
});

test('shared by concurrent statements with their own parameters, as fresh fragments answer', async () => {
  for (const sql of [db.sql, scopedSql(db.sql)]) {
    const read = (n: number, desc: boolean, fresh: boolean) => {
      const direction = fresh
        ? sql.unsafe(desc ? 'desc' : 'asc')
        : constantFragment(sql, desc ? 'desc' : 'asc');
      const none = fresh ? sql`` : noFragment(sql);
      const odd = n % 2 ? sql`and g % 2 = ${1}` : none;
      return sql`select array_agg(g order by g ${direction})::int[] as g
        from generate_series(1, ${n}) g where true ${odd} ${none}`;
    };
    const cases = Array.from({ length: 40 }, (_, i) => [1 + (i % 9), i % 3 === 0] as const);
    const shared = await Promise.all(cases.map(([n, desc]) => read(n, desc, false)));
    const fresh = await Promise.all(cases.map(([n, desc]) => read(n, desc, true)));
    assert.equal(shared.map((r) => r[0].g), fresh.map((r) => r[0].g));
    // And the answers are the ones meant, not just equal to each other.
    assert.equal(shared[0][0].g, [1]);
    assert.equal(shared[4][0].g, [1, 3, 5]);
    assert.equal(shared[3][0].g, [4, 3, 2, 1]);
  }
});

test.run();
