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
  findSnapshot,
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
  /**
   * The two snapshots the trend is counted between (`to` null: now); null: since the newest
   * snapshot, ordered by the totals.
   */
  window: z.object({
    from: Snapshot,
    to: Snapshot.nullable(),
    /** pg_stat_statements was reset in between: the counts start at the reset. */
    resetBetween: z.boolean(),
  }).nullable(),
  items: z.array(StatementRow),
});
export type StatementList = z.infer<typeof StatementList>;

/** A 400 naming the query parameter. */
function badParam(field: 'from' | 'to', message: string): AppError {
  return new AppError('invalid_query', `${field}: ${message}`, {
    issues: [{ path: field, message }],
  });
}

/**
 * The snapshots `from` and `to` name (an id, or a time: the newest snapshot taken by then);
 * `to` absent: now. 400 naming the field for an unknown snapshot or `from` not before `to`.
 */
export async function statementWindow(
  sql: Sql,
  from: string | undefined,
  to: string | undefined,
): Promise<StatementList['window']> {
  if (from === undefined) {
    if (to !== undefined) throw badParam('from', 'required with to');
    return null;
  }
  const [a, b] = await Promise.all([
    findSnapshot(sql, from),
    to === undefined ? null : findSnapshot(sql, to),
  ]);
  if (!a) throw badParam('from', `no snapshot ${/^\d+$/.test(from) ? from : `by ${from}`}`);
  if (to !== undefined && !b) {
    throw badParam('to', `no snapshot ${/^\d+$/.test(to) ? to : `by ${to}`}`);
  }
  if (b && !(a.takenAt < b.takenAt)) throw badParam('from', 'must be before to');
  return {
    from: a,
    to: b,
    resetBetween: !!b && (b.statsReset ?? '') !== (a.statsReset ?? ''),
  };
}

/**
 * The top statements by `order` (empty, with what to run, when the extension is not ready),
 * with their change between snapshots `from` and `to` (ids or times) when given.
 */
export async function statementList(
  sql: Sql,
  options: { order?: StatementOrder; limit?: number; from?: string; to?: string } = {},
): Promise<StatementList> {
  const [status, window] = await Promise.all([
    insightStatus(sql),
    statementWindow(sql, options.from, options.to),
  ]);
  const order = options.order ?? 'total';
  const items = status.ready
    ? await statements(sql, {
      order,
      limit: options.limit,
      role: status.role,
      window: window
        ? {
          from: window.from.id,
          to: window.to && { id: window.to.id, takenAt: window.to.takenAt },
        }
        : undefined,
    })
    : [];
  return { status, order, window, items };
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
    // Every snapshot the retention keeps (hourly, 14 days), for the page's pickers.
    snapshots(sql, 400),
  ]);
  return { status, cacheHit: hit, tables: t, indexes: i, snapshots: snaps };
}

export { Findings };

/** Every rule over the catalogue and the top statements' plans. */
export function dbFindings(sql: Sql, options: RuleOptions = {}): Promise<Findings> {
  return findings(sql, options);
}
