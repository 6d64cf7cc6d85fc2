/**
 * Changes between two dates: what was created, deleted, reappeared, resized, moved, renamed
 * or powered on/off in [from, to), one list in (time, source, VM, kind) order with keyset
 * paging, and a summary (counts per kind, net growth). Data access only.
 *
 * Where each kind comes from (migration 0042):
 *  - resized, moved, renamed, power: `vm_changes`, written by ingest (each VM's observation
 *    against its previous one; a late capture recomputes around itself from the facts);
 *  - created: `vm_lifecycle_base` at the creation time the source or its events gave, else
 *    the first sighting (`createdFrom` says which), sized by the VM's first fact (kept in
 *    `first_*` by ingest, migration 0047: no lookup into the facts);
 *  - deleted: `vm_lifecycle_base.deleted_at` (event or absence), sized by the VM's facts at
 *    its last sighting (`last_*`), plus deletions a reappearance ended (`vm_changes`, kind
 *    deleted);
 *  - reappeared: `vm_events`, sized by the VM's facts at that capture.
 *
 * Net growth = created + reappeared − deleted (VMs and their sizes) + every resize's
 * after − before. Templates count like VMs. The summary reads no documents: what a stored
 * row adds is in its generated `*_delta` columns (migration 0048).
 */
import { z } from 'zod';
import type { Sql } from '../db/connect.ts';
import { decodeCursor, encodeCursor, IntKey } from '../cursor.ts';

export const CHANGE_KINDS = [
  'created',
  'deleted',
  'reappeared',
  'resized',
  'moved',
  'renamed',
  'power',
] as const;
export type ChangeKind = (typeof CHANGE_KINDS)[number];

/** Where the next page starts: the last row's time, source, VM key and kind. */
export const ChangeCursor = z.object({
  t: z.iso.datetime(),
  s: IntKey,
  k: z.string().max(2000).refine((s) => !s.includes('\0')),
  c: z.enum(CHANGE_KINDS),
});

const Group = z.record(z.string(), z.union([z.string(), z.number(), z.null()]));

export const ChangeItem = z.object({
  at: z.iso.datetime({ offset: true }),
  kind: z.enum(CHANGE_KINDS),
  sourceId: z.number().int(),
  sourceName: z.string(),
  vmKey: z.string(),
  vmName: z.string(),
  before: Group.nullable().describe(
    'the changed group before (resized: vcpu, memoryMib, provisionedDiskGib; moved: host, cluster, resourcePool, folder; renamed: name; power: powerState); deleted: last known size',
  ),
  after: Group.nullable().describe('the group after; created and reappeared: the size seen then'),
  detail: z.string().nullable().describe(
    'created: source | event | firstSeen (the time is the first sighting); deleted: event | absence',
  ),
});
export type ChangeItem = z.infer<typeof ChangeItem>;

export const ChangeSummary = z.object({
  counts: z.object(
    Object.fromEntries(CHANGE_KINDS.map((k) => [k, z.number().int()])) as {
      [K in ChangeKind]: z.ZodNumber;
    },
  ),
  net: z.object({
    vms: z.number().int(),
    vcpu: z.number().int(),
    memoryMib: z.number().int(),
    provisionedDiskGib: z.number(),
  }).describe('net growth: created + reappeared − deleted, and every resize'),
});
export type ChangeSummary = z.infer<typeof ChangeSummary>;

export type ChangeQuery = {
  from: Date;
  to: Date;
  sourceId?: number;
  /** One VM's changes (of `sourceId`, which it needs): its page's life, an auditor's question. */
  vmKey?: string;
  kinds: readonly ChangeKind[];
  limit: number;
  cursor?: string;
};

type Row = {
  at: Date;
  kind: ChangeKind;
  source_id: number;
  source_name: string;
  vm_key: string;
  vm_name: string | null;
  before: Record<string, string | number | null> | null;
  after: Record<string, string | number | null> | null;
  detail: string | null;
};

/**
 * The condition on a branch's table `t` (an alias): its source, and with a VM, that VM too
 * (every table read is keyed by source and VM first, so one VM's changes are an index range,
 * whatever the time range).
 */
function sourceAndVm(sql: Sql, q: Pick<ChangeQuery, 'sourceId' | 'vmKey'>, t: string) {
  if (!q.sourceId) return sql``;
  const source = sql`and ${sql(`${t}.source_id`)} = ${q.sourceId}`;
  if (q.vmKey === undefined) return source;
  return sql`${source} and ${sql(`${t}.vm_key`)} = ${q.vmKey}`;
}

/** One page of the changes in [from, to), in (time, source, VM, kind) order. */
export async function listChanges(
  sql: Sql,
  q: ChangeQuery,
): Promise<{ items: ChangeItem[]; next: string | null }> {
  const after = q.cursor ? decodeCursor(ChangeCursor, q.cursor) : null;
  const c = after
    ? { t: new Date(after.t), s: after.s, k: after.k, c: after.c }
    : { t: q.from, s: 0, k: '', c: '' };
  // The stored kinds' lower bound as one key: `at >= from` and the cursor together (a row's
  // source id is at least 1). A separate `at >= from` made the generic plan (a prepared
  // statement's, from its sixth run) read and sort every row in the range for 101.
  const low = c.t.getTime() >= q.from.getTime() ? c : { t: q.from, s: 0, k: '', c: '' };
  const n = q.limit + 1;
  const src = (t: string) => sourceAndVm(sql, q, t);
  const has = (k: ChangeKind) => q.kinds.includes(k);
  const stored = q.kinds.filter((k) => k !== 'created' && k !== 'reappeared');
  const branches = [];
  if (stored.length) {
    branches.push(
      sql`(select x.at, x.kind, x.source_id, x.vm_key, x.before, x.after, x.detail, false as lc
      from vm_changes x
      where x.at < ${q.to} ${src('x')} and x.kind = any(${stored})
        and (x.at, x.source_id, x.vm_key, x.kind) > (${low.t}, ${low.s}, ${low.k}, ${low.c})
      order by x.at, x.source_id, x.vm_key, x.kind limit ${n})`,
    );
  }
  if (has('created')) {
    branches.push(
      sql`(select coalesce(l.created_at, l.first_seen_at) as at, 'created'::text as kind, l.source_id,
        l.vm_key, null::jsonb as before, null::jsonb as after, null::text as detail, true as lc
      from vm_lifecycle_base l
      where coalesce(l.created_at, l.first_seen_at) >= ${q.from} and coalesce(l.created_at, l.first_seen_at) < ${q.to}
        ${src('l')}
        and (coalesce(l.created_at, l.first_seen_at), l.source_id, l.vm_key) >= (${c.t}, ${c.s}, ${c.k})
        and (coalesce(l.created_at, l.first_seen_at), l.source_id, l.vm_key, 'created'::text) > (${c.t}, ${c.s}, ${c.k}, ${c.c})
      order by coalesce(l.created_at, l.first_seen_at), l.source_id, l.vm_key limit ${n})`,
    );
  }
  if (has('deleted')) {
    branches.push(sql`(select l.deleted_at as at, 'deleted'::text as kind, l.source_id, l.vm_key,
        null::jsonb as before, null::jsonb as after, null::text as detail, true as lc
      from vm_lifecycle_base l
      where l.deleted_at >= ${q.from} and l.deleted_at < ${q.to} ${src('l')}
        and (l.deleted_at, l.source_id, l.vm_key) >= (${c.t}, ${c.s}, ${c.k})
        and (l.deleted_at, l.source_id, l.vm_key, 'deleted'::text) > (${c.t}, ${c.s}, ${c.k}, ${c.c})
      order by l.deleted_at, l.source_id, l.vm_key limit ${n})`);
  }
  if (has('reappeared')) {
    branches.push(
      sql`(select e.at, 'reappeared'::text as kind, e.source_id, e.vm_key, null::jsonb as before,
        case when f.vm_key is null then null else jsonb_build_object('vcpu', f.vcpu,
          'memoryMib', f.ram_mb, 'provisionedDiskGib', f.provisioned_disk_gb) end as after,
        null::text as detail, false as lc
      from vm_events e
      left join vm_hourly_stats f on f.source_id = e.source_id and f.snapshot_time = e.at and f.vm_key = e.vm_key
      where e.type = 'reappeared' and e.at >= ${q.from} and e.at < ${q.to} ${src('e')}
        and (e.at, e.source_id, e.vm_key) >= (${c.t}, ${c.s}, ${c.k})
        and (e.at, e.source_id, e.vm_key, 'reappeared'::text) > (${c.t}, ${c.s}, ${c.k}, ${c.c})
      order by e.at, e.source_id, e.vm_key limit ${n})`,
    );
  }
  const rows: Row[] = branches.length
    ? await sql`select /* vmledger:changes */ u.at, u.kind, u.source_id, u.vm_key,
          s.name as source_name, l.name as vm_name,
          -- Creations and current deletions: sized and explained from the VM's lifecycle row,
          -- looked up for the page's rows only, with its name (their branches read their
          -- indexes alone: most of the 101 rows each branch reads are not on the page).
          -- Written out, not built from helpers: each fragment and identifier is an object
          -- postgres.js builds and escapes again on every request.
          case when u.lc and u.kind = 'deleted' then case when l.last_vcpu is null then null
              else jsonb_build_object('vcpu', l.last_vcpu, 'memoryMib', l.last_ram_mb,
                'provisionedDiskGib', l.last_disk_gb) end
            else u.before end as before,
          case when u.lc and u.kind = 'created' then case when l.first_vcpu is null then null
              else jsonb_build_object('vcpu', l.first_vcpu, 'memoryMib', l.first_ram_mb,
                'provisionedDiskGib', l.first_disk_gb) end
            else u.after end as after,
          case when not u.lc then u.detail when u.kind = 'created'
            then coalesce(l.created_from, 'firstSeen') else l.deleted_from end as detail
        from (
          select * from (${branches.reduce((a, b) => sql`${a} union all ${b}`)}) b
          order by b.at, b.source_id, b.vm_key, b.kind limit ${n}
        ) u
        join sources s on s.id = u.source_id
        -- One key lookup per row (not flattened into a join that reads every lifecycle row).
        left join lateral (select * from vm_lifecycle_base l
          where l.source_id = u.source_id and l.vm_key = u.vm_key limit 1) l on true
        order by u.at, u.source_id, u.vm_key, u.kind` as unknown as Row[]
    : [];
  const page = rows.slice(0, q.limit);
  return {
    items: page.map(toItem),
    next: rows.length > q.limit
      ? encodeCursor({
        t: page.at(-1)!.at.toISOString(),
        s: page.at(-1)!.source_id,
        k: page.at(-1)!.vm_key,
        c: page.at(-1)!.kind,
      })
      : null,
  };
}

export const ChangesAnswer = z.object({
  from: z.iso.datetime({ offset: true }),
  to: z.iso.datetime({ offset: true }),
  summary: ChangeSummary,
  items: z.array(ChangeItem),
  total: z.number().int().describe('changes of the listed kinds in the range'),
  next: z.string().nullable(),
});
export type ChangesAnswer = z.infer<typeof ChangesAnswer>;

/** The summary first, then a page of the list: what the API answers and the page shows. */
export async function changesAnswer(sql: Sql, q: ChangeQuery): Promise<ChangesAnswer> {
  const [summary, page] = await Promise.all([changeSummary(sql, q), listChanges(sql, q)]);
  const total = q.kinds.reduce((sum, k) => sum + summary.counts[k], 0);
  return { from: q.from.toISOString(), to: q.to.toISOString(), summary, total, ...page };
}

/** The size keys of a group: numbers in the answer. */
const SIZE_KEYS = ['vcpu', 'memoryMib', 'provisionedDiskGib'] as const;

/**
 * A stored group as the answer's: its size keys as numbers (jsonb gives numbers; a numeric
 * text would be converted). Adjusted in place, not copied: each row's parsed object is its own,
 * and a copy per group (Object.entries into a new object) was most of this mapping's cost.
 */
function group(g: Row['before']): ChangeItem['before'] {
  if (!g) return null;
  for (const key of SIZE_KEYS) {
    const v = g[key];
    if (typeof v === 'string') g[key] = Number(v);
  }
  return g;
}

function toItem(r: Row): ChangeItem {
  return {
    // A timestamptz column arrives as a Date.
    at: r.at.toISOString(),
    kind: r.kind,
    sourceId: r.source_id,
    sourceName: r.source_name,
    vmKey: r.vm_key,
    vmName: r.vm_name ?? r.vm_key,
    before: group(r.before),
    after: group(r.after),
    detail: r.detail,
  };
}

/** Counts per kind in [from, to) (whatever kinds the list shows) and net growth. */
export async function changeSummary(
  sql: Sql,
  q: Pick<ChangeQuery, 'from' | 'to' | 'sourceId' | 'vmKey'>,
): Promise<ChangeSummary> {
  const src = (t: string) => sourceAndVm(sql, q, t);
  const [r] = await sql`
    with /* vmledger:changes */ counted as (
      -- Counted from the index (at, source_id, vm_key, kind) alone.
      select x.kind, count(*) as n, null::bigint as vcpu, null::bigint as ram, null::numeric as disk
      from vm_changes x
      where x.at >= ${q.from} and x.at < ${q.to} ${src('x')}
      group by x.kind
    ), sized as (
      -- What resizes and ended deletions add (migration 0048), from the partial index alone.
      select 'resized'::text as kind, 0::bigint as n, sum(x.vcpu_delta) as vcpu, sum(x.ram_mb_delta) as ram,
        sum(x.disk_gb_delta) as disk
      from vm_changes x
      where x.at >= ${q.from} and x.at < ${q.to} ${src('x')} and x.kind in ('resized', 'deleted')
    ), stored as (
      select * from counted union all select * from sized
    ), created as (
      select count(*) as n, sum(l.first_vcpu) as vcpu, sum(l.first_ram_mb) as ram, sum(l.first_disk_gb) as disk
      from vm_lifecycle_base l
      where coalesce(l.created_at, l.first_seen_at) >= ${q.from} and coalesce(l.created_at, l.first_seen_at) < ${q.to}
        ${src('l')}
    ), deleted as (
      select count(*) as n, -sum(l.last_vcpu) as vcpu, -sum(l.last_ram_mb) as ram, -sum(l.last_disk_gb) as disk
      from vm_lifecycle_base l
      where l.deleted_at >= ${q.from} and l.deleted_at < ${q.to} ${src('l')}
    ), reappeared as (
      select count(*) as n, sum(f.vcpu) as vcpu, sum(f.ram_mb) as ram, sum(f.provisioned_disk_gb) as disk
      from vm_events e
      left join vm_hourly_stats f on f.source_id = e.source_id and f.snapshot_time = e.at and f.vm_key = e.vm_key
      where e.type = 'reappeared' and e.at >= ${q.from} and e.at < ${q.to} ${src('e')}
    ), kinds as (
      select kind, n, vcpu, ram, disk from stored
      union all select 'created', n, vcpu, ram, disk from created
      union all select 'deleted', n, vcpu, ram, disk from deleted
      union all select 'reappeared', n, vcpu, ram, disk from reappeared
    )
    select coalesce(jsonb_object_agg(kind, n) filter (where n > 0), '{}') as counts,
      coalesce(sum(n) filter (where kind in ('created', 'reappeared')), 0)
        - coalesce(sum(n) filter (where kind = 'deleted'), 0) as vms,
      coalesce(sum(vcpu), 0) as vcpu, coalesce(sum(ram), 0) as ram, coalesce(sum(disk), 0)::text as disk
    from (select kind, sum(n) as n, sum(vcpu) as vcpu, sum(ram) as ram, sum(disk) as disk from kinds group by kind) k`;
  const counts = Object.fromEntries(
    CHANGE_KINDS.map((k) => [k, Number(r.counts[k] ?? 0)]),
  ) as ChangeSummary['counts'];
  return {
    counts,
    net: {
      vms: Number(r.vms),
      vcpu: Number(r.vcpu),
      memoryMib: Number(r.ram),
      provisionedDiskGib: Number(r.disk),
    },
  };
}
