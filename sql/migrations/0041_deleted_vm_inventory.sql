-- Deleted VMs as first-class rows: when a VM is deleted its live inventory row moves here,
-- as it last was (names, sizes, placement, UUIDs, addresses, tags), so the deleted list has
-- the same search, filters, sorts and cursors as the live one (server/inventory/list_vms.ts).
-- When and how it was deleted stay in vm_lifecycle_base (deleted_at, deleted_from), which a
-- later deletion event may refine. A VM seen again leaves this table for vm_inventory.
create table vm_inventory_deleted (like vm_inventory including defaults including constraints);
alter table vm_inventory_deleted add primary key (source_id, vm_key);
create index vm_inventory_deleted_name on vm_inventory_deleted (lower(name), source_id, vm_key);
create index vm_inventory_deleted_name_trgm on vm_inventory_deleted using gin (name gin_trgm_ops);
create index vm_inventory_deleted_key on vm_inventory_deleted (vm_key);
create index vm_inventory_deleted_source_vm_id on vm_inventory_deleted (source_vm_id);
create index vm_inventory_deleted_ips on vm_inventory_deleted using gin (ip_addresses);
create index vm_inventory_deleted_instance_uuid on vm_inventory_deleted (instance_uuid) where instance_uuid is not null;
create index vm_inventory_deleted_bios_uuid on vm_inventory_deleted (bios_uuid) where bios_uuid is not null;

-- VMs deleted before this migration: their last captured facts (UUIDs, addresses, tags and
-- annotation were not kept for deleted VMs before; they stay unknown).
insert into vm_inventory_deleted (source_id, vm_key, source_vm_id, name, power_state, is_template, vcpu, ram_mb,
  provisioned_disk_gb, used_disk_gb, datacenter, cluster, host, resource_pool, folder, guest_os, created_at,
  first_seen_at, state_at, state_capture_id)
select l.source_id, l.vm_key, f.source_vm_id, f.name, f.power_state, f.is_template, f.vcpu, f.ram_mb,
  f.provisioned_disk_gb, f.used_disk_gb, f.datacenter, f.cluster, f.host, f.resource_pool, f.folder, f.guest_os,
  l.created_at, l.first_seen_at, f.snapshot_time, f.capture_id
from vm_lifecycle_base l
join vm_hourly_stats f on f.source_id = l.source_id and f.snapshot_time = l.last_seen_at and f.vm_key = l.vm_key
where l.deleted_at is not null
on conflict do nothing;

-- The VM list's tag and datastore filters find the VMs by their current configuration
-- document (a deleted VM's last stays current): vSphere tags with their categories, disks.
create index vm_config_history_labels on vm_config_history using gin ((config -> 'labels') jsonb_path_ops)
  where valid_to is null;
create index vm_config_history_disks on vm_config_history using gin ((config -> 'disks') jsonb_path_ops)
  where valid_to is null;
