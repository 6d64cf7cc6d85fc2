-- The roles vmledger's policies and grants name, and what they are granted: as migrations
-- 0055 (vmledger_insight, the Database page's statistics reader) and 0059 (vmledger_scoped,
-- per-source visibility) made them. Idempotent. Roles belong to the cluster and a dump
-- carries neither them nor (restored with --no-acl) the grants, so `npm run restore` runs
-- this before pg_restore (the restored policies name the roles) and after it (the grants
-- reach the restored tables and functions). Migrations are never edited: a change to these
-- roles is a new migration and a change here.
do $$
begin
  if not exists (select from pg_roles where rolname = 'vmledger_insight') then
    create role vmledger_insight nologin;
  end if;
  grant pg_monitor to vmledger_insight;
  if exists (select from pg_roles where rolname = 'pg_read_all_data') then
    grant pg_read_all_data to vmledger_insight;
  end if;
  if not exists (select from pg_roles where rolname = current_user and rolsuper) then
    execute format('grant vmledger_insight to %I', current_user);
  end if;
exception when insufficient_privilege or duplicate_object or unique_violation then
  raise notice 'role vmledger_insight not set up: %', sqlerrm;
end $$;

do $$
begin
  if not exists (select from pg_roles where rolname = 'vmledger_scoped') then
    create role vmledger_scoped nologin;
  end if;
  if not exists (select from pg_roles where rolname = current_user and rolsuper) then
    execute format('grant vmledger_scoped to %I', current_user);
  end if;
exception when duplicate_object or unique_violation then
  raise notice 'role vmledger_scoped made by another database meanwhile: %', sqlerrm;
end $$;

grant usage on schema public to vmledger_scoped;
grant select, insert, update, delete on all tables in schema public to vmledger_scoped;
grant usage, select on all sequences in schema public to vmledger_scoped;
grant execute on all functions in schema public to vmledger_scoped;
alter default privileges in schema public grant select, insert, update, delete on tables to vmledger_scoped;
alter default privileges in schema public grant usage, select on sequences to vmledger_scoped;
