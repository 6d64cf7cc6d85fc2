-- The VM search matches a name substring (trigram index) OR an exact key, vmid/MoRef, UUID
-- or IP address. Every branch needs its own index so PostgreSQL can combine them
-- (BitmapOr) instead of scanning the whole inventory for each search.
create index vm_inventory_key on vm_inventory (vm_key);
create index vm_inventory_source_vm_id on vm_inventory (source_vm_id);
create index vm_inventory_instance_uuid on vm_inventory (instance_uuid) where instance_uuid is not null;
create index vm_inventory_bios_uuid on vm_inventory (bios_uuid) where bios_uuid is not null;
create index vm_inventory_ips on vm_inventory using gin (ip_addresses);
create index vm_inventory_cluster_pool on vm_inventory (cluster, resource_pool);
