-- Per-source visibility (issue 25; docs/sign-in.md "Per-source visibility"): a viewer's grant
-- may be limited to some sources. It holds by construction, not by a filter in each query:
-- a scoped request runs in one transaction as the role vmledger_scoped, with the ids of the
-- sources it may see in the setting vmledger.sources, and row-level security on every
-- source-keyed table hides every other row. Unscoped requests (admins, unscoped viewers,
-- agents) run as the pool's own role, the tables' owner, which row-level security skips: they
-- pay nothing.

-- Tags on sources (`tenant=acme`): a grant can name a tag instead of sources.
alter table sources add column tags text[] not null default '{}';
create index sources_tags on sources using gin (tags);

-- A token's or directory person's visibility: null sees every source; otherwise selectors
-- `source:<id>`, `<kind>:<external id>` or `tag:<key>=<value>`. Viewers only.
alter table api_tokens add column scope text[];
alter table api_tokens add constraint api_tokens_scope_viewer check (scope is null or role = 'viewer');

-- The visible source ids of this transaction ('' or unset: none).
create function vmledger_scope() returns int[] language sql stable parallel safe as $$
  select coalesce(string_to_array(nullif(current_setting('vmledger.sources', true), ''), ',')::int[], '{}')
$$;

-- Roles are the cluster's, not the database's: another database of the cluster may have made it.
do $$
begin
  if not exists (select from pg_roles where rolname = 'vmledger_scoped') then
    create role vmledger_scoped nologin;
  end if;
  if not exists (select from pg_roles where rolname = current_user and rolsuper) then
    execute format('grant vmledger_scoped to %I', current_user);
  end if;
exception
  when duplicate_object or unique_violation then
    raise notice 'role vmledger_scoped made by another database meanwhile: %', sqlerrm;
  when insufficient_privilege then
    raise exception 'per-source visibility needs the role vmledger_scoped: %', sqlerrm
      using hint = format('as a superuser: create role vmledger_scoped nologin; grant vmledger_scoped to %I;', current_user);
end $$;

grant usage on schema public to vmledger_scoped;
grant select, insert, update, delete on all tables in schema public to vmledger_scoped;
grant usage, select on all sequences in schema public to vmledger_scoped;
grant execute on all functions in schema public to vmledger_scoped;
alter default privileges in schema public grant select, insert, update, delete on tables to vmledger_scoped;
alter default privileges in schema public grant usage, select on sequences to vmledger_scoped;

-- A report asked for in a scoped request holds only those sources: recorded with it (by the
-- default, so no caller can forget it), built in that scope by whichever worker builds it
-- (server/reports/generate.ts), and seen by scoped viewers whose scope covers it.
alter table reports add column scope int[]
  default (case when current_user = 'vmledger_scoped' then vmledger_scope() end);

-- The view reads its tables as the caller (else as its owner, past row-level security).
alter view vm_lifecycle set (security_invoker = true);

-- Every table with a source_id: rows of visible sources only. Tables keyed through another
-- table see what that table's (itself filtered) rows allow.
do $$
declare
  t text;
  insight boolean := exists (select from pg_roles where rolname = 'vmledger_insight');
begin
  for t in
    select c.relname from pg_class c
    join pg_attribute a on a.attrelid = c.oid and a.attname = 'source_id' and not a.attisdropped
    where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p') and not c.relispartition
  loop
    execute format('alter table %I enable row level security', t);
    execute format(
      'create policy scoped on %I to vmledger_scoped using (source_id = any (vmledger_scope()))', t);
  end loop;
  execute 'drop policy scoped on reports';
  execute 'create policy scoped on reports to vmledger_scoped
    using (source_id = any (vmledger_scope()) or scope <@ vmledger_scope())';
  execute 'alter table sources enable row level security';
  execute 'create policy scoped on sources to vmledger_scoped using (id = any (vmledger_scope()))';
  execute 'alter table vm_cost_lines enable row level security';
  execute 'create policy scoped on vm_cost_lines to vmledger_scoped
    using (exists (select from cost_runs r where r.id = run_id))';
  execute 'alter table alert_events enable row level security';
  execute 'create policy scoped on alert_events to vmledger_scoped
    using (exists (select from alerts a where a.id = alert_id))';
  execute 'alter table notification_items enable row level security';
  execute 'create policy scoped on notification_items to vmledger_scoped
    using (exists (select from alerts a where a.id = alert_id))';
  execute 'alter table report_chunks enable row level security';
  execute 'create policy scoped on report_chunks to vmledger_scoped
    using (exists (select from reports r where r.id = report_id))';
  -- Not for scoped eyes at all (they may add audit rows, never read them).
  execute 'alter table notifications enable row level security';
  execute 'create policy scoped on notifications to vmledger_scoped using (false)';
  execute 'alter table audit_log enable row level security';
  execute 'create policy scoped_read on audit_log for select to vmledger_scoped using (false)';
  execute 'create policy scoped_add on audit_log for insert to vmledger_scoped with check (true)';
  -- The statistics role explains statements on every table: it keeps seeing every row.
  if insight then
    for t in select c.relname from pg_class c
      where c.relnamespace = 'public'::regnamespace and c.relrowsecurity
    loop
      execute format('create policy insight on %I to vmledger_insight using (true)', t);
    end loop;
  end if;
end $$;

-- OpenID Connect sessions keep their ID token: logout sends it to the provider's
-- end_session_endpoint as id_token_hint (RP-initiated logout; docs/sign-in.md).
alter table sessions add column id_token text;
