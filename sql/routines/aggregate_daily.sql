-- Daily aggregation of one source and one calendar day in time zone `tz`: replaces that
-- day's vm_daily_rollup rows, its source_daily_totals row and its snapshot_registry entry.
-- One pass over the facts (one grouped scan of the day's rows); atomic because a function
-- runs inside its caller's statement. Returns the number of VM rows written.
-- Rules: docs/aggregation.md. The TypeScript twin is server/aggregate/daily_ts.ts.
create or replace function aggregate_daily(p_source_id integer, p_day date, p_tz text default 'UTC')
returns integer
language plpgsql
as $$
declare
  t0 timestamptz := p_day::timestamp at time zone p_tz;
  t1 timestamptz := (p_day + 1)::timestamp at time zone p_tz;
  secs integer := extract(epoch from t1 - t0)::integer;
  n integer;
  all_complete boolean;
  written integer;
begin
  select count(*)::integer, coalesce(bool_and(c.complete), true) into n, all_complete
  from captures c
  where c.source_id = p_source_id and c.captured_at >= t0 and c.captured_at < t1;

  delete from vm_daily_rollup where source_id = p_source_id and day = p_day;
  delete from source_daily_totals where source_id = p_source_id and day = p_day;
  if n = 0 then
    delete from snapshot_registry where kind = 'daily' and source_id = p_source_id and period_start = t0;
    return 0;
  end if;

  insert into vm_daily_rollup (
    source_id, day, vm_key, source_vm_id, name, total_samples, samples_present, powered_on_samples,
    day_seconds, sum_vcpu, sum_ram_mb, sum_disk_gb, presence, avg_vcpu, avg_ram_gb, avg_disk_gb,
    powered_on_ratio, powered_on_hours, vcpu_hours, ram_gb_hours, disk_gb_hours, pool_samples, pool_pct,
    first_sample_at, last_sample_at, first_seen_at, last_seen_at, created_at, deleted_at)
  with per_pool as (
    -- one grouped scan: per VM and pool; the window gives the VM's samples for pool %
    select f.vm_key,
           coalesce(f.resource_pool, '(none)') as pool,
           count(*) as hits,
           sum(count(*)) over (partition by f.vm_key) as vm_hits,
           count(*) filter (where f.power_state = 'poweredOn') as on_hits,
           sum(f.vcpu) as s_vcpu,
           sum(f.ram_mb) as s_ram,
           sum(f.provisioned_disk_gb) as s_disk,
           min(f.snapshot_time) as first_t,
           max(f.snapshot_time) as last_t,
           (array_agg(f.name order by f.snapshot_time desc))[1] as last_name,
           (array_agg(f.source_vm_id order by f.snapshot_time desc))[1] as last_vm_id
    from vm_hourly_stats f
    where f.source_id = p_source_id and f.snapshot_time >= t0 and f.snapshot_time < t1
      and not f.is_template
    group by f.vm_key, coalesce(f.resource_pool, '(none)')
  ), per_vm as (
    select vm_key,
           sum(hits)::integer as sp,
           sum(on_hits)::integer as on_s,
           sum(s_vcpu)::bigint as s_vcpu,
           sum(s_ram)::bigint as s_ram,
           sum(s_disk) as s_disk,
           min(first_t) as first_t,
           max(last_t) as last_t,
           (array_agg(last_name order by last_t desc))[1] as name,
           (array_agg(last_vm_id order by last_t desc))[1] as source_vm_id,
           jsonb_object_agg(pool, hits) as pool_samples,
           jsonb_object_agg(pool, rollup_ratio(hits * 100, vm_hits)) as pool_pct
    from per_pool
    group by vm_key
  )
  select p_source_id, p_day, v.vm_key, v.source_vm_id, v.name, n, v.sp, v.on_s, secs,
         v.s_vcpu, v.s_ram, v.s_disk,
         rollup_ratio(v.sp, n),
         rollup_ratio(v.s_vcpu, n),
         rollup_ratio(v.s_ram, 1024 * n),
         rollup_ratio(v.s_disk, n),
         rollup_ratio(v.on_s, v.sp),
         rollup_ratio(v.on_s::numeric * secs, 3600 * n),
         rollup_ratio(v.s_vcpu::numeric * secs, 3600 * n),
         rollup_ratio(v.s_ram::numeric * secs, 3600 * 1024 * n),
         rollup_ratio(v.s_disk * secs, 3600 * n),
         v.pool_samples, v.pool_pct, v.first_t, v.last_t,
         l.first_seen_at, l.last_seen_at, l.created_at, l.deleted_at
  from per_vm v
  left join vm_lifecycle l on l.source_id = p_source_id and l.vm_key = v.vm_key;
  get diagnostics written = row_count;

  insert into source_daily_totals (
    source_id, day, total_samples, day_seconds, complete, vm_count, samples_present, powered_on_samples,
    sum_vcpu, sum_ram_mb, sum_disk_gb, avg_vm_count, avg_powered_on, avg_vcpu, avg_ram_gb, avg_disk_gb,
    powered_on_hours, vcpu_hours, ram_gb_hours, disk_gb_hours)
  select p_source_id, p_day, n, secs, all_complete, count(*)::integer,
         coalesce(sum(r.samples_present), 0), coalesce(sum(r.powered_on_samples), 0),
         coalesce(sum(r.sum_vcpu), 0), coalesce(sum(r.sum_ram_mb), 0), coalesce(sum(r.sum_disk_gb), 0),
         rollup_ratio(coalesce(sum(r.samples_present), 0), n),
         rollup_ratio(coalesce(sum(r.powered_on_samples), 0), n),
         rollup_ratio(coalesce(sum(r.sum_vcpu), 0), n),
         rollup_ratio(coalesce(sum(r.sum_ram_mb), 0), 1024 * n),
         rollup_ratio(coalesce(sum(r.sum_disk_gb), 0), n),
         rollup_ratio(coalesce(sum(r.powered_on_samples), 0) * secs, 3600 * n),
         rollup_ratio(coalesce(sum(r.sum_vcpu), 0) * secs, 3600 * n),
         rollup_ratio(coalesce(sum(r.sum_ram_mb), 0) * secs, 3600 * 1024 * n),
         rollup_ratio(coalesce(sum(r.sum_disk_gb), 0) * secs, 3600 * n)
  from vm_daily_rollup r
  where r.source_id = p_source_id and r.day = p_day;

  insert into snapshot_registry (kind, source_id, period_start, period_end, row_count, complete)
  values ('daily', p_source_id, t0, t1, written, all_complete)
  on conflict (kind, source_id, period_start) do update set
    period_end = excluded.period_end, row_count = excluded.row_count,
    complete = excluded.complete, created_at = now();
  return written;
end;
$$;
