/** HTTP routes for sources, captures, the snapshot registry and totals. */
import { Hono } from 'hono';
import { z } from 'zod';
import type { AuthVariables } from '../auth/middleware.ts';
import type { Sql } from '../db/connect.ts';
import { type ApiDoc, intParam, MAX_INT_ID, parseQuery } from '../http/api_doc.ts';
import { ApiError } from '../http/errors.ts';
import { listCaptures, listSnapshots, totalsOverTime } from './history.ts';
import { getSource, listSourcesDetailed } from './sources.ts';

const time = z.iso.datetime({ offset: true }).or(z.iso.date());
const Paged = z.object({
  source: z.coerce.number().int().positive().max(MAX_INT_ID).optional(),
  from: time.optional(),
  to: time.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.iso.datetime({ offset: true }).optional().describe('`next` of the previous page'),
});
const SnapshotParams = Paged.extend({ kind: z.enum(['capture', 'daily', 'monthly']).optional() });
const TotalsParams = z.object({
  granularity: z.enum(['capture', 'daily', 'monthly']).default('capture'),
  source: z.coerce.number().int().positive().max(MAX_INT_ID).optional().describe(
    'omit for the whole fleet',
  ),
  from: time.optional(),
  to: time.optional(),
});

const date = (v?: string) => (v ? new Date(v) : undefined);

export function queryRoutes(sql: Sql, doc: ApiDoc) {
  const app = new Hono<{ Variables: AuthVariables }>();

  doc.define(app, {
    method: 'get',
    path: '/sources',
    tag: 'Sources',
    roles: ['viewer'],
    summary: 'Sources with poll health, last capture and agent',
    responses: { 200: '`{"items": [...], "total": N, "next": null}`' },
  }, async (c) => {
    const items = await listSourcesDetailed(sql);
    return c.json({ items, total: items.length, next: null });
  });

  doc.define(app, {
    method: 'get',
    path: '/sources/:id',
    tag: 'Sources',
    roles: ['viewer'],
    summary: 'One source with poll health and agent',
    responses: { 200: 'The source', 404: 'No such source' },
  }, async (c) => {
    const s = await getSource(sql, intParam(c, 'id'));
    if (!s) throw new ApiError(404, 'not_found', `no source ${c.req.param('id')}`);
    return c.json(s);
  });

  doc.define(app, {
    method: 'get',
    path: '/captures',
    tag: 'History',
    roles: ['viewer'],
    query: Paged,
    summary: 'Received captures, newest first',
    responses: { 200: '`{"items", "total", "next"}`' },
  }, async (c) => {
    const p = parseQuery(Paged, c.req.query());
    return c.json(
      await listCaptures(sql, {
        sourceId: p.source,
        from: date(p.from),
        to: date(p.to),
        limit: p.limit,
        before: p.cursor,
      }),
    );
  });

  doc.define(app, {
    method: 'get',
    path: '/snapshots',
    tag: 'History',
    roles: ['viewer'],
    query: SnapshotParams,
    summary: 'The snapshot registry: captures and rollups with row counts',
    responses: { 200: '`{"items", "total", "next"}`' },
  }, async (c) => {
    const p = parseQuery(SnapshotParams, c.req.query());
    return c.json(
      await listSnapshots(sql, {
        kind: p.kind,
        sourceId: p.source,
        from: date(p.from),
        to: date(p.to),
        limit: p.limit,
        before: p.cursor,
      }),
    );
  });

  doc.define(app, {
    method: 'get',
    path: '/totals',
    tag: 'History',
    roles: ['viewer'],
    query: TotalsParams,
    summary:
      'VM count, powered on, vCPU, RAM GB, disk GB over time, per source or fleet; per capture, daily or monthly',
    responses: { 200: '`{"granularity", "source", "items": [...]}`' },
  }, async (c) => {
    const p = parseQuery(TotalsParams, c.req.query());
    const to = p.to ? new Date(p.to) : new Date();
    const span = { capture: 2, daily: 90, monthly: 730 }[p.granularity];
    const from = p.from ? new Date(p.from) : new Date(to.getTime() - span * 86400_000);
    const items = await totalsOverTime(sql, {
      granularity: p.granularity,
      sourceId: p.source,
      from,
      to,
    });
    return c.json({
      granularity: p.granularity,
      source: p.source ?? null,
      from: from.toISOString(),
      to: to.toISOString(),
      items,
    });
  });

  return app;
}
