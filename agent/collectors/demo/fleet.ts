/**
 * The demo fleet: a deterministic synthetic estate whose state is a pure function of
 * (seed, source, time). Capturing the same instant twice gives the same VMs, so history
 * can be backfilled from the same generator that the live demo agent uses.
 *
 * Churn is built in: most slots hold one long-lived VM; some slots recycle, so VMs are
 * created and deleted over time (with a reused vmid on the Proxmox-like source, as real
 * Proxmox does). VMs are resized every few weeks, move between hosts, change pools and
 * power state.
 *
 * The site lives too (./site_life.ts): a host goes into maintenance each week (its VMs are
 * moved to the other hosts of its cluster; on the Proxmox-like source its containers are shut
 * down instead and start again afterwards), a host stops responding now and then, datastores
 * fill, fall or stay flat, and usage follows the working day.
 */
import type {
  CaptureDatastoreInput,
  CaptureEvent,
  CaptureHostInput,
  CaptureInput,
  CaptureVmInput,
} from '../../capture/schema.ts';
import type { VmUsage } from '../../capture/details.ts';
import {
  clustersOf,
  hostDetails,
  networkObjectsOf,
  POWER_BLOCK,
  resourcePoolsOf,
  vmDetails,
  type VmFacts,
  vmUsage,
} from './details.ts';
import { hash } from './fleet_hash.ts';
import { takeGuestDiskFree } from '../collector.ts';
import {
  dailyLoad,
  datastoreFreeGib,
  type DatastoreLife,
  hostBootTime,
  type HostState,
  hostStateAt,
  hostStatesAt,
  lastMaintenance,
} from './site_life.ts';

export { hash };

const HOUR = 3600_000;
const DAY = 24 * HOUR;
/** Long-lived demo VMs were "created" before this instant. */
const EPOCH = Date.UTC(2026, 0, 1);

function pick<T>(list: readonly T[], h: number): T {
  return list[h % list.length];
}

/** A deterministic uuid-shaped string. */
function fakeUuid(...parts: number[]): string {
  const hex = [0, 1, 2, 3].map((i) => hash(...parts, i).toString(16).padStart(8, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${
    hex.slice(20, 32)
  }`;
}

export type DemoFlavor = 'vcenter' | 'proxmox';

type Layout = {
  sourceId: string;
  sourceName: string;
  datacenters: string[];
  clusters: string[];
  hosts: string[];
  pools: string[];
  datastores: string[];
  /** How each datastore's used space moves (site_life.ts). */
  datastoreLives: DatastoreLife[];
  roles: string[];
};

/** The source id a demo source's captures carry (what a token is bound to as `demo:<id>`). */
export function demoSourceId(flavor: DemoFlavor, seed: number): string {
  return layout(flavor, seed).sourceId;
}

function layout(flavor: DemoFlavor, seed: number): Layout {
  if (flavor === 'vcenter') {
    return {
      sourceId: fakeUuid(seed, 1),
      sourceName: 'demo-vcenter',
      datacenters: ['DC-East'],
      clusters: ['prod-a', 'prod-b', 'dev'],
      hosts: Array.from(
        { length: 12 },
        (_, i) => `esx${String(i + 1).padStart(2, '0')}.demo.local`,
      ),
      pools: ['Gold', 'Silver', 'Bronze'],
      datastores: ['vsan-prod-a', 'vsan-prod-b', 'nfs-dev', 'iso-library'],
      datastoreLives: ['filling', 'filling', 'falling', 'flat'],
      roles: ['web', 'app', 'db', 'cache', 'build', 'mq', 'ldap', 'proxy'],
    };
  }
  return {
    sourceId: `demo-pve-${seed}`,
    sourceName: 'demo-proxmox',
    datacenters: ['pve'],
    clusters: [`demo-pve-${seed}`],
    hosts: ['pve1', 'pve2', 'pve3', 'pve4', 'pve5'],
    pools: ['prod', 'dev', 'lab'],
    datastores: ['local-lvm', 'ceph-vm', 'nfs-backup'],
    datastoreLives: ['fillsUp', 'filling', 'flat'],
    roles: ['ct', 'svc', 'k8s', 'runner', 'lab'],
  };
}

/** How many of the `total` VMs each flavour gets (60% vCenter-like, 40% Proxmox-like). */
export function slotsFor(flavor: DemoFlavor, total: number): number {
  const vc = Math.round(total * 0.6);
  return flavor === 'vcenter' ? vc : total - vc;
}

type Generation = { gen: number; createdAt: number; deletedAt: number | null };

/**
 * Which VM lives in a slot at time t. 80% of slots hold one long-lived VM; the rest recycle
 * with lifetimes of 5–40 days and a gap of up to two days between one VM and the next.
 */
function generationAt(
  seed: number,
  flavorCode: number,
  slot: number,
  t: number,
): Generation | null {
  const h = hash(seed, flavorCode, slot);
  if (h % 10 < 8) {
    return {
      gen: 0,
      createdAt: EPOCH - (1 + (h % 700)) * DAY - (h % 86400) * 1000,
      deletedAt: null,
    };
  }
  const period = (5 + (h % 36)) * DAY;
  const offset = (h % 97) * DAY;
  const gen = Math.floor((t - EPOCH + offset) / period);
  const start = EPOCH - offset + gen * period;
  const gap = (hash(seed, flavorCode, slot, gen) % 48) * HOUR +
    (hash(seed, slot, gen, 7) % 3600) * 1000;
  const createdAt = start + gap;
  const deletedAt = start + period;
  if (t < createdAt) return null; // between two VMs of this slot
  return { gen, createdAt, deletedAt };
}

/** What a capture at t knows of the site: the hosts' states and how busy the estate is. */
type SiteAt = { states: HostState[]; load: number };

function siteAt(seed: number, fc: number, L: Layout, t: number): SiteAt {
  return { states: hostStatesAt(seed, fc, L.hosts.length, t), load: dailyLoad(t) };
}

/** The host a VM picks for a 3-day window. */
const homeHost = (id: number, hosts: number, t: number) =>
  hash(id, Math.floor(t / (3 * DAY))) % hosts;

/**
 * Where a VM runs at t: its home host, or, while that host is in maintenance, another host of
 * the same cluster that is up (vMotion, Proxmox migration). Containers on the Proxmox-like
 * source are not migrated: they are shut down on their host until the maintenance ends.
 */
function placeVm(
  id: number,
  flavor: DemoFlavor,
  L: Layout,
  states: HostState[],
  t: number,
  container: boolean,
): { hostIndex: number; shutDown: boolean } {
  const home = homeHost(id, L.hosts.length, t);
  if (states[home] !== 'maintenance') return { hostIndex: home, shutDown: false };
  if (container) return { hostIndex: home, shutDown: true };
  const clusters = flavor === 'vcenter' ? L.clusters.length : 1;
  const up: number[] = [];
  for (let j = 0; j < states.length; j++) {
    if (j % clusters === home % clusters && states[j] === 'ok') up.push(j);
  }
  if (up.length === 0) return { hostIndex: home, shutDown: true };
  return { hostIndex: up[hash(id, 83) % up.length], shutDown: false };
}

const VCPU = [1, 2, 2, 2, 4, 4, 4, 8, 8, 16] as const;
const RAM_PER_VCPU_GB = [1, 2, 4, 4, 8] as const;

function vmAt(
  seed: number,
  flavor: DemoFlavor,
  L: Layout,
  slot: number,
  g: Generation,
  t: number,
  site: SiteAt,
): { vm: CaptureVmInput; facts: VmFacts; hostIndex: number } {
  const fc = flavor === 'vcenter' ? 1 : 2;
  const id = hash(seed, fc, slot, g.gen);
  const isTemplate = g.gen === 0 && id % 50 === 0;
  // Resizes: every 14 days of its life a VM may get a new size (about 1 in 6 do).
  const sizeEpoch = Math.floor((t - g.createdAt) / (14 * DAY));
  const resized = sizeEpoch > 0 && hash(id, sizeEpoch, 3) % 6 === 0;
  const sizeSeed = resized ? hash(id, sizeEpoch) : id;
  const vcpu = pick(VCPU, sizeSeed >>> 3);
  const memoryMib = vcpu * pick(RAM_PER_VCPU_GB, sizeSeed >>> 7) * 1024;
  const provisionedDiskGib = 20 + (hash(id, 5) % 480) + (resized ? 50 : 0);
  const role = pick(L.roles, id >>> 11);
  const container = flavor === 'proxmox' && role === 'ct';
  // Power: 6-hour blocks; ~7% of blocks off, ~1% suspended; templates always off. Containers
  // are also off while their host is in maintenance.
  const powerAt = (at: number) => {
    const block = hash(id, Math.floor(at / POWER_BLOCK));
    const state = isTemplate
      ? 'poweredOff'
      : block % 100 < 7
      ? 'poweredOff'
      : block % 100 < 8
      ? 'suspended'
      : 'poweredOn';
    return state === 'poweredOn' && container &&
        hostStateAt(seed, fc, L.hosts.length, homeHost(id, L.hosts.length, at), at) ===
          'maintenance'
      ? 'poweredOff'
      : state;
  };
  // Moves: host chosen per 3-day window (and away from a host in maintenance), pool rarely
  // changes (per 20-day window, 1 in 10).
  const { hostIndex, shutDown } = placeVm(id, flavor, L, site.states, t, container);
  const powerState = shutDown ? 'poweredOff' : powerAt(t);
  const hostDown = site.states[hostIndex] === 'down';
  const poolWindow = Math.floor(t / (20 * DAY));
  const pool = pick(L.pools, hash(id, hash(id, poolWindow) % 10 === 0 ? poolWindow : 0));
  const name = `${role}-${String(slot).padStart(4, '0')}${g.gen ? `-g${g.gen}` : ''}`;
  const vmid = 100 + slot;
  const instanceUuid = fakeUuid(id, 11);
  const key = flavor === 'vcenter'
    ? `${L.sourceId}:${instanceUuid}`
    : `${L.sourceId}:${vmid}:${Math.floor(g.createdAt / 1000)}`;
  // Creation time is not always known: vCenter's createDate is often empty, LXC has no ctime.
  const createdKnown = flavor === 'vcenter' ? id % 10 < 7 : id % 5 !== 0;
  const cluster = flavor === 'vcenter' ? L.clusters[hostIndex % L.clusters.length] : L.clusters[0];
  const ipAddresses = powerState === 'poweredOn'
    ? [`10.${fc}.${(slot >> 8) & 255}.${slot & 255}`]
    : [];
  const facts: VmFacts = {
    flavor,
    id,
    slot,
    name,
    role,
    vmid,
    powerState,
    isTemplate,
    vcpu,
    memoryMib,
    provisionedDiskGib,
    createdAt: g.createdAt,
    ipAddresses,
    pool,
    // VMs' disks are on the capture's datastores but the last (ISO library, backups).
    datastores: L.datastores.slice(0, -1).map((name, i) => ({ key: `ds-${i}`, name })),
    t,
    load: site.load,
    hostDown,
  };
  const vm: CaptureVmInput = {
    key,
    sourceVmId: flavor === 'vcenter' ? `vm-${1000 + slot * 7 + g.gen}` : String(vmid),
    biosUuid: flavor === 'vcenter' ? fakeUuid(id, 12) : null,
    instanceUuid: flavor === 'vcenter' ? instanceUuid : null,
    name,
    powerState,
    isTemplate,
    vcpu,
    memoryMib,
    provisionedDiskGib,
    usedDiskGib: Math.round(provisionedDiskGib * (0.2 + (hash(id, 9) % 60) / 100) * 1000) / 1000,
    datacenter: L.datacenters[0],
    cluster,
    host: L.hosts[hostIndex],
    resourcePool: pool,
    folder: flavor === 'vcenter' ? `/DC-East/vm/${role}` : null,
    guestOs: pick(
      ['ubuntu64Guest', 'rhel9_64Guest', 'windows2019srv_64Guest', 'debian12_64Guest'],
      id >>> 5,
    ),
    ipAddresses,
    tags: id % 4 === 0 ? ['backup'] : [],
    annotation: null,
    createdAt: createdKnown ? new Date(g.createdAt).toISOString() : null,
    ...vmDetails(facts, (at) => powerAt(at) === 'poweredOn'),
  };
  if (container && vm.bootTime) {
    // A container that was stopped for its host's maintenance started again after it.
    const m = lastMaintenance(seed, fc, L.hosts.length, hostIndex, t, 2);
    if (m && homeHost(id, L.hosts.length, m.from) === hostIndex) {
      const started = m.upAt + 60_000 + (id % 120) * 1000;
      if (started <= t && started > Date.parse(vm.bootTime)) {
        vm.bootTime = new Date(started).toISOString();
      }
    }
  }
  return { vm, facts, hostIndex };
}

export type DemoCaptureOptions = {
  flavor: DemoFlavor;
  seed: number;
  /** Total VM slots across both demo flavours. */
  totalVms: number;
  at: Date;
  since: Date | null;
  sourceName?: string;
  captureId?: string;
};

/** The demo fleet of one flavour as a capture at `at`, with lifecycle events since `since`. */
export function demoCapture(options: DemoCaptureOptions): CaptureInput {
  const { flavor, seed } = options;
  const L = layout(flavor, seed);
  const fc = flavor === 'vcenter' ? 1 : 2;
  const t = options.at.getTime();
  const since = options.since?.getTime() ?? null;
  const slots = slotsFor(flavor, options.totalVms);
  const vms: CaptureVmInput[] = [];
  const usage: VmUsage[] = [];
  const events: CaptureEvent[] = [];
  const poolVms = new Map<string, number>();
  const networkVms = new Map<string, number>();
  const datastoreVms = new Map<string, number>();
  const count = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
  const site = siteAt(seed, fc, L, t);
  // What the VMs on each host use: the host's usage is theirs plus the hypervisor's.
  const hostCpu = new Float64Array(L.hosts.length);
  const hostMemory = new Float64Array(L.hosts.length);
  for (let slot = 0; slot < slots; slot++) {
    const g = generationAt(seed, fc, slot, t);
    if (g) {
      const { vm, facts, hostIndex } = vmAt(seed, flavor, L, slot, g, t, site);
      vms.push(vm);
      const use = vmUsage(vm.key, facts);
      usage.push({ ...use, guestDisks: takeGuestDiskFree(vm) });
      hostCpu[hostIndex] += use.cpuUsageMhz ?? 0;
      hostMemory[hostIndex] += use.hostMemoryMib ?? 0;
      count(poolVms, facts.pool);
      for (const k of new Set(vm.nics!.map((n) => n.networkKey!))) count(networkVms, k);
      for (const k of new Set(vm.disks!.map((d) => d.datastore!))) count(datastoreVms, k);
    }
    if (since !== null) events.push(...eventsBetween(seed, flavor, L, slot, since, t));
  }
  const hosts = hostsOf(flavor, L, seed, t, site.states, hostCpu, hostMemory);
  return {
    captureId: options.captureId ?? crypto.randomUUID(),
    source: {
      kind: 'demo',
      id: L.sourceId,
      name: options.sourceName ?? L.sourceName,
      endpoint: `demo://${flavor}/${seed}`,
      version: flavor === 'vcenter' ? 'demo vCenter 8.0.3' : 'demo pve-manager 8.2',
    },
    capturedAt: options.at.toISOString(),
    complete: true,
    vms,
    hosts,
    datastores: datastoresOf(flavor, L, seed, t, datastoreVms),
    events,
    clusters: clustersOf(
      flavor,
      L.clusters,
      L.clusters.map((c) => hosts.filter((h) => h.cluster === c).length),
      // Effective: the hosts that are connected and not in maintenance (vSphere's meaning).
      L.clusters.map((c) =>
        hosts.filter((h) =>
          h.cluster === c && h.connectionState === 'connected' && !h.maintenanceMode
        ).length
      ),
      L.datacenters[0],
    ),
    resourcePools: resourcePoolsOf(flavor, L.pools, L.clusters, L.datacenters[0], poolVms),
    networks: networkObjectsOf(flavor, hosts.map((h) => h.name), networkVms),
    usage,
  };
}

/** Creation/deletion events of a recycling slot in (since, t]. */
function eventsBetween(
  seed: number,
  flavor: DemoFlavor,
  L: Layout,
  slot: number,
  since: number,
  t: number,
): CaptureEvent[] {
  const fc = flavor === 'vcenter' ? 1 : 2;
  if (hash(seed, fc, slot) % 10 < 8) return [];
  const out: CaptureEvent[] = [];
  const quiet: SiteAt = { states: L.hosts.map(() => 'ok'), load: 0 };
  // Walk generations that overlap the window; windows are hours, lifetimes days, so few steps.
  let probe = since;
  for (let guard = 0; guard < 10 && probe <= t; guard++) {
    const g = generationAt(seed, fc, slot, probe) ?? generationAt(seed, fc, slot, probe + 2 * DAY);
    if (!g) break;
    // Only the VM's identity and name are read: they do not depend on the site's state.
    const at = Math.max(g.createdAt, Math.min(t, (g.deletedAt ?? t) - 1));
    const { vm } = vmAt(seed, flavor, L, slot, g, at, quiet);
    if (g.createdAt > since && g.createdAt <= t) {
      out.push({
        type: 'created',
        at: new Date(g.createdAt).toISOString(),
        vmKey: vm.key,
        sourceVmId: vm.sourceVmId,
        vmName: vm.name,
        detail: null,
      });
    }
    if (g.deletedAt !== null && g.deletedAt > since && g.deletedAt <= t) {
      out.push({
        type: 'deleted',
        at: new Date(g.deletedAt).toISOString(),
        vmKey: vm.key,
        sourceVmId: vm.sourceVmId,
        vmName: vm.name,
        detail: null,
      });
    }
    if (g.deletedAt === null) break;
    probe = g.deletedAt;
  }
  return out;
}

/** Overhead of the hypervisor itself on a host that is up. */
const HYPERVISOR_MHZ = 2_000;
const HYPERVISOR_MIB = 16 * 1024;

/**
 * The hosts at t: in maintenance (connected, no VMs' load), not responding (no usage), or up
 * with the usage of the VMs on them plus the hypervisor's, bounded by the host's size.
 */
function hostsOf(
  flavor: DemoFlavor,
  L: Layout,
  seed: number,
  t: number,
  states: HostState[],
  vmCpuMhz: Float64Array,
  vmMemoryMib: Float64Array,
): CaptureHostInput[] {
  const vc = flavor === 'vcenter';
  const fc = vc ? 1 : 2;
  const cpuCores = 64;
  const cpuMhz = 2600;
  const memoryMib = 1024 * 1024;
  return L.hosts.map((name, i) => {
    const state = states[i];
    const details = hostDetails(flavor, seed, i);
    const bootedBefore = Date.parse(details.bootTime!);
    const booted = hostBootTime(seed, fc, L.hosts.length, i, t, bootedBefore);
    return {
      key: vc ? `host-${100 + i}` : name,
      name,
      datacenter: L.datacenters[0],
      cluster: vc ? L.clusters[i % L.clusters.length] : L.clusters[0],
      // What the vCenter and Proxmox collectors report for a host that stopped answering.
      connectionState: state === 'down' ? (vc ? 'disconnected' : 'notResponding') : 'connected',
      powerState: state === 'down' ? (vc ? 'unknown' : null) : 'poweredOn',
      cpuCores,
      cpuMhz,
      memoryMib,
      version: vc ? 'VMware ESXi 8.0.3' : 'pve-manager/8.2.4',
      ...details,
      maintenanceMode: state === 'maintenance',
      bootTime: new Date(Math.max(booted, bootedBefore)).toISOString(),
      cpuUsageMhz: state === 'down'
        ? null
        : Math.round(Math.min(cpuCores * cpuMhz * 0.98, HYPERVISOR_MHZ + vmCpuMhz[i])),
      memoryUsageMib: state === 'down'
        ? null
        : Math.round(Math.min(memoryMib * 0.97, HYPERVISOR_MIB + vmMemoryMib[i])),
    };
  });
}

/**
 * Datastores (Proxmox storages); free and uncommitted space move at every capture, free space
 * along the datastore's life (site_life.ts): the two halves of a pair of filling datastores
 * are half a cycle apart, so one of them is always filling steadily.
 */
function datastoresOf(
  flavor: DemoFlavor,
  L: Layout,
  seed: number,
  t: number,
  vmCounts: Map<string, number>,
): CaptureDatastoreInput[] {
  const vc = flavor === 'vcenter';
  const minute = Math.floor(t / 60_000);
  const hour = Math.floor(t / 3600_000);
  return L.datastores.map((name, i) => {
    const capacityGib = 20_000 + (hash(seed, i) % 10) * 1000;
    const phase = ((hash(seed, vc ? 1 : 2, 2) % 100) / 100 + i * 0.5) % 1;
    const type = vc
      ? (name.startsWith('nfs') ? 'NFS' : name.startsWith('vsan') ? 'vsan' : 'VMFS')
      : (name === 'local-lvm' ? 'lvmthin' : name.startsWith('ceph') ? 'rbd' : 'nfs');
    const shared = vc ? true : name !== 'local-lvm';
    return {
      key: `ds-${i}`,
      name,
      type,
      capacityGib,
      freeGib: datastoreFreeGib(
        L.datastoreLives[i],
        capacityGib,
        phase,
        t,
        (hash(seed, i, minute) % 200) / 100 - 1,
      ),
      accessible: true,
      url: vc ? `ds:///vmfs/volumes/${hash(seed, i, 3).toString(16)}/` : null,
      uncommittedGib: 1_000 + (hash(seed, i, 4) % 2000) + (hash(seed, i, hour, 4) % 100),
      maintenanceMode: vc ? 'normal' : null,
      shared,
      content: vc ? null : (name === 'nfs-backup' ? 'backup,iso' : 'images,rootdir'),
      hostNames: shared ? [...L.hosts] : [L.hosts[0]],
      vmCount: vmCounts.get(`ds-${i}`) ?? 0,
    };
  });
}
