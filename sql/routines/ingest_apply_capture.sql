-- The signature before migration 0008's history (clusters, pools and networks came in).
drop function if exists ingest_apply_capture(integer, uuid, timestamptz, boolean, jsonb, jsonb, jsonb, jsonb, text[]);

-- Applies one capture to the canonical tables, inside the caller's ingest transaction:
-- facts, lifecycle, events, live inventory, reconcile (deletions and reappearances),
-- hosts and datastores, source totals, the snapshot registry, the change-only history
-- of VM configuration and site objects (migration 0008) and the VM changes (migration
-- 0042). Set-based statements, but for the history rows a late capture splits (a loop
-- over those only).
--
-- Two ways in (server/ingest/store_capture.ts):
--  * p_left_out is null: the temp table capture_stage holds every VM of the capture; the
--    facts are written from it here. Used for late captures and a source's first capture.
--  * p_left_out is given: the caller has already COPYed the facts and knows, from the
--    source's state at this generation, which VMs can change. capture_stage then holds
--    only those (new, changed, left out of the previous capture, creation time unknown),
--    and p_left_out lists the live VMs this capture does not contain. Every statement
--    below is a no-op for a VM that is in the newest capture and unchanged, which is why
--    leaving such VMs out of the stage gives the same result.
--
-- Ordering rules (captures can arrive late, when an agent drains its spool):
--  * facts are always stored;
--  * the live inventory only moves forward (a late capture never overwrites newer state);
--  * deletion follows captured-at order: only the newest complete capture of a source
--    deletes by absence; a late capture's VMs that no later complete capture saw are
--    marked deleted at that later capture;
--  * an incomplete capture never deletes (VMs) nor closes (site objects' history);
--  * history: a capture newer than its source's newest closes the current row whose
--    document it changes and opens one with its own; a late capture at T whose document
--    differs from the row valid at T splits that row: [from, T) old, [T, N) its own,
--    [N, to) old again, N being the source's next capture after T (the old document is the
--    one that capture saw, as far as history knows). In a gap (no row valid at T) its row
--    runs [T, least(next row, N)). Late captures never close site objects.
--
-- Last-seen times (see migration 0006): a VM with in_newest_capture has last seen the
-- source's newest capture; only the others store their last-seen time.
create or replace function ingest_apply_capture(
  p_source_id   integer,
  p_capture_id  uuid,
  p_at          timestamptz,
  p_complete    boolean,
  p_events      jsonb,
  p_hosts       jsonb,
  p_datastores  jsonb,
  p_clusters    jsonb,
  p_pools       jsonb,
  p_networks    jsonb,
  -- {"vms", "poweredOn", "templates", "vcpu", "memoryMib", "provisionedDiskGib"} (templates excluded from sizing),
  -- and "clusters": [{"cluster", "vms", "vcpu", "memoryMib"}] of the powered-on VMs (cluster '' for none)
  p_totals      jsonb,
  p_left_out    text[]
) returns jsonb
language plpgsql
as $$
declare
  v_prev        timestamptz;  -- the source's newest capture before this one
  v_newest      timestamptz;  -- and after it
  v_late        boolean;
  v_deleted     integer := 0;
  v_reappeared  integer := 0;
  v_next_complete record;
  v_next        timestamptz;  -- a late capture's source's next capture
  v_after       timestamptz;
  r             record;
begin
  select last_capture_at into v_prev from sources where id = p_source_id;
  v_late := v_prev is not null and p_at < v_prev;
  v_newest := greatest(v_prev, p_at);

  -- 1. Facts (unless the caller COPYed them). The temp table has no statistics and so passes
  --    for ~100 rows: say how many it holds, a few VMs (the caller staged only those that may
  --    change) or every VM of a first or late capture (60,000 taken for 100 made joins below
  --    nested loops over both: minutes).
  analyze capture_stage;
  if p_left_out is null then
    insert into vm_hourly_stats (source_id, vm_key, snapshot_time, capture_id, source_vm_id, name, power_state,
      is_template, vcpu, ram_mb, provisioned_disk_gb, used_disk_gb, datacenter, cluster, host, resource_pool, folder, guest_os,
      cpu_usage_mhz, guest_memory_mib, host_memory_mib, guest_disk_free)
    select p_source_id, key, p_at, p_capture_id, source_vm_id, name, power_state, is_template, vcpu, ram_mb,
      provisioned_disk_gb, used_disk_gb, datacenter, cluster, host, resource_pool, folder, guest_os,
      cpu_usage_mhz, guest_memory_mib, host_memory_mib, guest_disk_free
    from capture_stage;
  end if;

  -- 2. Events as reported (idempotent: a re-reported event is the same row).
  insert into vm_events (source_id, at, type, vm_key, source_vm_id, vm_name, detail, capture_id)
  select p_source_id, e.at, e.type, e."vmKey", e."sourceVmId", e."vmName", e.detail, p_capture_id
  from jsonb_to_recordset(coalesce(p_events, '[]')) as e(type text, at timestamptz, "vmKey" text, "sourceVmId" text,
    "vmName" text, detail text)
  on conflict do nothing;

  -- 3. Lifecycle. VMs of the previous newest capture that this newer one left out get
  --    their last-seen time written down (it stops following the newest capture).
  if not v_late and v_prev is not null then
    if p_left_out is null then
      update vm_lifecycle_base l set last_seen_at = v_prev, in_newest_capture = false
      where l.source_id = p_source_id and l.in_newest_capture
        and not exists (select 1 from capture_stage s where s.key = l.vm_key);
    else
      update vm_lifecycle_base l set last_seen_at = v_prev, in_newest_capture = false
      from unnest(p_left_out) as k(key)
      where l.source_id = p_source_id and l.vm_key = k.key and l.in_newest_capture;
    end if;
  end if;
  --    A deletion this capture ends (the VM is back) leaves vm_lifecycle_base below; the
  --    changes table keeps it, with the VM's last known size (migration 0042).
  insert into vm_changes (source_id, vm_key, at, kind, capture_id, before, detail)
  select p_source_id, l.vm_key, l.deleted_at, 'deleted', l.deletion_capture_id,
    jsonb_build_object('vcpu', f.vcpu, 'memoryMib', f.ram_mb, 'provisionedDiskGib', f.provisioned_disk_gb),
    l.deleted_from
  from capture_stage s
  join vm_lifecycle_base l on l.source_id = p_source_id and l.vm_key = s.key
  left join vm_hourly_stats f on f.source_id = p_source_id and f.snapshot_time = l.last_seen_at and f.vm_key = l.vm_key
  where l.deleted_at is not null and p_at > l.deleted_at
  on conflict do nothing;
  --    Every staged VM: a VM deleted before this capture's time and seen again is back,
  --    recorded as a reappearance. Known VMs are one joined UPDATE and new ones one INSERT
  --    (an INSERT .. ON CONFLICT per row took ~1.7× as long); the source's row lock, taken
  --    before this, keeps the two consistent. Names follow the newest observation.
  with updated as (
    update vm_lifecycle_base l set
      first_seen_at = least(l.first_seen_at, p_at),
      last_seen_at = case when not v_late then p_at when l.in_newest_capture then l.last_seen_at
                          else greatest(l.last_seen_at, p_at) end,
      in_newest_capture = l.in_newest_capture or not v_late,
      name = case when p_at >= (case when l.in_newest_capture then v_prev else l.last_seen_at end)
                  then s.name else l.name end,
      source_vm_id = case when p_at >= (case when l.in_newest_capture then v_prev else l.last_seen_at end)
                          then s.source_vm_id else l.source_vm_id end,
      -- Sizes at the first and the newest sighting (migration 0047), by the same rules.
      first_vcpu = case when p_at < l.first_seen_at then s.vcpu else l.first_vcpu end,
      first_ram_mb = case when p_at < l.first_seen_at then s.ram_mb else l.first_ram_mb end,
      first_disk_gb = case when p_at < l.first_seen_at then s.provisioned_disk_gb else l.first_disk_gb end,
      last_vcpu = case when p_at >= (case when l.in_newest_capture then v_prev else l.last_seen_at end)
                       then s.vcpu else l.last_vcpu end,
      last_ram_mb = case when p_at >= (case when l.in_newest_capture then v_prev else l.last_seen_at end)
                         then s.ram_mb else l.last_ram_mb end,
      last_disk_gb = case when p_at >= (case when l.in_newest_capture then v_prev else l.last_seen_at end)
                          then s.provisioned_disk_gb else l.last_disk_gb end,
      created_at = coalesce(s.created_at, l.created_at),
      created_from = case when s.created_at is not null then 'source' else l.created_from end,
      reappeared_count = l.reappeared_count + (l.deleted_at is not null and p_at > l.deleted_at)::int,
      last_reappeared_at = case when l.deleted_at is not null and p_at > l.deleted_at then p_at else l.last_reappeared_at end,
      deleted_at = case when l.deleted_at is not null and p_at > l.deleted_at then null else l.deleted_at end,
      deleted_from = case when l.deleted_at is not null and p_at > l.deleted_at then null else l.deleted_from end,
      deletion_capture_id = case when l.deleted_at is not null and p_at > l.deleted_at then null else l.deletion_capture_id end
    from capture_stage s
    where l.source_id = p_source_id and l.vm_key = s.key
    returning l.vm_key, l.name, l.source_vm_id, l.last_reappeared_at
  ), back as (
    insert into vm_events (source_id, at, type, vm_key, source_vm_id, vm_name, detail, capture_id)
    select p_source_id, p_at, 'reappeared', vm_key, source_vm_id, name, 'seen again after it was marked deleted', p_capture_id
    from updated where last_reappeared_at = p_at
    on conflict do nothing
    returning 1
  )
  select count(*) into v_reappeared from back;
  insert into vm_lifecycle_base (source_id, vm_key, source_vm_id, name, first_seen_at, last_seen_at, in_newest_capture,
    created_at, created_from, first_vcpu, first_ram_mb, first_disk_gb, last_vcpu, last_ram_mb, last_disk_gb)
  select p_source_id, s.key, s.source_vm_id, s.name, p_at, p_at, not v_late, s.created_at,
         case when s.created_at is not null then 'source' end,
         s.vcpu, s.ram_mb, s.provisioned_disk_gb, s.vcpu, s.ram_mb, s.provisioned_disk_gb
  from capture_stage s
  where not exists (select 1 from vm_lifecycle_base l where l.source_id = p_source_id and l.vm_key = s.key);

  -- 4. Creation times the source did not give come from its creation events (never invented).
  update vm_lifecycle_base l set created_at = e.at, created_from = 'event'
  from (
    select distinct on (s.key) s.key, e.at
    from capture_stage s
    join vm_events e on e.source_id = p_source_id and e.type = 'created'
      and (e.vm_key = s.key or (e.vm_key is null and e.source_vm_id = s.source_vm_id and e.at <= p_at))
    order by s.key, e.at desc
  ) e
  where l.source_id = p_source_id and l.vm_key = e.key and l.created_at is null;

  -- 5. A late capture: its VMs that no later complete capture saw were deleted by then.
  if v_late then
    select captured_at, capture_id into v_next_complete from captures
    where source_id = p_source_id and complete and captured_at > p_at order by captured_at limit 1;
    if found then
      update vm_lifecycle_base l set deleted_at = v_next_complete.captured_at, deleted_from = 'absence',
             deletion_capture_id = v_next_complete.capture_id
      from capture_stage s
      where l.source_id = p_source_id and l.vm_key = s.key and not l.in_newest_capture and l.last_seen_at = p_at
        and l.deleted_at is null;
      -- Those VMs were never live in vm_inventory after this time: their state here is their last
      -- (it replaces an older last state, kept when an earlier capture's VM was deleted).
      delete from vm_inventory_deleted d using vm_lifecycle_base l
      where d.source_id = p_source_id and l.source_id = p_source_id and l.vm_key = d.vm_key
        and l.deletion_capture_id = v_next_complete.capture_id and l.last_seen_at = p_at and d.state_at <= p_at;
      insert into vm_inventory_deleted (source_id, vm_key, source_vm_id, bios_uuid, instance_uuid, name,
        power_state, is_template, vcpu, ram_mb, provisioned_disk_gb, used_disk_gb, datacenter, cluster, host,
        resource_pool, folder, guest_os, ip_addresses, tags, annotation, created_at, first_seen_at, state_at,
        state_capture_id, state_hash, last_seen_at, deleted_at, deleted_from)
      select p_source_id, s.key, s.source_vm_id, s.bios_uuid, s.instance_uuid, s.name, s.power_state, s.is_template,
        s.vcpu, s.ram_mb, s.provisioned_disk_gb, s.used_disk_gb, s.datacenter, s.cluster, s.host, s.resource_pool,
        s.folder, s.guest_os, s.ip_addresses, s.tags, s.annotation, l.created_at, l.first_seen_at, p_at, p_capture_id,
        s.state_hash, l.last_seen_at, l.deleted_at, l.deleted_from
      from capture_stage s
      join vm_lifecycle_base l on l.source_id = p_source_id and l.vm_key = s.key
      where l.deletion_capture_id = v_next_complete.capture_id and l.last_seen_at = p_at
        and not exists (select 1 from vm_inventory i where i.source_id = p_source_id and i.vm_key = s.key)
      on conflict do nothing;
    end if;
  end if;

  -- 6a. Changes (migration 0042) of a capture newer than the source's newest: each staged VM
  --     against its live inventory row, which holds its previous observation (an incomplete
  --     capture that left the VM out changed nothing). A VM back from deletion is listed as
  --     reappeared, not changed. Late captures: step 12.
  if not v_late then
    insert into vm_changes (source_id, vm_key, at, kind, capture_id, before, after)
    select p_source_id, s.key, p_at, d.kind, p_capture_id, d.before, d.after
    from capture_stage s
    join vm_lifecycle_base l on l.source_id = p_source_id and l.vm_key = s.key
    join vm_inventory cur on cur.source_id = p_source_id and cur.vm_key = s.key
    cross join lateral vm_change_diff(
      vm_change_state(cur.name, cur.power_state, cur.vcpu, cur.ram_mb, cur.provisioned_disk_gb, cur.host, cur.cluster,
        cur.resource_pool, cur.folder),
      vm_change_state(s.name, s.power_state, s.vcpu, s.ram_mb, s.provisioned_disk_gb, s.host, s.cluster,
        s.resource_pool, s.folder)) d
    where l.deleted_at is null and cur.state_at < p_at and l.last_reappeared_at is distinct from p_at;
  end if;

  -- 6. Live inventory: only VMs that are live, only from their newest observation, and
  --    only rows whose state changed (most VMs are unchanged from one capture to the next).
  insert into vm_inventory as inv (source_id, vm_key, source_vm_id, bios_uuid, instance_uuid, name, power_state,
    is_template, vcpu, ram_mb, provisioned_disk_gb, used_disk_gb, datacenter, cluster, host, resource_pool, folder,
    guest_os, ip_addresses, tags, annotation, created_at, first_seen_at, state_at, state_capture_id, state_hash)
  select p_source_id, s.key, s.source_vm_id, s.bios_uuid, s.instance_uuid, s.name, s.power_state, s.is_template,
    s.vcpu, s.ram_mb, s.provisioned_disk_gb, s.used_disk_gb, s.datacenter, s.cluster, s.host, s.resource_pool,
    s.folder, s.guest_os, s.ip_addresses, s.tags, s.annotation, l.created_at, l.first_seen_at, p_at, p_capture_id,
    s.state_hash
  from capture_stage s
  join vm_lifecycle_base l on l.source_id = p_source_id and l.vm_key = s.key
  left join vm_inventory cur on cur.source_id = p_source_id and cur.vm_key = s.key
  where l.deleted_at is null and (case when l.in_newest_capture then v_newest else l.last_seen_at end) = p_at
    -- Unchanged rows are filtered here: ON CONFLICT would lock (and so write) each of them.
    and (cur.vm_key is null or
         (cur.source_vm_id, cur.bios_uuid, cur.instance_uuid, cur.name, cur.power_state, cur.is_template, cur.vcpu,
          cur.ram_mb, cur.provisioned_disk_gb, cur.used_disk_gb, cur.datacenter, cur.cluster, cur.host,
          cur.resource_pool, cur.folder, cur.guest_os, cur.ip_addresses, cur.tags, cur.annotation, cur.created_at,
          cur.first_seen_at, cur.state_hash)
         is distinct from
         (s.source_vm_id, s.bios_uuid, s.instance_uuid, s.name, s.power_state, s.is_template, s.vcpu, s.ram_mb,
          s.provisioned_disk_gb, s.used_disk_gb, s.datacenter, s.cluster, s.host, s.resource_pool, s.folder,
          s.guest_os, s.ip_addresses, s.tags, s.annotation, l.created_at, l.first_seen_at, s.state_hash))
  on conflict (source_id, vm_key) do update set
    source_vm_id = excluded.source_vm_id, bios_uuid = excluded.bios_uuid, instance_uuid = excluded.instance_uuid,
    name = excluded.name, power_state = excluded.power_state, is_template = excluded.is_template,
    vcpu = excluded.vcpu, ram_mb = excluded.ram_mb, provisioned_disk_gb = excluded.provisioned_disk_gb,
    used_disk_gb = excluded.used_disk_gb, datacenter = excluded.datacenter, cluster = excluded.cluster,
    host = excluded.host, resource_pool = excluded.resource_pool, folder = excluded.folder,
    guest_os = excluded.guest_os, ip_addresses = excluded.ip_addresses, tags = excluded.tags,
    annotation = excluded.annotation, created_at = excluded.created_at, first_seen_at = excluded.first_seen_at,
    state_at = excluded.state_at, state_capture_id = excluded.state_capture_id, state_hash = excluded.state_hash
  where inv.state_at <= excluded.state_at;
  -- Lifecycle fields of VMs a late capture touched (first seen, creation) stay current too.
  if v_late then
    update vm_inventory i set first_seen_at = l.first_seen_at, created_at = l.created_at
    from capture_stage s join vm_lifecycle_base l on l.source_id = p_source_id and l.vm_key = s.key
    where i.source_id = p_source_id and i.vm_key = s.key
      and (i.first_seen_at <> l.first_seen_at or i.created_at is distinct from l.created_at);
  end if;

  --    A VM live again (seen after its deletion, step 3) is no longer among the deleted.
  if v_reappeared > 0 then
    delete from vm_inventory_deleted d using vm_lifecycle_base l
    where d.source_id = p_source_id and l.source_id = p_source_id and l.vm_key = d.vm_key and l.deleted_at is null;
  end if;

  -- 7. Reconcile: the newest complete capture deletes what it no longer sees. The time is
  --    the source's deletion event in (last seen, this capture] when there is one, else
  --    this capture's time (the VM was gone by then; last_seen_at bounds it from below).
  --    After step 3 the live VMs this capture left out are exactly the live ones that
  --    are not in the newest capture and were last seen before it.
  if p_complete and not v_late then
    with gone as (
      update vm_lifecycle_base l set
        deleted_at = coalesce(ev.at, p_at),
        deleted_from = case when ev.at is not null then 'event' else 'absence' end,
        deletion_capture_id = p_capture_id
      from vm_lifecycle_base l2
      left join lateral (
        select max(e.at) as at from vm_events e
        where e.source_id = p_source_id and e.type = 'deleted' and e.at > l2.last_seen_at and e.at <= p_at
          and (e.vm_key = l2.vm_key or (e.vm_key is null and e.source_vm_id = l2.source_vm_id))
      ) ev on true
      where l.source_id = p_source_id and l2.source_id = p_source_id and l2.vm_key = l.vm_key
        and l2.deleted_at is null and not l2.in_newest_capture and l2.last_seen_at < p_at
      returning l.vm_key, l.last_seen_at, l.deleted_at, l.deleted_from
    ), removed as (
      delete from vm_inventory i using gone where i.source_id = p_source_id and i.vm_key = gone.vm_key returning i.*
    ), kept as (
      -- The deleted VM keeps its last state (migration 0041: the two tables have the same
      -- columns) and carries its lifecycle's last sighting and deletion (migration 0071).
      insert into vm_inventory_deleted (source_id, vm_key, source_vm_id, bios_uuid, instance_uuid, name,
        power_state, is_template, vcpu, ram_mb, provisioned_disk_gb, used_disk_gb, datacenter, cluster, host,
        resource_pool, folder, guest_os, ip_addresses, tags, annotation, created_at, first_seen_at, state_at,
        state_capture_id, state_hash, last_seen_at, deleted_at, deleted_from)
      select x.source_id, x.vm_key, x.source_vm_id, x.bios_uuid, x.instance_uuid, x.name, x.power_state,
        x.is_template, x.vcpu, x.ram_mb, x.provisioned_disk_gb, x.used_disk_gb, x.datacenter, x.cluster, x.host,
        x.resource_pool, x.folder, x.guest_os, x.ip_addresses, x.tags, x.annotation, x.created_at, x.first_seen_at,
        x.state_at, x.state_capture_id, x.state_hash, g.last_seen_at, g.deleted_at, g.deleted_from
      from removed x join gone g on g.vm_key = x.vm_key
      on conflict do nothing returning 1
    )
    select count(*) into v_deleted from kept;
  end if;

  -- 8. Deletion events that arrive after the absence was noticed refine its time.
  --    The deleted rows carry the refined time too (migration 0071).
  if jsonb_path_exists(p_events, '$[*] ? (@.type == "deleted")') then
    with refined as (
      update vm_lifecycle_base l set deleted_at = e.at, deleted_from = 'event'
      from jsonb_to_recordset(coalesce(p_events, '[]')) as e(type text, at timestamptz, "vmKey" text, "sourceVmId" text)
      where e.type = 'deleted' and l.source_id = p_source_id and l.deleted_from = 'absence'
        and (l.vm_key = e."vmKey" or (e."vmKey" is null and l.source_vm_id = e."sourceVmId"))
        and e.at > l.last_seen_at and e.at < l.deleted_at
      returning l.vm_key, l.deleted_at
    )
    update vm_inventory_deleted d set deleted_at = x.deleted_at, deleted_from = 'event'
    from refined x
    where d.source_id = p_source_id and d.vm_key = x.vm_key;
  end if;

  -- 8b. A staged VM's deleted row carries its lifecycle's last sighting and deletion as the
  --     steps above left them (migration 0071): a late capture moves a deleted VM's last
  --     sighting, or its deletion to the next complete capture (step 5).
  update vm_inventory_deleted d set last_seen_at = l.last_seen_at, deleted_at = l.deleted_at,
    deleted_from = l.deleted_from
  from capture_stage s
  join vm_lifecycle_base l on l.source_id = p_source_id and l.vm_key = s.key
  where d.source_id = p_source_id and d.vm_key = s.key and l.deleted_at is not null
    and (d.last_seen_at, d.deleted_at, d.deleted_from) is distinct from (l.last_seen_at, l.deleted_at, l.deleted_from);

  -- 9. Hosts and datastores: per-capture facts always, latest state forward only.
  insert into host_facts (source_id, host_key, snapshot_time, connection_state, power_state, cpu_cores, cpu_mhz, memory_mb,
    cpu_usage_mhz, memory_usage_mib)
  select p_source_id, h.key, p_at, h."connectionState", h."powerState", h."cpuCores", h."cpuMhz", h."memoryMib",
    h."cpuUsageMhz", h."memoryUsageMib"
  from jsonb_to_recordset(coalesce(p_hosts, '[]')) as h(key text, "connectionState" text, "powerState" text,
    "cpuCores" integer, "cpuMhz" double precision, "memoryMib" double precision, "cpuUsageMhz" double precision,
    "memoryUsageMib" double precision)
  on conflict do nothing;
  insert into host_inventory as hi (source_id, host_key, name, datacenter, cluster, connection_state, power_state,
    cpu_cores, cpu_mhz, memory_mb, version, last_seen_at)
  select p_source_id, h.key, h.name, h.datacenter, h.cluster, h."connectionState", h."powerState", h."cpuCores",
    h."cpuMhz", h."memoryMib", h.version, p_at
  from jsonb_to_recordset(coalesce(p_hosts, '[]')) as h(key text, name text, datacenter text, cluster text,
    "connectionState" text, "powerState" text, "cpuCores" integer, "cpuMhz" double precision,
    "memoryMib" double precision, version text)
  on conflict (source_id, host_key) do update set name = excluded.name, datacenter = excluded.datacenter,
    cluster = excluded.cluster, connection_state = excluded.connection_state, power_state = excluded.power_state,
    cpu_cores = excluded.cpu_cores, cpu_mhz = excluded.cpu_mhz, memory_mb = excluded.memory_mb,
    version = excluded.version, last_seen_at = excluded.last_seen_at
  where hi.last_seen_at <= excluded.last_seen_at;

  insert into datastore_facts (source_id, datastore_key, snapshot_time, capacity_gb, free_gb, accessible, uncommitted_gib,
    vm_count)
  select p_source_id, d.key, p_at, d."capacityGib", d."freeGib", d.accessible, d."uncommittedGib", d."vmCount"
  from jsonb_to_recordset(coalesce(p_datastores, '[]')) as d(key text, "capacityGib" double precision,
    "freeGib" double precision, accessible boolean, "uncommittedGib" double precision, "vmCount" integer)
  on conflict do nothing;
  insert into datastore_inventory as di (source_id, datastore_key, name, type, capacity_gb, free_gb, accessible, last_seen_at)
  select p_source_id, d.key, d.name, d.type, d."capacityGib", d."freeGib", d.accessible, p_at
  from jsonb_to_recordset(coalesce(p_datastores, '[]')) as d(key text, name text, type text,
    "capacityGib" double precision, "freeGib" double precision, accessible boolean)
  on conflict (source_id, datastore_key) do update set name = excluded.name, type = excluded.type,
    capacity_gb = excluded.capacity_gb, free_gb = excluded.free_gb, accessible = excluded.accessible,
    last_seen_at = excluded.last_seen_at
  where di.last_seen_at <= excluded.last_seen_at;

  -- 10. Totals of this capture (templates excluded from sizing) and the registry row.
  insert into source_totals (source_id, captured_at, capture_id, complete, vm_count, powered_on_count, template_count,
    vcpu, ram_mb, provisioned_disk_gb)
  values (p_source_id, p_at, p_capture_id, p_complete, (p_totals->>'vms')::integer, (p_totals->>'poweredOn')::integer,
    (p_totals->>'templates')::integer, (p_totals->>'vcpu')::bigint, (p_totals->>'memoryMib')::bigint,
    (p_totals->>'provisionedDiskGib')::numeric);
  insert into cluster_allocation (source_id, captured_at, cluster, powered_on_vms, vcpu, ram_mb)
  select p_source_id, p_at, c.cluster, c.vms, c.vcpu, c."memoryMib"
  from jsonb_to_recordset(coalesce(p_totals->'clusters', '[]')) as c(cluster text, vms integer, vcpu bigint,
    "memoryMib" bigint);
  insert into snapshot_registry (kind, source_id, period_start, period_end, row_count, capture_id, complete)
  values ('capture', p_source_id, p_at, p_at, (p_totals->>'rows')::integer, p_capture_id, p_complete);

  -- 11. Change-only history (migration 0008). VM configuration: the stage holds every VM
  --     whose state hash changed (the hash covers the document), so a VM whose configuration
  --     is unchanged costs nothing on the fast way. An empty document ({}: a v1 VM) is no row.
  --     Site objects: the capture's hosts, datastores, clusters, pools and networks minus
  --     what moves every capture (kept in host_facts and datastore_facts above), nulls left out.
  insert into site_stage (kind, key, doc)
  select distinct on (o.kind, o.key) o.kind, o.key, jsonb_strip_nulls(o.doc)
  from (
    select 'host' as kind, e->>'key' as key, e - 'key' - 'cpuUsageMhz' - 'memoryUsageMib' as doc, n
    from jsonb_array_elements(coalesce(p_hosts, '[]')) with ordinality as t(e, n)
    union all
    select 'datastore', e->>'key', e - 'key' - 'freeGib' - 'uncommittedGib' - 'vmCount', n
    from jsonb_array_elements(coalesce(p_datastores, '[]')) with ordinality as t(e, n)
    union all
    select 'cluster', e->>'key', e - 'key', n from jsonb_array_elements(coalesce(p_clusters, '[]')) with ordinality as t(e, n)
    union all
    select 'resourcePool', e->>'key', e - 'key' - 'vmCount', n from jsonb_array_elements(coalesce(p_pools, '[]')) with ordinality as t(e, n)
    union all
    select 'network', e->>'key', e - 'key' - 'vmCount', n from jsonb_array_elements(coalesce(p_networks, '[]')) with ordinality as t(e, n)
  ) o
  order by o.kind, o.key, o.n desc;

  if not v_late then
    update vm_config_history c set valid_to = p_at
    from capture_stage s
    where c.source_id = p_source_id and c.vm_key = s.key and c.valid_to is null and c.config is distinct from s.config;
    insert into vm_config_history (source_id, vm_key, valid_from, capture_id, config)
    select p_source_id, s.key, p_at, p_capture_id, s.config
    from capture_stage s
    where s.config is not null and not exists (
      select 1 from vm_config_history c where c.source_id = p_source_id and c.vm_key = s.key and c.valid_to is null);

    -- Changed objects are closed; a complete capture also closes those it no longer holds.
    update site_object_history h set valid_to = p_at
    where h.source_id = p_source_id and h.valid_to is null
      and not exists (select 1 from site_stage o where o.kind = h.kind and o.key = h.object_key and o.doc = h.doc)
      and (p_complete or exists (select 1 from site_stage o where o.kind = h.kind and o.key = h.object_key));
    insert into site_object_history (source_id, kind, object_key, valid_from, capture_id, doc)
    select p_source_id, o.kind, o.key, p_at, p_capture_id, o.doc
    from site_stage o
    where not exists (select 1 from site_object_history h where h.source_id = p_source_id and h.kind = o.kind
      and h.object_key = o.key and h.valid_to is null);
  else
    select coalesce(min(captured_at), v_prev) into v_next from captures where source_id = p_source_id and captured_at > p_at;
    -- The rows a late capture changes: the latest row from before it, if valid at its time.
    for r in
      select s.key, s.config as doc, c.valid_from as c_from, c.valid_to as c_to, c.config as c_doc, c.capture_id as c_capture
      from capture_stage s
      left join lateral (
        select h.valid_from, h.valid_to, h.config, h.capture_id from vm_config_history h
        where h.source_id = p_source_id and h.vm_key = s.key and h.valid_from <= p_at
        order by h.valid_from desc limit 1
      ) c on c.valid_to is null or c.valid_to > p_at
      where c.config is distinct from s.config
    loop
      if r.c_from is not null then
        update vm_config_history set valid_to = p_at
        where source_id = p_source_id and vm_key = r.key and valid_from = r.c_from;
        if r.doc is not null then
          insert into vm_config_history (source_id, vm_key, valid_from, valid_to, capture_id, config)
          values (p_source_id, r.key, p_at, least(r.c_to, v_next), p_capture_id, r.doc);
        end if;
        if r.c_to is null or v_next < r.c_to then
          insert into vm_config_history (source_id, vm_key, valid_from, valid_to, capture_id, config)
          values (p_source_id, r.key, v_next, r.c_to, r.c_capture, r.c_doc);
        end if;
      else
        select min(valid_from) into v_after from vm_config_history
        where source_id = p_source_id and vm_key = r.key and valid_from > p_at;
        insert into vm_config_history (source_id, vm_key, valid_from, valid_to, capture_id, config)
        values (p_source_id, r.key, p_at, least(v_after, v_next), p_capture_id, r.doc);
      end if;
    end loop;
    for r in
      select o.kind, o.key, o.doc, c.valid_from as c_from, c.valid_to as c_to, c.doc as c_doc, c.capture_id as c_capture
      from site_stage o
      left join lateral (
        select h.valid_from, h.valid_to, h.doc, h.capture_id from site_object_history h
        where h.source_id = p_source_id and h.kind = o.kind and h.object_key = o.key and h.valid_from <= p_at
        order by h.valid_from desc limit 1
      ) c on c.valid_to is null or c.valid_to > p_at
      where c.doc is distinct from o.doc
    loop
      if r.c_from is not null then
        update site_object_history set valid_to = p_at
        where source_id = p_source_id and kind = r.kind and object_key = r.key and valid_from = r.c_from;
        insert into site_object_history (source_id, kind, object_key, valid_from, valid_to, capture_id, doc)
        values (p_source_id, r.kind, r.key, p_at, least(r.c_to, v_next), p_capture_id, r.doc);
        if r.c_to is null or v_next < r.c_to then
          insert into site_object_history (source_id, kind, object_key, valid_from, valid_to, capture_id, doc)
          values (p_source_id, r.kind, r.key, v_next, r.c_to, r.c_capture, r.c_doc);
        end if;
      else
        select min(valid_from) into v_after from site_object_history
        where source_id = p_source_id and kind = r.kind and object_key = r.key and valid_from > p_at;
        insert into site_object_history (source_id, kind, object_key, valid_from, valid_to, capture_id, doc)
        values (p_source_id, r.kind, r.key, p_at, least(v_after, v_next), p_capture_id, r.doc);
      end if;
    end loop;
  end if;

  -- 12. Changes around a late capture at T, from the facts: each of its VMs' observation at T
  --     against the VM's previous one, and the VM's next observation (whose changes were
  --     counted against the one before T) against T. Previous and next are found through
  --     the source's capture times within the VM's first and last sighting.
  if v_late then
    delete from vm_changes c
    using capture_stage s
    join vm_lifecycle_base l on l.source_id = p_source_id and l.vm_key = s.key
    cross join lateral (
      select n.captured_at from captures n
      join vm_hourly_stats f on f.source_id = p_source_id and f.snapshot_time = n.captured_at and f.vm_key = s.key
      where n.source_id = p_source_id and n.captured_at > p_at
        and n.captured_at <= case when l.in_newest_capture then v_newest else l.last_seen_at end
      order by n.captured_at limit 1
    ) nx
    where c.source_id = p_source_id and c.vm_key = s.key and c.at = nx.captured_at and c.kind <> 'deleted';
    insert into vm_changes (source_id, vm_key, at, kind, capture_id, before, after)
    select p_source_id, x.key, x.at, d.kind, x.capture_id, d.before, d.after
    from (
      select s.key, p_at as at, p_capture_id as capture_id, pv.st as b,
        vm_change_state(s.name, s.power_state, s.vcpu, s.ram_mb, s.provisioned_disk_gb, s.host, s.cluster,
          s.resource_pool, s.folder) as a
      from capture_stage s
      join vm_lifecycle_base l on l.source_id = p_source_id and l.vm_key = s.key
      cross join lateral (
        select vm_change_state(f.name, f.power_state, f.vcpu, f.ram_mb, f.provisioned_disk_gb, f.host, f.cluster,
          f.resource_pool, f.folder) as st
        from captures n
        join vm_hourly_stats f on f.source_id = p_source_id and f.snapshot_time = n.captured_at and f.vm_key = s.key
        where n.source_id = p_source_id and n.captured_at < p_at and n.captured_at >= l.first_seen_at
        order by n.captured_at desc limit 1
      ) pv
      union all
      select s.key, nx.snapshot_time, nx.capture_id,
        vm_change_state(s.name, s.power_state, s.vcpu, s.ram_mb, s.provisioned_disk_gb, s.host, s.cluster,
          s.resource_pool, s.folder),
        nx.st
      from capture_stage s
      join vm_lifecycle_base l on l.source_id = p_source_id and l.vm_key = s.key
      cross join lateral (
        select f.snapshot_time, f.capture_id, vm_change_state(f.name, f.power_state, f.vcpu, f.ram_mb,
          f.provisioned_disk_gb, f.host, f.cluster, f.resource_pool, f.folder) as st
        from captures n
        join vm_hourly_stats f on f.source_id = p_source_id and f.snapshot_time = n.captured_at and f.vm_key = s.key
        where n.source_id = p_source_id and n.captured_at > p_at
          and n.captured_at <= case when l.in_newest_capture then v_newest else l.last_seen_at end
        order by n.captured_at limit 1
      ) nx
    ) x
    cross join lateral vm_change_diff(x.b, x.a) d
    where not exists (select 1 from vm_events e where e.type = 'reappeared' and e.at = x.at
      and e.source_id = p_source_id and e.vm_key = x.key);
  end if;

  return jsonb_build_object('late', v_late, 'deleted', v_deleted, 'reappeared', v_reappeared);
end;
$$;
