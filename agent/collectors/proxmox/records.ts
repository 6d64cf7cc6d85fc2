/**
 * Builds the capture's VM records and usage from `/cluster/resources`, the parsed guest
 * config, guest-agent facts and snapshots. Pure: everything is handed in; hosts,
 * datastores, clusters, pools and networks are in inventory.ts.
 *
 * Units: PVE sizes are binary (`32G` = 32 GiB); the capture's "GB" fields carry GiB, the
 * same convention vCenter's KB/MB figures follow, so both sources add up.
 */
import type {
  VmDisk,
  VmGuest,
  VmHardware,
  VmNic,
  VmTools,
  VmUsage,
} from '../../capture/details.ts';
import type { CaptureVmInput, PowerState } from '../../capture/schema.ts';
import type { GuestResource } from './api_shapes.ts';
import { type ParsedGuestConfig, splitTags } from './config_parse.ts';
import type { GuestFacts } from './guest_facts.ts';
import type { Snapshot } from './snapshots.ts';

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;
export const gib = (bytes: number) => Math.round((bytes / GiB) * 1000) / 1000;

/** The capture VM shape as the collector builds it (defaults already applied): the contract's own type. */
export type ProxmoxVm = CaptureVmInput;

/** `${clusterId}:${vmid}:${generation}` — a reused vmid with a new generation is a new VM. */
export function vmKey(clusterId: string, vmid: number, generation: number): string {
  return `${clusterId}:${vmid}:${generation}`;
}

/** PVE status → capture power state. A hibernated VM is `stopped` with `lock: suspended`. */
export function powerStateOf(r: GuestResource): PowerState {
  if (r.status === 'running') return 'poweredOn';
  if (r.status === 'paused' || r.status === 'suspended' || r.lock === 'suspended') {
    return 'suspended';
  }
  return 'poweredOff';
}

/** What one capture knows beyond a guest's own config: where its disks and NICs point. */
export type VmContext = {
  clusterId: string;
  /** Cluster name, null for a lone node. */
  clusterName: string | null;
  /** storage id + node → the datastore key in this capture, or null (datastores.ts). */
  datastoreKey(storage: string, node: string): string | null;
  /** Storage id + node → thin/thick for a disk of this format, or null when unknown. */
  provisioning(storage: string, node: string, format: string | null): VmDisk['provisioning'];
  /** A NIC's network key in this capture (networks.ts). */
  networkKey(bridge: string, tag: number | null): string | null;
  /** HA state by sid (`vm:100`, `ct:200`); null when `/cluster/ha/resources` was not read. */
  haState: ReadonlyMap<string, string> | null;
  /** A node's CPU MHz (for `cpulimit` in MHz); null when unknown. */
  nodeMhz(node: string): number | null;
};

export type VmFacts = {
  generation: number;
  /** Epoch seconds: QEMU `meta` ctime, or the LXC `vzcreate` task time. */
  createdAtSec: number | null;
  config: ParsedGuestConfig;
  /** Guest-agent / LXC interface facts (guest_facts.ts), null when there are none. */
  guest: GuestFacts | null;
  usedBytes: number | null;
  snapshots: Snapshot[];
  /** When the guest started (epoch seconds), while it runs. */
  bootTimeSec: number | null;
};

const iso = (sec: number) => new Date(sec * 1000).toISOString();

function disksOf(r: GuestResource, c: ParsedGuestConfig, ctx: VmContext): VmDisk[] {
  return c.details.disks.map((d) => ({
    label: d.label,
    capacityMib: d.capacityMib,
    provisioning: d.storage ? ctx.provisioning(d.storage, r.node, d.format) : null,
    datastore: d.storage ? ctx.datastoreKey(d.storage, r.node) : null,
    controller: d.controller,
    unitNumber: d.unitNumber,
    file: d.file.slice(0, 2048),
    mode: null,
    inBackup: d.inBackup,
  }));
}

/** NICs with a MAC (a NIC without one has no identity: see config_details.ts). */
function nicsOf(c: ParsedGuestConfig, guest: GuestFacts | null, ctx: VmContext): VmNic[] {
  const out: VmNic[] = [];
  for (const n of c.details.nics) {
    if (!n.mac) continue;
    out.push({
      label: n.label,
      macAddress: n.mac.slice(0, 64),
      network: n.bridge,
      networkKey: n.bridge ? ctx.networkKey(n.bridge, n.tag) : null,
      adapterType: n.model,
      connected: !n.linkDown,
      startConnected: !n.linkDown,
      vlanId: n.tag,
      firewall: n.firewall,
      ipAddresses: guest?.ipsByMac.get(n.mac.toLowerCase()) ?? [],
    });
  }
  return out;
}

function hardwareOf(r: GuestResource, c: ParsedGuestConfig, ctx: VmContext): VmHardware {
  const h = c.details.hardware;
  const mhz = ctx.nodeMhz(r.node);
  return {
    version: h.machine,
    firmware: h.firmware,
    coresPerSocket: h.sockets != null ? h.cores : null,
    sockets: h.sockets,
    cpuHotAdd: h.cpuHotAdd,
    memoryHotAdd: h.memoryHotAdd,
    cpuReservationMhz: null,
    // `cpulimit` is in cores (0: unlimited, vSphere's -1); in MHz at the node's clock.
    cpuLimitMhz: h.cpuLimitCores > 0
      ? (mhz == null ? null : Math.round(h.cpuLimitCores * mhz))
      : -1,
    cpuShares: h.cpuUnits,
    cpuSharesLevel: null,
    // The balloon target is the least memory the guest keeps; 0 turns ballooning off.
    memoryReservationMib: h.balloonMib && h.balloonMib > 0 ? h.balloonMib : null,
    memoryLimitMib: null,
    memoryShares: h.memoryShares,
    memorySharesLevel: null,
  };
}

function toolsOf(r: GuestResource, c: ParsedGuestConfig, g: GuestFacts | null): VmTools | null {
  if (r.type !== 'qemu') return null;
  // Running with no answer we may read (no VM.Monitor, node unreachable): unknown.
  const known = !c.agentEnabled || r.status !== 'running' || (g != null && g.agent !== null);
  const running = r.status === 'running' && g?.agent === 'ok';
  return {
    status: !known
      ? null
      : !c.agentEnabled
      ? 'toolsNotInstalled'
      : running
      ? 'toolsOk'
      : 'toolsNotRunning',
    runningStatus: !known ? null : running ? 'guestToolsRunning' : 'guestToolsNotRunning',
    version: c.agentEnabled ? (g?.agentVersion ?? null) : null,
    versionStatus: null,
    upgradePolicy: null,
  };
}

function guestOf(r: GuestResource, c: ParsedGuestConfig, g: GuestFacts | null): VmGuest | null {
  const running = r.status === 'running';
  if (r.type === 'lxc') {
    return {
      hostName: c.name,
      state: running ? 'running' : 'notRunning',
      os: null,
      ipAddress: running ? (g?.ips[0] ?? null) : null,
      disks: [],
    };
  }
  if (!c.agentEnabled) return null;
  const answering = running && g?.agent === 'ok';
  const known = !running || (g != null && g.agent !== null);
  return {
    hostName: answering ? g.hostName : null,
    state: !known ? null : answering ? 'running' : 'notRunning',
    os: g?.os ?? null,
    ipAddress: answering ? (g.ips[0] ?? null) : null,
    disks: answering ? g.disks : [],
  };
}

/** One VM record. vCPU/RAM come from the config; `/cluster/resources` is the fallback. */
export function toProxmoxVm(r: GuestResource, f: VmFacts, ctx: VmContext): ProxmoxVm {
  const c = f.config;
  const resourceTags = splitTags(r.tags);
  const tags = (resourceTags.length ? resourceTags : c.tags).slice(0, 256);
  const haState = ctx.haState;
  return {
    key: vmKey(ctx.clusterId, r.vmid, f.generation),
    sourceVmId: String(r.vmid),
    biosUuid: c.biosUuid,
    instanceUuid: null,
    name: (r.name ?? c.name ?? `${r.type === 'qemu' ? 'VM' : 'CT'} ${r.vmid}`).slice(0, 512),
    powerState: powerStateOf(r),
    isTemplate: r.template === 1,
    // LXC without `cores` may use every host core: PVE reports that as maxcpu.
    vcpu: c.vcpu ?? r.maxcpu ?? 0,
    memoryMib: c.memoryMib ?? (r.maxmem ? Math.round(r.maxmem / MiB) : 0),
    provisionedDiskGib: gib(c.provisionedBytes),
    usedDiskGib: f.usedBytes == null ? null : gib(f.usedBytes),
    datacenter: null,
    cluster: ctx.clusterName,
    host: r.node,
    resourcePool: r.pool ?? null,
    folder: null,
    guestOs: c.ostype,
    ipAddresses: f.guest?.ips ?? [],
    tags,
    annotation: c.description ? c.description.slice(0, 8192) : null,
    createdAt: f.createdAtSec ? iso(f.createdAtSec) : null,
    disks: disksOf(r, c, ctx),
    nics: nicsOf(c, f.guest, ctx),
    cdroms: c.details.cdroms.map((d) => ({
      label: d.label,
      connected: null,
      startConnected: null,
      deviceType: d.deviceType,
      file: d.file ? d.file.slice(0, 2048) : null,
    })),
    snapshots: f.snapshots,
    tools: toolsOf(r, c, f.guest),
    guest: guestOf(r, c, f.guest),
    hardware: hardwareOf(r, c, ctx),
    labels: tags.map((name) => ({ category: null, name })),
    attributes: [],
    haRestartPriority: haState === null
      ? null
      : (haState.get(`${r.type === 'qemu' ? 'vm' : 'ct'}:${r.vmid}`) ?? 'disabled'),
    vApp: null,
    configFile: `/etc/pve/nodes/${r.node}/${
      r.type === 'qemu' ? 'qemu-server' : 'lxc'
    }/${r.vmid}.conf`,
    connectionState: r.status === 'unknown' ? 'disconnected' : 'connected',
    bootTime: f.bootTimeSec != null && r.status === 'running' ? iso(f.bootTimeSec) : null,
    consolidationNeeded: null,
  };
}

/**
 * Usage, apart from the VM record: `cpu` (a fraction of the guest's vCPUs) × vCPUs × the
 * node's MHz, and `mem` (bytes in use; for QEMU the balloon driver's figure when it runs,
 * else the QEMU process's). PVE reports one memory figure, so hostMemoryMib stays null.
 */
export function toUsage(r: GuestResource, key: string, nodeMhz: number | null): VmUsage {
  const vcpus = r.maxcpu ?? 0;
  return {
    key,
    cpuUsageMhz: nodeMhz != null && r.cpu != null ? Math.round(r.cpu * vcpus * nodeMhz) : null,
    guestMemoryMib: r.mem != null ? Math.round(r.mem / MiB) : null,
    hostMemoryMib: null,
  };
}
