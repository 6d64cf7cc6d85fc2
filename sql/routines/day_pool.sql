-- The pool a VM-day is charged to, from its pool_samples (samples per pool): the pool
-- holding most of the day's samples, ties to the first name in byte order; null when there
-- are none. Stored as vm_daily_rollup.day_pool by both daily engines (vm_daily_rollup_rows();
-- the TypeScript twin is dayPool() in server/aggregate/rollup_row.ts) and read by both costing
-- engines (docs/chargeback.md), so the month's costing groups by a short text instead of
-- the jsonb. Migration 0067 created it first (for its backfill); this file is its home.
create or replace function day_pool(p_pool_samples jsonb)
returns text
language sql
immutable
parallel safe
as $$
  select e.key from jsonb_each(p_pool_samples) e
  order by (e.value)::integer desc, e.key collate "C" limit 1
$$;
