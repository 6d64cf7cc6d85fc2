/**
 * HTTP routes for changes between two dates. The query parameters, their checks and the CSV
 * are shared with the Changes page (server/pages/changes.ts) and its export.
 */
import { Hono } from 'hono';
import { z } from 'zod';
import type { AuthVariables } from '../auth/middleware.ts';
import type { Sql } from '../db/connect.ts';
import { AppError } from '../errors.ts';
import { type ApiDoc, IntId } from '../http/api_doc.ts';
import { allPages, type CsvColumn, csvResponse, wantsCsv } from '../http/csv.ts';
import { parseOr400, query as nonEmpty } from '../http/validate.ts';
import { cursorParam } from '../cursor.ts';
import {
  CHANGE_KINDS,
  ChangeCursor,
  ChangeItem,
  type ChangeKind,
  type ChangeQuery,
  ChangesAnswer,
  changesAnswer,
  listChanges,
} from './changes.ts';

const DateTime = z.iso.datetime({ offset: true });
const Day = z.iso.date();
/** A date (its UTC midnight) or a date-time with its offset. */
const Moment = z.string().max(40).refine(
  (v) => DateTime.safeParse(v).success || Day.safeParse(v).success,
  'must be an ISO 8601 date (2026-05-01) or date-time with offset (2026-05-01T00:00:00Z)',
);

export const ChangeParams = z.object({
  from: Moment.describe('start (inclusive); a date is its UTC midnight'),
  to: Moment.describe('end (exclusive); a date is its UTC midnight'),
  source: IntId.optional(),
  vm: z.string().max(1000).refine((s) => !s.includes('\0'), 'must not contain NUL').optional()
    .describe("one VM's changes: its key (needs `source`)"),
  kind: z.string().max(200).refine(
    (v) => v.split(',').every((k) => (CHANGE_KINDS as readonly string[]).includes(k)),
    `each kind must be one of ${CHANGE_KINDS.join(', ')}`,
  ).optional().describe(`comma-separated kinds to list (default all): ${CHANGE_KINDS.join(', ')}`),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: cursorParam(ChangeCursor).optional(),
});
export type ChangeParams = z.infer<typeof ChangeParams>;

/** A date (UTC midnight) or a date-time as a Date. */
export const moment = (v: string) => new Date(v.length === 10 ? `${v}T00:00:00Z` : v);

/** The query from parsed parameters; `from` not before `to` is a 400 naming `from`. */
export function changeQuery(p: ChangeParams): ChangeQuery {
  const from = moment(p.from);
  const to = moment(p.to);
  if (!(from < to)) {
    throw new AppError('invalid_query', 'from: must be before to', {
      issues: [{ path: 'from', message: 'must be before to' }],
    });
  }
  if (p.vm !== undefined && p.source === undefined) {
    throw new AppError('invalid_query', 'vm: needs source (a VM key is unique within its source)', {
      issues: [{ path: 'vm', message: 'needs source' }],
    });
  }
  const kinds = p.kind ? [...new Set(p.kind.split(','))] as ChangeKind[] : [...CHANGE_KINDS];
  return {
    from,
    to,
    sourceId: p.source,
    vmKey: p.vm,
    kinds,
    limit: p.limit,
    cursor: p.cursor,
  };
}

/** The query from a query string (the page and its CSV export), or 400. */
export function parseChangeParams(query: Record<string, string>): ChangeQuery {
  return changeQuery(parseOr400(ChangeParams, nonEmpty(query), 'invalid_query'));
}

const part = (g: ChangeItem['before'], key: string) => (g && key in g ? g[key] : null);

export const CHANGE_CSV_COLUMNS: CsvColumn<ChangeItem>[] = [
  { header: 'at', value: (r) => r.at, type: 'time' },
  { header: 'kind', value: (r) => r.kind },
  { header: 'source', value: (r) => r.sourceName },
  { header: 'vm', value: (r) => r.vmName },
  { header: 'key', value: (r) => r.vmKey },
  { header: 'detail', value: (r) => r.detail },
  ...[
    'vcpu',
    'memoryMib',
    'provisionedDiskGib',
    'host',
    'cluster',
    'resourcePool',
    'folder',
    'name',
    'powerState',
  ]
    .flatMap((key): CsvColumn<ChangeItem>[] => {
      const snake = key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
      return [
        { header: `${snake}_before`, value: (r) => part(r.before, key) },
        { header: `${snake}_after`, value: (r) => part(r.after, key) },
      ];
    }),
];

/** The whole list of changes as CSV (from the first, whatever `cursor` says), 1,000 rows a read. */
export function changesCsv(sql: Sql, q: ChangeQuery): Response {
  const day = (d: Date) => d.toISOString().slice(0, 10);
  return csvResponse(
    `changes-${day(q.from)}-${day(q.to)}.csv`,
    CHANGE_CSV_COLUMNS,
    allPages((cursor: string | undefined) => listChanges(sql, { ...q, limit: 1000, cursor })),
  );
}

export function changeRoutes(sql: Sql, doc: ApiDoc) {
  const app = new Hono<{ Variables: AuthVariables }>();

  doc.define(app, {
    method: 'get',
    path: '/changes',
    operationId: 'listChanges',
    tag: 'VMs',
    roles: ['viewer'],
    query: ChangeParams,
    summary:
      'Changes between two dates: created, deleted, reappeared, resized, moved, renamed, power; a summary (counts per kind, net growth) and the list in time order, cursor-paged (Accept: text/csv: the whole list)',
    responses: {
      200: {
        description: 'Summary and a page of changes',
        schema: ChangesAnswer,
        produces: ['text/csv'],
      },
    },
  }, async (c, { query }) => {
    const q = changeQuery(query);
    if (wantsCsv(c.req.header('accept'))) return changesCsv(sql, { ...q, cursor: undefined });
    return c.json(await changesAnswer(sql, q));
  });

  return app;
}
