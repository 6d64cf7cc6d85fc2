-- The vm_monthly_rollup rows of one source and month [p_m0, p_m1), read from
-- vm_daily_rollup only: the one SQL statement of the monthly row (rules:
-- docs/aggregation.md), used by aggregate_monthly() and by the benchmark's floor
-- (server/aggregate/floor.ts). The month's constants (total samples, days covered) come in
-- as arguments. Returns the table's own row type; inlined by PostgreSQL for the same
-- reasons as vm_daily_rollup_rows (single-SELECT, stable, not strict `language sql`).
create or replace function vm_monthly_rollup_rows(
  p_source_id integer, p_m0 date, p_m1 date, p_n integer, p_covered integer)
returns setof vm_monthly_rollup
language sql
stable
as $$
  with per_vm as (
    select vm_key,
           sum(samples_present)::integer as sp,
           sum(powered_on_samples)::integer as on_s,
           count(*)::integer as days_present,
           sum(sum_vcpu)::bigint as s_vcpu,
           sum(sum_ram_mb)::bigint as s_ram,
           sum(sum_disk_gb) as s_disk,
           sum(powered_on_hours) as on_h,
           sum(vcpu_hours) as vcpu_h,
           sum(ram_gb_hours) as ram_h,
           sum(disk_gb_hours) as disk_h,
           min(first_sample_at) as first_t,
           max(last_sample_at) as last_t,
           -- identity and lifecycle as the latest day carried them
           (array_agg(source_vm_id order by day desc))[1] as source_vm_id,
           (array_agg(name order by day desc))[1] as name,
           (array_agg(first_seen_at order by day desc))[1] as first_seen_at,
           (array_agg(last_seen_at order by day desc))[1] as last_seen_at,
           (array_agg(created_at order by day desc))[1] as created_at,
           (array_agg(deleted_at order by day desc))[1] as deleted_at,
           -- each day's samples per pool, summed per VM below
           array_agg(pool_samples) as day_pools
    from vm_daily_rollup r
    where r.source_id = p_source_id and r.day >= p_m0 and r.day < p_m1
    group by vm_key
  )
  select p_source_id, p_m0, v.vm_key, v.source_vm_id, v.name, p_n, v.sp, v.on_s, v.days_present,
         p_covered, v.s_vcpu, v.s_ram, v.s_disk,
         rollup_ratio(v.sp, p_n),
         rollup_ratio(v.s_vcpu, p_n),
         rollup_ratio(v.s_ram, 1024 * p_n),
         rollup_ratio(v.s_disk, p_n),
         rollup_ratio(v.on_s, v.sp),
         v.on_h, v.vcpu_h, v.ram_h, v.disk_h,
         pp.pool_samples, pp.pool_pct, v.first_t, v.last_t,
         v.first_seen_at, v.last_seen_at, v.created_at, v.deleted_at
  from per_vm v
  -- Pools are summed inside each VM's row, not grouped apart and joined back: a join of two
  -- aggregates is planned from row estimates, and right after the days were written (no
  -- statistics yet: a backfill, a month closed just after its last day) the planner took
  -- both for one row and re-ran the inner aggregate per VM (2,000 VMs: 17–160 s instead of
  -- 0.5 s). This shape has no join to misjudge. A VM with no pool samples has no row, as before.
  cross join lateral (
    select jsonb_object_agg(h.pool, h.hits) as pool_samples,
           jsonb_object_agg(h.pool, rollup_ratio(h.hits * 100, v.sp)) as pool_pct
    from (select p.key as pool, sum(p.value::text::bigint) as hits
          from unnest(v.day_pools) as d(pools) cross join lateral jsonb_each(d.pools) p
          group by p.key) h
  ) pp
  where pp.pool_samples is not null
$$;
