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

const IP = /^(\d{1,3}\.){3}\d{1,3}$|^[0-9a-f:]+:[0-9a-f:.]*$/i;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * What a search means depends on its shape: an IP address matches addresses, a UUID the
 * BIOS or instance UUID, anything else a name substring or an exact key / vmid / MoRef.
 * Few branches, each with its own index, keep the search an index lookup at any size.
 */
function searchCondition(sql: Sql, q: string) {
  if (IP.test(q)) return sql`and i.ip_addresses @> ${[q]}::text[]`;
  if (UUID.test(q)) {
    const u = q.toLowerCase();
    return sql`and (i.instance_uuid = ${u} or i.bios_uuid = ${u} or i.vm_key = ${q})`;
  }
  return sql`and (i.name ilike ${likePattern(q)} or i.source_vm_id = ${q} or i.vm_key = ${q})`;
}

/** Sort columns (whitelisted SQL expressions; never user text) and how to read their value back. */
const SORT_SQL: Record<VmSort, { expr: string; pick: (r: Record<string, any>) => string | number | null }> = {
  name: { expr: 'lower(i.name)', pick: (r) => r.sort_value },
  source: { expr: '(select name from sources where id = i.source_id)', pick: (r) => r.sort_value },
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

/**
 * Totals are cached for a few seconds per filter: paging through a list or many people
 * looking at the same list do not recount 100,000 rows each time, and the inventory
 * changes when captures arrive (minutes to hours), not between two page views.
 */
const COUNT_TTL_MS = 5000;
const countCaches = new WeakMap<Sql, Map<string, { at: number; value: Promise<number> }>>();

/** Forgets cached totals (called when this server stores a capture). */
export function invalidateVmCounts(sql: Sql) {
  countCaches.delete(sql);
}

function countCached(sql: Sql, key: string, compute: () => Promise<number>): Promise<number> {
  let counts = countCaches.get(sql);
  if (!counts) countCaches.set(sql, (counts = new Map()));
  const now = Date.now();
  const hit = counts.get(key);
  if (hit && now - hit.at < COUNT_TTL_MS) return hit.value;
  if (counts.size > 1000) counts.clear();
  const value = compute();
  counts.set(key, { at: now, value });
  value.catch(() => counts.delete(key));
  return value;
}

/** One page of live VMs with the total matching count. */
export async function listVms(sql: Sql, query: VmListQuery): Promise<Page<VmListItem>> {
  const sort = query.sort ?? 'name';
  const desc = query.order === 'desc';
  const expr = sql.unsafe(SORT_SQL[sort].expr);
  const cursor = query.cursor ? decodeCursor(query.cursor) : null;
  const q = query.q;
  // An IP or UUID matches a handful of rows; the fence (offset 0) makes PostgreSQL find them
  // by their index first instead of walking the name index hoping to meet them.
  const exact = !!q && (IP.test(q) || UUID.test(q));
  const where = sql`
    where true
    ${q ? searchCondition(sql, q) : sql``}
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
  const [rows, count] = await Promise.all([
    // The page is chosen from vm_inventory alone (an index walk for the default sort), and
    // only its rows are joined: joining first would hash all 100,000 rows on every request.
    sql`
      select p.*, s.name as source_name, s.kind as source_kind, l.last_seen_at
      from (
        select i.*, ${expr} as sort_value
        from ${exact ? sql`(select * from vm_inventory i ${where} offset 0) i where true` : sql`vm_inventory i ${where}`}
        ${after}
        order by ${expr} ${direction}, i.source_id ${direction}, i.vm_key ${direction}
        limit ${query.limit + 1}
      ) p
      join sources s on s.id = p.source_id
      join vm_lifecycle l on l.source_id = p.source_id and l.vm_key = p.vm_key
      order by p.sort_value ${direction}, p.source_id ${direction}, p.vm_key ${direction}`,
    countCached(sql, JSON.stringify([q, query.sourceId, query.cluster, query.pool, query.powerState, query.template]),
      async () => (await sql`select count(*)::int as count from vm_inventory i ${where}`)[0].count as number),
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
