/**
 * The live inventory as a list: search, filters and keyset pagination over vm_inventory.
 * Data access only: handed a `sql`, knows nothing of HTTP.
 */
import { z } from 'zod';
import type { Sql } from '../db/connect.ts';
import { isUuid } from '../ids.ts';
import { GenerationCache, inventoryGeneration } from './list_cache.ts';

export const VM_SORTS = [
  'name',
  'source',
  'power',
  'vcpu',
  'ram',
  'disk',
  'created',
  'firstSeen',
] as const;
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

/** A live VM as the list (API, pages, CSV) shows it: declared once, typed from here. */
export const VmListItem = z.object({
  key: z.string(),
  sourceId: z.number().int(),
  sourceName: z.string(),
  sourceKind: z.string(),
  sourceVmId: z.string(),
  name: z.string(),
  powerState: z.string(),
  isTemplate: z.boolean(),
  vcpu: z.number().int(),
  ramMb: z.number().int(),
  provisionedDiskGb: z.number(),
  usedDiskGb: z.number().nullable(),
  datacenter: z.string().nullable(),
  cluster: z.string().nullable(),
  host: z.string().nullable(),
  resourcePool: z.string().nullable(),
  folder: z.string().nullable(),
  guestOs: z.string().nullable(),
  ipAddresses: z.array(z.string()),
  tags: z.array(z.string()),
  biosUuid: z.string().nullable(),
  instanceUuid: z.string().nullable(),
  createdAt: z.string().nullable(),
  firstSeenAt: z.string(),
  lastSeenAt: z.string(),
  stateAt: z.string(),
});
export type VmListItem = z.infer<typeof VmListItem>;

export type Page<T> = { items: T[]; total: number; next: string | null };

/**
 * A vm_inventory row (the columns `toItem` reads) with its source's name and kind and the
 * lifecycle's last sighting. numeric columns arrive as text, times as Dates.
 */
export type VmListRow = {
  source_id: number;
  vm_key: string;
  source_vm_id: string;
  bios_uuid: string | null;
  instance_uuid: string | null;
  name: string;
  power_state: string;
  is_template: boolean;
  vcpu: number;
  ram_mb: number;
  provisioned_disk_gb: string;
  used_disk_gb: string | null;
  datacenter: string | null;
  cluster: string | null;
  host: string | null;
  resource_pool: string | null;
  folder: string | null;
  guest_os: string | null;
  ip_addresses: string[];
  tags: string[];
  created_at: Date | null;
  first_seen_at: Date;
  state_at: Date;
  source_name: string;
  source_kind: string;
  last_seen_at: Date;
};

/** A page row's sort value: text, an integer, numeric as text, or a time (by the sort). */
type SortRow = { sort_value: string | number | Date | null };

/** The sort key of the last row of a page: value of the sort column, then source and key. */
type Cursor = { v: string | number | null; s: number; k: string };

/** Opaque cursor for keyset pagination. */
export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify(c)).toString('base64url');
}

/** The largest `integer` (source ids, vCPUs, RAM in MB). */
const MAX_INT = 2 ** 31 - 1;
/** The largest time a Date holds, in ms either side of 1970. */
const MAX_TIME_MS = 8.64e15;
const NUMERIC_TEXT = /^-?\d{1,20}(\.\d{1,10})?$/;

/**
 * Decodes a cursor; null when it is not one of ours, or (given `sort`) not one of that sort:
 * every value must fit the column it is compared with, or PostgreSQL refuses the query.
 */
export function decodeCursor(value: string, sort?: VmSort): Cursor | null {
  let c: unknown;
  try {
    c = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  if (!c || typeof c !== 'object' || Array.isArray(c)) return null;
  const { v, s, k } = c as Record<string, unknown>;
  if (typeof s !== 'number' || !Number.isInteger(s) || s < 1 || s > MAX_INT) return null;
  if (typeof k !== 'string' || k.length > 1000 || k.includes('\0')) return null;
  return sortValueFits(v, sort) ? { v, s, k } : null;
}

function sortValueFits(v: unknown, sort: VmSort | undefined): v is string | number | null {
  if (v === null) return true;
  if (typeof v === 'string') {
    if (v.length > 2000 || v.includes('\0')) return false;
    if (sort === 'disk') return NUMERIC_TEXT.test(v);
    return sort === undefined || sort === 'name' || sort === 'source' || sort === 'power';
  }
  if (typeof v !== 'number' || !Number.isInteger(v)) return false;
  if (sort === 'vcpu' || sort === 'ram') return Math.abs(v) <= MAX_INT;
  return (sort === undefined || sort === 'created' || sort === 'firstSeen') &&
    Math.abs(v) <= MAX_TIME_MS;
}

/** Escapes LIKE wildcards so a search for "50%" means the characters, not a pattern. */
function likePattern(q: string): string {
  return `%${q.replace(/[\\%_]/g, (m) => `\\${m}`)}%`;
}

const IP = /^(\d{1,3}\.){3}\d{1,3}$|^[0-9a-f:]+:[0-9a-f:.]*$/i;

/**
 * What a search means depends on its shape: an IP address matches addresses, a UUID the
 * BIOS or instance UUID, anything else a name substring or an exact key / vmid / MoRef.
 * Few branches, each with its own index, keep the search an index lookup at any size.
 */
function searchCondition(sql: Sql, q: string) {
  if (IP.test(q)) return sql`and i.ip_addresses @> ${[q]}::text[]`;
  if (isUuid(q)) {
    const u = q.toLowerCase();
    return sql`and (i.instance_uuid = ${u} or i.bios_uuid = ${u} or i.vm_key = ${q})`;
  }
  return sql`and (i.name ilike ${likePattern(q)} or i.source_vm_id = ${q} or i.vm_key = ${q})`;
}

/** Sort columns (whitelisted SQL expressions; never user text) and how to read their value back. */
const SORT_SQL: Record<
  VmSort,
  { expr: string; pick: (r: SortRow) => string | number | null }
> = {
  name: { expr: 'lower(i.name)', pick: (r) => r.sort_value as string },
  // The name of the VM's source (joined as `src`, see readPage): sources are few and renamed rarely.
  source: { expr: 'src.name', pick: (r) => r.sort_value as string },
  power: { expr: 'i.power_state', pick: (r) => r.sort_value as string },
  vcpu: { expr: 'i.vcpu', pick: (r) => r.sort_value as number },
  ram: { expr: 'i.ram_mb', pick: (r) => r.sort_value as number },
  disk: {
    expr: 'i.provisioned_disk_gb',
    pick: (r) => (r.sort_value === null ? null : String(r.sort_value)),
  },
  created: {
    expr: "coalesce(i.created_at, '-infinity'::timestamptz)",
    pick: (r) => new Date(r.sort_value as Date).getTime(),
  },
  firstSeen: { expr: 'i.first_seen_at', pick: (r) => new Date(r.sort_value as Date).getTime() },
};

/** The cursor's sort value as a SQL parameter of the sort column's type. */
function cursorValue(sql: Sql, sort: VmSort, v: string | number | null) {
  // A VM without a creation time sorts as -infinity, which a Date cannot hold (the cursor
  // carries null for it): times travel as text and PostgreSQL reads the literal.
  if (sort === 'created' || sort === 'firstSeen') {
    return sql`${
      Number.isFinite(v as number) ? new Date(v as number).toISOString() : '-infinity'
    }::text::timestamptz`;
  }
  return sql`${v}`;
}

/**
 * Answers (pages and totals) are reused while the inventory generation is unchanged: many
 * people and scripts look at the same lists between two captures. Bounded by the rows kept.
 */
const MAX_CACHED_ROWS = 20_000;
const caches = new WeakMap<Sql, GenerationCache>();

function cacheFor(sql: Sql): GenerationCache {
  let cache = caches.get(sql);
  if (!cache) caches.set(sql, cache = new GenerationCache(MAX_CACHED_ROWS));
  return cache;
}

/** How often list answers were reused (hits) or read from the database (misses). */
export function vmListCacheStats(sql: Sql): { hits: number; misses: number } {
  const cache = caches.get(sql);
  return { hits: cache?.hits ?? 0, misses: cache?.misses ?? 0 };
}

/** One page of live VMs with the total matching count. The page is shared: do not modify it. */
export async function listVms(sql: Sql, query: VmListQuery): Promise<Page<VmListItem>> {
  const generation = await inventoryGeneration(sql);
  const cache = cacheFor(sql);
  const q = query.q;
  const filters = [q, query.sourceId, query.cluster, query.pool, query.powerState, query.template];
  const page = [query.sort ?? 'name', query.order ?? 'asc', query.limit, query.cursor ?? null];
  return cache.get(
    generation,
    `page:${JSON.stringify([filters, page])}`,
    () =>
      readPage(
        sql,
        query,
        (count) => cache.get(generation, `count:${JSON.stringify(filters)}`, count, () => 1),
      ),
    (result) => result.items.length,
  );
}

async function readPage(
  sql: Sql,
  query: VmListQuery,
  cachedCount: (count: () => Promise<number>) => Promise<number>,
): Promise<Page<VmListItem>> {
  const sort = query.sort ?? 'name';
  const desc = query.order === 'desc';
  const expr = sql.unsafe(SORT_SQL[sort].expr);
  const cursor = query.cursor ? decodeCursor(query.cursor, sort) : null;
  const q = query.q;
  // An IP or UUID matches a handful of rows, and a name fragment of four or more characters
  // a few thousand at most: the fence (offset 0) makes PostgreSQL find them by their index
  // first and sort those, instead of walking a sort index hoping to meet them (3 ms against
  // 15 ms for "web-01" sorted by RAM). Shorter fragments match a large share of the
  // inventory; there walking the sort index meets a page of matches soon.
  const exact = !!q && (IP.test(q) || isUuid(q) || q.length >= 4);
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
      ? sql`and (${expr}, i.source_id, i.vm_key) < (${
        cursorValue(sql, sort, cursor.v)
      }, ${cursor.s}, ${cursor.k})`
      : sql`and (${expr}, i.source_id, i.vm_key) > (${
        cursorValue(sql, sort, cursor.v)
      }, ${cursor.s}, ${cursor.k})`
    : sql``;
  const direction = sql.unsafe(desc ? 'desc' : 'asc');
  const limit = query.limit + 1;
  // The page is chosen from vm_inventory alone (an index walk for the default sort), and
  // only its rows are joined: joining first would hash all 100,000 rows on every request.
  const chosen = sort === 'source' && !exact && !query.cluster && !query.pool
    // By source: sources in name order, each contributing at most a page from its primary
    // key, so the first pages never sort the whole inventory (1 ms against 40 ms). Cluster
    // and pool filters are selective enough for their index and a sort of what they match.
    ? sql`
        select i.*, src.name as sort_value
        from (
          select id, name from sources src
          ${
      cursor
        ? (desc
          ? sql`where (src.name, src.id) <= (${cursor.v}, ${cursor.s})`
          : sql`where (src.name, src.id) >= (${cursor.v}, ${cursor.s})`)
        : sql``
    }
          order by name ${direction}, id ${direction}
        ) src
        cross join lateral (
          select i.* from vm_inventory i ${where} and i.source_id = src.id
          ${
      cursor
        ? (desc
          ? sql`and (src.id <> ${cursor.s} or i.vm_key < ${cursor.k})`
          : sql`and i.vm_key > (case when src.id = ${cursor.s} then ${cursor.k} else '' end)`)
        : sql``
    }
          order by i.vm_key ${direction}
          limit ${limit}
        ) i
        order by src.name ${direction}, src.id ${direction}, i.vm_key ${direction}
        limit ${limit}`
    : sql`
        select i.*, ${expr} as sort_value
        from ${
      exact ? sql`(select * from vm_inventory i ${where} offset 0) i` : sql`vm_inventory i`
    }
        ${sort === 'source' ? sql`join sources src on src.id = i.source_id` : sql``}
        ${exact ? sql`where true` : where}
        ${after}
        order by ${expr} ${direction}, i.source_id ${direction}, i.vm_key ${direction}
        limit ${limit}`;
  const [rows, count] = await Promise.all([
    sql<(VmListRow & SortRow)[]>`
      select p.*, s.name as source_name, s.kind as source_kind, l.last_seen_at
      from (${chosen}) p
      join sources s on s.id = p.source_id
      join vm_lifecycle l on l.source_id = p.source_id and l.vm_key = p.vm_key
      order by p.sort_value ${direction}, p.source_id ${direction}, p.vm_key ${direction}`,
    cachedCount(async () =>
      (await sql`select count(*)::int as count from vm_inventory i ${where}`)[0].count as number
    ),
  ]);
  const hasMore = rows.length > query.limit;
  const page = rows.slice(0, query.limit);
  const last = page[page.length - 1];
  return {
    items: page.map(toItem),
    total: count,
    next: hasMore && last
      ? encodeCursor({ v: SORT_SQL[sort].pick(last), s: last.source_id, k: last.vm_key })
      : null,
  };
}

/** Row → API item (camelCase, ISO times, numbers). */
export function toItem(r: VmListRow): VmListItem {
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

export type FleetSummary = {
  sources: number;
  vms: number;
  poweredOn: number;
  vcpu: number;
  ramGb: number;
  diskGb: number;
};

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
    sources: r.sources,
    vms: r.vms,
    poweredOn: r.powered_on,
    vcpu: Number(r.vcpu),
    ramGb: Math.round(Number(r.ram_mb) / 1024),
    diskGb: Math.round(r.disk_gb),
  };
}

/** Sources for filters and cards. */
export async function listSources(
  sql: Sql,
): Promise<
  { id: number; kind: string; name: string; lastCaptureAt: string | null; vms: number }[]
> {
  const rows = await sql`
    select s.id, s.kind, s.name, s.last_capture_at,
           (select count(*) from vm_inventory i where i.source_id = s.id)::int as vms
    from sources s order by s.name`;
  return rows.map((r) => ({
    id: r.id,
    kind: r.kind,
    name: r.name,
    vms: r.vms,
    lastCaptureAt: r.last_capture_at ? new Date(r.last_capture_at).toISOString() : null,
  }));
}
