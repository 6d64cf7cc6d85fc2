/**
 * The rollup tables of a daily or monthly report, streamed with postgres.js cursors
 * (1,000 rows a batch) so a 100,000-VM month never sits in memory. Data access only.
 */
import type { Sql } from '../db/connect.ts';
import type { Row } from './columns.ts';
import type { RollupKind } from './period.ts';

const BATCH = 1000;

/** Which table and period column a kind reads: fixed names, never caller text. */
export function rollupTable(sql: Sql, kind: RollupKind) {
  return kind === 'daily'
    ? { table: sql('vm_daily_rollup'), at: sql('day') }
    : { table: sql('vm_monthly_rollup'), at: sql('month') };
}

/** Per-VM rollup rows of one day (daily) or month (monthly, `day` = its 1st), all sources. */
export function vmRollupRows(sql: Sql, kind: RollupKind, day: string): AsyncIterable<Row[]> {
  const t = rollupTable(sql, kind);
  const extra = kind === 'daily' ? sql`r.day_seconds` : sql`r.days_present, r.days_covered`;
  return sql`
    select r.name, r.${t.at}, r.total_samples, r.samples_present, r.powered_on_samples, ${extra},
           r.presence, r.avg_vcpu, r.avg_ram_gb, r.avg_disk_gb, r.powered_on_ratio, r.powered_on_hours,
           r.vcpu_hours, r.ram_gb_hours, r.disk_gb_hours,
           (select string_agg(p.key || ' ' || trim_scale(p.value::numeric)::text || '%', '; ' order by p.key)
              from jsonb_each_text(r.pool_pct) p) as pools,
           (select string_agg(p.key || ' ' || p.value, '; ' order by p.key)
              from jsonb_each_text(r.pool_samples) p) as pool_samples_text,
           r.sum_vcpu, r.sum_ram_mb, r.sum_disk_gb,
           r.first_sample_at, r.last_sample_at, r.first_seen_at, r.last_seen_at, r.created_at, r.deleted_at,
           s.name as source, r.source_vm_id, r.vm_key
    from ${t.table} r
    join sources s on s.id = r.source_id
    where r.${t.at} = ${day}::date
    order by s.name, r.source_id, r.name, r.vm_key`.cursor(BATCH);
}

/**
 * Chargeback per source and pool: each VM's hours are attributed to its pools by their
 * share of its samples (pool_samples / samples_present), summed, rounded to 6 decimals.
 */
export function poolRows(sql: Sql, kind: RollupKind, day: string): AsyncIterable<Row[]> {
  const t = rollupTable(sql, kind);
  return sql`
    select s.name as source, p.key as pool, count(*)::integer as vms, sum(p.value::bigint)::bigint as samples,
           round(sum(r.vcpu_hours * p.value::numeric / r.samples_present), 6) as vcpu_hours,
           round(sum(r.ram_gb_hours * p.value::numeric / r.samples_present), 6) as ram_gb_hours,
           round(sum(r.disk_gb_hours * p.value::numeric / r.samples_present), 6) as disk_gb_hours
    from ${t.table} r
    join sources s on s.id = r.source_id
    cross join lateral jsonb_each_text(r.pool_samples) p
    where r.${t.at} = ${day}::date and r.samples_present > 0
    group by s.name, s.id, p.key
    order by s.name, s.id, p.key`.cursor(BATCH);
}

/**
 * Per day and source totals of the month starting `month` (source_daily_totals), with an
 * "All sources" row per day when there is more than one source.
 */
export function dailyTotalRows(sql: Sql, month: string): AsyncIterable<Row[]> {
  return sql`
    select t.day, case when grouping(t.source_id) = 1 then 'All sources' else min(s.name) end as source,
           sum(t.total_samples)::bigint as total_samples, bool_and(t.complete) as complete,
           sum(t.vm_count)::bigint as vm_count, sum(t.avg_vm_count) as avg_vm_count,
           sum(t.avg_powered_on) as avg_powered_on, sum(t.avg_vcpu) as avg_vcpu,
           sum(t.avg_ram_gb) as avg_ram_gb, sum(t.avg_disk_gb) as avg_disk_gb,
           sum(t.powered_on_hours) as powered_on_hours, sum(t.vcpu_hours) as vcpu_hours,
           sum(t.ram_gb_hours) as ram_gb_hours, sum(t.disk_gb_hours) as disk_gb_hours,
           max(t.day_seconds) as day_seconds
    from source_daily_totals t
    join sources s on s.id = t.source_id
    where t.day >= ${month}::date and t.day < (${month}::date + interval '1 month')::date
    group by grouping sets ((t.day, t.source_id), (t.day))
    having grouping(t.source_id) = 0 or count(distinct t.source_id) > 1
    order by t.day, grouping(t.source_id), min(s.name), t.source_id`.cursor(BATCH);
}
