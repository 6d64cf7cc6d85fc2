/**
 * server/db/connect.ts createRequestPool: the server's request pool hands a statement to the
 * first connection free (at most one sent behind a running one), and its transactions run
 * on a pool of their own, which postgres.js 3.4's `begin` needs with so short a pipeline.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  createPool,
  createRequestPool,
  SERVER_TIMEOUTS,
  type Sql,
} from '../../server/db/connect.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';

const test = suite('request pool: first free connection, transactions on their own pool');
let db: TestDatabase;

test.before(async () => {
  db = await createTestDatabase('request_pool');
  await db.sql`create table pool_probe (tx int not null, n int not null)`;
});
test.after(async () => {
  await db?.drop();
});

/**
 * The order in which five statements end on a pool of two connections: two long ones (A and
 * C, 0.8 s), a short one (B, 50 ms) and two instant ones (D, E), sent in that order.
 */
async function endingOrder(sql: Sql): Promise<string[]> {
  const order: string[] = [];
  const sleep = (seconds: number) => sql`select pg_sleep(${seconds})`;
  // Both connections open with the statement prepared (a connection's first run of a
  // statement waits for its description before another is sent behind it).
  await Promise.all([sleep(0), sleep(0)]);
  const run = (name: string, seconds: number) => sleep(seconds).then(() => order.push(name));
  await Promise.all([run('A', 0.8), run('B', 0.05), run('C', 0.8), run('D', 0), run('E', 0)]);
  return order;
}

test('a statement waits for the first free connection, not behind a busy one', async () => {
  const fair = createRequestPool(db.url, SERVER_TIMEOUTS, { max: 2 });
  // postgres.js's default pipelining, as a contrast: E is sent behind A and C on their
  // connection while B's is free after 50 ms.
  const pipelined = createPool(db.url, { max: 2 });
  try {
    assert.equal(await endingOrder(fair), ['B', 'D', 'E', 'A', 'C']);
    assert.equal(await endingOrder(pipelined), ['B', 'D', 'A', 'C', 'E']);
  } finally {
    await Promise.all([fair.end({ timeout: 5 }), pipelined.end({ timeout: 5 })]);
  }
});

test('transactions beside busy connections: each whole on its connection, committed or rolled back', async () => {
  const sql = createRequestPool(db.url, SERVER_TIMEOUTS, { max: 2, transactionsMax: 2 });
  try {
    // A statement outside every transaction: none of the transactions' writes is its own.
    const statement = (seconds: number) =>
      sql`select pg_sleep(${seconds}), txid_current_if_assigned() is null as alone`.then((
        [r],
      ) => r.alone as boolean);
    // Prepared on both connections: then a connection running one takes another behind it,
    // where a BEGIN sent by postgres.js's own `begin` lost its transaction's connection.
    await Promise.all([statement(0), statement(0)]);
    const statements: Promise<boolean>[] = [];
    const sent = () => statements.push(statement(0.01 * (statements.length % 3)));
    sent();
    sent();
    const transactions = Array.from({ length: 12 }, (_, tx) => {
      // Each after a statement: a connection that frees takes both from the pool's queue, the
      // BEGIN sent behind the statement.
      sent();
      return sql.begin(async (t) => {
        await t`insert into pool_probe (tx, n) select ${tx}, g from generate_series(1, 3) g`;
        await t`select pg_sleep(0.01)`;
        // Its own rows, not yet committed: its statements run on its connection.
        const [{ mine }] = await t`select count(*)::int as mine from pool_probe where tx = ${tx}`;
        assert.is(mine, 3);
        await t`insert into pool_probe (tx, n) values (${tx}, 4)`;
        if (tx % 4 === 3) throw new Error(`transaction ${tx} given up`);
        return tx;
      }).then((tx) => ({ tx, ok: true }), (e: Error) => ({ tx: e.message, ok: false }));
    });
    const [alone, ended] = await Promise.all([
      Promise.all(statements),
      Promise.all(transactions),
    ]);
    assert.ok(alone.every(Boolean), 'a statement ran inside a transaction');
    assert.equal(ended.filter((t) => !t.ok).map((t) => t.tx), [
      'transaction 3 given up',
      'transaction 7 given up',
      'transaction 11 given up',
    ]);
    const rows = await sql`
      select tx, count(*)::int as n from pool_probe group by tx order by tx`;
    assert.equal(
      rows.map((r) => [r.tx, r.n]),
      [0, 1, 2, 4, 5, 6, 8, 9, 10].map((tx) => [tx, 4]),
    );
  } finally {
    await sql.end({ timeout: 5 });
  }
});

test.run();
