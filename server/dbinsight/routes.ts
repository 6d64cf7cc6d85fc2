/**
 * HTTP routes of database insight, mounted under /api/v1 (admin only):
 *   GET /db/statements?order=&limit=&from=&to=  top statements (pg_stat_statements by
 *                                           queryid), with their change between snapshots
 *   GET /db/statements/:id?explain=plan|analyze   one statement, with its plan on demand
 *   GET /db/findings                        the rules' findings with DDL and confidence
 * Without pg_stat_statements the answers say what to run (`status.run`), never an error;
 * EXPLAIN of a statement that writes is a 400 (`invalid_request`).
 */
import { Hono } from 'hono';
import { z } from 'zod';
import type { AuthVariables } from '../auth/middleware.ts';
import type { Sql } from '../db/connect.ts';
import type { ApiDoc } from '../http/api_doc.ts';
import {
  dbFindings,
  Findings,
  StatementDetail,
  statementDetail,
  StatementList,
  statementList,
} from './actions.ts';
import { STATEMENT_ORDERS } from './stats.ts';

const TAG = 'Database insight';

/** A snapshot by id, or by a time (ISO 8601 date or date-time). */
const SnapshotRef = z.string().refine(
  (v) =>
    /^\d{1,19}$/.test(v) ||
    (/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(v) && !isNaN(Date.parse(v))),
  'a snapshot id or an ISO 8601 time',
);

export const StatementListQuery = z.object({
  order: z.enum(STATEMENT_ORDERS).default('total').describe(
    'total time, mean time, calls, rows or shared-buffer reads',
  ),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  from: SnapshotRef.optional().describe(
    "count each statement's change from this snapshot (an id, or a time: the newest snapshot by then)",
  ),
  to: SnapshotRef.optional().describe('… to this snapshot (id or time); absent: to now'),
});
export const StatementParams = z.object({
  id: z.string().regex(/^-?\d{1,19}$/, 'a queryid (64-bit integer)'),
});
export const StatementQuery = z.object({
  explain: z.enum(['plan', 'analyze']).optional().describe(
    'plan: the generic plan; analyze: run it with sample values (`parameters`) in a read-only transaction rolled back',
  ),
});

export function dbInsightRoutes(sql: Sql, doc: ApiDoc) {
  const app = new Hono<{ Variables: AuthVariables }>();

  doc.define(app, {
    method: 'get',
    path: '/db/statements',
    operationId: 'listDbStatements',
    tag: TAG,
    roles: ['admin'],
    query: StatementListQuery,
    summary: 'Top statements of this database (pg_stat_statements), with their trend',
    responses: {
      200: { description: 'The statements, or what to run to enable them', schema: StatementList },
      400: 'Bad query parameter',
    },
  }, async (c, { query }) => c.json(await statementList(sql, query)));

  doc.define(app, {
    method: 'get',
    path: '/db/statements/:id',
    operationId: 'getDbStatement',
    tag: TAG,
    roles: ['admin'],
    params: StatementParams,
    query: StatementQuery,
    summary: 'One statement by queryid, with its plan on demand (never for a write)',
    responses: {
      200: { description: 'The statement', schema: StatementDetail },
      400: 'Bad id, or EXPLAIN refused (the statement writes)',
      404: 'No such statement, or pg_stat_statements is not ready (`run` says what to run)',
    },
  }, async (c, { params, query }) => c.json(await statementDetail(sql, params.id, query.explain)));

  doc.define(app, {
    method: 'get',
    path: '/db/findings',
    operationId: 'listDbFindings',
    tag: TAG,
    roles: ['admin'],
    summary: 'Findings of the rules: missing, composite, redundant, unused indexes, estimates',
    responses: { 200: { description: 'The findings', schema: Findings } },
  }, async (c) => c.json(await dbFindings(sql)));

  return app;
}
