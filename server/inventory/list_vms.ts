/**
 * The live inventory as a list: search, filters and keyset pagination over vm_inventory.
 * Data access only: handed a `sql`, knows nothing of HTTP.
 */
import type { Sql } from '../db/connect.ts';

export const VM_SORTS = ['name', 'source', 'power', 'vcpu', 'ram', 'disk', 'created', 'firstSeen'] as const;
export type VmSort = (typeof VM_SORTS)[number];

export type VmListQuery = {
  q?: string;
  sourceId?: number;
  cluster?: string;
  pool?: string;
  powerState?: 'poweredOn' | 'poweredOff' | 'suspended';
  template?: boolean;
  sort?: VmSort;
  order?: 'asc' | 'desc';
  limit: number;
  cursor?: string | null;
};

export type VmListItem = {
  key: string;
  sourceId: number;
  sourceName: string;
  sourceKind: string;
  sourceVmId: string;
  name: string;
  powerState: string;
  isTemplate: boolean;
  vcpu: number;
  ramMb: number;
  provisionedDiskGb: number;
  usedDiskGb: number | null;
  datacenter: string | null;
  cluster: string | null;
  host: string | null;
  resourcePool: string | null;
  folder: string | null;
  guestOs: string | null;
  ipAddresses: string[];
  tags: string[];
  biosUuid: string | null;
  instanceUuid: string | null;
  createdAt: string | null;
  firstSeenAt: string;
  lastSeenAt: string;
  stateAt: string;
};

export type Page<T> = { items: T[]; total: number; next: string | null };

/** The sort key of the last row of a page: value of the sort column, then source and key. */
type Cursor = { v: string | number | null; s: number; k: string };

/** Opaque cursor for keyset pagination. */
export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify(c)).toString('base64url');
}

/** Decodes a cursor; null when it is not one of ours. */
export function decodeCursor(value: string): Cursor | null {
  try {
    const c = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
    if (c && 'v' in c && Number.isInteger(c.s) && typeof c.k === 'string') return c;
  } catch {
    // fall through
  }
  return null;
}

/** Escapes LIKE wildcards so a search for "50%" means the characters, not a pattern. */
function likePattern(q: string): string {
  return `%${q.replace(/[\\%_]/g, (m) => `\\${m}`)}%`;
}

/** Sort columns (whitelisted SQL expressions; never user text) and how to read their value back. */
const SORT_SQL: Record<VmSort, { expr: string; pick: (r: Record<string, any>) => string | number | null }> = {
  name: { expr: 'lower(i.name)', pick: (r) => r.sort_value },
  source: { expr: 's.name', pick: (r) => r.sort_value },
  power: { expr: 'i.power_state', pick: (r) => r.sort_value },
  vcpu: { expr: 'i.vcpu', pick: (r) => r.sort_value },
  ram: { expr: 'i.ram_mb', pick: (r) => r.sort_value },
  disk: { expr: 'i.provisioned_disk_gb', pick: (r) => (r.sort_value === null ? null : String(r.sort_value)) },
  created: { expr: "coalesce(i.created_at, '-infinity'::timestamptz)", pick: (r) => new Date(r.sort_value).getTime() },
  firstSeen: { expr: 'i.first_seen_at', pick: (r) => new Date(r.sort_value).getTime() },
};

function cursorValue(sort: VmSort, v: string | number | null) {
  if (sort === 'created' || sort === 'firstSeen') return Number.isFinite(v as number) ? new Date(v as number) : new Date(-8.64e15);
  return v;
}

/** One page of live VMs with the total matching count. */
export async function listVms(sql: Sql, query: VmListQuery): Promise<Page<VmListItem>> {
  const sort = query.sort ?? 'name';
  const desc = query.order === 'desc';
  const expr = sql.unsafe(SORT_SQL[sort].expr);
  const cursor = query.cursor ? decodeCursor(query.cursor) : null;
  const q = query.q;
  const where = sql`
    where true
    ${q ? sql`and (i.name ilike ${likePattern(q)} or i.vm_key = ${q} or i.source_vm_id = ${q}
      or i.instance_uuid = ${q.toLowerCase()} or i.bios_uuid = ${q.toLowerCase()} or ${q} = any(i.ip_addresses))` : sql``}
    ${query.sourceId ? sql`and i.source_id = ${query.sourceId}` : sql``}
    ${query.cluster ? sql`and i.cluster = ${query.cluster}` : sql``}
    ${query.pool ? sql`and i.resource_pool = ${query.pool}` : sql``}
    ${query.powerState ? sql`and i.power_state = ${query.powerState}` : sql``}
    ${query.template !== undefined ? sql`and i.is_template = ${query.template}` : sql``}`;
  const after = cursor
    ? desc
      ? sql`and (${expr}, i.source_id, i.vm_key) < (${cursorValue(sort, cursor.v)}, ${cursor.s}, ${cursor.k})`
      : sql`and (${expr}, i.source_id, i.vm_key) > (${cursorValue(sort, cursor.v)}, ${cursor.s}, ${cursor.k})`
    : sql``;
  const direction = sql.unsafe(desc ? 'desc' : 'asc');
  const [rows, [{ count }]] = await Promise.all([
    sql`
      select i.*, s.name as source_name, s.kind as source_kind, ${expr} as sort_value, l.last_seen_at
      from vm_inventory i join sources s on s.id = i.source_id
      join vm_lifecycle l on l.source_id = i.source_id and l.vm_key = i.vm_key
      ${where} ${after}
      order by ${expr} ${direction}, i.source_id ${direction}, i.vm_key ${direction}
      limit ${query.limit + 1}`,
    sql`select count(*)::int as count from vm_inventory i ${where}`,
  ]);
  const hasMore = rows.length > query.limit;
  const page = rows.slice(0, query.limit);
  const last = page[page.length - 1];
  return {
    items: page.map(toItem),
    total: count,
    next: hasMore && last ? encodeCursor({ v: SORT_SQL[sort].pick(last), s: last.source_id, k: last.vm_key }) : null,
  };
}

/** Row → API item (camelCase, ISO times, numbers). */
export function toItem(r: Record<string, any>): VmListItem {
  return {
    key: r.vm_key,
    sourceId: r.source_id,
    sourceName: r.source_name,
    sourceKind: r.source_kind,
    sourceVmId: r.source_vm_id,
    name: r.name,
    powerState: r.power_state,
    isTemplate: r.is_template,
    vcpu: r.vcpu,
    ramMb: r.ram_mb,
    provisionedDiskGb: Number(r.provisioned_disk_gb),
    usedDiskGb: r.used_disk_gb === null ? null : Number(r.used_disk_gb),
    datacenter: r.datacenter,
    cluster: r.cluster,
    host: r.host,
    resourcePool: r.resource_pool,
    folder: r.folder,
    guestOs: r.guest_os,
    ipAddresses: r.ip_addresses,
    tags: r.tags,
    biosUuid: r.bios_uuid,
    instanceUuid: r.instance_uuid,
    createdAt: r.created_at ? new Date(r.created_at).toISOString() : null,
    firstSeenAt: new Date(r.first_seen_at).toISOString(),
    lastSeenAt: new Date(r.last_seen_at).toISOString(),
    stateAt: new Date(r.state_at).toISOString(),
  };
}

export type FleetSummary = { sources: number; vms: number; poweredOn: number; vcpu: number; ramGb: number; diskGb: number };

/** Fleet totals of the live inventory (templates excluded from sizing). */
export async function fleetSummary(sql: Sql): Promise<FleetSummary> {
  const [r] = await sql`
    select (select count(*) from sources)::int as sources,
           count(*) filter (where not is_template)::int as vms,
           count(*) filter (where power_state = 'poweredOn' and not is_template)::int as powered_on,
           coalesce(sum(vcpu) filter (where not is_template), 0)::bigint as vcpu,
           coalesce(sum(ram_mb) filter (where not is_template), 0)::bigint as ram_mb,
           coalesce(sum(provisioned_disk_gb) filter (where not is_template), 0)::float8 as disk_gb
    from vm_inventory`;
  return {
    sources: r.sources, vms: r.vms, poweredOn: r.powered_on, vcpu: Number(r.vcpu),
    ramGb: Math.round(Number(r.ram_mb) / 1024), diskGb: Math.round(r.disk_gb),
  };
}

/** Sources for filters and cards. */
export async function listSources(sql: Sql): Promise<{ id: number; kind: string; name: string; lastCaptureAt: string | null; vms: number }[]> {
  const rows = await sql`
    select s.id, s.kind, s.name, s.last_capture_at,
           (select count(*) from vm_inventory i where i.source_id = s.id)::int as vms
    from sources s order by s.name`;
  return rows.map((r) => ({
    id: r.id, kind: r.kind, name: r.name, vms: r.vms,
    lastCaptureAt: r.last_capture_at ? new Date(r.last_capture_at).toISOString() : null,
  }));
}
