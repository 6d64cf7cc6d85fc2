/**
 * `npm run db:insight -- --url postgres://… [--json] [--statements N] [--min-rows N]`: the
 * Database page's findings for any PostgreSQL the operator names (server/dbinsight/rules.ts):
 * missing, composite, redundant and unused indexes, skewed estimates, correlated subqueries,
 * each with its DDL. Read-only: every session is `default_transaction_read_only`, plans are
 * generic plans (EXPLAIN without ANALYZE) and statements that write are never explained.
 * Without --url: DATABASE_URL. Exit 0 (findings or not); 2 for bad arguments.
 */
import process from 'node:process';
import postgres from 'postgres';
import type { Sql } from '../server/db/connect.ts';
import { findings } from '../server/dbinsight/rules.ts';
import { insightStatus } from '../server/dbinsight/stats.ts';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const url = arg('url') ?? process.env.DATABASE_URL;
if (!url || process.argv.includes('--help')) {
  console.error(
    'usage: npm run db:insight -- --url postgres://… [--json] [--statements N] [--min-rows N]',
  );
  process.exit(2);
}
const asJson = process.argv.includes('--json');
const count = (v: string | undefined, d: number) => {
  const n = v === undefined ? d : Number(v);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`not a positive integer: ${v}`);
    process.exit(2);
  }
  return n;
};

const sql = postgres(url, {
  max: 4,
  onnotice: () => {},
  connection: {
    application_name: 'vmledger-db-insight',
    default_transaction_read_only: true,
    TimeZone: 'UTC',
  },
}) as unknown as Sql;
try {
  const status = await insightStatus(sql);
  const f = await findings(sql, {
    statements: count(arg('statements'), 100),
    minRows: count(arg('min-rows'), 10_000),
    trend: false,
  });
  if (asJson) console.log(JSON.stringify({ ...f, status }, null, 2));
  else {
    console.log(
      `${status.database}: PostgreSQL ${Math.floor(status.serverVersion / 10000)}, ` +
        `pg_stat_statements ${status.ready ? 'ready' : 'not ready'}, hypopg ${
          status.hypopg ? 'on' : 'off'
        }; ${f.statementsExplained} of ${f.statementsScanned} statements explained in ${f.ms} ms`,
    );
    if (status.run.length) {
      console.log(
        `\n${status.missing.join('; ')}. Run, as a superuser:\n  ${status.run.join('\n  ')}`,
      );
    }
    for (const i of f.items) {
      console.log(`\n[${i.confidence}] ${i.rule}: ${i.title}`);
      if (i.ddl) console.log(`  ${i.ddl}`);
      console.log(`  ${i.rationale}`);
      if (i.estimate) {
        console.log(
          `  planner cost ${i.estimate.before.toFixed(0)} → ${i.estimate.after.toFixed(0)}`,
        );
      } else if (i.estimateNote) console.log(`  ${i.estimateNote}`);
    }
    if (!f.items.length) console.log('\nNo findings.');
  }
} finally {
  await sql.end({ timeout: 5 });
}
