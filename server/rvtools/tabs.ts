/**
 * The RVTools workbook's tabs: RVTools' own sheet names, column names, column order and
 * units (MiB, MHz, %), so a sheet reads like the RVTools export a vSphere admin compares it
 * with. vInfo carries every RVTools vInfo column; a column whose value no capture carries is
 * there and empty (docs/rvtools.md lists them). The other tabs carry the RVTools columns
 * the capture can fill. Each tab ends with `VM key` (per-VM tabs) or the object key, our
 * identity, after RVTools' own identity columns.
 *
 * Column keys are the names the queries of vm_rows.ts, site_rows.ts and health_rows.ts
 * select; a key no query selects (`absent`) stays empty.
 */
import { col, type Column, type TableSpec } from '../reports/columns.ts';

function tab(sheet: string, columns: Column[]): TableSpec {
  return { sheet, csv: sheet, columns };
}

let absentCount = 0;
/** An RVTools column that no capture fills (vSphere-only detail we do not collect). */
function absent(header: string): Column {
  return col.text(`absent_${absentCount++}`, header, 10);
}

const mib = (key: string, header: string) => col.dec(key, header, 12, '#,##0');
const pct = (key: string, header: string) => col.dec(key, header, 9, '0.0');

/** VM, Powerstate, Template: how every per-VM tab begins. */
const vmHead: Column[] = [
  col.text('vm', 'VM', 28),
  col.text('power_state', 'Powerstate', 11),
  col.bool('is_template', 'Template'),
];

/** The identity and location columns every per-VM tab of RVTools ends with, then ours. */
const vmTail: Column[] = [
  col.text('annotation', 'Annotation', 24),
  col.text('datacenter', 'Datacenter', 14),
  col.text('cluster', 'Cluster', 14),
  col.text('host', 'Host', 18),
  col.text('folder', 'Folder', 24),
  col.text('guest_os', 'OS according to the configuration file', 24),
  col.text('tools_os', 'OS according to the VMware Tools', 24),
  col.text('vm_id', 'VM ID', 10),
  col.text('vm_uuid', 'VM UUID', 38),
  col.text('source', 'VI SDK Server', 20),
  col.text('source_uuid', 'VI SDK UUID', 38),
  col.text('vm_key', 'VM key', 36),
];

/** The identity columns of site objects (hosts, clusters, datastores…). */
const siteTail = (keyHeader: string): Column[] => [
  col.text('object_key', keyHeader, 16),
  col.text('source', 'VI SDK Server', 20),
  col.text('source_uuid', 'VI SDK UUID', 38),
];

/** Every vInfo column of RVTools 4.x, in its order. */
export const V_INFO = tab('vInfo', [
  ...vmHead,
  absent('SRM Placeholder'),
  col.text('config_status', 'Config status', 8),
  col.text('dns_name', 'DNS Name', 20),
  col.text('connection_state', 'Connection state', 12),
  col.text('guest_state', 'Guest state', 11),
  col.text('heartbeat', 'Heartbeat', 8),
  col.bool('consolidation_needed', 'Consolidation Needed'),
  col.time('boot_time', 'PowerOn'),
  absent('Suspended To Memory'),
  absent('Suspend time'),
  absent('Suspend Interval'),
  col.time('created_at', 'Creation date'),
  col.text('change_version', 'Change Version', 26),
  col.int('cpus', 'CPUs'),
  absent('Overall Cpu Readiness'),
  mib('memory_mib', 'Memory'),
  mib('active_memory_mib', 'Active Memory'),
  col.int('nics', 'NICs'),
  col.int('disks', 'Disks'),
  mib('disk_capacity_mib', 'Total disk capacity MiB'),
  absent('Fixed Passthru HotPlug'),
  col.text('min_evc_mode', 'min Required EVC Mode Key', 16),
  col.text('latency_sensitivity', 'Latency Sensitivity', 10),
  absent('Op Notification Timeout'),
  absent('EnableUUID'),
  col.bool('cbt', 'CBT'),
  col.text('primary_ip', 'Primary IP Address', 16),
  ...[1, 2, 3, 4, 5, 6, 7, 8].map((n) => col.text(`network_${n}`, `Network #${n}`, 16)),
  col.int('num_monitors', 'Num Monitors'),
  col.int('video_ram_kib', 'Video Ram KiB'),
  col.text('resource_pool', 'Resource pool', 16),
  col.text('folder_id', 'Folder ID', 12),
  col.text('folder', 'Folder', 24),
  col.text('vapp', 'vApp', 14),
  absent('DAS protection'),
  col.text('ft_state', 'FT State', 12),
  absent('FT Role'),
  absent('FT Latency'),
  absent('FT Bandwidth'),
  absent('FT Sec. Latency'),
  absent('Vm Failover In Progress'),
  mib('provisioned_mib', 'Provisioned MiB'),
  mib('in_use_mib', 'In Use MiB'),
  absent('Unshared MiB'),
  col.text('ha_restart_priority', 'HA Restart Priority', 12),
  absent('HA Isolation Response'),
  absent('HA VM Monitoring'),
  absent('Cluster rule(s)'),
  absent('Cluster rule name(s)'),
  absent('Boot Required'),
  col.int('boot_delay', 'Boot delay'),
  col.int('boot_retry_delay', 'Boot retry delay'),
  col.bool('boot_retry_enabled', 'Boot retry enabled'),
  col.bool('boot_bios_setup', 'Boot BIOS setup'),
  absent('Reboot PowerOff'),
  col.bool('efi_secure_boot', 'EFI Secure boot'),
  col.text('firmware', 'Firmware', 8),
  col.text('hw_version', 'HW version', 10),
  col.text('hw_upgrade_status', 'HW upgrade status', 10),
  col.text('hw_upgrade_policy', 'HW upgrade policy', 10),
  col.text('hw_target', 'HW target', 10),
  col.text('config_file', 'Path', 30),
  col.text('log_directory', 'Log directory', 24),
  col.text('snapshot_directory', 'Snapshot directory', 24),
  col.text('suspend_directory', 'Suspend directory', 24),
  col.text('annotation', 'Annotation', 24),
  absent('Backup status'),
  absent('ClusterInvariantVMMId'),
  absent('Last backup'),
  col.text('datacenter', 'Datacenter', 14),
  col.text('cluster', 'Cluster', 14),
  col.text('host', 'Host', 18),
  col.text('guest_os', 'OS according to the configuration file', 24),
  col.text('tools_os', 'OS according to the VMware Tools', 24),
  absent('Customization Info'),
  absent('Guest Detailed Data'),
  col.text('vm_id', 'VM ID', 10),
  col.text('bios_uuid', 'SMBIOS UUID', 38),
  col.text('vm_uuid', 'VM UUID', 38),
  col.text('source_type', 'VI SDK Server type', 14),
  col.text('source_version', 'VI SDK API Version', 14),
  col.text('source', 'VI SDK Server', 20),
  col.text('source_uuid', 'VI SDK UUID', 38),
  col.text('vm_key', 'VM key', 36),
]);

export const V_CPU = tab('vCPU', [
  ...vmHead,
  col.int('cpus', 'CPUs'),
  col.int('sockets', 'Sockets'),
  col.int('cores_per_socket', 'Cores p/s'),
  col.dec('cpu_usage_mhz', 'Overall', 10, '#,##0'),
  col.text('cpu_shares_level', 'Level', 8),
  col.int('cpu_shares', 'Shares'),
  col.int('cpu_reservation_mhz', 'Reservation'),
  col.int('cpu_limit_mhz', 'Limit'),
  col.bool('cpu_hot_add', 'Hot Add'),
  ...vmTail,
]);

export const V_MEMORY = tab('vMemory', [
  ...vmHead,
  mib('memory_mib', 'Size MiB'),
  mib('host_memory_mib', 'Consumed'),
  mib('active_memory_mib', 'Active'),
  col.text('memory_shares_level', 'Level', 8),
  col.int('memory_shares', 'Shares'),
  col.int('memory_reservation_mib', 'Reservation'),
  col.int('memory_limit_mib', 'Limit'),
  col.bool('memory_hot_add', 'Hot Add'),
  ...vmTail,
]);

export const V_DISK = tab('vDisk', [
  ...vmHead,
  col.text('disk', 'Disk', 14),
  col.text('disk_path', 'Disk Path', 36),
  mib('capacity_mib', 'Capacity MiB'),
  col.text('disk_mode', 'Disk Mode', 12),
  col.bool('thin', 'Thin'),
  col.bool('eagerly_scrub', 'Eagerly Scrub'),
  col.text('controller', 'Controller', 18),
  col.int('unit_number', 'Unit #'),
  col.text('datastore', 'Datastore', 16),
  col.bool('in_backup', 'In backup'),
  ...vmTail,
]);

export const V_PARTITION = tab('vPartition', [
  ...vmHead,
  col.text('disk', 'Disk', 16),
  mib('capacity_mib', 'Capacity MiB'),
  mib('consumed_mib', 'Consumed MiB'),
  mib('free_mib', 'Free MiB'),
  pct('free_pct', 'Free %'),
  col.text('file_system', 'File system', 10),
  ...vmTail,
]);

export const V_NETWORK = tab('vNetwork', [
  ...vmHead,
  col.text('nic_label', 'NIC label', 18),
  col.text('adapter', 'Adapter', 10),
  col.text('network', 'Network', 18),
  col.text('switch', 'Switch', 14),
  col.bool('connected', 'Connected'),
  col.bool('starts_connected', 'Starts Connected'),
  col.text('mac_address', 'Mac Address', 18),
  col.text('ipv4', 'IPv4 Address', 18),
  col.text('ipv6', 'IPv6 Address', 24),
  col.int('vlan', 'VLAN'),
  col.bool('firewall', 'Firewall'),
  ...vmTail,
]);

export const V_CD = tab('vCD', [
  ...vmHead,
  col.text('device_node', 'Device Node', 14),
  col.bool('connected', 'Connected'),
  col.bool('starts_connected', 'Starts Connected'),
  col.text('device_type', 'Device Type', 20),
  ...vmTail,
]);

export const V_SNAPSHOT = tab('vSnapshot', [
  col.text('vm', 'VM', 28),
  col.text('power_state', 'Powerstate', 11),
  col.text('name', 'Name', 20),
  col.text('description', 'Description', 24),
  col.time('created_at', 'Date / time'),
  mib('size_mib', 'Size MiB (total)'),
  col.bool('quiesced', 'Quiesced'),
  col.text('state', 'State', 11),
  col.text('snapshot_id', 'Snapshot ID', 14),
  col.text('parent_id', 'Parent ID', 14),
  col.bool('current', 'Current'),
  ...vmTail,
]);

export const V_TOOLS = tab('vTools', [
  ...vmHead,
  col.text('hw_version', 'VM Version', 10),
  col.text('tools_status', 'Tools', 16),
  col.text('tools_version', 'Tools Version', 10),
  col.text('tools_version_status', 'Upgradeable', 16),
  col.text('tools_upgrade_policy', 'Upgrade Policy', 12),
  col.text('tools_running', 'Running state', 18),
  ...vmTail,
]);

export const V_RP = tab('vRP', [
  col.text('name', 'Resource Pool name', 20),
  col.text('path', 'Resource Pool path', 30),
  col.int('vm_count', '# VMs'),
  col.int('cpu_limit_mhz', 'CPU limit'),
  col.int('cpu_reservation_mhz', 'CPU reservation'),
  col.int('cpu_shares', 'CPU shares'),
  col.bool('cpu_expandable', 'CPU expandableReservation'),
  col.int('memory_limit_mib', 'Mem limit'),
  col.int('memory_reservation_mib', 'Mem reservation'),
  col.int('memory_shares', 'Mem shares'),
  col.bool('memory_expandable', 'Mem expandableReservation'),
  col.text('cluster', 'Cluster', 14),
  col.text('comment', 'Comment', 20),
  ...siteTail('Object ID'),
]);

export const V_CLUSTER = tab('vCluster', [
  col.text('name', 'Name', 18),
  col.int('host_count', 'NumHosts'),
  col.int('effective_host_count', 'numEffectiveHosts'),
  col.dec('total_cpu_mhz', 'TotalCpu', 12, '#,##0'),
  col.int('cpu_cores', 'NumCpuCores'),
  col.int('cpu_threads', 'NumCpuThreads'),
  col.dec('effective_cpu_mhz', 'Effective Cpu', 12, '#,##0'),
  mib('total_memory_mib', 'TotalMemory'),
  mib('effective_memory_mib', 'Effective Memory'),
  col.bool('ha_enabled', 'HA enabled'),
  col.bool('drs_enabled', 'DRS enabled'),
  col.text('drs_behavior', 'DRS default VM behavior', 16),
  col.text('datacenter', 'Datacenter', 14),
  ...siteTail('Object ID'),
]);

export const V_HOST = tab('vHost', [
  col.text('name', 'Host', 24),
  col.text('datacenter', 'Datacenter', 14),
  col.text('cluster', 'Cluster', 14),
  col.bool('maintenance_mode', 'in Maintenance Mode'),
  col.text('cpu_model', 'CPU Model', 28),
  col.dec('cpu_mhz', 'Speed', 8, '#,##0'),
  col.int('cpu_sockets', '# CPU'),
  col.dec('cores_per_cpu', 'Cores per CPU', 8, '#,##0'),
  col.int('cpu_cores', '# Cores'),
  col.int('cpu_threads', '# Threads'),
  pct('cpu_usage_pct', 'CPU usage %'),
  mib('memory_mib', '# Memory'),
  pct('memory_usage_pct', 'Memory usage %'),
  col.int('nic_count', '# NICs'),
  col.int('vms_total', '# VMs total'),
  col.int('vms_on', '# VMs'),
  col.int('vcpus', '# vCPUs'),
  mib('vram_mib', 'vRAM'),
  col.text('version', 'ESX Version', 24),
  col.text('build', 'Build', 10),
  col.time('boot_time', 'Boot time'),
  col.text('vendor', 'Vendor', 14),
  col.text('model', 'Model', 18),
  col.text('serial_number', 'Serial number', 14),
  col.text('connection_state', 'Connection state', 12),
  col.text('power_state', 'Power state', 10),
  ...siteTail('Object ID'),
]);

export const V_NIC = tab('vNIC', [
  col.text('host', 'Host', 24),
  col.text('datacenter', 'Datacenter', 14),
  col.text('cluster', 'Cluster', 14),
  col.text('device', 'Network Device', 10),
  col.text('driver', 'Driver', 10),
  col.int('speed_mbps', 'Speed'),
  col.text('mac_address', 'MAC', 18),
  col.text('switch', 'Switch', 14),
  col.bool('link_up', 'Link up'),
  ...siteTail('Host key'),
]);

export const V_SWITCH = tab('vSwitch', [
  col.text('host', 'Host', 24),
  col.text('datacenter', 'Datacenter', 14),
  col.text('cluster', 'Cluster', 14),
  col.text('switch', 'Switch', 14),
  col.int('ports', '# Ports'),
  col.int('mtu', 'MTU'),
  col.text('uplinks', 'Uplinks', 14),
  ...siteTail('Host key'),
]);

/** Standard port groups (Proxmox bridges and VLANs too), one row per host that has them. */
export const V_PORT = tab('vPort', [
  col.text('host', 'Host', 24),
  col.text('port_group', 'Port Group', 18),
  col.text('switch', 'Switch', 14),
  col.int('vlan', 'VLAN'),
  col.int('vm_count', '# VMs'),
  col.text('kind', 'Type', 10),
  ...siteTail('Network key'),
]);

export const DV_SWITCH = tab('dvSwitch', [
  col.text('switch', 'Switch', 18),
  col.text('host_members', 'Host members', 30),
  col.int('port_groups', '# Port groups'),
  col.int('vm_count', '# VMs'),
  col.text('source', 'VI SDK Server', 20),
  col.text('source_uuid', 'VI SDK UUID', 38),
]);

export const DV_PORT = tab('dvPort', [
  col.text('port', 'Port', 18),
  col.text('switch', 'Switch', 18),
  col.int('vlan', 'VLAN'),
  col.int('vm_count', '# VMs'),
  ...siteTail('Object ID'),
]);

export const V_DATASTORE = tab('vDatastore', [
  col.text('name', 'Name', 20),
  col.bool('accessible', 'Accessible'),
  col.text('type', 'Type', 8),
  col.int('vm_count', '# VMs'),
  mib('capacity_mib', 'Capacity MiB'),
  mib('provisioned_mib', 'Provisioned MiB'),
  mib('in_use_mib', 'In Use MiB'),
  mib('free_mib', 'Free MiB'),
  pct('free_pct', 'Free %'),
  col.int('host_count', '# Hosts'),
  col.text('hosts', 'Hosts', 30),
  col.text('url', 'URL', 30),
  col.text('maintenance_mode', 'Maintenance mode', 12),
  col.bool('shared', 'Shared'),
  col.text('content', 'Content', 14),
  ...siteTail('Object ID'),
]);

/** One row per source: what it is and the capture the workbook shows of it. */
export const V_SOURCE = tab('vSource', [
  col.text('source', 'Name', 20),
  col.text('api_type', 'API type', 14),
  col.text('version', 'Version', 28),
  col.text('endpoint', 'Address', 28),
  col.time('captured_at', 'Capture time (UTC)'),
  col.text('capture_id', 'Capture ID', 38),
  col.bool('complete', 'Capture complete'),
  col.int('schema_version', 'Capture schema version'),
  col.int('vm_count', '# VMs'),
  col.text('source', 'VI SDK Server', 20),
  col.text('source_uuid', 'VI SDK UUID', 38),
]);

export const V_HEALTH = tab('vHealth', [
  col.text('name', 'Name', 28),
  col.text('message', 'Message', 60),
  col.text('message_type', 'Message type', 14),
  col.text('source', 'VI SDK Server', 20),
  col.text('source_uuid', 'VI SDK UUID', 38),
]);

export const V_METADATA = tab('vMetaData', [
  col.text('generator', 'Generator', 14),
  col.time('created', 'xlsx creation datetime'),
  col.time('as_of', 'As of (UTC)'),
  col.text('server', 'Server', 20),
  col.time('captured_at', 'Capture time (UTC)'),
  col.text('capture_id', 'Capture ID', 38),
]);

/** The tabs in workbook order (RVTools' order, vMetaData last). */
export const RVTOOLS_TABS = [
  V_INFO,
  V_CPU,
  V_MEMORY,
  V_DISK,
  V_PARTITION,
  V_NETWORK,
  V_CD,
  V_SNAPSHOT,
  V_TOOLS,
  V_RP,
  V_CLUSTER,
  V_HOST,
  V_NIC,
  V_SWITCH,
  V_PORT,
  DV_SWITCH,
  DV_PORT,
  V_DATASTORE,
  V_SOURCE,
  V_HEALTH,
  V_METADATA,
];
