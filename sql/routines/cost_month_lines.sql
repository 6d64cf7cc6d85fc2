-- The cost lines of one source and month (rules: docs/chargeback.md), read from
-- vm_daily_rollup only; used by cost_month(). The TypeScript twin is server/costs/cost_ts.ts.
-- Each VM-day is priced at its tier (the first tier rule matching its day_pool, the pool holding
-- most of its samples that day, ties to the first pool name in byte order, or one of its tags at its
-- last sample that day; else "unassigned") and at the card's version in effect that day. Lines group a VM's days
-- by (tier, version). Quantities are exact sums; each component is rounded once, half up,
-- to 2 decimals; the total is the sum of the rounded components.
--   vCPU / RAM: Σ vcpu_hours × powered_on_ratio × price per hour (powered-off time is free)
--   disk:       Σ avg_disk_gb × price per GB-month / days in month (charged while present, on or off)
--   VM fee:     Σ presence × price per VM-month / days in month
-- A language sql function with one statement, so the planner inlines it into the caller.
-- p_tags: some rule reads tags (cost_month passes a constant, so without tag rules the labels
-- lookup is planned away and the grouping stays a hash of the rollups' own columns).
create or replace function cost_month_lines(p_source_id integer, p_m0 date, p_m1 date, p_card bigint,
                                            p_tags boolean)
returns table (
  vm_key text, tier text, version_id bigint, days integer, present_days numeric, vcpu_hours numeric,
  ram_gb_hours numeric, disk_gb_days numeric, vcpu_cost numeric, ram_cost numeric, disk_cost numeric,
  vm_cost numeric, total numeric)
language sql
stable
as $$
  with ver as (
    select v.id, v.effective_from,
           coalesce(lead(v.effective_from) over (order by v.effective_from), 'infinity'::date) as until,
           v.vcpu_hour, v.ram_gb_hour, v.disk_gb_month, v.vm_month
    from rate_card_versions v
    where v.card_id = p_card
  ), day_version as (
    -- the version in effect on each day of the month, by day number (null before the first),
    -- and the one version of the whole month when there is only one (the usual case)
    select array_agg(x.id order by x.d) as ids,
           case when count(distinct x.id) = 1 and count(x.id) = count(*) then min(x.id) end as single_id
    from (select d, (select v.id from ver v where d::date >= v.effective_from and d::date < v.until) as id
          from generate_series(p_m0, p_m1 - 1, interval '1 day') d) x
  ), parts as (
    -- one grouped scan: a VM's days by version and by the pool each day is charged to
    -- (day_pool, stored by the daily aggregation: usually one group a VM)
    select r.vm_key,
           coalesce((select single_id from day_version), (select ids from day_version)[r.day - p_m0 + 1])
             as version_id,
           r.day_pool,
           -- the VM's tags (labels) at its last sample of the day, only when a rule reads tags
           case when p_tags then
             coalesce((select case when jsonb_typeof(h.config -> 'labels') = 'array' then h.config -> 'labels' end
                from vm_config_history h
               where h.source_id = p_source_id and h.vm_key = r.vm_key
                 and h.valid_from <= r.last_sample_at
                 and (h.valid_to is null or h.valid_to > r.last_sample_at)), '[]'::jsonb)
           end as labels,
           count(*) as days,
           sum(r.presence) as present_days,
           sum(r.vcpu_hours * r.powered_on_ratio) as vcpu_hours,
           sum(r.ram_gb_hours * r.powered_on_ratio) as ram_gb_hours,
           sum(r.avg_disk_gb) as disk_gb_days
    from vm_daily_rollup r
    where r.source_id = p_source_id and r.day >= p_m0 and r.day < p_m1
    group by 1, 2, 3, 4
  ), part_keys as materialized (
    -- the tier of each distinct (day pool, tags) of the parts, worked out once, not once a
    -- part (VMs share pools: without tag rules a few dozen keys for 100,000 VMs). The pool:
    -- day_pool, the one holding most of the day's samples, ties to the first name in byte
    -- order (sql/routines/day_pool.sql), null without samples (no pool rule matches); the
    -- tier: the first rule matching the pool (field pool) or one of the tags (field tag): a
    -- tag is a label's name, "category:name" for a vSphere tag. pool_key and no_pool stand
    -- for the nullable pool in the join, which then stays a hash join.
    select coalesce(k.pool, '') as pool_key, k.pool is null as no_pool, k.labels,
           coalesce((select t.tier from tier_rules t
                     where case when t.field = 'pool' then
                             case t.match
                               when 'exact' then k.pool = t.pattern
                               when 'prefix' then starts_with(k.pool, t.pattern)
                               else k.pool ~ t.pattern
                             end
                           else exists (
                             select 1 from jsonb_array_elements(k.labels) lab
                             cross join lateral (select coalesce((lab ->> 'category') || ':', '')
                                                          || (lab ->> 'name') as tag) x
                             where case t.match
                                     when 'exact' then x.tag = t.pattern
                                     when 'prefix' then starts_with(x.tag, t.pattern)
                                     else x.tag ~ t.pattern
                                   end)
                           end
                     order by t.position limit 1), 'unassigned') as tier
    from (select distinct p.day_pool as pool, coalesce(p.labels, '[]'::jsonb) as labels from parts p) k
  ), grouped as (
    select p.vm_key, k.tier, p.version_id, sum(p.days)::integer as days,
           sum(p.present_days) as present_days, sum(p.vcpu_hours) as vcpu_hours,
           sum(p.ram_gb_hours) as ram_gb_hours, sum(p.disk_gb_days) as disk_gb_days
    from parts p
    join part_keys k on k.pool_key = coalesce(p.day_pool, '') and k.no_pool = (p.day_pool is null)
                    and k.labels = coalesce(p.labels, '[]'::jsonb)
    group by p.vm_key, k.tier, p.version_id
  )
  select g.vm_key, g.tier, g.version_id, g.days, g.present_days, g.vcpu_hours, g.ram_gb_hours,
         g.disk_gb_days, c.vcpu, c.ram, c.disk, c.vm, c.vcpu + c.ram + c.disk + c.vm
  from grouped g
  join ver v on v.id = g.version_id
  left join rate_card_tier_prices tp on tp.version_id = g.version_id and tp.tier = g.tier
  cross join lateral (
    select round(g.vcpu_hours * coalesce(tp.vcpu_hour, v.vcpu_hour * coalesce(tp.multiplier, 1)), 2) as vcpu,
           round(g.ram_gb_hours * coalesce(tp.ram_gb_hour, v.ram_gb_hour * coalesce(tp.multiplier, 1)), 2) as ram,
           div(200 * g.disk_gb_days * coalesce(tp.disk_gb_month, v.disk_gb_month * coalesce(tp.multiplier, 1))
               + (p_m1 - p_m0), 2 * (p_m1 - p_m0)) * 0.01 as disk,
           div(200 * g.present_days * coalesce(tp.vm_month, v.vm_month * coalesce(tp.multiplier, 1))
               + (p_m1 - p_m0), 2 * (p_m1 - p_m0)) * 0.01 as vm
  ) c
$$;
