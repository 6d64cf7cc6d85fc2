-- Read-path predictability for the VM list.
--
-- GIN "fast update" parks new index entries in a pending list that every search scans
-- linearly until it is merged; at the default 4 MB limit, after a large first capture, a
-- one-row IP lookup took ~4 ms instead of ~0.1 ms. A 512 kB limit bounds that scan while
-- keeping most of the bulk-merge benefit for ingest (a 10,000-VM first capture inserts its
-- inventory in ~640 ms; without fast update ~890 ms).
alter index vm_inventory_name_trgm set (gin_pending_list_limit = 512);
alter index vm_inventory_ips set (gin_pending_list_limit = 512);
select gin_clean_pending_list('vm_inventory_name_trgm'::regclass);
select gin_clean_pending_list('vm_inventory_ips'::regclass);

-- Every stored capture bumps its source's generation in the ingest transaction. The sum over
-- sources names one committed state of the inventory, so a server node can reuse a list
-- answer computed at the same generation, and every node sees a new capture at once.
alter table sources add column generation bigint not null default 0;

-- Every sort the VM list offers walks an index in order and stops after one page, instead
-- of sorting 100,000 rows per request (~35 ms each). The trailing (source_id, vm_key) is the
-- keyset cursor's tie-break. Sorting by name has vm_inventory_name; by source, the
-- primary key per source. Inventory rows are rewritten only when a VM changes, so the write
-- cost of the extra indexes is paid rarely.
create index vm_inventory_sort_vcpu on vm_inventory (vcpu, source_id, vm_key);
create index vm_inventory_sort_ram on vm_inventory (ram_mb, source_id, vm_key);
create index vm_inventory_sort_disk on vm_inventory (provisioned_disk_gb, source_id, vm_key);
create index vm_inventory_sort_power on vm_inventory (power_state, source_id, vm_key);
create index vm_inventory_sort_created on vm_inventory ((coalesce(created_at, '-infinity'::timestamptz)), source_id, vm_key);
create index vm_inventory_sort_first_seen on vm_inventory (first_seen_at, source_id, vm_key);
