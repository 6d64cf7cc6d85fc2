/**
 * The inventory as a list: search, filters and keyset pagination over the live VMs
 * (vm_inventory), the deleted ones (vm_inventory_deleted, as they last were), both, or the
 * estate as of a past moment (the facts of each source's capture then). Data access only:
 * handed a `sql`, knows nothing of HTTP.
 */
import type { Row } from 'postgres';
import { z } from 'zod';
import type { Sql } from '../db/connect.ts';
import { constantFragment, type Fragment, noFragment } from '../db/fragments.ts';
import { plannedWithValues } from '../db/planning.ts';
import { ColumnText, decodeCursor, encodeCursor, IntKey } from '../cursor.ts';
import { isUuid } from '../ids.ts';
import { GenerationCache, inventoryGeneration } from './list_cache.ts';
import { poolOf } from '../auth/scope.ts';

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

/** Which VMs: live now, deleted, or both (with `at`: as they are now, of those present then). */
export const VM_STATES = ['live', 'deleted', 'all'] as const;
export type VmState = (typeof VM_STATES)[number];

/** Guest OS families, from the guest OS ids of vSphere (`windows9_64Guest`) and Proxmox (`win11`, `l26`). */
export const GUEST_FAMILIES = ['windows', 'linux', 'other'] as const;
export type GuestFamily = (typeof GUEST_FAMILIES)[number];
const WINDOWS_OS = '^(win|w2k|wxp|wvista)|windows';
const LINUX_OS =
  'linux|ubuntu|rhel|centos|debian|sles|suse|fedora|oracle|photon|coreos|rocky|alma|amazon|flatcar|^l2[46]$';

export type VmListQuery = {
  q?: string;
  /** Default: live, or all when `at` is given. */
  state?: VmState;
  /** The estate as each source's newest complete capture at or before this time recorded it. */
  at?: Date;
  sourceId?: number;
  cluster?: string;
  pool?: string;
  host?: string;
  /** A folder path: VMs in it or below it. */
  folder?: string;
  /** A tag: `Category:Name` (vSphere tag) or a plain tag / attribute (`Name=value`). */
  tag?: string;
  /** A datastore key: VMs with a disk on it. */
  datastore?: string;
  guestFamily?: GuestFamily;
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
  /** When the row's values were captured (with `at`: the capture read for its source). */
  stateAt: z.string(),
  /** Whether the VM exists now. */
  state: z.enum(['live', 'deleted']),
  /** When it was deleted (null while live). */
  deletedAt: z.string().nullable(),
  /** How the deletion was known: the source's deletion event, or absence from a complete capture. */
  deletedFrom: z.enum(['event', 'absence']).nullable(),
});
export type VmListItem = z.infer<typeof VmListItem>;

/** With `at`: the capture each source was read from, and the sources with none by then. */
export const VmAsOf = z.object({
  at: z.string(),
  captures: z.array(z.object({
    sourceId: z.number().int(),
    sourceName: z.string(),
    captureId: z.string(),
    capturedAt: z.string(),
    complete: z.boolean(),
  })),
  sourcesWithoutCapture: z.array(z.object({ sourceId: z.number().int(), sourceName: z.string() })),
});
export type VmAsOf = z.infer<typeof VmAsOf>;

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
 * A condition on the VM's columns as they are known now, `x.…`, as a condition on `i`. The
 * rows of a list as of a past moment are facts, which hold no UUIDs, addresses or tags:
 * those are matched among the live and deleted VMs, whose identity they are.
 */
function knownNow(sql: Sql, at: Date | undefined, condition: (x: Fragment) => Fragment) {
  if (!at) return condition(constantFragment(sql, 'i'));
  const c = condition(constantFragment(sql, 'x'));
  return sql`(i.source_id, i.vm_key) in (
    select x.source_id, x.vm_key from vm_inventory x where ${c}
    union all select x.source_id, x.vm_key from vm_inventory_deleted x where ${c})`;
}

/**
 * What a search means depends on its shape: an IP address matches addresses, a UUID the
 * BIOS or instance UUID, anything else a name substring or an exact key / vmid / MoRef.
 * Few branches, each with its own index, keep the search an index lookup at any size.
 */
function searchCondition(sql: Sql, q: string, at: Date | undefined) {
  if (IP.test(q)) {
    return sql`and ${knownNow(sql, at, (x) => sql`${x}.ip_addresses @> ${[q]}::text[]`)}`;
  }
  if (isUuid(q)) {
    const u = q.toLowerCase();
    const uuid = knownNow(
      sql,
      at,
      (x) => sql`(${x}.instance_uuid = ${u} or ${x}.bios_uuid = ${u})`,
    );
    return sql`and (${uuid} or i.vm_key = ${q})`;
  }
  // A fragment of four or more characters (a selective search, found by its trigrams and
  // sorted whole, whatever it matches) is handed to the plan as a sub-select's value, which the
  // planner does not estimate: custom plans then cost it as the generic plan does, and the
  // prepared statement settles on its generic plan (the same plan) unless a custom one still
  // looks cheaper (a limit far from a tenth of 0.5 % of the VMs). Its trigram estimate, a row
  // or two, made every custom plan look cheaper: at 100,000 VMs and pages of 50 the statement
  // was planned on every call, as long as it ran (tests/integration/vm_list.test.ts).
  const pattern = !at && q.length >= 4
    ? sql`(select ${likePattern(q)}::text)`
    : sql`${likePattern(q)}`;
  return sql`and (i.name ilike ${pattern} or i.source_vm_id = ${q} or i.vm_key = ${q})`;
}

/** The configuration documents in force: current ones, or (with `at`) those valid then. */
function configsIn(sql: Sql, at: Date | undefined) {
  return at
    ? sql`h.valid_from <= ${at} and (h.valid_to is null or h.valid_to > ${at})`
    : sql`h.valid_to is null`;
}

/** `Category:Name` is a vSphere tag (labels in the configuration); any tag matches a plain tag or attribute. */
function tagCondition(sql: Sql, tag: string, at: Date | undefined) {
  const colon = tag.indexOf(':');
  const label = colon > 0
    ? sql`(i.source_id, i.vm_key) in (
        select h.source_id, h.vm_key from vm_config_history h
        where ${configsIn(sql, at)} and h.config -> 'labels' @> ${
      sql.json([{ category: tag.slice(0, colon), name: tag.slice(colon + 1) }])
    })`
    : sql`false`;
  return sql`and (${label} or ${knownNow(sql, at, (x) => sql`${x}.tags @> ${[tag]}::text[]`)})`;
}

function datastoreCondition(sql: Sql, key: string, at: Date | undefined) {
  return sql`and (i.source_id, i.vm_key) in (
    select h.source_id, h.vm_key from vm_config_history h
    where ${configsIn(sql, at)} and h.config -> 'disks' @> ${sql.json([{ datastore: key }])})`;
}

function guestFamilyCondition(sql: Sql, family: GuestFamily) {
  const windows = sql`coalesce(i.guest_os ~* ${WINDOWS_OS}, false)`;
  const linux = sql`coalesce(i.guest_os ~* ${LINUX_OS}, false)`;
  if (family === 'windows') return sql`and ${windows}`;
  if (family === 'linux') return sql`and ${linux} and not ${windows}`;
  return sql`and not ${windows} and not ${linux}`;
}

/** The columns a list row has, whichever relation it comes from. */
const ROW_COLUMNS =
  'source_id, vm_key, source_vm_id, bios_uuid, instance_uuid, name, power_state, ' +
  'is_template, vcpu, ram_mb, provisioned_disk_gb, used_disk_gb, datacenter, cluster, host, ' +
  'resource_pool, folder, guest_os, ip_addresses, tags, created_at, first_seen_at, state_at';

/**
 * The capture each source is read from as of `at`: its newest complete capture by then (an
 * incomplete one may leave VMs out), or its newest if it has no complete one. One probe of
 * an index per source, whatever the length of the history (a DISTINCT ON over every capture
 * before `at` grew with it).
 */
function capturesAsOf(sql: Sql, at: Date) {
  return sql`
    select s.id as source_id, c.captured_at, c.capture_id, c.complete
    from sources s
    cross join lateral (
      (select c.captured_at, c.capture_id, c.complete from captures c
       where c.source_id = s.id and c.complete and c.captured_at <= ${at}
       order by c.captured_at desc limit 1)
      union all
      (select c.captured_at, c.capture_id, c.complete from captures c
       where c.source_id = s.id and c.captured_at <= ${at}
       order by c.captured_at desc limit 1)
      limit 1
    ) c`;
}

/** A fact `f` as a list row (the columns of ROW_COLUMNS); `l`: its lifecycle, when joined. */
function factColumns(sql: Sql, lifecycle: boolean) {
  return sql`f.source_id, f.vm_key, f.source_vm_id, null::text as bios_uuid, null::text as instance_uuid,
    f.name, f.power_state, f.is_template, f.vcpu, f.ram_mb, f.provisioned_disk_gb, f.used_disk_gb,
    f.datacenter, f.cluster, f.host, f.resource_pool, f.folder, f.guest_os, '{}'::text[] as ip_addresses,
    '{}'::text[] as tags, ${
    lifecycle
      ? sql`l.created_at, l.first_seen_at`
      : sql`null::timestamptz as created_at, null::timestamptz as first_seen_at`
  }, f.snapshot_time as state_at`;
}

/**
 * The rows listed, as `i`: the live inventory, the deleted one, both, or (with `at`) the facts
 * of each source's capture then. Their VMs' creation and first sighting are joined only when
 * the list is sorted by them: otherwise the page's few rows get them (readPage), not the
 * 10,000 rows of a capture (that join was half the time of an `at` page).
 */
function vmRows(sql: Sql, query: VmListQuery) {
  if (query.at) {
    const lifecycle = query.sort === 'created' || query.sort === 'firstSeen';
    return sql`(
      select ${factColumns(sql, lifecycle)}
      from (${capturesAsOf(sql, query.at)}) c
      join vm_hourly_stats f on f.source_id = c.source_id and f.snapshot_time = c.captured_at
      ${
      lifecycle
        // Every VM of a capture has its lifecycle row (the ingest writes both); joined left
        // on its key, it is left out of the queries that need none of its columns (the count).
        ? sql`left join vm_lifecycle_base l on l.source_id = f.source_id and l.vm_key = f.vm_key`
        : noFragment(sql)
    }
    )`;
  }
  const state = query.state ?? 'live';
  if (state === 'live') return sql`vm_inventory`;
  if (state === 'deleted') return sql`vm_inventory_deleted`;
  const columns = constantFragment(sql, ROW_COLUMNS);
  return sql`(select ${columns} from vm_inventory union all select ${columns} from vm_inventory_deleted)`;
}

/** With `at`, which of the VMs then: those live now, those deleted since, or all. */
function stateNowCondition(sql: Sql, query: VmListQuery, i: Fragment = constantFragment(sql, 'i')) {
  if (!query.at || (query.state ?? 'all') === 'all') return noFragment(sql);
  const table = constantFragment(
    sql,
    query.state === 'live' ? 'vm_inventory' : 'vm_inventory_deleted',
  );
  return sql`and exists (select 1 from ${table} x where x.source_id = ${i}.source_id and x.vm_key = ${i}.vm_key)`;
}

/** Whether a search matches few rows: an IP, a UUID, or a name fragment of 4+ characters. */
function selectiveSearch(q: string | undefined): boolean {
  return !!q && (IP.test(q) || isUuid(q) || q.length >= 4);
}

/** Whether a list query has no filter beyond `at`, `state` and the source. */
function onlyStateAndSource(query: VmListQuery): boolean {
  return !query.q && !query.cluster && !query.pool && !query.host && !query.folder && !query.tag &&
    !query.datastore && !query.guestFamily && !query.powerState && query.template === undefined;
}

/**
 * A page of the estate as of `at` by name, without reading every fact of the captures: the
 * VMs known now (live and deleted), walked in the order of their current names along the name
 * indexes, each looked up in its source's capture then (one probe of the facts' key), until
 * the page is full. A VM's name then is its name now unless it was renamed since (a `renamed`
 * change, kept by ingest for every name change between two observations) or came back since
 * (a reappearance compares nothing with the VM's state before it): those few are placed by
 * their name then, the name before their first rename since (the change holds it), or for a
 * VM back since, its fact's; each is looked up in the facts only once the page reaches it (a
 * probe of every VM renamed since was up to 200 probes a page of 50). Columns as vmRows'
 * `at` rows, plus `sort_value`, at most `limit` rows.
 */
function asOfByName(
  sql: Sql,
  query: VmListQuery,
  cursor: { v: string | number | null; s: number; k: string } | null,
  limit: number,
) {
  const desc = query.order === 'desc';
  const direction = constantFragment(sql, desc ? 'desc' : 'asc');
  const state = query.state ?? 'all';
  // Each branch's limit is written into the statement, rounded up to one of a few sizes (few
  // statements to prepare): as a parameter, the generic plan costed the walk for a tenth of
  // all VMs, cheaper-costed custom plans won, and the statement was planned on every call.
  const walked = constantFragment(
    sql,
    String(WALK_LIMITS.find((n) => n >= limit) ?? limit),
  );
  const after = (name: Fragment, source: Fragment, key: Fragment) =>
    cursor
      ? sql`and (${name}, ${source}, ${key}) ${
        constantFragment(sql, desc ? '<' : '>')
      } (${cursor.v}, ${cursor.s}, ${cursor.k})`
      : noFragment(sql);
  // Each VM's sightings bound the captures it can be in (tested on the row the walk reads,
  // before the probe of the facts): a live VM is in none before its first sighting, a
  // deleted one in none after its last (vm_inventory_deleted carries it, migration 0071; its
  // first sighting is not kept current by late captures, its last is).
  const now = (table: string, seen: string) =>
    sql`select x.source_id, x.vm_key, x.name, ${constantFragment(sql, KNOWN_NOW)}, ${
      constantFragment(sql, seen)
    } from ${constantFragment(sql, table)} x`;
  const live = now('vm_inventory', 'x.first_seen_at as seen_from, null::timestamptz as seen_to');
  const gone = now(
    'vm_inventory_deleted',
    'null::timestamptz as seen_from, x.last_seen_at as seen_to',
  );
  const known = state === 'live'
    ? live
    : state === 'deleted'
    ? gone
    : sql`${live} union all ${gone}`;
  return sql`
    with c as materialized (
      select c.source_id, c.captured_at from (${capturesAsOf(sql, query.at!)}) c
      ${query.sourceId ? sql`where c.source_id = ${query.sourceId}` : noFragment(sql)}
    ), since as materialized (
      -- The VMs renamed or back since, each with its name then when the changes give it: the
      -- name before its first rename since (that change compares its observation before with
      -- the one after), unless it came back since (null: read from the facts).
      select c.source_id, c.captured_at, x.vm_key, x.name
      from c cross join lateral (
        -- One sort of them all (an ordered aggregate sorted each VM's changes by itself): a
        -- VM back since sorts first with its null name, else its first rename since.
        select distinct on (k.vm_key) k.vm_key, k.name
        from (
          select ch.vm_key, ch.at, ch.before ->> 'name' as name, false as back from vm_changes ch
          where ch.source_id = c.source_id and ch.kind = 'renamed' and ch.at > c.captured_at
          union all
          select e.vm_key, e.at, null, true from vm_events e
          where e.source_id = c.source_id and e.type = 'reappeared' and e.at > c.captured_at
        ) k
        order by k.vm_key, k.back desc, k.at
      ) x
    ), page as (
      -- Each VM walked is read from the facts as it is probed (one probe, not a probe for
      -- the walk and another for the page's rows).
      (select ${constantFragment(sql, PAGE_FACTS)}, lower(i.name) as sort_value,
         i.bios_uuid as kn_bios_uuid, i.instance_uuid as kn_instance_uuid,
         i.ip_addresses as kn_ip_addresses, i.tags as kn_tags, true as walked
       from (${known}) i
       cross join lateral (
         select f.* from c join vm_hourly_stats f
           on f.source_id = c.source_id and f.snapshot_time = c.captured_at and f.vm_key = i.vm_key
         where c.source_id = i.source_id
           and (i.seen_from is null or i.seen_from <= c.captured_at)
           and (i.seen_to is null or i.seen_to >= c.captured_at)
         -- Kept a probe per VM (pulled up into the walk, the join read whole captures).
         limit 1
       ) f
       -- A hashed subplan: a probe per VM walked (as an anti-join the planner scanned all of
       -- them for each VM walked, since being small but the walk limited).
       where (i.source_id, i.vm_key) not in (select r.source_id, r.vm_key from since r)
         -- VMs in none of the captures read (first seen after the newest, last seen before
         -- the oldest) are dropped as the walk reads them, before the probe's join: deleted
         -- VMs pile up with history, and a page walked past 90 of them for 51. Written here,
         -- not in the union's branches: a branch with a WHERE is not flattened into the walk
         -- and loses the name order (the page then sorted every VM).
         and (i.seen_from is null or i.seen_from <= (select max(c.captured_at) from c))
         and (i.seen_to is null or i.seen_to >= (select min(c.captured_at) from c))
         ${after(sql`lower(i.name)`, sql`i.source_id`, sql`i.vm_key`)}
       order by lower(i.name) ${direction}, i.source_id ${direction}, i.vm_key ${direction}
       limit ${walked})
      union all
      -- Those renamed or back since, in the order of their names then; each is read from
      -- the facts only when the page reaches it (offset 0 keeps that read above the sort).
      (select ${constantFragment(sql, PAGE_FACTS)}, r.sort_value,
         null::text, null::text, null::text[], null::text[], false
       from (
         select r.source_id, r.vm_key, lower(coalesce(r.name, b.name)) as sort_value, r.captured_at
         from since r
         left join lateral (
           select f.name from vm_hourly_stats f
           where r.name is null and f.source_id = r.source_id and f.snapshot_time = r.captured_at
             and f.vm_key = r.vm_key
           limit 1
         ) b on true
         where (r.name is not null or b.name is not null)
           ${after(sql`lower(coalesce(r.name, b.name))`, sql`r.source_id`, sql`r.vm_key`)}
         order by 3 ${direction}, 1 ${direction}, 2 ${direction}
         offset 0
       ) r
       cross join lateral (
         select f.* from vm_hourly_stats f
         where f.source_id = r.source_id and f.snapshot_time = r.captured_at and f.vm_key = r.vm_key
         limit 1
       ) f
       where true ${stateNowCondition(sql, query, constantFragment(sql, 'r'))}
       order by r.sort_value ${direction}, r.source_id ${direction}, r.vm_key ${direction}
       limit ${walked})
      order by sort_value ${direction}, source_id ${direction}, vm_key ${direction}
      limit ${limit}
    )
    select ${factColumns(sql, false)}, f.sort_value,
      ${constantFragment(sql, KNOWN_COLUMNS)}
    from page f
    -- The VM as known now: the walk read it; those renamed or back since are looked up.
    left join lateral (
      select ${constantFragment(sql, KNOWN_NOW)} from vm_inventory x
      where not f.walked and x.source_id = f.source_id and x.vm_key = f.vm_key
      union all
      select ${constantFragment(sql, KNOWN_NOW)} from vm_inventory_deleted x
      where not f.walked and x.source_id = f.source_id and x.vm_key = f.vm_key
      limit 1
    ) k on true`;
}

/** The sizes asOfByName's walks are limited to (a page of 50 or 100 needs 51 or 101 rows). */
const WALK_LIMITS = [11, 26, 51, 101, 251, 501, 1001];

/** The facts' columns a page row of asOfByName carries (those factColumns reads). */
const PAGE_FACTS = 'f.source_id, f.vm_key, f.source_vm_id, f.name, f.power_state, f.is_template, ' +
  'f.vcpu, f.ram_mb, f.provisioned_disk_gb, f.used_disk_gb, f.datacenter, f.cluster, f.host, ' +
  'f.resource_pool, f.folder, f.guest_os, f.snapshot_time';

/** The identity of a VM as known now (`x`), which the facts do not hold. */
const KNOWN_NOW = 'x.bios_uuid, x.instance_uuid, x.ip_addresses, x.tags';

/** That identity for a page row `f` of asOfByName: the walk's (`kn_…`) or, looked up, `k`'s. */
const KNOWN_COLUMNS = ['bios_uuid', 'instance_uuid', 'ip_addresses', 'tags'].map((c) =>
  `case when f.walked then f.kn_${c} else k.${c} end as k_${c}`
).join(', ');

/** Each source with the capture read from it as of `at` (none: nulls), in asOf order. */
function sourcesAsOf(sql: Sql, at: Date) {
  return sql`
    select s.id, s.name, c.capture_id, c.captured_at, c.complete
    from sources s left join (${capturesAsOf(sql, at)}) c on c.source_id = s.id
    order by s.name, s.id`;
}

/** Which capture each source was read from as of `at`, and which sources had none by then. */
export async function asOfCaptures(sql: Sql, at: Date): Promise<VmAsOf> {
  return toAsOf(at, await sourcesAsOf(sql, at));
}

/** The rows of sourcesAsOf as the answer's `asOf`. */
function toAsOf(at: Date, rows: readonly Row[]): VmAsOf {
  return {
    at: at.toISOString(),
    captures: rows.filter((r) => r.capture_id).map((r) => ({
      sourceId: r.id,
      sourceName: r.name,
      captureId: r.capture_id,
      capturedAt: new Date(r.captured_at).toISOString(),
      complete: r.complete,
    })),
    sourcesWithoutCapture: rows.filter((r) => !r.capture_id).map((r) => ({
      sourceId: r.id,
      sourceName: r.name,
    })),
  };
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

/** One cache per pool, whether asked through the pool or a route's handle (auth/scope.ts). */
function cacheFor(sql: Sql): GenerationCache {
  let cache = caches.get(poolOf(sql));
  if (!cache) caches.set(poolOf(sql), cache = new GenerationCache(MAX_CACHED_ROWS));
  return cache;
}

/** How often list answers were reused (hits) or read from the database (misses). */
export function vmListCacheStats(sql: Sql): { hits: number; misses: number } {
  const cache = caches.get(poolOf(sql));
  return { hits: cache?.hits ?? 0, misses: cache?.misses ?? 0 };
}

/** A page of the list; with `at`, which capture each source was read from. */
export type VmListPage = Page<VmListItem> & { asOf?: VmAsOf };

/** One page of VMs with the total matching count. The page is shared: do not modify it. */
export async function listVms(sql: Sql, query: VmListQuery): Promise<VmListPage> {
  const result = await sharedPage(sql, query, false);
  // The shared answer may have been read for another moment between the same captures.
  return result.asOf && query.at && result.asOf.at !== query.at.toISOString()
    ? { ...result, asOf: { ...result.asOf, at: query.at.toISOString() } }
    : result;
}

/** The UTF-8 bytes of shared answers, each written once however often it is sent. */
const jsonBodies = new WeakMap<VmJsonPage, Uint8Array<ArrayBuffer>>();
const utf8 = new TextEncoder();

/** A JSON page as listVms' answer serialized (the same keys in the same order). */
function jsonText(page: VmJsonPage): string {
  return `{"items":[${page.itemsJson}],"total":${JSON.stringify(page.total)},"next":${
    JSON.stringify(page.next)
  }${page.asOf ? `,"asOf":${JSON.stringify(page.asOf)}` : ''}}`;
}

/**
 * listVms' answer as the bytes of its JSON. Its items are written by PostgreSQL (a page of 50
 * is 37 kB of JSON: rows parsed into objects and serialized again took most of the node CPU
 * of a list read), and an answer reused from the cache is not encoded again. One read for
 * another moment between the same captures differs only in `asOf.at`.
 */
export async function listVmsJson(sql: Sql, query: VmListQuery): Promise<Uint8Array<ArrayBuffer>> {
  const result = await sharedPage(sql, query, true);
  if (result.asOf && query.at && result.asOf.at !== query.at.toISOString()) {
    return utf8.encode(
      jsonText({ ...result, asOf: { ...result.asOf, at: query.at.toISOString() } }),
    );
  }
  let body = jsonBodies.get(result);
  if (body === undefined) jsonBodies.set(result, body = utf8.encode(jsonText(result)));
  return body;
}

/** The answer to `query` as computed (or reused) for every caller: do not modify it. */
function sharedPage(sql: Sql, query: VmListQuery, json: false): Promise<VmListPage>;
function sharedPage(sql: Sql, query: VmListQuery, json: true): Promise<VmJsonPage>;
async function sharedPage(
  sql: Sql,
  query: VmListQuery,
  json: boolean,
): Promise<VmListPage | VmJsonPage> {
  const cache = cacheFor(sql);
  // The object and the JSON forms are kept apart: the API asks for JSON, pages and CSV objects.
  const form = json ? 'json' : 'page';
  // The first page of a selective search of the present is one statement, page and total:
  // never asked before, it also reads the generation (one round trip, not two), and its
  // answer is kept under the generation it was read at. Concurrent first askers each read.
  if (!query.at && !query.cursor && selectiveSearch(query.q)) {
    const { filters, page } = cacheKeys(query, null);
    const key = `${form}:${page}`;
    if (!cache.has(key)) {
      const out: GenerationOut = {};
      const count = (compute: () => Promise<number>) =>
        out.generation === undefined
          ? compute()
          : cache.get(out.generation, `count:${filters}`, compute, () => 1);
      if (json) {
        const result = await readPage(sql, query, count, true, out);
        cache.put(out.generation, key, result, result.itemCount);
        return result;
      }
      const result = await readPage(sql, query, count, false, out);
      cache.put(out.generation, key, result, result.items.length);
      return result;
    }
  }
  // As of a moment by name, the answer depends on the moment only through the capture read
  // from each source (and the `at` it echoes): keyed by those captures, every moment between
  // two captures shares one answer. They are read with the generation, in one statement.
  const byCaptures = asOfByNameQuery(query);
  const { generation, captures } = byCaptures
    ? await generationAndCaptures(sql, query.at!)
    : { generation: await inventoryGeneration(sql), captures: null };
  const { filters, page } = cacheKeys(query, byCaptures ? captures ?? 'none' : null);
  const read = <P extends { asOf?: VmAsOf }>(
    readOne: (count: (compute: () => Promise<number>) => Promise<number>) => Promise<P>,
  ) =>
  async () => {
    const count = (compute: () => Promise<number>) =>
      cache.get(generation, `count:${filters}`, compute, () => 1);
    // As of a moment by name, the page's statement also answers the total and which
    // captures were read (one round trip instead of three); otherwise those run beside it.
    if (query.at && asOfByNameQuery(query)) {
      const { asOf, ...result } = await readOne(count);
      return { ...result, asOf: asOf ?? await asOfCaptures(sql, query.at) } as P;
    }
    const [result, asOf] = await Promise.all([
      readOne(count),
      query.at ? asOfCaptures(sql, query.at) : undefined,
    ]);
    return asOf ? { ...result, asOf } : result;
  };
  return json
    ? cache.get(
      generation,
      `${form}:${page}`,
      read((count) => readPage(sql, query, count, true)),
      (result) => result.itemCount,
    )
    : cache.get(
      generation,
      `${form}:${page}`,
      read((count) => readPage(sql, query, count)),
      (result) => result.items.length,
    );
}

/**
 * The cache keys of a query: its filters (the total's key) and, with the sort and page, its
 * answer's. `captures`: as of a moment by name, the captures read (then not the moment).
 */
function cacheKeys(query: VmListQuery, captures: string | null) {
  const filters = JSON.stringify([
    query.q,
    query.state,
    captures !== null ? `captures:${captures}` : query.at?.toISOString(),
    query.sourceId,
    query.cluster,
    query.pool,
    query.host,
    query.folder,
    query.tag,
    query.datastore,
    query.guestFamily,
    query.powerState,
    query.template,
  ]);
  const page = `[${filters},${
    JSON.stringify([query.sort ?? 'name', query.order ?? 'asc', query.limit, query.cursor ?? null])
  }]`;
  return { filters, page };
}

/**
 * The inventory generation and, in the same snapshot, the capture each source is read from
 * as of `at` (`source:capture` listed by source; null: none by then).
 */
async function generationAndCaptures(sql: Sql, at: Date) {
  const [row] = await sql`
    select (select coalesce(sum(generation), 0)::float8 from sources) as generation,
      (select string_agg(c.source_id || ':' || c.capture_id, ',' order by c.source_id)
       from (${capturesAsOf(sql, at)}) c) as captures`;
  return { generation: row.generation as number, captures: row.captures as string | null };
}

/**
 * Up to this many matching rows, a page is chosen by finding the matches and sorting them
 * (a top-N sort of 10,000 rows takes a few ms), not by walking the sort index.
 */
const FENCE_ROWS = 10_000;

/** Whether the list is the estate as of a moment by name with no filter but state and source. */
function asOfByNameQuery(query: VmListQuery): boolean {
  return !!query.at && (query.sort ?? 'name') === 'name' && onlyStateAndSource(query);
}

/** The number of VMs as of `at` (of one source): the captures' VM counts, see readPage. */
function asOfTotal(sql: Sql, at: Date, sourceId: number | undefined) {
  return sql`
    select coalesce(sum(k.vm_count), 0)::int as count
    from (${capturesAsOf(sql, at)}) c
    join captures k on k.capture_id = c.capture_id
    where exists (
      select 1 from vm_hourly_stats f
      where f.source_id = c.source_id and f.snapshot_time = c.captured_at)
    ${sourceId ? sql`and c.source_id = ${sourceId}` : noFragment(sql)}`;
}

/**
 * A time as the API answers it (Date.toISOString's form: UTC, milliseconds), made by
 * PostgreSQL: a Date parsed from each timestamp and printed again took most of the node
 * CPU of a page. Like that Date, it drops digits below the millisecond.
 */
const iso = (column: string) =>
  `to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/**
 * A page row's last sighting, from its lifecycle's base row `l` and its source `s` as the
 * vm_lifecycle view computes it (migration 0006): the page joins the base table, whose rows'
 * source is joined once for the page, not again for each row inside the view (a fifth of the
 * buffers a page of 100 found by a name search read).
 */
const LAST_SEEN = 'case when l.in_newest_capture then s.last_capture_at else l.last_seen_at end';

/** The columns of a page row that toItem reads (times as iso text), written once. */
const NOW_COLUMNS = {
  bios: 'p.bios_uuid',
  instance: 'p.instance_uuid',
  ips: 'p.ip_addresses',
  tags: 'p.tags',
  created: 'p.created_at',
  firstSeen: 'p.first_seen_at',
};
const PAGE_COLUMNS = pageColumns(NOW_COLUMNS);

/**
 * The deleted VMs now: their rows carry their lifecycle's last sighting and deletion
 * (migration 0071, written by ingest_apply_capture), so the page joins no lifecycle.
 */
const DELETED_PAGE_COLUMNS = pageColumns(NOW_COLUMNS, 'p');

/**
 * As of a past moment the rows are facts: UUIDs, addresses and tags are the VM's as known now
 * (`k`), and creation and first sighting its lifecycle's (`l`) when it has one. Chosen here,
 * not in toItem, so that a row carries each once.
 */
const AS_OF_PAGE_COLUMNS = pageColumns({
  bios: 'coalesce(k.bios_uuid, p.bios_uuid)',
  instance: 'coalesce(k.instance_uuid, p.instance_uuid)',
  ips: 'coalesce(k.ip_addresses, p.ip_addresses)',
  tags: 'coalesce(k.tags, p.tags)',
  created: 'case when l.first_seen_at is not null then l.created_at else p.created_at end',
  firstSeen: 'coalesce(l.first_seen_at, p.first_seen_at)',
});

/** As AS_OF_PAGE_COLUMNS, of asOfByName's rows, which carry the VM as known now (`k_…`). */
const AS_OF_BY_NAME_PAGE_COLUMNS = pageColumns({
  bios: 'coalesce(p.k_bios_uuid, p.bios_uuid)',
  instance: 'coalesce(p.k_instance_uuid, p.instance_uuid)',
  ips: 'coalesce(p.k_ip_addresses, p.ip_addresses)',
  tags: 'coalesce(p.k_tags, p.tags)',
  created: 'case when l.first_seen_at is not null then l.created_at else p.created_at end',
  firstSeen: 'coalesce(l.first_seen_at, p.first_seen_at)',
});

/** The page's columns: `c` as chosen above; last sighting and deletion from `lifecycle`'s row. */
function pageColumns(
  c: Record<'bios' | 'instance' | 'ips' | 'tags' | 'created' | 'firstSeen', string>,
  lifecycle = 'l',
) {
  return 'p.source_id, p.vm_key, p.source_vm_id, p.name, p.power_state, p.is_template, p.vcpu, ' +
    'p.ram_mb, p.provisioned_disk_gb, p.used_disk_gb, p.datacenter, p.cluster, p.host, ' +
    'p.resource_pool, p.folder, p.guest_os, p.sort_value, ' +
    `${c.bios} as bios_uuid, ${c.instance} as instance_uuid, ${c.ips} as ip_addresses, ` +
    `${c.tags} as tags, ${iso(c.created)} as created_at, ${iso(c.firstSeen)} as first_seen_at, ` +
    `${iso('p.state_at')} as state_at, s.name as source_name, s.kind as source_kind, ` +
    `${iso(lifecycle === 'l' ? LAST_SEEN : `${lifecycle}.last_seen_at`)} as last_seen_at, ` +
    `${iso(`${lifecycle}.deleted_at`)} as deleted_at, ${lifecycle}.deleted_from`;
}

/**
 * An item of the list as JSON, built by PostgreSQL from a page row `p` (PAGE_COLUMNS' names):
 * the keys, order and values of toItem's object as JSON.stringify writes it (row_to_json is
 * compact; numeric(16,3) as float8 prints as Number() of its text does).
 */
const ITEM_JSON = `(select row_to_json(j)::text from (select p.vm_key as "key",
  p.source_id as "sourceId", p.source_name as "sourceName", p.source_kind as "sourceKind",
  p.source_vm_id as "sourceVmId", p.name as "name", p.power_state as "powerState",
  p.is_template as "isTemplate", p.vcpu as "vcpu", p.ram_mb as "memoryMib",
  p.provisioned_disk_gb::float8 as "provisionedDiskGib", p.used_disk_gb::float8 as "usedDiskGib",
  p.ram_mb as "ramMb", p.provisioned_disk_gb::float8 as "provisionedDiskGb",
  p.used_disk_gb::float8 as "usedDiskGb", p.datacenter as "datacenter", p.cluster as "cluster",
  p.host as "host", p.resource_pool as "resourcePool", p.folder as "folder",
  p.guest_os as "guestOs", p.ip_addresses as "ipAddresses", p.tags as "tags",
  p.bios_uuid as "biosUuid", p.instance_uuid as "instanceUuid", p.created_at as "createdAt",
  p.first_seen_at as "firstSeenAt", p.last_seen_at as "lastSeenAt", p.state_at as "stateAt",
  case when p.deleted_at is not null then 'deleted' else 'live' end as "state",
  p.deleted_at as "deletedAt", p.deleted_from as "deletedFrom") j) as item`;

/** A page whose items are JSON text (an array's elements, comma-separated), see ITEM_JSON. */
export type VmJsonPage = {
  itemsJson: string;
  itemCount: number;
  total: number;
  next: string | null;
  asOf?: VmAsOf;
};

/** Filled by readPage when asked: the inventory generation its page statement read. */
type GenerationOut = { generation?: number };

async function readPage(
  sql: Sql,
  query: VmListQuery,
  cachedCount: (count: () => Promise<number>) => Promise<number>,
  json?: false,
  out?: GenerationOut,
): Promise<Page<VmListItem> & { asOf?: VmAsOf }>;
async function readPage(
  sql: Sql,
  query: VmListQuery,
  cachedCount: (count: () => Promise<number>) => Promise<number>,
  json: true,
  out?: GenerationOut,
): Promise<VmJsonPage>;
async function readPage(
  sql: Sql,
  query: VmListQuery,
  cachedCount: (count: () => Promise<number>) => Promise<number>,
  json = false,
  out?: GenerationOut,
): Promise<(Page<VmListItem> & { asOf?: VmAsOf }) | VmJsonPage> {
  const sort = query.sort ?? 'name';
  const desc = query.order === 'desc';
  const expr = constantFragment(sql, SORT_SQL[sort]);
  const cursor = query.cursor ? decodeVmCursor(query.cursor, sort) : null;
  const { q, at } = query;
  const rows = vmRows(sql, query);
  const where = sql`
    where true
    ${q ? searchCondition(sql, q, at) : noFragment(sql)}
    ${stateNowCondition(sql, query)}
    ${query.sourceId ? sql`and i.source_id = ${query.sourceId}` : noFragment(sql)}
    ${query.cluster ? sql`and i.cluster = ${query.cluster}` : noFragment(sql)}
    ${query.pool ? sql`and i.resource_pool = ${query.pool}` : noFragment(sql)}
    ${query.host ? sql`and i.host = ${query.host}` : noFragment(sql)}
    ${
    query.folder
      ? sql`and (i.folder = ${query.folder} or starts_with(i.folder, ${`${query.folder}/`}))`
      : noFragment(sql)
  }
    ${query.tag ? tagCondition(sql, query.tag, at) : noFragment(sql)}
    ${query.datastore ? datastoreCondition(sql, query.datastore, at) : noFragment(sql)}
    ${query.guestFamily ? guestFamilyCondition(sql, query.guestFamily) : noFragment(sql)}
    ${query.powerState ? sql`and i.power_state = ${query.powerState}` : noFragment(sql)}
    ${query.template !== undefined ? sql`and i.is_template = ${query.template}` : noFragment(sql)}`;
  // The exact total comes first (kept for the list's other pages), and it chooses how the
  // page is found. An IP or UUID matches a handful of rows and a name fragment of four or
  // more characters a few thousand at most; any filters matching at most FENCE_ROWS rows
  // are found the same way: the fence (offset 0) makes PostgreSQL find them by their index
  // first and sort those. Walking a sort index hoping to meet them is fast only when the
  // matches are many and spread along it: filters correlated with the sort (a cluster lies
  // in one source, sorted by power then source) walked 50,000 rows for 58 (131 ms against
  // 4 ms for cluster + pool sorted by first sighting). Without a selective search, many
  // matches are met soon along the sort index.
  const search = selectiveSearch(q);
  // A short name fragment matches none or a fifth of the rows, found by its trigram or not
  // at all ("db" has none): its statements are planned with its value every time (planning.ts).
  const valued = <Q extends object>(query: Q) => q && !search ? plannedWithValues(query) : query;
  // The first page of such a search finds its matches once, for the page and the total.
  const onePass = search && !cursor && !(at && sort === 'name');
  // As of a moment by name with no filter but the state and source: the page is walked along
  // the names (asOfByName), and the total of all VMs then is the captures' VM counts (ingest
  // writes a fact for each VM it counts), of those whose facts retention has not dropped.
  const byNameAsOf = asOfByNameQuery(query);
  // That total is read by the page's statement (with the captures read, see listVms).
  const totalWithPage = byNameAsOf && (query.state ?? 'all') === 'all';
  const direction = constantFragment(sql, desc ? 'desc' : 'asc');
  const after = cursor
    ? sql`and (${expr}, i.source_id, i.vm_key) ${constantFragment(sql, desc ? '<' : '>')} (${
      cursorValue(sql, sort, cursor.v)
    }, ${cursor.s}, ${cursor.k})`
    : noFragment(sql);
  const limit = query.limit + 1;
  /**
   * The page's statement, its matches found first and sorted (`exact`) or met along the sort.
   * `capped`: exact, with the number of matches (`matches`) among the first FENCE_ROWS + 1.
   */
  const statement = (exact: boolean, capped: boolean) => {
    const counted = onePass || capped;
    // The page is chosen from the VM rows alone (an index walk for the default sort), and
    // only its rows are joined: joining first would hash all 100,000 rows on every request.
    let chosen = sort === 'source' && !exact && !query.cluster && !query.pool
      // By source: sources in name order, each contributing at most a page from its primary
      // key, so the first pages never sort the whole inventory (1 ms against 40 ms). Cluster
      // and pool filters are selective enough for their index and a sort of what they match.
      ? sql`
          select i.*, src.name as sort_value
          from (
            select id, name from sources src
            ${
        cursor
          ? sql`where (src.name, src.id) ${
            constantFragment(sql, desc ? '<=' : '>=')
          } (${cursor.v}, ${cursor.s})`
          : noFragment(sql)
      }
            order by name ${direction}, id ${direction}
          ) src
          cross join lateral (
            select i.* from ${rows} i ${where} and i.source_id = src.id
            ${
        cursor
          ? (desc
            ? sql`and (src.id <> ${cursor.s} or i.vm_key < ${cursor.k})`
            : sql`and i.vm_key > (case when src.id = ${cursor.s} then ${cursor.k} else '' end)`)
          : noFragment(sql)
      }
            order by i.vm_key ${direction}
            limit ${limit}
          ) i
          order by src.name ${direction}, src.id ${direction}, i.vm_key ${direction}
          limit ${limit}`
      : sql`
          select i.*, ${expr} as sort_value ${
        counted ? sql`, (count(*) over ())::int as matches` : noFragment(sql)
      }
          from ${exact ? sql`(select * from ${rows} i ${where} offset 0) i` : sql`${rows} i`}
          ${sort === 'source' ? sql`join sources src on src.id = i.source_id` : noFragment(sql)}
          ${exact ? sql`where true` : where}
          ${after}
          order by ${expr} ${direction}, i.source_id ${direction}, i.vm_key ${direction}
          limit ${limit}`;
    if (byNameAsOf) chosen = asOfByName(sql, query, cursor, limit);
    else if (exact && !at) {
      // The matches are found and sorted by their keys and sort values only, and just the
      // page's rows are read whole: an index that holds those columns (cluster and pool's
      // does) answers the sort without visiting each match's row. A search visits each
      // match's row anyway (its index is lossy, or an array's): of one table, the page's rows
      // are then read again at their tuple's address (one buffer each), not through an
      // index (four). Within the statement's snapshot that address is the same row version.
      const byTid = !!q && (query.state ?? 'live') !== 'all';
      chosen = sql`
        select i.*, m.sort_value ${counted ? sql`, m.matches` : noFragment(sql)}
        from (
          select m.source_id, m.vm_key, m.sort_value ${byTid ? sql`, m.tid` : noFragment(sql)} ${
        counted ? sql`, (count(*) over ())::int as matches` : noFragment(sql)
      }
          from (
            select i.source_id, i.vm_key, ${expr} as sort_value ${
        byTid ? sql`, i.ctid as tid` : noFragment(sql)
      } from ${rows} i
            ${sort === 'source' ? sql`join sources src on src.id = i.source_id` : noFragment(sql)}
            ${where} ${capped ? sql`limit ${FENCE_ROWS + 1}` : constantFragment(sql, 'offset 0')}
          ) m
          ${
        cursor
          ? sql`where (m.sort_value, m.source_id, m.vm_key) ${
            constantFragment(sql, desc ? '<' : '>')
          } (${cursorValue(sql, sort, cursor.v)}, ${cursor.s}, ${cursor.k})`
          : noFragment(sql)
      }
          order by m.sort_value ${direction}, m.source_id ${direction}, m.vm_key ${direction}
          limit ${limit}
        ) m
        cross join lateral (
          select * from ${rows} i where ${
        byTid ? sql`i.ctid = m.tid` : sql`i.source_id = m.source_id and i.vm_key = m.vm_key`
      } limit 1
        ) i`;
    }
    const known = at && !byNameAsOf
      ? sql`left join lateral (
          select x.bios_uuid, x.instance_uuid, x.ip_addresses, x.tags from vm_inventory x
          where x.source_id = p.source_id and x.vm_key = p.vm_key
          union all
          select x.bios_uuid, x.instance_uuid, x.ip_addresses, x.tags from vm_inventory_deleted x
          where x.source_id = p.source_id and x.vm_key = p.vm_key
          limit 1) k on true`
      : noFragment(sql);
    // Uncorrelated, each computed once for the statement; as text, which the first row's is
    // parsed from (as json, each row's copy would be parsed).
    const extras = byNameAsOf
      ? sql`, (select json_agg(a)::text from (${sourcesAsOf(sql, at!)}) a) as as_of ${
        totalWithPage ? sql`, (${asOfTotal(sql, at!, query.sourceId)}) as matches` : noFragment(sql)
      }`
      : noFragment(sql);
    // Uncorrelated too: the generation in the page's own snapshot, see sharedPage.
    const generation = out
      ? sql`, (select coalesce(sum(generation), 0)::float8 from sources) as generation`
      : noFragment(sql);
    const order =
      sql`order by p.sort_value ${direction}, p.source_id ${direction}, p.vm_key ${direction}`;
    // The deleted VMs now carry their lifecycle's columns the page needs (migration 0071).
    const deletedNow = !at && query.state === 'deleted';
    const rowsRead = sql`
        select ${
      constantFragment(
        sql,
        byNameAsOf
          ? AS_OF_BY_NAME_PAGE_COLUMNS
          : at
          ? AS_OF_PAGE_COLUMNS
          : deletedNow
          ? DELETED_PAGE_COLUMNS
          : PAGE_COLUMNS,
      )
    } ${counted ? sql`, p.matches` : noFragment(sql)} ${extras} ${generation}
        from (${chosen}) p
        join sources s on s.id = p.source_id
        ${
      deletedNow ? noFragment(sql) : sql`
        -- By key for each of the page's rows (limit 1 keeps it a lateral probe): joined as a
        -- set, the planner may hash the whole lifecycle for a page of 50.
        cross join lateral (
          select l.* from vm_lifecycle_base l where l.source_id = p.source_id and l.vm_key = p.vm_key
          limit 1
        ) l`
    }
        ${known}
        ${order}`;
    // As JSON, each row is only its item's text and what the cursor, total and asOf need: no
    // row of 30 columns parsed, object built and serialized again in node.
    return valued(
      json
        ? sql<(Row & SortRow)[]>`
        select p.sort_value, p.source_id, p.vm_key ${
          counted ? sql`, p.matches` : noFragment(sql)
        } ${
          byNameAsOf
            ? sql`, p.as_of ${totalWithPage ? sql`, p.matches` : noFragment(sql)}`
            : noFragment(sql)
        } ${out ? sql`, p.generation` : noFragment(sql)}, ${constantFragment(sql, ITEM_JSON)}
        from (${rowsRead}) p
        ${order}`
        : rowsRead as unknown as Promise<(Row & SortRow)[]>,
    );
  };
  // A short name search of the present (no index finds its matches alone), first page, its
  // total not known yet: its matches are found once for the page and the total when they are
  // at most FENCE_ROWS (with a source and a power state, 385 of 100,000: two reads of them
  // were most of such a query's time); reading one more than that says they are more, and
  // then the total is counted and the page found by it, as before.
  const capped = !!q && !search && !cursor && !at;
  const firstPass: { rows?: (Row & SortRow)[] } = {};
  let count = onePass || totalWithPage ? 0 : await cachedCount(async () => {
    if (capped) {
      const found = await statement(true, true);
      const matches = (found[0]?.matches ?? 0) as number;
      if (matches <= FENCE_ROWS) {
        firstPass.rows = found;
        return matches;
      }
    }
    return (await valued(sql`select count(*)::int as count from ${rows} i ${where}`))[0]
      .count as number;
  });
  const exact = search || count <= FENCE_ROWS;
  const page = firstPass.rows ?? await statement(exact, false);
  if (out && page.length) out.generation = page[0].generation as number;
  if (onePass) count = await cachedCount(() => Promise.resolve(page[0]?.matches ?? 0));
  if (totalWithPage) {
    // An empty page carries no total: then it is read by itself.
    count = await cachedCount(async () =>
      page.length
        ? page[0].matches as number
        : (await asOfTotal(sql, at!, query.sourceId))[0].count as number
    );
  }
  const key = (r: Row & SortRow) => ({
    v: cursorSortValue(r.sort_value),
    s: r.source_id,
    k: r.vm_key,
  });
  const asOf = page.length && byNameAsOf ? toAsOf(at!, JSON.parse(page[0].as_of)) : undefined;
  if (json) {
    const rows = page.slice(0, query.limit);
    const result: VmJsonPage = {
      itemsJson: rows.map((r) => r.item as string).join(','),
      itemCount: rows.length,
      total: count,
      next: page.length > query.limit ? encodeCursor(key(rows.at(-1)!)) : null,
    };
    return asOf ? { ...result, asOf } : result;
  }
  const result = keysetPage(page, count, query.limit, toItem, key);
  return asOf ? { ...result, asOf } : result;
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
    createdAt: r.created_at ? isoText(r.created_at) : null,
    firstSeenAt: isoText(r.first_seen_at),
    lastSeenAt: isoText(r.last_seen_at),
    stateAt: isoText(r.state_at),
    state: r.deleted_at ? 'deleted' : 'live',
    deletedAt: r.deleted_at ? isoText(r.deleted_at) : null,
    deletedFrom: r.deleted_from ?? null,
  };
}

/** A time read as iso text (the list's pages) or as a Date (other readers' rows) → ISO text. */
function isoText(t: string | Date): string {
  return typeof t === 'string' ? t : t.toISOString();
}

/**
 * An answer about the whole live inventory (fleet totals, VMs per source), reused while the
 * inventory generation is unchanged, as the list's answers are: every open dashboard asks
 * for it again after each capture, and concurrent askers share one read.
 */
export async function inventoryAnswer<T>(
  sql: Sql,
  key: `fleet:${string}`,
  compute: () => Promise<T>,
): Promise<T> {
  return cacheFor(sql).get(await inventoryGeneration(sql), key, compute, () => 1);
}

/** Fleet totals of the live inventory (templates excluded from sizing). Shared: do not modify. */
export function fleetSummary(sql: Sql) {
  return inventoryAnswer(sql, 'fleet:summary', () => readFleetSummary(sql));
}

async function readFleetSummary(sql: Sql) {
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
