/**
 * The tables of each report: sheet and CSV names, columns, units in the headers. Per-VM
 * tables follow RVTools' habit of ending every row with the same identity columns, so a
 * vSphere admin finds VM ID / source where they expect them. Column keys are the names the
 * queries in rollup_rows.ts, summary_data.ts and inventory_rows.ts select.
 */
import { col, type Column, type TableSpec } from './columns.ts';

/** A table: its XLSX sheet name, its CSV file name (without .csv), its columns. */
function table(sheet: string, csv: string, columns: Column[]): TableSpec {
  return { sheet, csv, columns };
}

const vmHead: Column[] = [col.text('name', 'VM', 28)];

const usage: Column[] = [
  col.ratio('presence', 'Presence (0–1)'),
  col.dec('avg_vcpu', 'Avg vCPU'),
  col.dec('avg_ram_gb', 'Avg RAM (GiB)'),
  col.dec('avg_disk_gb', 'Avg provisioned disk (GiB)'),
  col.ratio('powered_on_ratio', 'Powered-on ratio (0–1)'),
  col.dec('powered_on_hours', 'Powered-on (h)'),
  col.dec('vcpu_hours', 'vCPU-hours (vCPU·h)'),
  col.dec('ram_gb_hours', 'RAM GiB-hours (GiB·h)'),
  col.dec('disk_gb_hours', 'Disk GiB-hours (GiB·h)', 16),
  col.text('pools', 'Pools (% of samples)', 24),
  col.text('pool_samples_text', 'Pool samples (count)', 22),
];

const sums: Column[] = [
  col.int('sum_vcpu', 'Σ vCPU over samples (vCPU)'),
  col.int('sum_ram_mb', 'Σ RAM over samples (MiB)'),
  col.dec('sum_disk_gb', 'Σ disk over samples (GiB)', 16, '#,##0.000'),
];

const lifecycle: Column[] = [
  col.time('first_sample_at', 'First sample (UTC)'),
  col.time('last_sample_at', 'Last sample (UTC)'),
  col.time('first_seen_at', 'First seen (UTC)'),
  col.time('last_seen_at', 'Last seen (UTC)'),
  col.time('created_at', 'Created (UTC)'),
  col.time('deleted_at', 'Deleted (UTC)'),
];

const identity: Column[] = [
  col.text('source', 'Source', 20),
  col.text('source_vm_id', 'VM ID', 12),
  col.text('vm_key', 'VM key', 36),
];

/** Per-VM daily rollups (every column of vm_daily_rollup). */
export const DAILY_VMS = table('VMs', 'vms', [
  ...vmHead,
  col.date('day', 'Day'),
  col.int('total_samples', 'Captures (count)'),
  col.int('samples_present', 'Samples present (count)'),
  col.int('powered_on_samples', 'Powered-on samples (count)'),
  ...usage,
  ...sums,
  col.int('day_seconds', 'Day length (s)'),
  ...lifecycle,
  ...identity,
]);

/** Per-VM monthly rollups (every column of vm_monthly_rollup). */
export const MONTHLY_VMS = table('VMs', 'vms', [
  ...vmHead,
  { ...col.date('month', 'Month'), numFmt: 'yyyy-mm' },
  col.int('total_samples', 'Captures (count)'),
  col.int('samples_present', 'Samples present (count)'),
  col.int('powered_on_samples', 'Powered-on samples (count)'),
  col.int('days_present', 'Days present (d)'),
  col.int('days_covered', 'Days covered (d)'),
  ...usage,
  ...sums,
  ...lifecycle,
  ...identity,
]);

const totals: Column[] = [
  col.int('vm_count', 'VMs seen (count)'),
  col.dec('avg_vm_count', 'Avg VMs'),
  col.dec('avg_powered_on', 'Avg powered-on VMs'),
  col.dec('avg_vcpu', 'Avg vCPU'),
  col.dec('avg_ram_gb', 'Avg RAM (GiB)'),
  col.dec('avg_disk_gb', 'Avg provisioned disk (GiB)'),
  col.dec('powered_on_hours', 'Powered-on VM-hours (h)'),
  col.dec('vcpu_hours', 'vCPU-hours (vCPU·h)'),
  col.dec('ram_gb_hours', 'RAM GiB-hours (GiB·h)'),
  col.dec('disk_gb_hours', 'Disk GiB-hours (GiB·h)', 16),
];

/** Per day and source (source_daily_totals), plus an "All sources" row per day. */
export const DAILY_TOTALS = table('Daily Totals', 'daily_totals', [
  col.date('day', 'Day'),
  col.text('source', 'Source', 20),
  col.int('total_samples', 'Captures (count)'),
  col.bool('complete', 'All captures complete'),
  ...totals,
  col.int('day_seconds', 'Day length (s)'),
]);

/** Chargeback per source and pool: VM hours attributed to a pool by its share of samples. */
export const POOLS = table('Pools', 'pools', [
  col.text('source', 'Source', 20),
  col.text('pool', 'Pool / tier', 20),
  col.int('vms', 'VMs (count)'),
  col.int('samples', 'Samples in pool (count)'),
  col.dec('vcpu_hours', 'vCPU-hours (vCPU·h)'),
  col.dec('ram_gb_hours', 'RAM GiB-hours (GiB·h)'),
  col.dec('disk_gb_hours', 'Disk GiB-hours (GiB·h)', 16),
]);

/** The Summary's per-source block of a daily or monthly report. */
export const SUMMARY_SOURCES = table('Summary', 'summary_sources', [
  col.text('source', 'Source', 22),
  col.text('kind', 'Kind', 9),
  col.int('total_samples', 'Captures (count)'),
  col.int('incomplete', 'Incomplete captures (count)'),
  col.int('days_covered', 'Days aggregated (d)'),
  col.bool('complete', 'All captures complete'),
  ...totals,
  col.time('last_capture_at', 'Latest capture (UTC)'),
  col.time('rollup_at', 'Rollup built (UTC)'),
]);

/** The Summary's list of incomplete captures in the period. */
export const SUMMARY_INCOMPLETE = table('Summary', 'incomplete_captures', [
  col.time('captured_at', 'Captured (UTC)'),
  col.text('source', 'Source', 22),
  col.int('vm_count', 'VMs (count)'),
  col.text('errors', 'Errors', 60),
]);

/** RVTools-like vInfo: the live inventory, identity and location columns last. */
export const V_INFO = table('vInfo', 'vInfo', [
  col.text('name', 'VM', 28),
  col.text('power_state', 'Powerstate', 11),
  col.bool('is_template', 'Template'),
  col.int('vcpu', 'CPUs'),
  col.int('ram_mb', 'Memory (MiB)'),
  { ...col.dec('provisioned_disk_gb', 'Provisioned (GiB)'), numFmt: '#,##0.000' },
  { ...col.dec('used_disk_gb', 'In use (GiB)'), numFmt: '#,##0.000' },
  col.text('guest_os', 'OS', 24),
  col.text('ip_addresses', 'IP addresses', 24),
  col.text('tags', 'Tags', 20),
  col.text('annotation', 'Annotation', 30),
  col.text('resource_pool', 'Resource pool', 16),
  col.time('created_at', 'Creation date (UTC)'),
  col.time('first_seen_at', 'First seen (UTC)'),
  col.time('last_seen_at', 'Last seen (UTC)'),
  col.time('state_at', 'State captured (UTC)'),
  col.text('datacenter', 'Datacenter', 14),
  col.text('cluster', 'Cluster', 14),
  col.text('host', 'Host', 16),
  col.text('folder', 'Folder', 24),
  col.text('source_vm_id', 'VM ID', 12),
  col.text('instance_uuid', 'VM UUID', 38),
  col.text('bios_uuid', 'BIOS UUID', 38),
  col.text('vm_key', 'VM key', 36),
  col.text('source', 'VI SDK Server', 20),
  col.text('source_kind', 'Source kind', 10),
]);

export const V_HOST = table('vHost', 'vHost', [
  col.text('name', 'Host', 24),
  col.text('connection_state', 'Connection state', 14),
  col.text('power_state', 'Power state', 12),
  col.int('cpu_cores', 'CPU cores'),
  col.dec('cpu_mhz', 'CPU (MHz)', 12, '#,##0'),
  col.dec('memory_mb', 'Memory (MiB)', 12, '#,##0'),
  col.int('vms', 'VMs (count)'),
  col.int('vcpu', 'vCPUs of VMs'),
  col.text('version', 'Version', 20),
  col.time('last_seen_at', 'Last seen (UTC)'),
  col.text('datacenter', 'Datacenter', 14),
  col.text('cluster', 'Cluster', 14),
  col.text('host_key', 'Host key', 20),
  col.text('source', 'VI SDK Server', 20),
]);

export const V_DATASTORE = table('vDatastore', 'vDatastore', [
  col.text('name', 'Name', 24),
  col.text('type', 'Type', 10),
  col.dec('capacity_gb', 'Capacity (GiB)'),
  col.dec('free_gb', 'Free (GiB)'),
  col.dec('in_use_gb', 'In use (GiB)'),
  col.ratio('free_ratio', 'Free (0–1)'),
  col.bool('accessible', 'Accessible'),
  col.time('last_seen_at', 'Last seen (UTC)'),
  col.text('datastore_key', 'Datastore key', 20),
  col.text('source', 'VI SDK Server', 20),
]);

export const V_SOURCE = table('vSource', 'vSource', [
  col.text('source', 'Name', 22),
  col.text('kind', 'Kind', 9),
  col.text('external_id', 'Source ID', 38),
  col.text('endpoint', 'Endpoint', 28),
  col.text('version', 'Version', 22),
  col.int('vms', 'VMs (count)'),
  col.int('powered_on', 'Powered on (count)'),
  col.int('templates', 'Templates (count)'),
  col.int('vcpu', 'vCPUs'),
  col.dec('ram_gb', 'RAM (GiB)'),
  { ...col.dec('provisioned_disk_gb', 'Provisioned disk (GiB)'), numFmt: '#,##0.000' },
  col.int('hosts', 'Hosts (count)'),
  col.int('datastores', 'Datastores (count)'),
  col.time('last_capture_at', 'Latest capture (UTC)'),
  col.bool('last_capture_complete', 'Latest capture complete'),
]);
