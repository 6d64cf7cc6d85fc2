/** HTTP routes for VMs: the list, one VM, and a VM's trace. */
import { Hono } from 'hono';
import { z } from 'zod';
import type { AuthVariables } from '../auth/middleware.ts';
import type { Sql } from '../db/connect.ts';
import { type ApiDoc, intParam, MAX_INT_ID, parseQuery } from '../http/api_doc.ts';
import { ApiError } from '../http/errors.ts';
import { getVm, vmTrace } from '../queries/vm_detail.ts';
import { decodeCursor, listVms, VM_SORTS, type VmListQuery } from './list_vms.ts';

const bool = z.enum(['true', 'false']).transform((v) => v === 'true');

export const VmListParams = z.object({
  q: z.string().max(200).optional().describe(
    'search: name substring, or exact VM key, vmid/MoRef, UUID or IP',
  ),
  source: z.coerce.number().int().positive().max(MAX_INT_ID).optional(),
  cluster: z.string().max(200).optional(),
  pool: z.string().max(200).optional(),
  power: z.enum(['poweredOn', 'poweredOff', 'suspended']).optional(),
  template: bool.optional(),
  sort: z.enum(VM_SORTS).default('name'),
  order: z.enum(['asc', 'desc']).default('asc'),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().max(2000).refine((c) => decodeCursor(c) !== null, 'not a cursor from this API')
    .optional(),
});

/** Parses list query parameters, answering 400 with the bad parameter named. */
export function parseVmListParams(query: Record<string, string>): VmListQuery {
  const p = parseQuery(VmListParams, query);
  if (p.cursor && !decodeCursor(p.cursor, p.sort)) {
    const message = 'not a cursor from this API for this sort';
    throw new ApiError(400, 'invalid_query', `cursor: ${message}`, {
      issues: [{ path: 'cursor', message }],
    });
  }
  return {
    q: p.q?.trim() || undefined,
    sourceId: p.source,
    cluster: p.cluster,
    pool: p.pool,
    powerState: p.power,
    template: p.template,
    sort: p.sort,
    order: p.order,
    limit: p.limit,
    cursor: p.cursor,
  };
}

const TraceParams = z.object({
  granularity: z.enum(['capture', 'daily', 'monthly']).default('capture'),
  from: z.iso.datetime({ offset: true }).or(z.iso.date()).optional().describe(
    'default: 7 days (capture), 90 days (daily), 2 years (monthly) before `to`',
  ),
  to: z.iso.datetime({ offset: true }).or(z.iso.date()).optional().describe('default: now'),
});

const DEFAULT_SPAN_DAYS = { capture: 7, daily: 90, monthly: 730 };

export function inventoryRoutes(sql: Sql, doc: ApiDoc) {
  const app = new Hono<{ Variables: AuthVariables }>();

  doc.define(app, {
    method: 'get',
    path: '/vms',
    tag: 'VMs',
    roles: ['viewer'],
    query: VmListParams,
    summary: 'Live VMs: search, filter, sort; cursor pagination with the total',
    responses: { 200: '`{"items": [...], "total": N, "next": cursor|null}`' },
  }, async (c) => c.json(await listVms(sql, parseVmListParams(c.req.query()))));

  doc.define(app, {
    method: 'get',
    path: '/vms/:source/:key',
    tag: 'VMs',
    roles: ['viewer'],
    summary: 'One VM (key URL-encoded): current state if live, lifecycle, events',
    responses: { 200: 'The VM', 404: 'No such VM in that source' },
  }, async (c) => {
    const vm = await getVm(sql, intParam(c, 'source'), c.req.param('key')!);
    if (!vm) {
      throw new ApiError(
        404,
        'not_found',
        `source ${c.req.param('source')} has no VM ${c.req.param('key')}`,
      );
    }
    return c.json(vm);
  });

  doc.define(app, {
    method: 'get',
    path: '/vms/:source/:key/trace',
    tag: 'VMs',
    roles: ['viewer'],
    query: TraceParams,
    summary: "A VM's trace over a time range per capture, day or month, with what changed when",
    responses: { 200: '`{"granularity", "from", "to", "points": [...], "changes": [...]}`' },
  }, async (c) => {
    const p = parseQuery(TraceParams, c.req.query());
    const to = p.to ? new Date(p.to) : new Date();
    const from = p.from
      ? new Date(p.from)
      : new Date(to.getTime() - DEFAULT_SPAN_DAYS[p.granularity] * 86400_000);
    if (from >= to) {
      throw new ApiError(400, 'invalid_query', '`from` must be before `to`', {
        issues: [{ path: 'from', message: 'must be before to' }],
      });
    }
    return c.json(
      await vmTrace(sql, {
        sourceId: intParam(c, 'source'),
        key: c.req.param('key')!,
        granularity: p.granularity,
        from,
        to,
      }),
    );
  });

  return app;
}
