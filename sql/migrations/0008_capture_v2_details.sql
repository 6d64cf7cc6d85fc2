-- Capture contract v2 (agent/capture/details.ts): configuration details kept as change-only
-- history, and the numbers that move at every capture kept with the per-capture facts.
--
-- History rows hold one document each, valid over [valid_from, valid_to) (valid_to null: still
-- valid). A row is written only when a capture's document differs from the one valid at its
-- time, so a capture that changes nothing writes no history at all. capture_id names the
-- capture that first saw the document.
--
-- Reading "as of T" (the capture time of the capture asked for):
--   where source_id = $1 and valid_from <= T and (valid_to is null or valid_to > T)
-- Which VMs existed at T is not this table's business: it is the facts of the capture at T
-- (vm_hourly_stats); a deleted VM's last document stays open. Site objects are closed (valid_to)
-- when a newer complete capture no longer holds them, so their rows alone say what existed.
--
-- A late capture (older than its source's newest) lands at its own time: when its document
-- differs from the row valid then, that row is split into [from, T) old, [T, N) new and
-- [N, to) old, where N is the source's next capture after T (the old document was seen again
-- from then on, as far as history knows); see sql/routines/ingest_apply_capture.sql.

-- A VM's configuration (the VM_DETAIL_KEYS of details.ts: disks, NICs, CD-ROMs, snapshots,
-- Tools, guest, hardware, labels, attributes, HA, vApp, .vmx, connection state, boot time,
-- consolidation) as one document; empty parts are left out, so a v1 VM's document is {} and
-- is never stored (no row and {} mean the same).
create table vm_config_history (
  source_id   integer     not null references sources (id),
  vm_key      text        not null,
  valid_from  timestamptz not null,
  valid_to    timestamptz,
  capture_id  uuid        not null,
  config      jsonb       not null,
  primary key (source_id, vm_key, valid_from),
  check (valid_to is null or valid_to > valid_from)
);
-- The current document of each VM: what ingest compares a newer capture with.
create unique index vm_config_history_current on vm_config_history (source_id, vm_key) where valid_to is null;

-- Hosts, datastores, clusters, resource pools and networks as captured, minus what moves
-- at every capture (host CPU/memory usage, datastore free and uncommitted space and VM count:
-- those are in host_facts and datastore_facts). The object's key is object_key, not in doc.
create table site_object_history (
  source_id   integer     not null references sources (id),
  kind        text        not null check (kind in ('host', 'datastore', 'cluster', 'resourcePool', 'network')),
  object_key  text        not null,
  valid_from  timestamptz not null,
  valid_to    timestamptz,
  capture_id  uuid        not null,
  doc         jsonb       not null,
  primary key (source_id, kind, object_key, valid_from),
  check (valid_to is null or valid_to > valid_from)
);
create unique index site_object_history_current on site_object_history (source_id, kind, object_key)
  where valid_to is null;

-- Moving numbers, per capture. VM usage (summary.quickStats; Proxmox cpu × MHz and mem),
-- rounded to whole MHz and MiB as vSphere reports them. Nullable: no table rewrite.
alter table vm_hourly_stats add column cpu_usage_mhz integer;
alter table vm_hourly_stats add column guest_memory_mib integer;
alter table vm_hourly_stats add column host_memory_mib integer;

alter table host_facts add column cpu_usage_mhz double precision;
alter table host_facts add column memory_usage_mib double precision;

alter table datastore_facts add column uncommitted_gib double precision;
alter table datastore_facts add column vm_count integer;
