/**
 * The live inventory as a list: search, filters and keyset pagination over vm_inventory.
 * Data access only: handed a `sql`, knows nothing of HTTP.
 */
import type { Row } from 'postgres';
import { z } from 'zod';
import type { Sql } from '../db/connect.ts';
import { ColumnText, decodeCursor, encodeCursor, IntKey } from '../cursor.ts';
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
  memoryMib: z.number().int(),
  provisionedDiskGib: z.number(),
  usedDiskGib: z.number().nullable(),
  /** Deprecated aliases (the same binary values under their v1 names), kept for one version. */
  ramMb: z.number().int().describe('Deprecated: use memoryMib (same value, MiB).'),
  provisionedDiskGb: z.number().describe('Deprecated: use provisionedDiskGib (same value, GiB).'),
  usedDiskGb: z.number().nullable().describe('Deprecated: use usedDiskGib (same value, GiB).'),
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
 * A keyset page from `limit + 1` rows: the first `limit` as items, and the cursor after the
 * last of them when the extra row says more follow.
 */
export function keysetPage<R, T>(
  rows: R[],
  total: number,
  limit: number,
  item: (r: R) => T,
  key: (r: R) => unknown,
): Page<T> {
  const page = rows.slice(0, limit);
  return {
    items: page.map(item),
    total,
    next: rows.length > limit ? encodeCursor(key(page.at(-1)!)) : null,
  };
}

/** A page row's sort value: text, an integer, numeric as text, or a time (by the sort). */
type SortRow = { sort_value: string | number | Date | null };

/** The largest `integer` (vCPUs, RAM in MB). */
const MAX_INT = 2 ** 31 - 1;
/** The largest time a Date holds, in ms either side of 1970. */
const MAX_TIME_MS = 8.64e15;
const Text = z.string().max(2000).refine((s) => !s.includes('\0'));
const Int = z.number().int().min(-MAX_INT).max(MAX_INT);
const Time = z.number().int().min(-MAX_TIME_MS).max(MAX_TIME_MS);
/** The sort key of a page's last row: value of the sort column, then source and key. */
const cursorOf = (v: z.ZodType<string | number>) =>
  z.object({ v: v.nullable(), s: IntKey, k: ColumnText });
/**
 * A cursor of any sort, and of each sort: every value must fit the column it is compared
 * with, or PostgreSQL refuses the query.
 */
const VmCursor = cursorOf(Text.or(Time));
const SORT_CURSOR: Record<VmSort, typeof VmCursor> = {
  name: cursorOf(Text),
  source: cursorOf(Text),
  power: cursorOf(Text),
  vcpu: cursorOf(Int),
  ram: cursorOf(Int),
  disk: cursorOf(z.string().regex(/^-?\d{1,20}(\.\d{1,10})?$/)),
  created: cursorOf(Time),
  firstSeen: cursorOf(Time),
};

/** The cursor in `value`; null when it is not one of ours, or (given `sort`) not one of that sort. */
export function decodeVmCursor(value: string, sort?: VmSort) {
  return decodeCursor(sort ? SORT_CURSOR[sort] : VmCursor, value);
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

/** Sort columns: whitelisted SQL expressions, never user text. */
const SORT_SQL: Record<VmSort, string> = {
  name: 'lower(i.name)',
  // The name of the VM's source (joined as `src`, see readPage): sources are few and renamed rarely.
  source: 'src.name',
  power: 'i.power_state',
  vcpu: 'i.vcpu',
  ram: 'i.ram_mb',
  disk: 'i.provisioned_disk_gb',
  created: "coalesce(i.created_at, '-infinity'::timestamptz)",
  firstSeen: 'i.first_seen_at',
};

/** A row's sort value as its cursor carries it: as read (numeric as text), times as ms. */
function cursorSortValue(v: SortRow['sort_value']): string | number | null {
  return v instanceof Date ? v.getTime() : v;
}

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
  const expr = sql.unsafe(SORT_SQL[sort]);
  const cursor = query.cursor ? decodeVmCursor(query.cursor, sort) : null;
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
  const direction = sql.unsafe(desc ? 'desc' : 'asc');
  const after = cursor
    ? sql`and (${expr}, i.source_id, i.vm_key) ${sql.unsafe(desc ? '<' : '>')} (${
      cursorValue(sql, sort, cursor.v)
    }, ${cursor.s}, ${cursor.k})`
    : sql``;
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
        ? sql`where (src.name, src.id) ${sql.unsafe(desc ? '<=' : '>=')} (${cursor.v}, ${cursor.s})`
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
    sql<(Row & SortRow)[]>`
      select p.*, s.name as source_name, s.kind as source_kind, l.last_seen_at
      from (${chosen}) p
      join sources s on s.id = p.source_id
      join vm_lifecycle l on l.source_id = p.source_id and l.vm_key = p.vm_key
      order by p.sort_value ${direction}, p.source_id ${direction}, p.vm_key ${direction}`,
    cachedCount(async () =>
      (await sql`select count(*)::int as count from vm_inventory i ${where}`)[0].count as number
    ),
  ]);
  return keysetPage(rows, count, query.limit, toItem, (r) => ({
    v: cursorSortValue(r.sort_value),
    s: r.source_id,
    k: r.vm_key,
  }));
}

/**
 * A vm_inventory row with its source's `source_name` and `source_kind` and the lifecycle's
 * `last_seen_at` → API item (camelCase, ISO times, numbers; numeric columns arrive as text).
 */
export function toItem(r: Row): VmListItem {
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
    memoryMib: r.ram_mb,
    provisionedDiskGib: Number(r.provisioned_disk_gb),
    usedDiskGib: r.used_disk_gb === null ? null : Number(r.used_disk_gb),
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

/** Fleet totals of the live inventory (templates excluded from sizing). */
export async function fleetSummary(sql: Sql) {
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
