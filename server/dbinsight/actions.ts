/**
 * Database insight, the actions the API and the Database page share (issue 24): the
 * overview (status, top statements, tables, indexes, cache hit ratio, snapshots), one
 * statement with its plan on demand, and the findings. Read-only; no audit row.
 */
import { z } from 'zod';
import type { Sql } from '../db/connect.ts';
import { AppError } from '../errors.ts';
import { explain, Explained } from './explain.ts';
import { Findings, findings, type RuleOptions } from './rules.ts';
import {
  CacheHit,
  cacheHit,
  indexes,
  IndexRow,
  InsightStatus,
  insightStatus,
  Snapshot,
  snapshots,
  STATEMENT_ORDERS,
  type StatementOrder,
  StatementRow,
  statements,
  TableRow,
  tables,
} from './stats.ts';

export const StatementList = z.object({
  status: InsightStatus,
  order: z.enum(STATEMENT_ORDERS),
  items: z.array(StatementRow),
});
export type StatementList = z.infer<typeof StatementList>;

/** The top statements by `order` (empty, with what to run, when the extension is not ready). */
export async function statementList(
  sql: Sql,
  options: { order?: StatementOrder; limit?: number } = {},
): Promise<StatementList> {
  const status = await insightStatus(sql);
  const order = options.order ?? 'total';
  const items = status.ready
    ? await statements(sql, { order, limit: options.limit, role: status.role })
    : [];
  return { status, order, items };
}

export const StatementDetail = z.object({
  statement: StatementRow,
  /** The plan, when asked for (`explain`). */
  explain: Explained.nullable(),
});
export type StatementDetail = z.infer<typeof StatementDetail>;

/** One statement by queryid, with its plan when `explainMode` asks (400 for a write). */
export async function statementDetail(
  sql: Sql,
  id: string,
  explainMode?: 'plan' | 'analyze',
): Promise<StatementDetail> {
  const status = await insightStatus(sql);
  if (!status.ready) {
    throw new AppError('not_found', `pg_stat_statements is not ready: ${status.missing[0]}`, {
      run: status.run,
    });
  }
  const [statement] = await statements(sql, { id, limit: 1, role: status.role });
  if (!statement) throw new AppError('not_found', `no statement ${id} in pg_stat_statements`);
  const plan = explainMode
    ? await explain(sql, statement.query, { analyze: explainMode === 'analyze', role: status.role })
    : null;
  return { statement, explain: plan };
}

export const Overview = z.object({
  status: InsightStatus,
  cacheHit: CacheHit,
  tables: z.array(TableRow),
  indexes: z.array(IndexRow),
  snapshots: z.array(Snapshot),
});
export type Overview = z.infer<typeof Overview>;

/** Everything of the Database page but the statements and the findings. */
export async function overview(sql: Sql): Promise<Overview> {
  const [status, hit, t, i, snaps] = await Promise.all([
    insightStatus(sql),
    cacheHit(sql),
    tables(sql, { limit: 30 }),
    indexes(sql),
    snapshots(sql, 10),
  ]);
  return { status, cacheHit: hit, tables: t, indexes: i, snapshots: snaps };
}

export { Findings };

/** Every rule over the catalogue and the top statements' plans. */
export function dbFindings(sql: Sql, options: RuleOptions = {}): Promise<Findings> {
  return findings(sql, options);
}
