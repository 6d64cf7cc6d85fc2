/**
 * The showback: a month's costs (current runs only) totalled by tier, source, cluster,
 * folder, tag, owner or VM, with the previous month's total of each group; a VM's cost per
 * month; the owner setting. Data access only (takes `sql`, knows no HTTP). Amounts are
 * decimal text, sums of the lines' rounded amounts, so every total adds up exactly.
 *
 * Cluster, folder, tags and owner are the VM's as at the end of the costed month (its last
 * sample that month; linesOf); a VM neither history nor the inventory knows gets
 * "(no cluster)" and so on. A VM with several tags counts in each tag's group
 * (tag groups overlap; their sum can exceed the month's total), one with none in "(no tag)".
 */
import { z } from 'zod';
import type { CsvColumn } from '../csv.ts';
import { ColumnText, decodeCursor, encodeCursor } from '../cursor.ts';
import { costAmounts, costQuantities } from './costs.ts';
import type { Sql } from '../db/connect.ts';

export const SHOWBACK_GROUPS = [
  'tier',
  'source',
  'cluster',
  'folder',
  'tag',
  'owner',
  'vm',
] as const;
export type ShowbackGroup = (typeof SHOWBACK_GROUPS)[number];

/** The label of a group whose VMs lack the dimension. */
export const NONE_LABEL: Record<Exclude<ShowbackGroup, 'tier' | 'source' | 'vm'>, string> = {
  cluster: '(no cluster)',
  folder: '(no folder)',
  tag: '(no tag)',
  owner: '(no owner)',
};

export const OwnerSetting = z.strictObject({
  ownerFrom: z.enum(['attribute', 'tag_category']).describe(
    'attribute: the value of a custom attribute; tag_category: the name of the vSphere tag in a category',
  ),
  ownerName: z.string().trim().min(1).max(256).describe('the attribute or tag category name'),
});
export type OwnerSetting = z.infer<typeof OwnerSetting>;

export async function ownerSetting(sql: Sql): Promise<OwnerSetting> {
  const [r] = await sql`select owner_from, owner_name from cost_settings where id = 1`;
  return r
    ? { ownerFrom: r.owner_from, ownerName: r.owner_name }
    : { ownerFrom: 'attribute', ownerName: 'Owner' };
}

export async function saveOwnerSetting(sql: Sql, s: OwnerSetting): Promise<OwnerSetting> {
  await sql`
    insert into cost_settings (id, owner_from, owner_name, updated_at)
    values (1, ${s.ownerFrom}, ${s.ownerName}, now())
    on conflict (id) do update
      set owner_from = excluded.owner_from, owner_name = excluded.owner_name, updated_at = now()`;
  return s;
}

const amounts = {
  vcpuCost: z.string(),
  ramCost: z.string(),
  diskCost: z.string(),
  vmCost: z.string(),
  total: z.string(),
};

export const ShowbackRow = z.object({
  key: z.string().describe(
    'the group: tier, source id, cluster, folder, tag, owner or "source_id/vm_key"',
  ),
  label: z.string().describe('what the page shows: the source or VM name, else the key'),
  currency: z.string(),
  vms: z.number().int().describe('VMs with a cost line this month'),
  lines: z.number().int(),
  ...amounts,
  previousTotal: z.string().describe("the group's total the month before (0.00 when none)"),
  change: z.string().describe('total − previousTotal'),
  sourceId: z.number().int().nullable().describe('group_by=vm: the VM (for its page)'),
  vmKey: z.string().nullable(),
});
export type ShowbackRow = z.infer<typeof ShowbackRow>;

export const ShowbackTotal = z.object({
  currency: z.string(),
  vms: z.number().int(),
  lines: z.number().int(),
  ...amounts,
  previousTotal: z.string(),
  change: z.string(),
});
export type ShowbackTotal = z.infer<typeof ShowbackTotal>;

export const Showback = z.object({
  month: z.string().describe('YYYY-MM'),
  previousMonth: z.string(),
  groupBy: z.enum(SHOWBACK_GROUPS),
  filter: z.object({ by: z.enum(SHOWBACK_GROUPS), key: z.string() }).nullable(),
  owner: OwnerSetting,
  groups: z.array(ShowbackRow).describe('one page of the groups, largest total first'),
  next: z.string().nullable().describe('`cursor` of the next page of groups; null on the last'),
  totals: z.array(ShowbackTotal).describe("the month's grand total per currency (every page)"),
});
export type Showback = z.infer<typeof Showback>;

export type ShowbackQuery = {
  /** First day of the month, YYYY-MM-01. */
  month: string;
  groupBy: ShowbackGroup;
  /** Only the lines of one group of another grouping (the drill-down). */
  filter?: { by: ShowbackGroup; key: string };
  /** Groups a page (default 1,000), and where the page starts (`next` of the one before). */
  limit?: number;
  cursor?: string;
};

/** A page's place: its last group's (total this month, key, currency). */
export const ShowbackCursor = z.tuple([
  z.string().regex(/^-?\d{1,20}(\.\d{1,2})?$/),
  ColumnText,
  ColumnText,
]);
export type ShowbackCursor = z.infer<typeof ShowbackCursor>;
export const SHOWBACK_PAGE = 1000;

/** `YYYY-MM-01` of the month before. */
export function previousMonth(month: string): string {
  const [y, m] = month.split('-').map(Number);
  return m === 1 ? `${y - 1}-12-01` : `${y}-${String(m - 1).padStart(2, '0')}-01`;
}

/**
 * The VM's owner as the setting reads it, an SQL expression over `v` (the VM as at the
 * costed month's end, linesOf: tags text[], labels jsonb); null when it has none.
 */
export function ownerExpr(sql: Sql, s: OwnerSetting) {
  if (s.ownerFrom === 'attribute') {
    const prefix = `${s.ownerName}=`;
    return sql`(select nullif(substr(t, length(${prefix}::text) + 1), '') from unnest(v.tags) t
                 where starts_with(t, ${prefix}::text) limit 1)`;
  }
  return sql`(select nullif(lab ->> 'name', '') from jsonb_array_elements(v.labels) lab
               where lab ->> 'category' = ${s.ownerName}
               order by lab ->> 'name' limit 1)`;
}

/** The group key of a line (`l`, with `v` its VM's inventory row) under `by`; never null. */
function keyExpr(sql: Sql, by: ShowbackGroup, owner: OwnerSetting) {
  switch (by) {
    case 'tier':
      return sql`l.tier`;
    case 'source':
      return sql`l.source_id::text`;
    case 'cluster':
      return sql`coalesce(v.cluster, ${NONE_LABEL.cluster})`;
    case 'folder':
      return sql`coalesce(v.folder, ${NONE_LABEL.folder})`;
    case 'tag':
      return sql`tg.tag`;
    case 'owner':
      return sql`coalesce(${ownerExpr(sql, owner)}, ${NONE_LABEL.owner})`;
    case 'vm':
      return sql`l.source_id::text || '/' || l.vm_key`;
  }
}

/**
 * The current lines of `months` with their VM (`v`) **as at the end of the costed month**:
 * the VM's last sample that month (its monthly rollup's `last_sample_at`) gives its name,
 * cluster and folder (that sample's facts) and its configuration then
 * (vm_config_history: tags = Proxmox tags and vSphere attributes as name=value, labels for
 * the owner by tag category). What history does not hold (facts pruned; no configuration
 * document then, as for a v1 VM), and a month not rolled up yet (the open month: its end has
 * not come), is taken from the inventory as it is now (a deleted VM: as it last was). One
 * probe by key per line: finding the last sample from the daily rollups instead took 31
 * probes a line, 44 s for a 100,000-VM month. When `tags`, one row per tag (`tg.tag`; "(no tag)" for a VM without tags).
 */
export function linesOf(sql: Sql, months: string[], tags: boolean) {
  return sql`
    (select r.source_id, r.month, r.currency, l.*
       from cost_runs r join vm_cost_lines l on l.run_id = r.id
      where r.month = any(${months}::date[]) and r.superseded_at is null) l
    left join vm_monthly_rollup month_end
      on month_end.source_id = l.source_id and month_end.month = l.month
     and month_end.vm_key = l.vm_key
    left join lateral (
      select f.name, f.cluster, f.folder from vm_hourly_stats f
       where f.source_id = l.source_id and f.snapshot_time = month_end.last_sample_at and f.vm_key = l.vm_key
    ) f on true
    left join lateral (
      select h.config from vm_config_history h
       where h.source_id = l.source_id and h.vm_key = l.vm_key
         and h.valid_from <= month_end.last_sample_at
         and (h.valid_to is null or h.valid_to > month_end.last_sample_at)
    ) h on true
    left join lateral (
      select x.name, x.cluster, x.folder, x.tags from (
        select i.name, i.cluster, i.folder, i.tags, 0 as o from vm_inventory i
         where i.source_id = l.source_id and i.vm_key = l.vm_key
        union all
        select d.name, d.cluster, d.folder, d.tags, 1 from vm_inventory_deleted d
         where d.source_id = l.source_id and d.vm_key = l.vm_key) x
      order by x.o limit 1) cur on true
    cross join lateral (
      select
        case when f.name is not null then f.name else cur.name end as name,
        case when f.name is not null then f.cluster else cur.cluster end as cluster,
        case when f.name is not null then f.folder else cur.folder end as folder,
        case when h.config is not null then array(
          select lab ->> 'name' from jsonb_array_elements(
            case when jsonb_typeof(h.config -> 'labels') = 'array' then h.config -> 'labels'
                 else '[]'::jsonb end) lab
           where lab ->> 'category' is null and lab ->> 'name' is not null
          union all
          select (att ->> 'name') || '=' || (att ->> 'value') from jsonb_array_elements(
            case when jsonb_typeof(h.config -> 'attributes') = 'array' then h.config -> 'attributes'
                 else '[]'::jsonb end) att
           where att ->> 'name' is not null)
        else cur.tags end as tags,
        case when jsonb_typeof(h.config -> 'labels') = 'array' then h.config -> 'labels'
             else '[]'::jsonb end as labels
    ) v
    ${
    tags
      ? sql`cross join lateral (
          select t as tag from unnest(v.tags) t
          union all select ${NONE_LABEL.tag} where coalesce(cardinality(v.tags), 0) = 0) tg`
      : sql``
  }`;
}

/**
 * A month's costs by `groupBy` (largest total first), each group with its total the month
 * before, and the month's grand total per currency. A group costed only the month before
 * is listed with zero amounts.
 */
export async function showback(sql: Sql, q: ShowbackQuery): Promise<Showback> {
  const owner = await ownerSetting(sql);
  const prev = previousMonth(q.month);
  const uses = (g: ShowbackGroup) => q.groupBy === g || q.filter?.by === g;
  const key = keyExpr(sql, q.groupBy, owner);
  const where = q.filter ? sql`where ${keyExpr(sql, q.filter.by, owner)} = ${q.filter.key}` : sql``;
  const cur = sql`l.month = ${q.month}::date`;
  const sum = (c: string) =>
    sql`coalesce(sum(l.${sql(c)}) filter (where ${cur}), 0)::numeric(20,2)::text`;
  const limit = q.limit ?? SHOWBACK_PAGE;
  const after = q.cursor === undefined ? null : decodeCursor(ShowbackCursor, q.cursor);
  if (q.cursor !== undefined && after === null) throw new Error('showback: not a cursor');
  // Largest total this month first, then key and currency: a keyset page over the groups.
  const rows = await sql`
    select * from (
    select ${key} as key, l.currency,
           coalesce(sum(l.total) filter (where ${cur}), 0)::numeric(20,2) as sort_total,
           count(distinct l.vm_key || '/' || l.source_id) filter (where ${cur})::int as vms,
           count(*) filter (where ${cur})::int as lines,
           ${sum('vcpu_cost')} as vcpu_cost, ${sum('ram_cost')} as ram_cost,
           ${sum('disk_cost')} as disk_cost, ${sum('vm_cost')} as vm_cost,
           ${sum('total')} as total,
           coalesce(sum(l.total) filter (where not ${cur}), 0)::numeric(20,2)::text as previous_total,
           (coalesce(sum(l.total) filter (where ${cur}), 0)
             - coalesce(sum(l.total) filter (where not ${cur}), 0))::numeric(20,2)::text as change,
           min(v.name) as vm_name, min(l.source_id) as source_id, min(l.vm_key) as vm_key
    from ${linesOf(sql, [q.month, prev], uses('tag'))}
    ${where}
    group by 1, l.currency) g
    ${
    after
      ? sql`where g.sort_total < ${after[0]}::numeric
               or (g.sort_total = ${after[0]}::numeric and (g.key, g.currency) > (${after[1]}, ${
        after[2]
      }))`
      : sql``
  }
    order by g.sort_total desc, g.key, g.currency
    limit ${limit + 1}`;
  const more = rows.length > limit;
  const page = more ? rows.slice(0, limit) : rows;
  const last = page.at(-1);
  const names = q.groupBy === 'source'
    ? new Map(
      (await sql`select id, name from sources`).map((s) => [String(s.id), s.name as string]),
    )
    : null;
  const groups: ShowbackRow[] = page.map((r) => ({
    key: r.key,
    label: q.groupBy === 'vm'
      ? (r.vm_name ?? r.vm_key)
      : q.groupBy === 'source'
      ? (names!.get(r.key) ?? `source ${r.key}`)
      : r.key,
    currency: r.currency,
    vms: r.vms,
    lines: r.lines,
    ...costAmounts(r),
    previousTotal: r.previous_total,
    change: r.change,
    sourceId: q.groupBy === 'vm' ? r.source_id : null,
    vmKey: q.groupBy === 'vm' ? r.vm_key : null,
  }));
  return {
    month: q.month.slice(0, 7),
    previousMonth: prev.slice(0, 7),
    groupBy: q.groupBy,
    filter: q.filter ?? null,
    owner,
    groups,
    next: more && last ? encodeCursor([last.sort_total, last.key, last.currency]) : null,
    totals: await grandTotals(sql, q, owner),
  };
}

/**
 * The month's grand total per currency (of the filtered lines when filtered), each line
 * counted once even when tag groups overlap; with the month before's.
 */
async function grandTotals(sql: Sql, q: ShowbackQuery, owner: OwnerSetting) {
  const prev = previousMonth(q.month);
  const tagFilter = q.filter?.by === 'tag';
  const where = q.filter ? sql`where ${keyExpr(sql, q.filter.by, owner)} = ${q.filter.key}` : sql``;
  const cur = sql`l.month = ${q.month}::date`;
  const sum = (c: string) =>
    sql`coalesce(sum(l.${sql(c)}) filter (where ${cur}), 0)::numeric(20,2)::text`;
  const rows = await sql`
    select l.currency,
           count(distinct l.vm_key || '/' || l.source_id) filter (where ${cur})::int as vms,
           count(*) filter (where ${cur})::int as lines,
           ${sum('vcpu_cost')} as vcpu_cost, ${sum('ram_cost')} as ram_cost,
           ${sum('disk_cost')} as disk_cost, ${sum('vm_cost')} as vm_cost,
           ${sum('total')} as total,
           coalesce(sum(l.total) filter (where not ${cur}), 0)::numeric(20,2)::text as previous_total,
           (coalesce(sum(l.total) filter (where ${cur}), 0)
             - coalesce(sum(l.total) filter (where not ${cur}), 0))::numeric(20,2)::text as change
    from ${linesOf(sql, [q.month, prev], tagFilter)}
    ${where}
    group by l.currency
    order by l.currency`;
  return rows.map((r) => ({
    currency: r.currency,
    vms: r.vms,
    lines: r.lines,
    ...costAmounts(r),
    previousTotal: r.previous_total,
    change: r.change,
  }));
}

/** The newest month with a current cost run (YYYY-MM-01), or null. */
export async function lastCostedMonth(sql: Sql): Promise<string | null> {
  const [r] = await sql`
    select max(month)::text as month from cost_runs where superseded_at is null`;
  return r?.month ?? null;
}

/** Months with a current cost run, newest first (YYYY-MM). */
export async function costedMonths(sql: Sql, limit = 36): Promise<string[]> {
  const rows = await sql`
    select distinct to_char(month, 'YYYY-MM') as m from cost_runs
    where superseded_at is null order by 1 desc limit ${limit}`;
  return rows.map((r) => r.m as string);
}

export const VmCostLine = z.object({
  month: z.string(),
  currency: z.string(),
  tier: z.string(),
  versionId: z.number().int(),
  presentDays: z.string(),
  vcpuHours: z.string(),
  ramGbHours: z.string(),
  diskGbDays: z.string(),
  ...amounts,
});
export type VmCostLine = z.infer<typeof VmCostLine>;

/** A VM's cost lines of its last `months` costed months (current runs), newest first. */
export async function vmCosts(
  sql: Sql,
  sourceId: number,
  vmKey: string,
  months = 12,
): Promise<VmCostLine[]> {
  const rows = await sql`
    with m as (
      select distinct r.month from cost_runs r
      join vm_cost_lines l on l.run_id = r.id and l.vm_key = ${vmKey}
      where r.source_id = ${sourceId} and r.superseded_at is null
      order by r.month desc limit ${months})
    select to_char(r.month, 'YYYY-MM') as month, r.currency, l.tier, l.version_id::int,
           l.present_days::text, l.vcpu_hours::text, l.ram_gb_hours::text, l.disk_gb_days::text,
           l.vcpu_cost::text, l.ram_cost::text, l.disk_cost::text, l.vm_cost::text, l.total::text
    from cost_runs r
    join vm_cost_lines l on l.run_id = r.id and l.vm_key = ${vmKey}
    where r.source_id = ${sourceId} and r.superseded_at is null and r.month in (select month from m)
    order by r.month desc, l.tier, l.version_id`;
  return rows.map((r) => ({
    month: r.month,
    currency: r.currency,
    tier: r.tier,
    versionId: r.version_id,
    ...costQuantities(r),
    ...costAmounts(r),
  }));
}

/** The CSV of a showback (API `format=csv` or `Accept: text/csv`, and the page's link). */
export const SHOWBACK_CSV: CsvColumn<ShowbackRow & { month: string; groupBy: string }>[] = [
  { header: 'month', value: (r) => r.month },
  { header: 'group_by', value: (r) => r.groupBy },
  { header: 'key', value: (r) => r.key },
  { header: 'label', value: (r) => r.label },
  { header: 'currency', value: (r) => r.currency },
  { header: 'vms', value: (r) => r.vms },
  { header: 'lines', value: (r) => r.lines },
  { header: 'vcpu_cost', value: (r) => r.vcpuCost },
  { header: 'ram_cost', value: (r) => r.ramCost },
  { header: 'disk_cost', value: (r) => r.diskCost },
  { header: 'vm_cost', value: (r) => r.vmCost },
  { header: 'total', value: (r) => r.total },
  { header: 'previous_total', value: (r) => r.previousTotal },
  { header: 'change', value: (r) => r.change },
];

/** The rows of a showback's CSV. */
export function showbackCsvRows(s: Showback) {
  return s.groups.map((g) => ({ ...g, month: s.month, groupBy: s.groupBy }));
}
