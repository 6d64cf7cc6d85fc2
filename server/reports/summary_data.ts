/**
 * The Summary sheet of a daily or monthly report: period, time zone, generated-at, data
 * freshness, per-source and fleet totals from the rollup totals, and the incomplete
 * captures of the period. Data access plus the labels people read.
 */
import type { Sql } from '../db/connect.ts';
import type { Row } from './columns.ts';
import { SUMMARY_INCOMPLETE, SUMMARY_SOURCES } from './layouts.ts';
import { describeStaleness, staleSources } from './readiness.ts';
import type { Summary } from './report_writer.ts';
import type { RollupKind } from './rollup_rows.ts';

/** Incomplete captures listed on a Summary; the count is always complete. */
export const INCOMPLETE_LIMIT = 1000;

/** Start and end instants of the period starting `day` in `tz`. */
export async function periodBounds(
  sql: Sql,
  kind: RollupKind,
  day: string,
  tz: string,
): Promise<{ start: Date; end: Date }> {
  const [b] = await sql`
    select (${day}::date::timestamp at time zone ${tz}) as start,
           ((${day}::date + ${
    kind === 'daily' ? sql`interval '1 day'` : sql`interval '1 month'`
  })::timestamp at time zone ${tz}) as end`;
  return { start: b.start, end: b.end };
}

/** Per-source totals of the period and an "All sources" row (sums of the sources). */
export async function sourceTotals(
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

/** Incomplete captures in [start, end) (at most INCOMPLETE_LIMIT) and how many there are. */
export async function incompleteCaptures(
  sql: Sql,
  start: Date,
  end: Date,
): Promise<{ rows: Row[]; total: number }> {
  const rows = await sql`
    select c.captured_at, s.name as source, c.vm_count,
           (select string_agg(e, '; ') from jsonb_array_elements_text(c.errors) e) as errors,
           count(*) over () as total
    from captures c join sources s on s.id = c.source_id
    where c.captured_at >= ${start} and c.captured_at < ${end} and not c.complete
    order by c.captured_at, s.name
    limit ${INCOMPLETE_LIMIT}`;
  return { rows: [...rows], total: rows[0]?.total ?? 0 };
}

/** The Summary of a daily (`day`) or monthly (`day` = the 1st) report. */
export async function rollupSummary(
  sql: Sql,
  r: { kind: RollupKind; period: string; day: string; tz: string; generatedAt: Date },
): Promise<Summary> {
  const { start, end } = await periodBounds(sql, r.kind, r.day, r.tz);
  const sources = await sourceTotals(sql, r.kind, r.day, start, end);
  const incomplete = await incompleteCaptures(sql, start, end);
  const stale = await staleSources(sql, r.kind, r.day, r.tz);
  const perSource = sources.filter((s) => s.source !== 'All sources');
  const fleet = sources.find((s) => s.source === 'All sources') ?? perSource[0] ?? {};
  const table = r.kind === 'daily' ? sql('vm_daily_rollup') : sql('vm_monthly_rollup');
  const at = r.kind === 'daily' ? sql('day') : sql('month');
  const [{ n }] =
    await sql`select count(*)::integer as n from ${table} where ${at} = ${r.day}::date`;
  const lastCaptures = perSource.map((s) => s.last_capture_at as Date | null).filter((
    d,
  ): d is Date => d instanceof Date);
  const rollupTimes = perSource.map((s) => s.rollup_at as Date | null).filter((d): d is Date =>
    d instanceof Date
  );
  const max = (
    ds: Date[],
  ) => (ds.length ? new Date(Math.max(...ds.map((d) => d.getTime()))) : null);
  const min = (
    ds: Date[],
  ) => (ds.length ? new Date(Math.min(...ds.map((d) => d.getTime()))) : null);
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
      { label: 'Avg VMs (fleet)', value: fleet.avg_vm_count ?? null, type: 'decimal' },
      { label: 'Avg vCPU (fleet)', value: fleet.avg_vcpu ?? null, type: 'decimal' },
      { label: 'Avg RAM GB (fleet)', value: fleet.avg_ram_gb ?? null, type: 'decimal' },
      {
        label: 'Avg provisioned disk GB (fleet)',
        value: fleet.avg_disk_gb ?? null,
        type: 'decimal',
      },
      { label: 'vCPU-hours (fleet)', value: fleet.vcpu_hours ?? null, type: 'decimal' },
      { label: 'RAM GB-hours (fleet)', value: fleet.ram_gb_hours ?? null, type: 'decimal' },
      { label: 'Disk GB-hours (fleet)', value: fleet.disk_gb_hours ?? null, type: 'decimal' },
      { label: 'Latest capture, any source (UTC)', value: max(lastCaptures), type: 'datetime' },
      {
        label: 'Least recent latest capture of a source (UTC)',
        value: min(lastCaptures),
        type: 'datetime',
      },
      { label: 'Rollups built (latest, UTC)', value: max(rollupTimes), type: 'datetime' },
      { label: 'Rollup status', value: describeStaleness(stale), type: 'text' },
      { label: 'Incomplete captures in period', value: incomplete.total, type: 'int' },
    ],
    blocks: [
      { title: 'Totals per source', spec: SUMMARY_SOURCES, rows: sources },
      {
        title: 'Incomplete captures',
        spec: SUMMARY_INCOMPLETE,
        rows: incomplete.rows,
        note: incomplete.total > incomplete.rows.length
          ? `first ${incomplete.rows.length} of ${incomplete.total}`
          : undefined,
      },
    ],
  };
}
