-- The month partitions of vm_hourly_stats (those named by vm_hourly_stats_ensure_partition,
-- vm_hourly_stats_YYYY_MM; nothing attached by hand) with the instant their month ends,
-- oldest first: what retention drops and maintenance rebuilds.
create or replace function vm_hourly_stats_by_month()
returns table (partition_name text, month_end timestamptz)
language sql stable
as $$
  select c.relname::text,
    (to_date(substr(c.relname, 17), 'YYYY_MM') + interval '1 month')::timestamp at time zone 'UTC'
  from pg_inherits i
  join pg_class c on c.oid = i.inhrelid
  join pg_class p on p.oid = i.inhparent
  where p.relname = 'vm_hourly_stats' and c.relname ~ '^vm_hourly_stats_[0-9]{4}_[0-9]{2}$'
  order by c.relname
$$;
