/**
 * VirtualMachine properties: which ones a capture reads, how one retrieved object becomes
 * a compact record (so the page's XML can be dropped at once), and how that record plus
 * the bulk inventory becomes a CaptureVmInput.
 */
import type { CaptureVmInput, PowerState } from '../../capture/schema.ts';
import type {
  VmCdrom,
  VmGuest,
  VmHardware,
  VmLabel,
  VmNic,
  VmSettings,
  VmSnapshot,
  VmTools,
  VmUsage,
} from '../../capture/details.ts';
import { readMoRef } from './soap.ts';
import { decodeEntityName, type Inventory, refKey } from './inventory.ts';
import type { ObjectContent, PropertySpec } from './retrieve.ts';
import type { XmlElement } from './xml.ts';
import { type RawDisk, type RawNic, readDevices } from './devices.ts';
import {
  isoOrNull,
  readGuest,
  readGuestDiskFree,
  readGuestNicIps,
  readHardware,
  readSettings,
  readSnapshots,
  readTools,
} from './vm_details.ts';

/** Exactly the VM properties a capture needs: never `config` whole (it is huge). */
export const VM_PATHS = [
  'name',
  'parent',
  'resourcePool',
  'config.uuid',
  'config.instanceUuid',
  'config.template',
  'config.hardware.numCPU',
  'config.hardware.memoryMB',
  'config.createDate',
  'config.guestFullName',
  'config.annotation',
  'runtime.powerState',
  'runtime.host',
  'summary.storage',
  'guest.net',
  'guest.ipAddress',
  'customValue',
  // v2: virtual hardware, snapshots, Tools, guest, settings, runtime, usage.
  'config.hardware.device',
  'config.hardware.numCoresPerSocket',
  'config.version',
  'config.firmware',
  'config.cpuHotAddEnabled',
  'config.memoryHotAddEnabled',
  'config.cpuAllocation',
  'config.memoryAllocation',
  'config.files.vmPathName',
  'config.tools.toolsUpgradePolicy',
  'snapshot',
  'guest.toolsStatus',
  'guest.toolsRunningStatus',
  'guest.toolsVersion',
  'guest.toolsVersionStatus2',
  'guest.hostName',
  'guest.guestState',
  'guest.guestFullName',
  'guest.disk',
  'runtime.connectionState',
  'runtime.bootTime',
  'runtime.consolidationNeeded',
  'parentVApp',
  // v2: the settings vInfo shows (VmSettings).
  'configStatus',
  'guestHeartbeatStatus',
  'config.changeVersion',
  'config.changeTrackingEnabled',
  'config.latencySensitivity.level',
  'config.bootOptions',
  'config.scheduledHardwareUpgradeInfo',
  'config.files.logDirectory',
  'config.files.snapshotDirectory',
  'config.files.suspendDirectory',
  'runtime.minRequiredEVCModeKey',
  'runtime.faultToleranceState',
  'summary.quickStats.overallCpuUsage',
  'summary.quickStats.guestMemoryUsage',
  'summary.quickStats.hostMemoryUsage',
] as const;

export const VM_SPEC: PropertySpec = { type: 'VirtualMachine', paths: VM_PATHS };

/** What survives of one VM between its page and the end of the capture. */
export type RawVm = {
  moref: string;
  name: string;
  biosUuid: string | null;
  instanceUuid: string | null;
  isTemplate: boolean;
  vcpu: number;
  memoryMib: number;
  createDate: string | null;
  guestOs: string | null;
  annotation: string | null;
  powerState: PowerState;
  hostKey: string | null;
  poolKey: string | null;
  parentKey: string | null;
  committedBytes: number | null;
  uncommittedBytes: number | null;
  ips: string[];
  customValues: { key: string; value: string }[];
  disks: RawDisk[];
  nics: RawNic[];
  cdroms: VmCdrom[];
  snapshots: VmSnapshot[];
  tools: VmTools | null;
  guest: VmGuest | null;
  hardware: VmHardware | null;
  settings: VmSettings | null;
  configFile: string | null;
  connectionState: string | null;
  bootTime: string | null;
  consolidationNeeded: boolean | null;
  vAppKey: string | null;
  cpuUsageMhz: number | null;
  guestMemoryMib: number | null;
  hostMemoryMib: number | null;
  guestDiskFree: { path: string; freeMib: number | null }[];
  /** Properties the server refused to return (permissions), for the log. */
  missing: string[];
};

const GIB = 1024 ** 3;
// vCenter reports 1970-01-01 (or year 1) for VMs created before it recorded createDate.
const PLAUSIBLE_FROM = Date.UTC(2000, 0, 1);

function int(el: XmlElement | undefined): number {
  const n = el ? Number(el.text) : NaN;
  return Number.isFinite(n) ? Math.max(0, Math.round(n)) : 0;
}

function numOrNull(el: XmlElement | undefined): number | null {
  if (!el || el.text === '') return null;
  const n = Number(el.text);
  return Number.isFinite(n) ? n : null;
}

function nonNegative(el: XmlElement | undefined): number | null {
  const n = numOrNull(el);
  return n === null || n < 0 ? null : n;
}

function textOrNull(el: XmlElement | undefined): string | null {
  const t = el?.text;
  return t ? t : null;
}

function childNamed(el: XmlElement | undefined, name: string): XmlElement | undefined {
  if (!el) return undefined;
  for (const c of el.children) if (c.name === name) return c;
  return undefined;
}

function powerState(text: string | undefined): PowerState {
  return text === 'poweredOn' || text === 'suspended' ? text : 'poweredOff';
}

/** Reads IP addresses from `guest.net` (all NICs), falling back to `guest.ipAddress`. */
export function readIps(net: XmlElement | undefined, primary: XmlElement | undefined): string[] {
  const out = new Set<string>();
  if (net) {
    for (const nic of net.children) {
      for (const c of nic.children) {
        if (c.name === 'ipAddress' && c.text && c.text.length <= 64) out.add(c.text);
      }
    }
  }
  if (out.size === 0 && primary?.text) out.add(primary.text);
  return [...out].slice(0, 256);
}

/** Reads `customValue` (custom attribute values by field key). */
export function readCustomValues(el: XmlElement | undefined): { key: string; value: string }[] {
  if (!el) return [];
  const out: { key: string; value: string }[] = [];
  for (const cv of el.children) {
    const key = childNamed(cv, 'key')?.text;
    const value = childNamed(cv, 'value')?.text;
    if (key && value) out.push({ key, value });
  }
  return out;
}

/** Turns one retrieved VirtualMachine into a compact record. */
export function readRawVm(o: ObjectContent): RawVm {
  const p = o.props;
  const host = readMoRef(p.get('runtime.host'));
  const pool = readMoRef(p.get('resourcePool'));
  const parent = readMoRef(p.get('parent'));
  const storage = p.get('summary.storage');
  const devices = readDevices(p.get('config.hardware.device'));
  const ipsByMac = readGuestNicIps(p.get('guest.net'));
  for (const nic of devices.nics) nic.ips = ipsByMac.get(nic.macAddress) ?? [];
  const vcpu = int(p.get('config.hardware.numCPU'));
  const vApp = readMoRef(p.get('parentVApp'));
  const consolidation = p.get('runtime.consolidationNeeded')?.text;
  return {
    moref: o.obj.value,
    name: p.get('name')?.text ?? o.obj.value,
    biosUuid: textOrNull(p.get('config.uuid')),
    instanceUuid: textOrNull(p.get('config.instanceUuid')),
    isTemplate: p.get('config.template')?.text === 'true',
    vcpu,
    memoryMib: int(p.get('config.hardware.memoryMB')),
    createDate: textOrNull(p.get('config.createDate')),
    guestOs: textOrNull(p.get('config.guestFullName')),
    annotation: textOrNull(p.get('config.annotation')),
    powerState: powerState(p.get('runtime.powerState')?.text),
    hostKey: host ? refKey(host) : null,
    poolKey: pool ? refKey(pool) : null,
    parentKey: parent ? refKey(parent) : null,
    committedBytes: numOrNull(childNamed(storage, 'committed')),
    uncommittedBytes: numOrNull(childNamed(storage, 'uncommitted')),
    ips: readIps(p.get('guest.net'), p.get('guest.ipAddress')),
    customValues: readCustomValues(p.get('customValue')),
    disks: devices.disks,
    nics: devices.nics,
    cdroms: devices.cdroms,
    snapshots: readSnapshots(p.get('snapshot')),
    tools: readTools(p),
    guest: readGuest(p),
    hardware: readHardware(p, vcpu),
    settings: readSettings(p, devices.video, parent?.value ?? null),
    configFile: textOrNull(p.get('config.files.vmPathName')),
    connectionState: textOrNull(p.get('runtime.connectionState')),
    bootTime: isoOrNull(p.get('runtime.bootTime')?.text),
    consolidationNeeded: consolidation === 'true' ? true : consolidation === 'false' ? false : null,
    vAppKey: vApp ? refKey(vApp) : null,
    cpuUsageMhz: nonNegative(p.get('summary.quickStats.overallCpuUsage')),
    guestMemoryMib: nonNegative(p.get('summary.quickStats.guestMemoryUsage')),
    hostMemoryMib: nonNegative(p.get('summary.quickStats.hostMemoryUsage')),
    guestDiskFree: readGuestDiskFree(p),
    missing: o.missing.map((m) => `${m.path} (${m.fault})`),
  };
}

/** `config.createDate` as ISO when plausible (after 2000, not in the future), else null. */
export function plausibleCreateDate(raw: string | null, now: Date): string | null {
  if (!raw) return null;
  const t = Date.parse(raw);
  if (!Number.isFinite(t) || t < PLAUSIBLE_FROM || t > now.getTime() + 86_400_000) return null;
  return new Date(t).toISOString();
}

function gib(bytes: number): number {
  return Math.round((bytes / GIB) * 1000) / 1000;
}

function clip(s: string | null, max: number): string | null {
  return s === null ? null : s.length > max ? s.slice(0, max) : s;
}

export type VmContext = {
  inventory: Inventory | null;
  /** The vCenter instance uuid: the prefix of every datastore and network key. */
  prefix: string;
  /** vSphere tags with their categories by VM moref; empty when the tagging service failed. */
  labels: Map<string, VmLabel[]>;
  /** Custom attribute names by field key. */
  fieldNames: Map<string, string>;
  /** Creation times from events, by VM moref (fallback when createDate is not plausible). */
  createdFromEvents: Map<string, string>;
  now: Date;
};

/** Builds the CaptureVmInput for a raw record; `key` is decided by the caller (identity rules). */
export function toCaptureVm(vm: RawVm, key: string, ctx: VmContext): CaptureVmInput {
  const inv = ctx.inventory;
  const placement = inv ? inv.hostPlacement(vm.hostKey) : { host: null, cluster: null };
  // vApp members have no folder parent; their datacenter is found through the pool.
  const dc = inv
    ? (inv.datacenterOf(vm.parentKey) ?? inv.datacenterOf(vm.poolKey) ??
      inv.datacenterOf(vm.hostKey))
    : null;
  const committed = vm.committedBytes ?? 0;
  const uncommitted = vm.uncommittedBytes ?? 0;
  const tags = vm.customValues.map((cv) =>
    `${ctx.fieldNames.get(cv.key) ?? cv.key}=${cv.value}`.slice(0, 256)
  );
  return {
    key,
    sourceVmId: vm.moref,
    biosUuid: clip(vm.biosUuid, 64),
    instanceUuid: clip(vm.instanceUuid, 64),
    name: decodeEntityName(vm.name).slice(0, 512),
    powerState: vm.powerState,
    isTemplate: vm.isTemplate,
    vcpu: vm.vcpu,
    memoryMib: vm.memoryMib,
    provisionedDiskGib: gib(committed + uncommitted),
    usedDiskGib: vm.committedBytes === null ? null : gib(committed),
    datacenter: dc,
    cluster: placement.cluster,
    host: placement.host,
    resourcePool: inv ? inv.name(vm.poolKey) : null,
    folder: inv ? clip(inv.pathOf(vm.parentKey), 2048) : null,
    guestOs: clip(vm.guestOs, 512),
    ipAddresses: vm.ips,
    tags: tags.slice(0, 256),
    annotation: clip(vm.annotation, 8192),
    createdAt: plausibleCreateDate(vm.createDate, ctx.now) ?? ctx.createdFromEvents.get(vm.moref) ??
      null,
    disks: vm.disks.map(({ datastoreRef, ...disk }) => ({
      ...disk,
      // Only a datastore the capture holds: the schema rejects a key it cannot resolve.
      datastore: datastoreRef && inv?.entities.has(`Datastore:${datastoreRef}`)
        ? `${ctx.prefix}:${datastoreRef}`
        : null,
    })),
    nics: vm.nics.map((nic) => toCaptureNic(nic, ctx)),
    cdroms: vm.cdroms,
    snapshots: vm.snapshots,
    tools: vm.tools,
    guest: vm.guest,
    hardware: vm.hardware,
    settings: vm.settings,
    labels: ctx.labels.get(vm.moref) ?? [],
    attributes: vm.customValues.slice(0, 256).map((cv) => ({
      name: (ctx.fieldNames.get(cv.key) ?? cv.key).slice(0, 256),
      value: cv.value.slice(0, 4096),
    })),
    haRestartPriority: inv ? inv.haRestartPriority(vm.hostKey, vm.moref) : null,
    vApp: inv ? inv.name(vm.vAppKey) : null,
    configFile: clip(vm.configFile, 2048),
    connectionState: vm.connectionState,
    bootTime: vm.bootTime,
    consolidationNeeded: vm.consolidationNeeded,
  };
}

/** A NIC with its network resolved: a standard port group by moref, a distributed one by key. */
function toCaptureNic(nic: RawNic, ctx: VmContext): VmNic {
  const inv = ctx.inventory;
  let networkKey: string | null = null;
  let network = nic.networkName;
  let vlanId: number | null = null;
  const ref = nic.portgroupKey
    ? `DistributedVirtualPortgroup:${nic.portgroupKey}`
    : nic.networkRef
    ? `Network:${nic.networkRef}`
    : null;
  if (inv && ref && inv.entities.has(ref)) {
    networkKey = `${ctx.prefix}:${ref.slice(ref.indexOf(':') + 1)}`;
    network = inv.name(ref) ?? network;
    vlanId = inv.vlanOf(ref);
  }
  return {
    label: nic.label,
    macAddress: nic.macAddress,
    network: clip(network, 512),
    networkKey,
    adapterType: nic.adapterType,
    connected: nic.connected,
    startConnected: nic.startConnected,
    vlanId,
    firewall: null,
    ipAddresses: nic.ips,
  };
}

/** The capture's `usage` row for a VM: summary.quickStats, apart from the VM record. */
export function toUsage(vm: RawVm, key: string): VmUsage | null {
  if (
    vm.cpuUsageMhz === null && vm.guestMemoryMib === null && vm.hostMemoryMib === null &&
    vm.guestDiskFree.length === 0
  ) {
    return null;
  }
  return {
    key,
    cpuUsageMhz: vm.cpuUsageMhz,
    guestMemoryMib: vm.guestMemoryMib,
    hostMemoryMib: vm.hostMemoryMib,
    guestDisks: vm.guestDiskFree,
  };
}
