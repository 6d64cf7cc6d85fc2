-- Reads of the hosts, clusters, datastores and networks pages (server/sites/).
--
-- A host's VMs: the live VMs whose host is the host's name, one source at a time.
create index vm_inventory_host on vm_inventory (source_id, host);

-- A datastore's VMs and a network's VMs: the current configuration documents whose disks
-- name the datastore, or whose NICs name the network, found by a containment test on the
-- array of keys (jsonb_path_query_array is immutable). Only current documents are indexed:
-- closed ones are history, read by VM, never searched.
create index vm_config_history_disk_datastores on vm_config_history
  using gin ((jsonb_path_query_array(config, '$.disks[*].datastore')) jsonb_path_ops)
  where valid_to is null;
create index vm_config_history_nic_networks on vm_config_history
  using gin ((jsonb_path_query_array(config, '$.nics[*].networkKey')) jsonb_path_ops)
  where valid_to is null;

-- A datastore's days until full fits one point a day: the facts of one capture time, every
-- datastore of the source (the key leads with the datastore, so it cannot find them).
create index datastore_facts_time on datastore_facts (source_id, snapshot_time);
