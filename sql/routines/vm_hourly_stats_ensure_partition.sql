-- Creates the month partition of vm_hourly_stats that holds `ts`, if it is missing.
-- Called by ingest before writing facts and by partition maintenance ahead of time.
-- Safe under concurrency: a racing creator makes the other's CREATE a no-op.
create or replace function vm_hourly_stats_ensure_partition(ts timestamptz)
returns text
language plpgsql
as $$
declare
  month_start date := date_trunc('month', ts at time zone 'UTC')::date;
  part text := format('vm_hourly_stats_%s', to_char(month_start, 'YYYY_MM'));
begin
  if to_regclass(part) is null then
    begin
      execute format(
        'create table if not exists %I partition of vm_hourly_stats for values from (%L) to (%L)',
        part,
        (month_start::timestamp at time zone 'UTC'),
        ((month_start + interval '1 month')::timestamp at time zone 'UTC'));
    exception when duplicate_table or unique_violation then
      null; -- another session created it first
    end;
  end if;
  return part;
end;
$$;
