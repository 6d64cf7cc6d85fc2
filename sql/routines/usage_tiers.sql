-- Both usage tiers of one source and local day (hourly from the facts, then daily from the
-- hourly rows), recorded in usage_tier_days. Returns the number of VM hourly rows written.
-- The TypeScript twin is server/aggregate/usage_ts.ts (aggregateUsageTs).
create or replace function aggregate_usage(p_source_id integer, p_day date, p_tz text default 'UTC')
returns integer
language plpgsql
as $$
declare
  written integer;
begin
  written := aggregate_usage_hourly(p_source_id, p_day, p_tz);
  perform aggregate_usage_daily(p_source_id, p_day, p_tz);
  insert into usage_tier_days (source_id, day, period_start, period_end, engine)
  values (p_source_id, p_day, p_day::timestamp at time zone p_tz, (p_day + 1)::timestamp at time zone p_tz, 'sql')
  on conflict (source_id, day) do update set
    period_start = excluded.period_start, period_end = excluded.period_end,
    engine = excluded.engine, computed_at = now();
  return written;
end;
$$;
