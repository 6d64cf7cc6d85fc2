-- Database insight (issue 24; docs/db-insight.md): the statistics extensions where this role
-- may create them, the least-privilege role that reads statistics and explains statements,
-- and the snapshots of pg_stat_statements kept by the `db-insight-snapshot` job.
--
-- Each step is tried and skipped when not allowed (an external database whose owner is no
-- superuser): the Database page then says exactly what an administrator has to run.
do $$
begin
  if exists (select from pg_available_extensions where name = 'pg_stat_statements') then
    create extension if not exists pg_stat_statements;
  end if;
exception when insufficient_privilege then
  raise notice 'pg_stat_statements not created: %', sqlerrm;
end $$;

do $$
begin
  if exists (select from pg_available_extensions where name = 'hypopg') then
    create extension if not exists hypopg;
  end if;
exception when insufficient_privilege then
  raise notice 'hypopg not created: %', sqlerrm;
end $$;

-- vmledger_insight: reads every statistic (pg_read_all_stats via pg_monitor) and, to
-- EXPLAIN, every table (pg_read_all_data, PostgreSQL 14+) — and writes nothing. Roles are
-- the cluster's, not the database's: another database of the cluster may have made it.
do $$
begin
  if not exists (select from pg_roles where rolname = 'vmledger_insight') then
    create role vmledger_insight nologin;
  end if;
  grant pg_monitor to vmledger_insight;
  if exists (select from pg_roles where rolname = 'pg_read_all_data') then
    grant pg_read_all_data to vmledger_insight;
  end if;
  if not exists (
    select from pg_roles where rolname = current_user and rolsuper
  ) then
    execute format('grant vmledger_insight to %I', current_user);
  end if;
exception when insufficient_privilege or duplicate_object or unique_violation then
  raise notice 'role vmledger_insight not set up: %', sqlerrm;
end $$;

create table db_insight_snapshots (
  id          bigint      generated always as identity primary key,
  taken_at    timestamptz not null default now(),
  -- pg_stat_statements_info.stats_reset: a reset between two snapshots makes their
  -- difference meaningless (the trend then starts at the reset).
  stats_reset timestamptz
);
create index db_insight_snapshots_taken_at on db_insight_snapshots (taken_at);

create table db_insight_snapshot_statements (
  snapshot_id      bigint           not null references db_insight_snapshots on delete cascade,
  queryid          bigint           not null,
  calls            bigint           not null,
  total_exec_ms    double precision not null,
  rows             bigint           not null,
  shared_blks_read bigint           not null,
  shared_blks_hit  bigint           not null,
  primary key (snapshot_id, queryid)
);
