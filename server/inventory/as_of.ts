/**
 * The VM list as of a past moment: which capture each source is read from, its facts as list
 * rows, a page by name walked without reading whole captures, and the number of VMs then.
 * Data access only: handed a `sql`, knows nothing of HTTP.
 */
import type { Row } from 'postgres';
import type { Sql } from '../db/connect.ts';
import { constantFragment, type Fragment, noFragment } from '../db/fragments.ts';
import { onlyStateAndSource, type VmAsOf, type VmListQuery } from './list_query.ts';

/**
 * The capture each source is read from as of `at`: its newest complete capture by then (an
 * incomplete one may leave VMs out), or its newest if it has no complete one. One probe of
 * an index per source, whatever the length of the history (a DISTINCT ON over every capture
 * before `at` grew with it).
 */
export function capturesAsOf(sql: Sql, at: Date) {
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
export function factColumns(sql: Sql, lifecycle: boolean) {
  return sql`f.source_id, f.vm_key, f.source_vm_id, null::text as bios_uuid, null::text as instance_uuid,
    f.name, f.power_state, f.is_template, f.vcpu, f.ram_mb, f.provisioned_disk_gb, f.used_disk_gb,
    f.datacenter, f.cluster, f.host, f.resource_pool, f.folder, f.guest_os, '{}'::text[] as ip_addresses,
    '{}'::text[] as tags, ${
    lifecycle
      ? sql`l.created_at, l.first_seen_at`
      : sql`null::timestamptz as created_at, null::timestamptz as first_seen_at`
  }, f.snapshot_time as state_at`;
}

/** With `at`, which of the VMs then: those live now, those deleted since, or all. */
export function stateNowCondition(
  sql: Sql,
  query: VmListQuery,
  i: Fragment = constantFragment(sql, 'i'),
) {
  if (!query.at || (query.state ?? 'all') === 'all') return noFragment(sql);
  const table = constantFragment(
    sql,
    query.state === 'live' ? 'vm_inventory' : 'vm_inventory_deleted',
  );
  return sql`and exists (select 1 from ${table} x where x.source_id = ${i}.source_id and x.vm_key = ${i}.vm_key)`;
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
export function asOfByName(
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

/**
 * Each source with the capture read from it as of `at` (none: nulls), in asOf order, and the
 * newest capture by then when that one was passed over (incomplete: read, it may leave VMs out).
 */
export function sourcesAsOf(sql: Sql, at: Date) {
  return sql`
    select s.id, s.name, c.capture_id, c.captured_at, c.complete, p.captured_at as passed_over_at
    from sources s left join (${capturesAsOf(sql, at)}) c on c.source_id = s.id
    ${passedOver(sql, at)}
    order by s.name, s.id`;
}

/**
 * `p`: the newest capture of `c`'s source by `at`, when newer than `c` (the capture read):
 * an incomplete one passed over. Joined where the answer is described, not in the walk.
 */
function passedOver(sql: Sql, at: Date) {
  return sql`left join lateral (
      select k.capture_id, k.captured_at from captures k
      where k.source_id = c.source_id and k.captured_at > c.captured_at and k.captured_at <= ${at}
      order by k.captured_at desc limit 1
    ) p on true`;
}

/** Which capture each source was read from as of `at`, and which sources had none by then. */
export async function asOfCaptures(sql: Sql, at: Date): Promise<VmAsOf> {
  return toAsOf(at, await sourcesAsOf(sql, at));
}

/** The rows of sourcesAsOf as the answer's `asOf`. */
export function toAsOf(at: Date, rows: readonly Row[]): VmAsOf {
  return {
    at: at.toISOString(),
    captures: rows.filter((r) => r.capture_id).map((r) => ({
      sourceId: r.id,
      sourceName: r.name,
      captureId: r.capture_id,
      capturedAt: new Date(r.captured_at).toISOString(),
      complete: r.complete,
      passedOverAt: r.passed_over_at ? new Date(r.passed_over_at).toISOString() : null,
    })),
    sourcesWithoutCapture: rows.filter((r) => !r.capture_id).map((r) => ({
      sourceId: r.id,
      sourceName: r.name,
    })),
  };
}

/**
 * The inventory generation and, in the same snapshot, the capture each source is read from
 * as of `at` with the newer one passed over, if any (`source:capture[:passed]` listed by
 * source; null: none by then): what an answer as of `at` depends on.
 */
export async function generationAndCaptures(sql: Sql, at: Date) {
  const [row] = await sql`
    select (select coalesce(sum(generation), 0)::float8 from sources) as generation,
      (select string_agg(c.source_id || ':' || c.capture_id || coalesce(':' || p.capture_id, ''),
         ',' order by c.source_id)
       from (${capturesAsOf(sql, at)}) c ${passedOver(sql, at)}) as captures`;
  return { generation: row.generation as number, captures: row.captures as string | null };
}

/** Whether the list is the estate as of a moment by name with no filter but state and source. */
export function asOfByNameQuery(query: VmListQuery): boolean {
  return !!query.at && (query.sort ?? 'name') === 'name' && onlyStateAndSource(query);
}

/** The number of VMs as of `at` (of one source): the captures' VM counts, see readPage. */
export function asOfTotal(sql: Sql, at: Date, sourceId: number | undefined) {
  return sql`
    select coalesce(sum(k.vm_count), 0)::int as count
    from (${capturesAsOf(sql, at)}) c
    join captures k on k.capture_id = c.capture_id
    where exists (
      select 1 from vm_hourly_stats f
      where f.source_id = c.source_id and f.snapshot_time = c.captured_at)
    ${sourceId ? sql`and c.source_id = ${sourceId}` : noFragment(sql)}`;
}
