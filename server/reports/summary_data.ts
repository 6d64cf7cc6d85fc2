/**
 * The Summary sheet of each report: what it covers and when it was made, how fresh its data
 * is, its totals (per source and fleet-wide from the rollup totals, or from the inventory),
 * and the incomplete captures to read it with. Data access plus the labels people read.
 */
import type { Sql } from '../db/connect.ts';
import type { Row } from './columns.ts';
import { SUMMARY_INCOMPLETE, SUMMARY_SOURCES } from './layouts.ts';
import { periodBounds, type RollupKind } from './period.ts';
import { describeStaleness, staleSources } from './readiness.ts';
import type { Summary, SummaryBlock, SummaryField } from './report_writer.ts';
import { rollupTable } from './rollup_rows.ts';

/** Incomplete captures listed on a Summary; the count is always complete. */
const INCOMPLETE_LIMIT = 1000;

/** Per-source totals of the period and an "All sources" row (sums of the sources). */
async function sourceTotals(
  sql: Sql,
  kind: RollupKind,
  day: string,
  start: Date,
  end: Date,
): Promise<Row[]> {
  const totals = kind === 'daily'
    ? sql`select t.*, 1 as days_covered from source_daily_totals t where t.day = ${day}::date`
    : sql`select t.* from source_monthly_totals t where t.month = ${day}::date`;
  return await sql`
    with t as (${totals}),
    cap as (
      select source_id, count(*) filter (where not complete)::integer as incomplete
      from captures where captured_at >= ${start} and captured_at < ${end} group by source_id
    ),
    per_source as (
      select s.name as source, s.kind, t.total_samples, coalesce(cap.incomplete, 0) as incomplete, t.days_covered,
             t.complete, t.vm_count, t.avg_vm_count, t.avg_powered_on, t.avg_vcpu, t.avg_ram_gb, t.avg_disk_gb,
             t.powered_on_hours, t.vcpu_hours, t.ram_gb_hours, t.disk_gb_hours,
             s.last_capture_at, reg.created_at as rollup_at
      from sources s
      left join t on t.source_id = s.id
      left join cap on cap.source_id = s.id
      left join snapshot_registry reg on reg.kind = ${kind} and reg.source_id = s.id and reg.period_start = ${start}
      where t.source_id is not null or cap.source_id is not null
    )
    select 0 as ord, * from per_source
    union all
    select 1, 'All sources', null, sum(total_samples), sum(incomplete), null, bool_and(complete), sum(vm_count),
           sum(avg_vm_count), sum(avg_powered_on), sum(avg_vcpu), sum(avg_ram_gb), sum(avg_disk_gb),
           sum(powered_on_hours), sum(vcpu_hours), sum(ram_gb_hours), sum(disk_gb_hours),
           max(last_capture_at), max(rollup_at)
    from per_source
    having count(*) > 1
    order by ord, source`;
}

/** The incomplete captures in [start, end): how many, and their block (the first INCOMPLETE_LIMIT). */
async function incompleteCaptures(
  sql: Sql,
  title: string,
  start: Date,
  end: Date,
): Promise<{ total: number; block: SummaryBlock }> {
  const rows = await sql`
    select c.captured_at, s.name as source, c.vm_count,
           (select string_agg(e, '; ') from jsonb_array_elements_text(c.errors) e) as errors,
           count(*) over () as total
    from captures c join sources s on s.id = c.source_id
    where c.captured_at >= ${start} and c.captured_at < ${end} and not c.complete
    order by c.captured_at, s.name
    limit ${INCOMPLETE_LIMIT}`;
  const total: number = rows[0]?.total ?? 0;
  const note = total > rows.length ? `first ${rows.length} of ${total}` : undefined;
  return { total, block: { title, spec: SUMMARY_INCOMPLETE, rows: [...rows], note } };
}

/** The latest of the times among `values` (with `pick` Math.min, the earliest); null if none. */
function extreme(values: unknown[], pick: (...t: number[]) => number = Math.max): Date | null {
  const t = values.filter((d): d is Date => d instanceof Date).map((d) => d.getTime());
  return t.length ? new Date(pick(...t)) : null;
}

/** The latest capture of any source and the least recent latest capture of a source. */
function captureTimes(sources: Row[]): SummaryField[] {
  const times = sources.map((s) => s.last_capture_at);
  return [
    { label: 'Latest capture, any source (UTC)', value: extreme(times), type: 'datetime' },
    {
      label: 'Least recent latest capture of a source (UTC)',
      value: extreme(times, Math.min),
      type: 'datetime',
    },
  ];
}

/** The Summary of a daily or monthly report; `day` is the period's (first) day. */
export async function rollupSummary(
  sql: Sql,
  r: { kind: RollupKind; period: string; tz: string; generatedAt: Date },
  day: string,
): Promise<Summary> {
  const [{ t0: start, t1: end }] = await periodBounds(sql, r.kind, day, r.tz);
  const sources = await sourceTotals(sql, r.kind, day, start, end);
  const incomplete = await incompleteCaptures(sql, 'Incomplete captures', start, end);
  const stale = await staleSources(sql, r.kind, day, r.tz);
  const perSource = sources.filter((s) => s.source !== 'All sources');
  const fleet = sources.find((s) => s.source === 'All sources') ?? perSource[0] ?? {};
  const t = rollupTable(sql, r.kind);
  const [{ n }] =
    await sql`select count(*)::integer as n from ${t.table} where ${t.at} = ${day}::date`;
  const fleetField = (label: string, key: string): SummaryField => ({
    label: `${label} (fleet)`,
    value: fleet[key] ?? null,
    type: 'decimal',
  });
  return {
    title: `vmledger ${r.kind} report — ${r.period}`,
    fields: [
      {
        label: 'Report',
        value: r.kind === 'daily' ? 'Daily VM usage' : 'Monthly VM usage',
        type: 'text',
      },
      { label: 'Period', value: r.period, type: 'text' },
      { label: 'Period start (UTC)', value: start, type: 'datetime' },
      { label: 'Period end (UTC, exclusive)', value: end, type: 'datetime' },
      { label: 'Reporting time zone', value: r.tz, type: 'text' },
      { label: 'Generated at (UTC)', value: r.generatedAt, type: 'datetime' },
      { label: 'Sources', value: perSource.length, type: 'int' },
      { label: 'VM rows', value: n, type: 'int' },
      fleetField('Avg VMs', 'avg_vm_count'),
      fleetField('Avg vCPU', 'avg_vcpu'),
      fleetField('Avg RAM GiB', 'avg_ram_gb'),
      fleetField('Avg provisioned disk GiB', 'avg_disk_gb'),
      fleetField('vCPU-hours', 'vcpu_hours'),
      fleetField('RAM GiB-hours', 'ram_gb_hours'),
      fleetField('Disk GiB-hours', 'disk_gb_hours'),
      ...captureTimes(perSource),
      {
        label: 'Rollups built (latest, UTC)',
        value: extreme(perSource.map((s) => s.rollup_at)),
        type: 'datetime',
      },
      { label: 'Rollup status', value: describeStaleness(stale ?? []), type: 'text' },
      { label: 'Incomplete captures in period', value: incomplete.total, type: 'int' },
    ],
    blocks: [
      { title: 'Totals per source', spec: SUMMARY_SOURCES, rows: sources },
      incomplete.block,
    ],
  };
}

/** The Summary of an inventory report as of `generatedAt`, from its vSource rows. */
export async function inventorySummary(
  sql: Sql,
  r: { period: string; generatedAt: Date },
  sources: Row[],
): Promise<Summary> {
  const since = new Date(r.generatedAt.getTime() - 86400_000);
  const title = 'Incomplete captures (last 24 hours)';
  const incomplete = await incompleteCaptures(sql, title, since, r.generatedAt);
  const sum = (k: string) => sources.reduce((a, s) => a + Number(s[k] ?? 0), 0);
  return {
    title: `vmledger inventory — ${r.period}`,
    fields: [
      { label: 'Report', value: 'Inventory (current state, RVTools-style sheets)', type: 'text' },
      { label: 'As of (UTC)', value: r.generatedAt, type: 'datetime' },
      { label: 'Generated at (UTC)', value: r.generatedAt, type: 'datetime' },
      { label: 'Sources', value: sources.length, type: 'int' },
      { label: 'VMs (templates excluded)', value: sum('vms'), type: 'int' },
      { label: 'Powered on', value: sum('powered_on'), type: 'int' },
      { label: 'Templates', value: sum('templates'), type: 'int' },
      { label: 'vCPUs', value: sum('vcpu'), type: 'int' },
      { label: 'RAM (GiB)', value: sum('ram_gb'), type: 'decimal' },
      { label: 'Provisioned disk (GiB)', value: sum('provisioned_disk_gb'), type: 'decimal' },
      { label: 'Hosts', value: sum('hosts'), type: 'int' },
      { label: 'Datastores', value: sum('datastores'), type: 'int' },
      ...captureTimes(sources),
      {
        label: 'Sources whose latest capture was incomplete',
        value: sources.filter((s) => s.last_capture_complete === false).map((s) => s.source)
          .join(', ') || 'none',
        type: 'text',
      },
      { label: 'Incomplete captures in the last 24 hours', value: incomplete.total, type: 'int' },
    ],
    blocks: [incomplete.block],
  };
}
