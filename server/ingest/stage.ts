/**
 * Stages a capture's VMs in a temporary table with one COPY, the fastest way into
 * PostgreSQL. Every later step of the ingest transaction (facts, inventory, lifecycle,
 * totals, reconcile) is one set-based statement reading `capture_stage`.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { CaptureVm } from '../../agent/capture/schema.ts';
import type { Sql } from '../db/connect.ts';

const COLUMNS = [
  'key', 'source_vm_id', 'bios_uuid', 'instance_uuid', 'name', 'power_state', 'is_template', 'vcpu', 'ram_mb',
  'provisioned_disk_gb', 'used_disk_gb', 'datacenter', 'cluster', 'host', 'resource_pool', 'folder', 'guest_os',
  'ip_addresses', 'tags', 'annotation', 'created_at',
] as const;

const SPECIAL = /[\\\t\n\r]/;

/** COPY text format: backslash, tab, newline and carriage return escaped; null is \N. */
function field(value: string | number | boolean | null): string {
  if (value === null) return '\\N';
  if (typeof value !== 'string') return String(value);
  // Most names and paths have nothing to escape; testing first skips building a new string.
  if (!SPECIAL.test(value)) return value;
  return value.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
}

const ARRAY_SPECIAL = /[\\"]/;

/** A text[] literal: every element quoted, with " and \ escaped. */
function arrayLiteral(values: string[]): string {
  if (values.length === 0) return '{}';
  return `{${values.map((v) => `"${ARRAY_SPECIAL.test(v) ? v.replace(/[\\"]/g, (c) => `\\${c}`) : v}"`).join(',')}}`;
}

/** Disk sizes are stored with three decimals; rounding here keeps both sides identical. */
function gb(value: number): string {
  return (Math.round(value * 1000) / 1000).toFixed(3);
}

function line(vm: CaptureVm): string {
  return [
    field(vm.key), field(vm.sourceVmId), field(vm.biosUuid), field(vm.instanceUuid), field(vm.name), field(vm.powerState),
    vm.isTemplate ? 't' : 'f', String(vm.vcpu), String(vm.ramMb), gb(vm.provisionedDiskGb),
    vm.usedDiskGb === null ? '\\N' : gb(vm.usedDiskGb), field(vm.datacenter), field(vm.cluster), field(vm.host),
    field(vm.resourcePool), field(vm.folder), field(vm.guestOs), field(arrayLiteral(vm.ipAddresses)),
    field(arrayLiteral(vm.tags)), field(vm.annotation), field(vm.createdAt),
  ].join('\t') + '\n';
}

/** Lines in chunks of ~1,000 rows, so COPY streams without building one huge string. */
function* chunks(vms: CaptureVm[]): Generator<string> {
  for (let i = 0; i < vms.length; i += 1000) {
    let out = '';
    for (const vm of vms.slice(i, i + 1000)) out += line(vm);
    yield out;
  }
}

/** Creates `capture_stage` (dropped at commit) and fills it with the capture's VMs. */
export async function stageVms(tx: Sql, vms: CaptureVm[]): Promise<void> {
  await tx`
    create temp table capture_stage (
      key text not null, source_vm_id text not null, bios_uuid text, instance_uuid text, name text not null,
      power_state text not null, is_template boolean not null, vcpu integer not null, ram_mb integer not null,
      provisioned_disk_gb numeric(16, 3) not null, used_disk_gb numeric(16, 3), datacenter text, cluster text,
      host text, resource_pool text, folder text, guest_os text, ip_addresses text[] not null, tags text[] not null,
      annotation text, created_at timestamptz
    ) on commit drop`;
  if (vms.length === 0) return;
  const writable = await tx.unsafe(`copy capture_stage (${COLUMNS.join(', ')}) from stdin`).writable();
  await pipeline(Readable.from(chunks(vms)), writable);
}
