-- vm_daily_rollup.day_pool: the pool a VM-day is charged to (the pool holding most of the
-- day's samples, ties to the first name in byte order), written by both daily engines and
-- read by both costing engines instead of grouping a month's rows by the pool_samples jsonb.
-- day_pool() is created here for the backfill; its home is sql/routines/day_pool.sql
-- (re-applied after migrations, same text).
create or replace function day_pool(p_pool_samples jsonb)
returns text
language sql
immutable
parallel safe
as $$
  select e.key from jsonb_each(p_pool_samples) e
  order by (e.value)::integer desc, e.key collate "C" limit 1
$$;

alter table vm_daily_rollup add column day_pool text;
update vm_daily_rollup set day_pool = day_pool(pool_samples);
