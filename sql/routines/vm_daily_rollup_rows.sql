-- The vm_daily_rollup rows of one source and day: the one SQL statement of the daily row
-- (rules: docs/aggregation.md), used by aggregate_daily() and by the benchmark's floor
-- (server/aggregate/floor.ts). The day's constants come in as arguments (bounds, length in
-- seconds, total samples) so the planner sees the literal time range. It returns the
-- table's own row type, so the table declares the columns and their order.
-- A single-SELECT `language sql` function that is stable, not strict and has no SET
-- clause: PostgreSQL inlines it into the calling query, so neither caller pays for a
-- function boundary (its plan is the plan of the statement written out in full).
-- The file name sorts after rollup_ratio.sql and day_pool.sql, which the body needs when it is
-- created.
create or replace function vm_daily_rollup_rows(
  p_source_id integer, p_day date, p_t0 timestamptz, p_t1 timestamptz, p_secs integer, p_n integer)
returns setof vm_daily_rollup
language sql
stable
as $$
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
    where f.source_id = p_source_id and f.snapshot_time >= p_t0 and f.snapshot_time < p_t1
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
  select p_source_id, p_day, v.vm_key, v.source_vm_id, v.name, p_n, v.sp, v.on_s, p_secs,
         v.s_vcpu, v.s_ram, v.s_disk,
         rollup_ratio(v.sp, p_n),
         rollup_ratio(v.s_vcpu, p_n),
         rollup_ratio(v.s_ram, 1024 * p_n),
         rollup_ratio(v.s_disk, p_n),
         rollup_ratio(v.on_s, v.sp),
         rollup_ratio(v.on_s::numeric * p_secs, 3600 * p_n),
         rollup_ratio(v.s_vcpu::numeric * p_secs, 3600 * p_n),
         rollup_ratio(v.s_ram::numeric * p_secs, 3600 * 1024 * p_n),
         rollup_ratio(v.s_disk * p_secs, 3600 * p_n),
         v.pool_samples, v.pool_pct, v.first_t, v.last_t,
         l.first_seen_at, l.last_seen_at, l.created_at, l.deleted_at,
         day_pool(v.pool_samples)
  from per_vm v
  left join vm_lifecycle l on l.source_id = p_source_id and l.vm_key = v.vm_key
$$;
