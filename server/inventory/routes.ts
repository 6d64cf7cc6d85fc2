/** HTTP routes for VMs: the list, one VM, and a VM's trace. */
import { createReads, type Reads } from '../db/reads.ts';
import { readTarget } from '../http/read_target.ts';
import { Hono } from 'hono';
import { z } from 'zod';
import type { AuthVariables } from '../auth/middleware.ts';
import type { Sql } from '../db/connect.ts';
import { type ApiDoc, IntId, ListOf } from '../http/api_doc.ts';
import { parseOr400, query as nonEmpty } from '../http/validate.ts';
import { allPages, type CsvColumn, csvResponse, wantsCsv } from '../http/csv.ts';
import { AppError } from '../errors.ts';
import { getVm, VmDetail, VmTrace, vmTrace } from '../queries/vm_detail.ts';
import { vmLastSeen, VmUsage, vmUsage } from '../queries/vm_usage.ts';
import type { UsageRetention } from '../aggregate/usage_retention.ts';
import { listVms, listVmsJson } from './list_vms.ts';
import {
  decodeVmCursor,
  GUEST_FAMILIES,
  VM_SORTS,
  VM_STATES,
  VmAsOf,
  VmListItem,
  type VmListQuery,
} from './list_query.ts';

const bool = z.enum(['true', 'false']).transform((v) => v === 'true');

export const VmListParams = z.object({
  q: z.string().max(200).optional().describe(
    'search: name substring, or exact VM key, vmid/MoRef, UUID or IP',
  ),
  state: z.enum(VM_STATES).optional().describe(
    'live (default), deleted (as each VM last was, with deletedAt), or all; with `at`: of the VMs ' +
      'then, those live now, deleted since, or all (the default)',
  ),
  at: z.iso.datetime({ offset: true }).or(z.iso.date()).optional().describe(
    "the estate as of this time: each source's newest complete capture at or before it (the answer's " +
      '`asOf` names them, and the sources with none by then)',
  ),
  source: IntId.optional(),
  cluster: z.string().max(200).optional(),
  pool: z.string().max(200).optional(),
  host: z.string().max(500).optional(),
  folder: z.string().max(2048).optional().describe('a folder path: VMs in it or below it'),
  tag: z.string().max(600).optional().describe(
    '`Category:Name` (a vSphere tag), or a plain tag or attribute (`Name=value`)',
  ),
  datastore: z.string().max(500).optional().describe('a datastore key: VMs with a disk on it'),
  os: z.enum(GUEST_FAMILIES).optional().describe('guest OS family'),
  power: z.enum(['poweredOn', 'poweredOff', 'suspended']).optional(),
  template: bool.optional(),
  sort: z.enum(VM_SORTS).default('name'),
  order: z.enum(['asc', 'desc']).default('asc'),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().max(2000).refine((c) => !!decodeVmCursor(c), 'not a cursor from this API')
    .optional(),
});

/** The list query from a query string (the VMs page and its CSV export), or 400. */
export function parseVmListParams(query: Record<string, string>): VmListQuery {
  return vmListQuery(parseOr400(VmListParams, nonEmpty(query), 'invalid_query'));
}

/** The list query from parsed parameters; a cursor of another sort is a 400. */
function vmListQuery(p: z.infer<typeof VmListParams>): VmListQuery {
  if (p.cursor && !decodeVmCursor(p.cursor, p.sort)) {
    const message = 'not a cursor from this API for this sort';
    throw new AppError('invalid_query', `cursor: ${message}`, {
      issues: [{ path: 'cursor', message }],
    });
  }
  const { q, source, power, os, at, ...rest } = p;
  return {
    ...rest,
    q: q?.trim() || undefined,
    at: at ? new Date(at) : undefined,
    sourceId: source,
    powerState: power,
    guestFamily: os,
  };
}

/** The VM list's CSV columns: the API's `Accept: text/csv` and the page export `/vms.csv`. */
export const VM_CSV_COLUMNS: CsvColumn<VmListItem>[] = [
  { header: 'source', value: (v) => v.sourceName },
  { header: 'name', value: (v) => v.name },
  { header: 'vm_id', value: (v) => v.sourceVmId },
  { header: 'key', value: (v) => v.key },
  { header: 'power_state', value: (v) => v.powerState },
  { header: 'template', value: (v) => v.isTemplate },
  { header: 'vcpu', value: (v) => v.vcpu },
  { header: 'memory_mib', value: (v) => v.memoryMib },
  { header: 'provisioned_disk_gib', value: (v) => v.provisionedDiskGib },
  { header: 'used_disk_gib', value: (v) => v.usedDiskGib },
  { header: 'datacenter', value: (v) => v.datacenter },
  { header: 'cluster', value: (v) => v.cluster },
  { header: 'host', value: (v) => v.host },
  { header: 'resource_pool', value: (v) => v.resourcePool },
  { header: 'folder', value: (v) => v.folder },
  { header: 'guest_os', value: (v) => v.guestOs },
  { header: 'ip_addresses', value: (v) => v.ipAddresses },
  { header: 'tags', value: (v) => v.tags },
  { header: 'instance_uuid', value: (v) => v.instanceUuid },
  { header: 'created_at', value: (v) => v.createdAt, type: 'time' },
  { header: 'first_seen_at', value: (v) => v.firstSeenAt, type: 'time' },
  { header: 'last_seen_at', value: (v) => v.lastSeenAt, type: 'time' },
  { header: 'state', value: (v) => v.state },
  { header: 'deleted_at', value: (v) => v.deletedAt, type: 'time' },
  { header: 'deleted_from', value: (v) => v.deletedFrom },
  { header: 'state_at', value: (v) => v.stateAt, type: 'time' },
];

/**
 * The whole filtered VM list as CSV (from the first VM, whatever `cursor` says), read in
 * keyset pages of 1,000 as the client takes them. The API and the page export both answer this.
 */
export function vmsCsv(sql: Sql, query: VmListQuery): Response {
  const day = new Date().toISOString().slice(0, 10);
  return csvResponse(
    `vms-${day}.csv`,
    VM_CSV_COLUMNS,
    allPages((cursor: string | undefined) => listVms(sql, { ...query, limit: 1000, cursor })),
  );
}

const TraceParams = z.object({
  granularity: z.enum(['capture', 'daily', 'monthly']).default('capture'),
  from: z.iso.datetime({ offset: true }).or(z.iso.date()).optional().describe(
    'default: 7 days (capture), 90 days (daily), 2 years (monthly) before `to`',
  ),
  to: z.iso.datetime({ offset: true }).or(z.iso.date()).optional().describe('default: now'),
});

const VmParams = z.object({ source: IntId, key: z.string().min(1).max(500) });

const DEFAULT_SPAN_DAYS = { capture: 7, daily: 90, monthly: 730 };

const time = z.iso.datetime({ offset: true }).or(z.iso.date());
const UsageParams = z.object({
  from: time.optional().describe('default: 7 days before `to`'),
  to: time.optional().describe("default: just after the VM's newest capture"),
  tier: z.enum(['capture', 'hourly', 'daily']).optional().describe(
    'default: the finest tier whose retention still covers `from` (VMLEDGER_USAGE_*_DAYS)',
  ),
});
/** The longest usage range one request reads. */
export const MAX_USAGE_DAYS = 400;

/**
 * A VM's usage range from optional `from`/`to` (default: the 7 days up to its newest capture),
 * or a 400.
 */
export function usageRange(
  p: { from?: string; to?: string },
  lastSeenAt: string | null,
): { from: Date; to: Date } {
  const to = p.to
    ? new Date(p.to)
    : new Date((lastSeenAt ? Date.parse(lastSeenAt) : Date.now()) + 1000);
  const from = p.from ? new Date(p.from) : new Date(to.getTime() - 7 * 86400_000);
  if (from >= to || to.getTime() - from.getTime() > MAX_USAGE_DAYS * 86400_000) {
    const message = `must be before to, at most ${MAX_USAGE_DAYS} days before`;
    throw new AppError('invalid_query', `from: ${message}`, {
      issues: [{ path: 'from', message }],
    });
  }
  return { from, to };
}

export function inventoryRoutes(
  sql: Sql,
  doc: ApiDoc,
  o: { usageRetention: UsageRetention; reads?: Reads },
) {
  const reads = o.reads ?? createReads(sql, undefined);
  const app = new Hono<{ Variables: AuthVariables }>();

  doc.define(app, {
    method: 'get',
    path: '/vms',
    operationId: 'listVms',
    tag: 'VMs',
    roles: ['viewer'],
    query: VmListParams,
    summary:
      'VMs live, deleted or as of a past moment: search, filter, sort; cursor pagination with the total (Accept: text/csv: the whole filtered list)',
    responses: {
      200: {
        description: 'A page of VMs',
        schema: ListOf(VmListItem).extend({ asOf: VmAsOf.optional() }),
        produces: ['text/csv'],
      },
    },
  }, async (c, { query }) => {
    const q = vmListQuery(query);
    if (wantsCsv(c.req.header('accept'))) return vmsCsv(sql, { ...q, cursor: undefined });
    return c.body(await listVmsJson(await readTarget(c, reads, sql), q), 200, {
      'content-type': 'application/json',
    });
  });

  doc.define(app, {
    method: 'get',
    path: '/vms/:source/:key',
    operationId: 'getVm',
    tag: 'VMs',
    roles: ['viewer'],
    params: VmParams,
    summary: 'One VM (key URL-encoded): current state if live, lifecycle, events',
    responses: {
      200: { description: 'The VM', schema: VmDetail },
      404: 'No such VM in that source',
    },
  }, async (c, { params }) => {
    const vm = await getVm(await readTarget(c, reads, sql), params.source, params.key);
    if (!vm) throw new AppError('not_found', `source ${params.source} has no VM ${params.key}`);
    return c.json(vm);
  });

  doc.define(app, {
    method: 'get',
    path: '/vms/:source/:key/trace',
    operationId: 'getVmTrace',
    tag: 'VMs',
    roles: ['viewer'],
    params: VmParams,
    query: TraceParams,
    summary: "A VM's trace over a time range per capture, day or month, with what changed when",
    responses: { 200: { description: 'The trace', schema: VmTrace } },
  }, async (c, { params, query: p }) => {
    const to = p.to ? new Date(p.to) : new Date();
    const from = p.from
      ? new Date(p.from)
      : new Date(to.getTime() - DEFAULT_SPAN_DAYS[p.granularity] * 86400_000);
    if (from >= to) {
      throw new AppError('invalid_query', '`from` must be before `to`', {
        issues: [{ path: 'from', message: 'must be before to' }],
      });
    }
    return c.json(
      await vmTrace(sql, {
        sourceId: params.source,
        key: params.key,
        granularity: p.granularity,
        from,
        to,
      }),
    );
  });

  doc.define(app, {
    method: 'get',
    path: '/vms/:source/:key/usage',
    operationId: 'getVmUsage',
    tag: 'VMs',
    roles: ['viewer'],
    params: VmParams,
    query: UsageParams,
    summary:
      "A VM's CPU and memory usage over a range from the usage tiers (per capture, hourly or daily by the range's age), and its guest file systems' free space",
    responses: {
      200: { description: 'The usage', schema: VmUsage },
      404: 'No such VM in that source',
    },
  }, async (c, { params, query: p }) => {
    const lastSeenAt = await vmLastSeen(sql, params.source, params.key);
    if (!lastSeenAt) {
      throw new AppError('not_found', `source ${params.source} has no VM ${params.key}`);
    }
    const range = usageRange(p, lastSeenAt);
    const usage = await vmUsage(sql, {
      sourceId: params.source,
      key: params.key,
      ...range,
      retention: o.usageRetention,
      tier: p.tier,
    });
    if (!usage) throw new AppError('not_found', `source ${params.source} has no VM ${params.key}`);
    return c.json(usage);
  });

  return app;
}
