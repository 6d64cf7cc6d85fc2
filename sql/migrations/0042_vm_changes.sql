-- Changes between two dates (server/changes/): a change-only table of what moved in a VM's
-- captured state from one of its observations to the next.
--
--  * kind resized (vcpu, memoryMib, provisionedDiskGib), moved (host, cluster, resourcePool,
--    folder), renamed (name), power (powerState): `before` and `after` hold the whole group,
--    the VM's previous observation against this one. "Previous" is the VM's own last fact:
--    an incomplete capture that left the VM out changes nothing.
--  * kind deleted: a deletion that a reappearance ended (vm_lifecycle_base keeps only the
--    current deletion; ingest writes the ended one here before clearing it). `before` is the
--    VM's last known size.
--  Creations, current deletions and reappearances are read from vm_lifecycle_base and
--  vm_events, which ingest already keeps exact (deletion times refined by late events).
--
-- Ingest writes the rows (sql/routines/ingest_apply_capture.sql): a capture newer than its
-- source's newest compares each changed VM with its live inventory row; a late capture
-- recomputes, from the facts, the changes at its own time and at each of its VMs' next
-- observation. vm_changes_rebuild() recomputes a source's window from the facts alone: this
-- migration's backfill, and the benchmark's after seeding.
create table vm_changes (
  source_id   integer     not null references sources (id),
  vm_key      text        not null,
  at          timestamptz not null,
  kind        text        not null check (kind in ('resized', 'moved', 'renamed', 'power', 'deleted')),
  capture_id  uuid,
  before      jsonb       not null,
  after       jsonb,
  detail      text,  -- deleted: event | absence
  primary key (source_id, vm_key, at, kind)
);
-- The list and the summary read a time range across sources, in (at, source, VM, kind) order.
create index vm_changes_time on vm_changes (at, source_id, vm_key, kind);

-- Creations (the source's or an event's time, else first seen), deletions and reappearances
-- by time, for the same ranges.
create index vm_lifecycle_base_created on vm_lifecycle_base ((coalesce(created_at, first_seen_at)), source_id, vm_key);
create index vm_lifecycle_base_deleted on vm_lifecycle_base (deleted_at, source_id, vm_key) where deleted_at is not null;
create index vm_events_reappeared on vm_events (at, source_id, vm_key) where type = 'reappeared';

-- The compared state of a VM, one object per kind of change. Immutable: ingest and the
-- rebuild build it the same way, so they write the same rows.
create function vm_change_state(p_name text, p_power text, p_vcpu integer, p_ram_mb integer,
  p_disk numeric, p_host text, p_cluster text, p_pool text, p_folder text) returns jsonb
language sql immutable parallel safe as $$
  select jsonb_build_object(
    'resized', jsonb_build_object('vcpu', p_vcpu, 'memoryMib', p_ram_mb, 'provisionedDiskGib', p_disk),
    'moved', jsonb_build_object('host', p_host, 'cluster', p_cluster, 'resourcePool', p_pool, 'folder', p_folder),
    'renamed', jsonb_build_object('name', p_name),
    'power', jsonb_build_object('powerState', p_power))
$$;

-- The kinds of change from state b to state a (both from vm_change_state), with their groups.
create function vm_change_diff(b jsonb, a jsonb) returns table (kind text, before jsonb, after jsonb)
language sql immutable parallel safe as $$
  select k.key, b -> k.key, k.value from jsonb_each(a) k where b -> k.key is distinct from k.value
$$;

-- Recomputes the source's resized/moved/renamed/power rows at times in [p_from, p_to] from the
-- facts: each VM's fact against its previous fact (the one before p_from found through the
-- source's capture times, from the VM's first sighting on). A VM's reappearance is not a
-- change of its state (the reappearance is listed itself). Deleted rows are kept.
create function vm_changes_rebuild(p_source_id integer, p_from timestamptz, p_to timestamptz) returns integer
language plpgsql as $$
declare
  v_rows integer;
begin
  delete from vm_changes where source_id = p_source_id and at between p_from and p_to and kind <> 'deleted';
  -- The window compares plain columns; documents are built only for the few rows that differ.
  with w as (
    select f.vm_key, f.snapshot_time, f.capture_id, f.name, f.power_state, f.vcpu, f.ram_mb, f.provisioned_disk_gb,
      f.host, f.cluster, f.resource_pool, f.folder,
      row_number() over v as n,
      lag(f.name) over v as p_name, lag(f.power_state) over v as p_power, lag(f.vcpu) over v as p_vcpu,
      lag(f.ram_mb) over v as p_ram, lag(f.provisioned_disk_gb) over v as p_disk, lag(f.host) over v as p_host,
      lag(f.cluster) over v as p_cluster, lag(f.resource_pool) over v as p_pool, lag(f.folder) over v as p_folder
    from vm_hourly_stats f
    where f.source_id = p_source_id and f.snapshot_time between p_from and p_to
    window v as (partition by f.vm_key order by f.snapshot_time)
  ), x as (
    select w.vm_key, w.snapshot_time, w.capture_id,
      case when w.n = 1 then seed.st
           else vm_change_state(w.p_name, w.p_power, w.p_vcpu, w.p_ram, w.p_disk, w.p_host, w.p_cluster, w.p_pool,
             w.p_folder) end as b,
      vm_change_state(w.name, w.power_state, w.vcpu, w.ram_mb, w.provisioned_disk_gb, w.host, w.cluster,
        w.resource_pool, w.folder) as a
    from w
    left join lateral (
      select vm_change_state(p.name, p.power_state, p.vcpu, p.ram_mb, p.provisioned_disk_gb, p.host, p.cluster,
        p.resource_pool, p.folder) as st
      from vm_lifecycle_base l
      join captures c on c.source_id = p_source_id and c.captured_at >= l.first_seen_at and c.captured_at < p_from
      join vm_hourly_stats p on p.source_id = p_source_id and p.snapshot_time = c.captured_at and p.vm_key = w.vm_key
      where l.source_id = p_source_id and l.vm_key = w.vm_key
      order by c.captured_at desc limit 1
    ) seed on w.n = 1 and p_from > '-infinity'
    where w.n = 1 or (w.p_name, w.p_power, w.p_vcpu, w.p_ram, w.p_disk, w.p_host, w.p_cluster, w.p_pool, w.p_folder)
      is distinct from (w.name, w.power_state, w.vcpu, w.ram_mb, w.provisioned_disk_gb, w.host, w.cluster,
        w.resource_pool, w.folder)
  )
  insert into vm_changes (source_id, vm_key, at, kind, capture_id, before, after)
  select p_source_id, x.vm_key, x.snapshot_time, d.kind, x.capture_id, d.before, d.after
  from x
  cross join lateral vm_change_diff(x.b, x.a) d
  where x.b is not null
    and not exists (select 1 from vm_events e where e.type = 'reappeared' and e.at = x.snapshot_time
      and e.source_id = p_source_id and e.vm_key = x.vm_key);
  get diagnostics v_rows = row_count;
  return v_rows;
end;
$$;

-- Backfill: every source's whole history.
select vm_changes_rebuild(id, '-infinity', 'infinity') from sources;
