/**
 * The benchmark's floor: the bare single `INSERT … SELECT … GROUP BY` producing the same
 * VM rollup columns as the engines, sent as one statement — no procedure, no replace, no
 * totals, no registry. What any engine costs beyond it is its own overhead. It mirrors the
 * main statement of sql/routines/aggregate_daily.sql / aggregate_monthly.sql; the
 * benchmark's parity verdict checks it produces the same rows.
 */
import type { Sql } from '../db/connect.ts';
import { addMonths, dayBounds, monthOf } from './period.ts';
import type { Kind } from './run.ts';

/** Runs the floor statement for one period inside `tx`; returns rows inserted. */
export async function runFloor(
  tx: Sql,
  kind: Kind,
  sourceId: number,
  period: string,
  tz: string,
): Promise<number> {
  const r = kind === 'daily'
    ? await dailyFloor(tx, sourceId, period, tz)
    : await monthlyFloor(tx, sourceId, period);
  return r.count;
}

// The period's constants (bounds, total samples) are looked up first and passed as values,
// as the procedure's variables are, so the planner sees the same literal time range.
async function dailyFloor(tx: Sql, sourceId: number, day: string, tz: string) {
  const b = await dayBounds(tx, day, tz);
  const [{ n }] = await tx`select count(*)::int as n from captures where source_id = ${sourceId}
    and captured_at >= ${b.start}::timestamptz and captured_at < ${b.end}::timestamptz`;
  return tx`
    with k as (
      select ${b.start}::timestamptz as t0, ${b.end}::timestamptz as t1, ${b.seconds}::integer as secs, ${n}::integer as n
    ), per_pool as (
      select f.vm_key, coalesce(f.resource_pool, '(none)') as pool, count(*) as hits,
             sum(count(*)) over (partition by f.vm_key) as vm_hits,
             count(*) filter (where f.power_state = 'poweredOn') as on_hits,
             sum(f.vcpu) as s_vcpu, sum(f.ram_mb) as s_ram, sum(f.provisioned_disk_gb) as s_disk,
             min(f.snapshot_time) as first_t, max(f.snapshot_time) as last_t,
             (array_agg(f.name order by f.snapshot_time desc))[1] as last_name,
             (array_agg(f.source_vm_id order by f.snapshot_time desc))[1] as last_vm_id
      from vm_hourly_stats f
      where f.source_id = ${sourceId} and f.snapshot_time >= ${b.start}::timestamptz
        and f.snapshot_time < ${b.end}::timestamptz and not f.is_template
      group by f.vm_key, coalesce(f.resource_pool, '(none)')
    ), per_vm as (
      select vm_key, sum(hits)::integer as sp, sum(on_hits)::integer as on_s, sum(s_vcpu)::bigint as s_vcpu,
             sum(s_ram)::bigint as s_ram, sum(s_disk) as s_disk, min(first_t) as first_t, max(last_t) as last_t,
             (array_agg(last_name order by last_t desc))[1] as name,
             (array_agg(last_vm_id order by last_t desc))[1] as source_vm_id,
             jsonb_object_agg(pool, hits) as pool_samples,
             jsonb_object_agg(pool, rollup_ratio(hits * 100, vm_hits)) as pool_pct
      from per_pool group by vm_key
    )
    insert into vm_daily_rollup (
      source_id, day, vm_key, source_vm_id, name, total_samples, samples_present, powered_on_samples,
      day_seconds, sum_vcpu, sum_ram_mb, sum_disk_gb, presence, avg_vcpu, avg_ram_gb, avg_disk_gb,
      powered_on_ratio, powered_on_hours, vcpu_hours, ram_gb_hours, disk_gb_hours, pool_samples, pool_pct,
      first_sample_at, last_sample_at, first_seen_at, last_seen_at, created_at, deleted_at)
    select ${sourceId}, ${day}::date, v.vm_key, v.source_vm_id, v.name, k.n, v.sp, v.on_s, k.secs,
           v.s_vcpu, v.s_ram, v.s_disk, rollup_ratio(v.sp, k.n), rollup_ratio(v.s_vcpu, k.n),
           rollup_ratio(v.s_ram, 1024 * k.n), rollup_ratio(v.s_disk, k.n), rollup_ratio(v.on_s, v.sp),
           rollup_ratio(v.on_s::numeric * k.secs, 3600 * k.n), rollup_ratio(v.s_vcpu::numeric * k.secs, 3600 * k.n),
           rollup_ratio(v.s_ram::numeric * k.secs, 3600 * 1024 * k.n), rollup_ratio(v.s_disk * k.secs, 3600 * k.n),
           v.pool_samples, v.pool_pct, v.first_t, v.last_t,
           l.first_seen_at, l.last_seen_at, l.created_at, l.deleted_at
    from per_vm v cross join k
    left join vm_lifecycle l on l.source_id = ${sourceId} and l.vm_key = v.vm_key`;
}

async function monthlyFloor(tx: Sql, sourceId: number, period: string) {
  const m0 = monthOf(period);
  const m1 = addMonths(m0, 1);
  const [c] = await tx`
    select coalesce(sum(total_samples), 0)::integer as n, count(*)::integer as covered
    from source_daily_totals where source_id = ${sourceId} and day >= ${m0}::date and day < ${m1}::date`;
  return tx`
    with k as (select ${c.n}::integer as n, ${c.covered}::integer as covered), days as (
      select * from vm_daily_rollup r where r.source_id = ${sourceId} and r.day >= ${m0}::date and r.day < ${m1}::date
    ), per_vm as (
      select vm_key, sum(samples_present)::integer as sp, sum(powered_on_samples)::integer as on_s,
             count(*)::integer as days_present, sum(sum_vcpu)::bigint as s_vcpu, sum(sum_ram_mb)::bigint as s_ram,
             sum(sum_disk_gb) as s_disk, sum(powered_on_hours) as on_h, sum(vcpu_hours) as vcpu_h,
             sum(ram_gb_hours) as ram_h, sum(disk_gb_hours) as disk_h, min(first_sample_at) as first_t,
             max(last_sample_at) as last_t,
             (array_agg(source_vm_id order by day desc))[1] as source_vm_id,
             (array_agg(name order by day desc))[1] as name,
             (array_agg(first_seen_at order by day desc))[1] as first_seen_at,
             (array_agg(last_seen_at order by day desc))[1] as last_seen_at,
             (array_agg(created_at order by day desc))[1] as created_at,
             (array_agg(deleted_at order by day desc))[1] as deleted_at
      from days group by vm_key
    ), pools as (
      select d.vm_key, p.key as pool, sum(p.value::text::bigint) as hits
      from days d cross join lateral jsonb_each(d.pool_samples) p group by d.vm_key, p.key
    ), per_vm_pools as (
      select p.vm_key, jsonb_object_agg(p.pool, p.hits) as pool_samples,
             jsonb_object_agg(p.pool, rollup_ratio(p.hits * 100, v.sp)) as pool_pct
      from pools p join per_vm v using (vm_key) group by p.vm_key
    )
    insert into vm_monthly_rollup (
      source_id, month, vm_key, source_vm_id, name, total_samples, samples_present, powered_on_samples,
      days_present, days_covered, sum_vcpu, sum_ram_mb, sum_disk_gb, presence, avg_vcpu, avg_ram_gb,
      avg_disk_gb, powered_on_ratio, powered_on_hours, vcpu_hours, ram_gb_hours, disk_gb_hours,
      pool_samples, pool_pct, first_sample_at, last_sample_at, first_seen_at, last_seen_at, created_at, deleted_at)
    select ${sourceId}, ${m0}::date, v.vm_key, v.source_vm_id, v.name, k.n, v.sp, v.on_s, v.days_present, k.covered,
           v.s_vcpu, v.s_ram, v.s_disk, rollup_ratio(v.sp, k.n), rollup_ratio(v.s_vcpu, k.n),
           rollup_ratio(v.s_ram, 1024 * k.n), rollup_ratio(v.s_disk, k.n), rollup_ratio(v.on_s, v.sp),
           v.on_h, v.vcpu_h, v.ram_h, v.disk_h, pp.pool_samples, pp.pool_pct, v.first_t, v.last_t,
           v.first_seen_at, v.last_seen_at, v.created_at, v.deleted_at
    from per_vm v join per_vm_pools pp using (vm_key) cross join k`;
}
