/**
 * A captured VM as COPY text, in the two shapes ingest writes: a fact row of
 * vm_hourly_stats and a row of the capture_stage temp table (the fact fields followed by
 * the inventory-only fields, the v2 configuration document and a state hash). Both start
 * with the same fields in the same order, so each VM's text is built once. The capture's
 * usage (by VM key, apart from the VM) ends both lines: usageFields().
 */
import { VM_DETAIL_KEYS, type VmUsage } from '../../agent/capture/details.ts';
import { type CaptureVm, vmReferenceIssues } from '../../agent/capture/schema.ts';

/** The columns of factFields() after the VM's key: a fact row and a stage row share them. */
const VM_COLUMNS = [
  'source_vm_id',
  'name',
  'power_state',
  'is_template',
  'vcpu',
  'ram_mb',
  'provisioned_disk_gb',
  'used_disk_gb',
  'datacenter',
  'cluster',
  'host',
  'resource_pool',
  'folder',
  'guest_os',
];

/** The columns of usageFields(): the capture's `usage` of the VM, apart from its record. */
const USAGE_COLUMNS = ['cpu_usage_mhz', 'guest_memory_mib', 'host_memory_mib', 'guest_disk_free'];

/** vm_hourly_stats columns in COPY order: the capture's prefix, then factFields(), usageFields(). */
export const FACT_COLUMNS = [
  'source_id',
  'snapshot_time',
  'capture_id',
  'vm_key',
  ...VM_COLUMNS,
  ...USAGE_COLUMNS,
];

/**
 * capture_stage columns in COPY order: those of factFields(), of stateFields(), the
 * configuration document, the hash of all three, then usageFields().
 */
export const STAGE_COLUMNS = [
  'key',
  ...VM_COLUMNS,
  'bios_uuid',
  'instance_uuid',
  'ip_addresses',
  'tags',
  'annotation',
  'created_at',
  'config',
  'state_hash',
  ...USAGE_COLUMNS,
];

/** usageFields() of a VM the capture's `usage` says nothing of. */
export const NO_USAGE = '\\N\t\\N\t\\N\t\\N';

/**
 * A VM's usage as stored (whole MHz and MiB, as vSphere reports them), tab-separated. The
 * columns are integers: a value past 2^31 - 1 (2 PiB of memory, 2 THz) is stored as that.
 */
export function usageFields(usage: VmUsage): string {
  const numbers = [usage.cpuUsageMhz, usage.guestMemoryMib, usage.hostMemoryMib]
    .map((v) => (v === null ? '\\N' : String(Math.min(Math.round(v), 2 ** 31 - 1))))
    .join('\t');
  // The guest's file systems' free space, as the jsonb array it came in ([] stored as null).
  const guestDisks = usage.guestDisks.length ? copyField(JSON.stringify(usage.guestDisks)) : '\\N';
  return `${numbers}\t${guestDisks}`;
}

/** The usage fields of each VM of a capture, by key (VMs without usage: NO_USAGE). */
export function usageByKey(usage: readonly VmUsage[]): Map<string, string> {
  return new Map(usage.map((u) => [u.key, usageFields(u)]));
}

const SPECIAL = /[\\\t\n\r]/;
const SPECIALS = /[\\\t\n\r]/g;

/** A character COPY text escapes, escaped. One function for all calls: see escapeSpecial's use. */
function escapeSpecial(c: string): string {
  return c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r';
}

/** COPY text format: backslash, tab, newline and carriage return escaped; null is \N. */
export function copyField(value: string | null): string {
  if (value === null) return '\\N';
  // Most names and paths have nothing to escape; testing first skips building a new string.
  if (!SPECIAL.test(value)) return value;
  // A function made at each call would have its optimized code freed with it at every full
  // collection, and compiled again after (vm_lines.ts was one of those on each ingest).
  return value.replace(SPECIALS, escapeSpecial);
}

const ARRAY_SPECIAL = /[\\"]/;

/** A text[] literal: every element quoted, with " and \ escaped. */
function arrayLiteral(values: string[]): string {
  return `{${values.map(arrayElement).join(',')}}`;
}

function arrayElement(v: string): string {
  return `"${ARRAY_SPECIAL.test(v) ? v.replace(/[\\"]/g, '\\$&') : v}"`;
}

/** Disk sizes are stored with three decimals; rounding here keeps every path identical. */
export function thousandths(value: number): number {
  return Math.round(value * 1000);
}

function gb(value: number): string {
  return (thousandths(value) / 1000).toFixed(3);
}

/*
 * The field texts are joined, not written as one template literal: a template builds a
 * rope of ~30 pieces, which stateHash() then flattens one VM at a time (measured per
 * 10,000 VMs: template 15 ms with the hash, join 10 ms).
 */

/** The fields a fact row and a stage row share (key … guest_os), tab-separated. */
export function factFields(vm: CaptureVm): string {
  return [
    copyField(vm.key),
    copyField(vm.sourceVmId),
    copyField(vm.name),
    vm.powerState,
    vm.isTemplate ? 't' : 'f',
    String(vm.vcpu),
    String(vm.memoryMib),
    gb(vm.provisionedDiskGib),
    vm.usedDiskGib === null ? '\\N' : gb(vm.usedDiskGib),
    copyField(vm.datacenter),
    copyField(vm.cluster),
    copyField(vm.host),
    copyField(vm.resourcePool),
    copyField(vm.folder),
    copyField(vm.guestOs),
  ].join('\t');
}

/** The inventory-only fields (bios_uuid … created_at), tab-separated. */
export function stateFields(vm: CaptureVm): string {
  return [
    copyField(vm.biosUuid),
    copyField(vm.instanceUuid),
    copyField(arrayLiteral(vm.ipAddresses)),
    copyField(arrayLiteral(vm.tags)),
    copyField(vm.annotation),
    copyField(vm.createdAt),
  ].join('\t');
}

/**
 * A VM's v2 configuration (the VM_DETAIL_KEYS of details.ts) as the JSON text of the document
 * vm_config_history stores: parts that are null or empty are left out, so a VM whose
 * source said nothing of them (a v1 capture) has the empty document, given as ''. Null fields
 * of nested objects are left out too (read an absent field as null), as site_object_history
 * does (jsonb_strip_nulls).
 */
export function configText(vm: CaptureVm): string {
  let doc: Record<string, unknown> | null = null;
  for (const name of VM_DETAIL_KEYS) {
    const value = vm[name];
    if (value === null || value === undefined) continue;
    if (Array.isArray(value) && value.length === 0) continue;
    (doc ??= {})[name] = value;
  }
  return doc === null ? '' : JSON.stringify(doc, withoutNulls);
}

/** A JSON.stringify replacer leaving out object fields that are null (array items stay). */
function withoutNulls(this: unknown, _key: string, value: unknown): unknown {
  return value === null && !Array.isArray(this) ? undefined : value;
}

/**
 * A 53-bit hash (cyrb53) of a VM's captured state text. Stored with the inventory row, it
 * lets ingest skip VMs whose state is unchanged without reading their rows; a collision
 * (odds ~2^-53 per changed VM) would leave one inventory row one capture behind.
 */
export function stateHash(factText: string, stateText: string, configText = ''): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  // The loop is written out for each part: as one closure it took ~30% longer.
  for (let i = 0; i < factText.length; i++) {
    const ch = factText.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  // A separator after each part, so moving text between the two parts changes the hash.
  h1 = Math.imul(h1 ^ 9, 2654435761);
  h2 = Math.imul(h2 ^ 9, 1597334677);
  for (let i = 0; i < stateText.length; i++) {
    const ch = stateText.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ 9, 2654435761);
  h2 = Math.imul(h2 ^ 9, 1597334677);
  // The configuration only when there is one: a v1 VM's hash is what it always was, so
  // stored inventory rows are not all rewritten once after the upgrade.
  if (configText !== '') {
    for (let i = 0; i < configText.length; i++) {
      const ch = configText.charCodeAt(i);
      h1 = Math.imul(h1 ^ ch, 2654435761);
      h2 = Math.imul(h2 ^ ch, 1597334677);
    }
    h1 = Math.imul(h1 ^ 9, 2654435761);
    h2 = Math.imul(h2 ^ 9, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/** The capture_stage line of a VM, with its usage fields (NO_USAGE when its facts are COPYed apart). */
export function stageLine(vm: VmDigest, usage = NO_USAGE): string {
  return `${vm.facts}\t${vm.state}\t${
    vm.config === '' ? '\\N' : copyField(vm.config)
  }\t${vm.hash}\t${usage}\n`;
}

/**
 * All that ingest takes from one captured VM: its COPY texts, its state hash, and the
 * numbers the capture's totals add up. It depends on the VM alone, so a VM's JSON text
 * always gives the same digest; vm_text_memo.ts relies on that to skip VMs whose text is
 * unchanged since the source's previous capture.
 */
export type VmDigest = Readonly<ReturnType<typeof digestVm>>;

export function digestVm(vm: CaptureVm) {
  const facts = factFields(vm);
  const state = stateFields(vm);
  const config = configText(vm);
  return {
    key: vm.key,
    sourceVmId: vm.sourceVmId,
    facts,
    state,
    /** The configuration document's JSON text; '' when empty (stored as no row). */
    config,
    hash: stateHash(facts, state, config),
    isTemplate: vm.isTemplate,
    poweredOn: vm.powerState === 'poweredOn',
    cluster: vm.cluster,
    vcpu: vm.vcpu,
    memoryMib: vm.memoryMib,
    /** Provisioned disk in thousandths of a GB, the stored precision. */
    diskThousandths: thousandths(vm.provisionedDiskGib),
    /** The datastores the VM's disks are on, checked against the capture's (incoming_capture.ts). */
    diskDatastores: diskDatastores(vm),
    /** No duplicate snapshot id, unknown parent or cycle (schema.ts vmReferenceIssues). */
    snapshotTreeValid: vm.snapshots.length === 0 ||
      vmReferenceIssues({ disks: [], snapshots: vm.snapshots }, NO_KEYS).length === 0,
  };
}

const NO_KEYS: ReadonlySet<string> = new Set();

function diskDatastores(vm: CaptureVm): string[] {
  const keys = new Set<string>();
  for (const disk of vm.disks) if (disk.datastore !== null) keys.add(disk.datastore);
  return [...keys];
}
