/** HTTP routes for sources, captures, the snapshot registry and totals. */
import { Hono } from 'hono';
import { z } from 'zod';
import type { AuthVariables } from '../auth/middleware.ts';
import type { Sql } from '../db/connect.ts';
import { type ApiDoc, IdParams, IntId, ListOf, Time } from '../http/api_doc.ts';
import {
  allPages,
  type CsvColumn,
  csvResponse,
  fieldColumns,
  onePage,
  wantsCsv,
} from '../http/csv.ts';
import { AppError } from '../errors.ts';
import { cursorParam } from '../cursor.ts';
import {
  CaptureCursor,
  CaptureItem,
  listCaptures,
  listSnapshots,
  SnapshotCursor,
  SnapshotItem,
  totalsOverTime,
  TotalsPoint,
} from './history.ts';
import { getSource, listSourcesDetailed, setSourceTags, SourceRow, SourceTag } from './sources.ts';
import { auditAction } from '../audit/audit_log.ts';
import { actorOf } from '../http/actions.ts';

const time = z.iso.datetime({ offset: true }).or(z.iso.date());
const Paged = z.object({
  source: IntId.optional(),
  from: time.optional(),
  to: time.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});
const CaptureParams = Paged.extend({ cursor: cursorParam(CaptureCursor).optional() });
const SnapshotParams = Paged.extend({
  kind: z.enum(['capture', 'daily', 'monthly']).optional(),
  cursor: cursorParam(SnapshotCursor).optional(),
});
const TotalsParams = z.object({
  granularity: z.enum(['capture', 'daily', 'monthly']).default('capture'),
  source: IntId.optional().describe('omit for the whole fleet'),
  from: time.optional(),
  to: time.optional(),
});

const date = (v?: string) => (v ? new Date(v) : undefined);

/** Rows read per page when a list is streamed whole as CSV. */
const CSV_PAGE = 1000;

const SOURCE_CSV: CsvColumn<SourceRow>[] = [
  ...fieldColumns<SourceRow>(['id', 'kind', 'externalId', 'name', 'endpoint', 'version']),
  ...fieldColumns<SourceRow>(['createdAt', 'lastCaptureAt'], ['createdAt', 'lastCaptureAt']),
  ...fieldColumns<SourceRow>(['secondsSinceLastCapture', 'vms']),
  { header: 'lastCaptureId', value: (s) => s.lastCapture?.captureId },
  { header: 'lastCaptureComplete', value: (s) => s.lastCapture?.complete },
  { header: 'lastCaptureVmCount', value: (s) => s.lastCapture?.vmCount },
  {
    header: 'lastCaptureErrors',
    value: (s) => s.lastCapture && JSON.stringify(s.lastCapture.errors),
  },
  { header: 'lastCaptureIngestMs', value: (s) => s.lastCapture?.ingestMs },
  { header: 'health', value: (s) => s.health },
  { header: 'healthReportedAt', value: (s) => s.healthReportedAt, type: 'time' },
  { header: 'agentName', value: (s) => s.agent?.name },
  { header: 'agentVersion', value: (s) => s.agent?.version },
  { header: 'agentHostname', value: (s) => s.agent?.hostname },
  { header: 'agentLastHeartbeatAt', value: (s) => s.agent?.lastHeartbeatAt, type: 'time' },
];

/** A declared item's fields in declaration order: its CSV columns are the JSON's fields. */
const fieldsOf = <S extends z.ZodObject>(item: S) =>
  Object.keys(item.shape) as (keyof z.infer<S> & string)[];

/** Errors as a JSON list (one cell), not joined by spaces like other lists. */
const CAPTURE_CSV = fieldColumns<CaptureItem>(fieldsOf(CaptureItem), ['capturedAt', 'receivedAt'])
  .map((c): CsvColumn<CaptureItem> =>
    c.header === 'errors' ? { header: 'errors', value: (r) => JSON.stringify(r.errors ?? []) } : c
  );

const SNAPSHOT_CSV = fieldColumns<SnapshotItem>(fieldsOf(SnapshotItem), [
  'periodStart',
  'periodEnd',
  'createdAt',
]);

/** Per capture `at` is a time; per day or month it is the day (`YYYY-MM-DD`) as it is. */
const totalsCsv = (granularity: string) =>
  fieldColumns<TotalsPoint>(fieldsOf(TotalsPoint), granularity === 'capture' ? ['at'] : []);

export function queryRoutes(sql: Sql, doc: ApiDoc) {
  const app = new Hono<{ Variables: AuthVariables }>();

  doc.define(app, {
    method: 'get',
    path: '/sources',
    operationId: 'listSources',
    tag: 'Sources',
    roles: ['viewer'],
    summary: 'Sources with poll health, last capture and agent (Accept: text/csv: as CSV)',
    responses: {
      200: { description: 'Every source', schema: ListOf(SourceRow), produces: ['text/csv'] },
    },
  }, async (c) => {
    if (wantsCsv(c.req.header('accept'))) {
      return csvResponse('vmledger-sources.csv', SOURCE_CSV, onePage(listSourcesDetailed(sql)));
    }
    const items = await listSourcesDetailed(sql);
    return c.json({ items, total: items.length, next: null });
  });

  doc.define(app, {
    method: 'get',
    path: '/sources/:id',
    operationId: 'getSource',
    tag: 'Sources',
    roles: ['viewer'],
    params: IdParams,
    summary: 'One source with poll health and agent',
    responses: { 200: { description: 'The source', schema: SourceRow }, 404: 'No such source' },
  }, async (c, { params }) => {
    const s = await getSource(sql, params.id);
    if (!s) throw new AppError('not_found', `no source ${params.id}`);
    return c.json(s);
  });

  doc.define(app, {
    method: 'put',
    path: '/sources/:id/tags',
    operationId: 'setSourceTags',
    tag: 'Sources',
    roles: ['admin'],
    params: IdParams,
    body: z.object({ tags: z.array(SourceTag).max(100) }),
    summary: "Sets a source's tags (per-source visibility grants may name a tag: tag:tenant=acme)",
    responses: { 200: { description: 'The source', schema: SourceRow }, 404: 'No such source' },
  }, async (c, { params, body }) => {
    const done = await setSourceTags(sql, params.id, body.tags);
    if (!done) throw new AppError('not_found', `no source ${params.id}`);
    await auditAction(sql, actorOf(c), 'source.tags', `source:${params.id}`, {
      before: done.before,
      after: body.tags,
    });
    return c.json((await getSource(sql, params.id))!);
  });

  doc.define(app, {
    method: 'get',
    path: '/captures',
    operationId: 'listCaptures',
    tag: 'History',
    roles: ['viewer'],
    query: CaptureParams,
    summary: 'Received captures, newest first (Accept: text/csv: the whole filtered list)',
    responses: {
      200: {
        description: 'A page of captures',
        schema: ListOf(CaptureItem),
        produces: ['text/csv'],
      },
    },
  }, async (c, { query: p }) => {
    const q = { sourceId: p.source, from: date(p.from), to: date(p.to) };
    if (wantsCsv(c.req.header('accept'))) {
      return csvResponse(
        'vmledger-captures.csv',
        CAPTURE_CSV,
        allPages((cursor: string | undefined) =>
          listCaptures(sql, { ...q, limit: CSV_PAGE, cursor })
        ),
      );
    }
    return c.json(await listCaptures(sql, { ...q, limit: p.limit, cursor: p.cursor }));
  });

  doc.define(app, {
    method: 'get',
    path: '/snapshots',
    operationId: 'listSnapshots',
    tag: 'History',
    roles: ['viewer'],
    query: SnapshotParams,
    summary:
      'The snapshot registry: captures and rollups with row counts (Accept: text/csv: the whole filtered list)',
    responses: {
      200: {
        description: 'A page of the registry',
        schema: ListOf(SnapshotItem),
        produces: ['text/csv'],
      },
    },
  }, async (c, { query: p }) => {
    const q = { kind: p.kind, sourceId: p.source, from: date(p.from), to: date(p.to) };
    if (wantsCsv(c.req.header('accept'))) {
      return csvResponse(
        'vmledger-snapshots.csv',
        SNAPSHOT_CSV,
        allPages((cursor: string | undefined) =>
          listSnapshots(sql, { ...q, limit: CSV_PAGE, cursor })
        ),
      );
    }
    return c.json(await listSnapshots(sql, { ...q, limit: p.limit, cursor: p.cursor }));
  });

  doc.define(app, {
    method: 'get',
    path: '/totals',
    operationId: 'getTotals',
    tag: 'History',
    roles: ['viewer'],
    query: TotalsParams,
    summary:
      'VM count, powered on, vCPU, RAM GB, disk GB over time, per source or fleet; per capture, daily or monthly (Accept: text/csv: the items as CSV)',
    responses: {
      200: {
        description: 'The points in the range',
        schema: z.object({
          granularity: z.enum(['capture', 'daily', 'monthly']),
          source: z.number().int().nullable(),
          from: Time,
          to: Time,
          items: z.array(TotalsPoint),
        }),
        produces: ['text/csv'],
      },
    },
  }, async (c, { query: p }) => {
    const to = p.to ? new Date(p.to) : new Date();
    const span = { capture: 2, daily: 90, monthly: 730 }[p.granularity];
    const from = p.from ? new Date(p.from) : new Date(to.getTime() - span * 86400_000);
    const items = totalsOverTime(sql, { granularity: p.granularity, sourceId: p.source, from, to });
    if (wantsCsv(c.req.header('accept'))) {
      return csvResponse(
        `vmledger-totals-${p.granularity}.csv`,
        totalsCsv(p.granularity),
        onePage(items),
      );
    }
    return c.json({
      granularity: p.granularity,
      source: p.source ?? null,
      from: from.toISOString(),
      to: to.toISOString(),
      items: await items,
    });
  });

  return app;
}
