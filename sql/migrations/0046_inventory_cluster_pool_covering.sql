-- The VM list filtered by cluster (and pool) finds its matches along this index and sorts
-- them by any sort column without reading each match's row (server/inventory/list_vms.ts
-- sorts the matches by key and sort value, then reads the page's rows): 4,000 matches of a
-- cluster and pool lie on as many table pages. The columns are the sort columns; ingest
-- already rewrites their index entries when they change (each has its sort index).
drop index vm_inventory_cluster_pool;
create index vm_inventory_cluster_pool on vm_inventory (cluster, resource_pool)
  include (source_id, vm_key, name, power_state, vcpu, ram_mb, provisioned_disk_gb, created_at, first_seen_at);
