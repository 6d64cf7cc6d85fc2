/**
 * The demo fleet's capture contract v2 details (agent/capture/details.ts): disks, NICs,
 * CD-ROMs, snapshots, Tools, guest, hardware, tags with categories and custom attributes per
 * VM; hardware, NICs and switches per host; clusters, resource pools, networks; usage.
 *
 * Like the rest of the fleet, a pure function of (seed, VM, time). Configuration changes the
 * way real estates change, a small fraction of VMs at a time: disks follow resizes, guest
 * and Tools state follow power (6-hour blocks), snapshots are taken and removed (some kept
 * longer than 7 days), hardware versions are upgraded now and then. Usage moves at every
 * capture: CPU and memory with the working day (site_life.ts), guest free space shrinking
 * through the week until the weekly clean-up.
 */
import type {
  CaptureCluster,
  CaptureNetwork,
  CaptureResourcePool,
  VmUsage,
} from '../../capture/details.ts';
import type { CaptureHostInput, CaptureVmInput, PowerState } from '../../capture/schema.ts';
import { hash } from './fleet_hash.ts';

const HOUR = 3600_000;
const DAY = 24 * HOUR;
/** Power is drawn per 6-hour block (fleet.ts). */
export const POWER_BLOCK = 6 * HOUR;

export type DemoFlavor = 'vcenter' | 'proxmox';

function pick<T>(list: readonly T[], h: number): T {
  return list[h % list.length];
}

function mac(prefix: string, ...parts: number[]): string {
  const h = hash(...parts);
  const bytes = [(h >>> 16) & 255, (h >>> 8) & 255, h & 255];
  return `${prefix}:${bytes.map((b) => b.toString(16).padStart(2, '0')).join(':')}`;
}

/** A network of the demo layout, with how VMs pick it. */
type DemoNetwork = {
  key: string;
  name: string;
  kind: 'standard' | 'distributed' | 'bridge';
  switchName: string;
  vlanId: number | null;
};

export function networksOf(flavor: DemoFlavor): DemoNetwork[] {
  if (flavor === 'vcenter') {
    return [
      {
        key: 'network-11',
        name: 'VM Network',
        kind: 'standard',
        switchName: 'vSwitch0',
        vlanId: 0,
      },
      {
        key: 'dvportgroup-21',
        name: 'dvpg-prod-110',
        kind: 'distributed',
        switchName: 'dvs-prod',
        vlanId: 110,
      },
      {
        key: 'dvportgroup-22',
        name: 'dvpg-dev-120',
        kind: 'distributed',
        switchName: 'dvs-prod',
        vlanId: 120,
      },
      {
        key: 'dvportgroup-23',
        name: 'dvpg-dmz-130',
        kind: 'distributed',
        switchName: 'dvs-prod',
        vlanId: 130,
      },
    ];
  }
  return [
    { key: 'vmbr0', name: 'vmbr0', kind: 'bridge', switchName: 'vmbr0', vlanId: null },
    { key: 'vmbr1', name: 'vmbr1', kind: 'bridge', switchName: 'vmbr1', vlanId: null },
  ];
}

/** What details.ts needs to know of a VM fleet.ts built. */
export type VmFacts = {
  flavor: DemoFlavor;
  /** The VM's identity hash (fleet.ts). */
  id: number;
  slot: number;
  name: string;
  role: string;
  vmid: number;
  powerState: PowerState;
  isTemplate: boolean;
  vcpu: number;
  memoryMib: number;
  provisionedDiskGib: number;
  createdAt: number;
  ipAddresses: string[];
  pool: string;
  /** The datastore keys and names VMs may use (not ISO or backup stores). */
  datastores: { key: string; name: string }[];
  t: number;
  /** How busy the estate is at t (0–1, site_life.ts dailyLoad). */
  load: number;
  /** The VM's host is not responding: the source knows neither its state nor its usage. */
  hostDown: boolean;
};

/** When a VM powered on last: the start of its earliest "on" block in the current run. */
function bootTimeOf(v: VmFacts, powerOn: (t: number) => boolean): string | null {
  if (v.powerState !== 'poweredOn') return null;
  let block = Math.floor(v.t / POWER_BLOCK);
  for (let steps = 0; steps < 40 && block * POWER_BLOCK > v.createdAt; steps++) {
    if (!powerOn((block - 1) * POWER_BLOCK)) break;
    block--;
  }
  const start = Math.max(block * POWER_BLOCK, v.createdAt);
  return new Date(start + (hash(v.id, block, 31) % 600) * 1000).toISOString();
}

/**
 * The snapshots a VM has at t: per 10-day window, 1 VM in 8 takes one, kept 1–16 days (so
 * some are older than 7 days, RVTools' vHealth threshold). The newest such snapshot wins.
 */
function snapshotsOf(v: VmFacts): NonNullable<CaptureVmInput['snapshots']> {
  if (v.isTemplate) return [];
  const windowLength = 10 * DAY;
  const now = Math.floor(v.t / windowLength);
  let w = now;
  let h = 0;
  let taken = 0;
  for (; w >= now - 1; w--) {
    h = hash(v.id, w, 21);
    if (h % 8 !== 0) continue;
    taken = w * windowLength + (h % 5) * DAY + (h % 3600) * 1000;
    const kept = (1 + (hash(v.id, w, 22) % 16)) * DAY;
    if (taken >= v.createdAt && v.t >= taken && v.t < taken + kept) break;
  }
  if (w < now - 1) return [];
  const vc = v.flavor === 'vcenter';
  const root = {
    id: vc ? `snapshot-${(v.id % 100_000) * 10 + (w % 10)}` : `before-upgrade-${w}`,
    name: vc ? `before patch ${new Date(taken).toISOString().slice(0, 10)}` : `before-upgrade-${w}`,
    description: h % 3 === 0 ? 'taken by the patch pipeline' : null,
    createdAt: new Date(taken).toISOString(),
    parentId: null,
    quiesced: vc ? h % 2 === 0 : null,
    powerState: v.powerState === 'poweredOn' ? 'poweredOn' : 'poweredOff',
    sizeMib: vc ? 512 + (h % 8192) : null,
    current: true,
  };
  // Some keep a second one on top of the first, a day later.
  if (h % 5 !== 0 || v.t < taken + DAY) return [root];
  const child = {
    ...root,
    id: `${root.id}-2`,
    name: `${root.name} (2)`,
    description: null,
    createdAt: new Date(taken + DAY).toISOString(),
    parentId: root.id,
    sizeMib: vc ? 128 + (h % 2048) : null,
    current: true,
  };
  return [{ ...root, current: false }, child];
}

/** The v2 details of a VM (everything but usage). */
export function vmDetails(
  v: VmFacts,
  powerOn: (t: number) => boolean,
): Partial<CaptureVmInput> {
  const vc = v.flavor === 'vcenter';
  const on = v.powerState === 'poweredOn';
  const diskCount = 1 + (hash(v.id, 41) % 4);
  const totalMib = Math.round(v.provisionedDiskGib * 1024);
  const ds = v.datastores[hash(v.id, 42) % v.datastores.length];
  const container = !vc && v.role === 'ct';
  const disks = Array.from({ length: diskCount }, (_, i) => {
    const first = Math.round(totalMib * (diskCount === 1 ? 1 : 0.4));
    const capacityMib = i === 0
      ? first
      : i < diskCount - 1
      ? Math.round((totalMib - first) / (diskCount - 1))
      : totalMib - first - Math.round((totalMib - first) / (diskCount - 1)) * (diskCount - 2);
    const onDs = i === 0 ? ds : v.datastores[hash(v.id, 43, i) % v.datastores.length];
    if (vc) {
      return {
        label: `Hard disk ${i + 1}`,
        capacityMib,
        provisioning: pick(
          ['thin', 'thin', 'thick', 'eagerZeroedThick'] as const,
          hash(v.id, 44, i),
        ),
        datastore: onDs.key,
        controller: 'SCSI controller 0',
        unitNumber: i,
        file: `[${onDs.name}] ${v.name}/${v.name}${i === 0 ? '' : `_${i}`}.vmdk`,
        mode: 'persistent',
        inBackup: true,
      };
    }
    const label = container ? (i === 0 ? 'rootfs' : `mp${i - 1}`) : `scsi${i}`;
    return {
      label,
      capacityMib,
      provisioning: null,
      datastore: onDs.key,
      controller: container ? null : 'scsi',
      unitNumber: container ? null : i,
      file: `${onDs.name}:${container ? 'subvol' : 'vm'}-${v.vmid}-disk-${i}`,
      mode: null,
      inBackup: hash(v.id, 45, i) % 7 !== 0,
    };
  });
  const nets = networksOf(v.flavor);
  const nicCount = 1 + (hash(v.id, 46) % 4 === 0 ? 1 : 0);
  const nics = Array.from({ length: nicCount }, (_, i) => {
    const net = nets[hash(v.id, 47, i) % nets.length];
    const vlan = vc
      ? net.vlanId
      : (hash(v.id, 48, i) % 3 === 0 ? 100 + (hash(v.id, 49) % 4) * 10 : null);
    return {
      label: vc ? `Network adapter ${i + 1}` : container ? `net${i}` : `net${i}`,
      macAddress: vc ? mac('00:50:56', v.id, 50, i) : mac('bc:24:11', v.id, 50, i),
      network: net.name,
      networkKey: net.key,
      adapterType: vc
        ? pick(['vmxnet3', 'vmxnet3', 'e1000e'], hash(v.id, 51, i))
        : container
        ? 'veth'
        : 'virtio',
      connected: on,
      startConnected: true,
      vlanId: vlan,
      firewall: vc ? null : hash(v.id, 52, i) % 2 === 0,
      ipAddresses: on && i === 0 ? v.ipAddresses : [],
    };
  });
  const agent = vc || hash(v.id, 53) % 3 !== 0;
  const toolsOld = hash(v.id, 54, Math.floor(v.t / (30 * DAY))) % 12 === 0;
  const tools = vc
    ? {
      status: on ? (toolsOld ? 'toolsOld' : 'toolsOk') : 'toolsNotRunning',
      runningStatus: on ? 'guestToolsRunning' : 'guestToolsNotRunning',
      version: toolsOld ? '11333' : '12352',
      versionStatus: toolsOld ? 'guestToolsNeedUpgrade' : 'guestToolsCurrent',
      upgradePolicy: 'manual',
    }
    : agent && !container
    ? {
      status: on ? 'ok' : 'notRunning',
      runningStatus: on ? 'guestToolsRunning' : 'guestToolsNotRunning',
      version: null,
      versionStatus: null,
      upgradePolicy: null,
    }
    : null;
  const osName = pick(
    [
      'Ubuntu 22.04.4 LTS',
      'Red Hat Enterprise Linux 9.3',
      'Microsoft Windows Server 2019',
      'Debian GNU/Linux 12',
    ],
    v.id >>> 5,
  );
  // Guest free space shrinks through the week (logs, caches) by this week's growth, and is
  // cleaned up at the week's start; it travels in usage (fleet.ts), not in the VM record.
  const week = Math.floor(v.t / (7 * DAY));
  const weekElapsed = (v.t - week * 7 * DAY) / (7 * DAY);
  const hour = Math.floor(v.t / 3_600_000);
  const guest = on && agent
    ? {
      hostName: `${v.name}.demo.local`,
      state: 'running',
      os: osName,
      ipAddress: v.ipAddresses[0] ?? null,
      disks: disks.slice(0, 2).map((d, i) => ({
        path: osName.startsWith('Microsoft')
          ? `${String.fromCharCode(67 + i)}:\\`
          : i === 0
          ? '/'
          : '/data',
        capacityMib: Math.round((d.capacityMib ?? 0) * 0.98),
        freeMib: Math.round(
          (d.capacityMib ?? 0) * Math.max(
            0.01,
            0.15 + (hash(v.id, 55, i) % 60) / 100 -
              ((hash(v.id, 55, i, week) % 10) / 100) * weekElapsed -
              (hash(v.id, 58, i, hour) % 100) / 20_000,
          ),
        ),
        fileSystem: osName.startsWith('Microsoft') ? 'NTFS' : 'ext4',
      })),
    }
    : { hostName: null, state: 'notRunning', os: null, ipAddress: null, disks: [] };
  const coresPerSocket = v.vcpu >= 4 && hash(v.id, 56) % 2 === 0 ? 2 : 1;
  // Hardware versions are upgraded now and then: per 60 days, 1 VM in 20.
  const upgraded = hash(v.id, 57, Math.floor(v.t / (60 * DAY))) % 20 === 0;
  const hardware = {
    version: vc ? (upgraded ? 'vmx-21' : 'vmx-19') : (container ? null : 'pc-q35-8.1'),
    firmware: hash(v.id, 58) % 3 === 0 ? 'bios' : 'efi',
    coresPerSocket,
    sockets: Math.max(1, Math.floor(v.vcpu / coresPerSocket)),
    cpuHotAdd: vc ? hash(v.id, 59) % 4 === 0 : null,
    memoryHotAdd: vc ? hash(v.id, 59) % 4 === 0 : null,
    cpuReservationMhz: vc ? (v.role === 'db' ? 2000 : 0) : null,
    cpuLimitMhz: vc ? -1 : null,
    cpuShares: v.vcpu * 1000,
    cpuSharesLevel: vc ? 'normal' : null,
    memoryReservationMib: vc ? (v.role === 'db' ? v.memoryMib : 0) : null,
    memoryLimitMib: vc ? -1 : null,
    memoryShares: vc ? v.memoryMib * 10 : null,
    memorySharesLevel: vc ? 'normal' : null,
  };
  const env = v.pool === 'Gold' || v.pool === 'prod' ? 'prod' : v.pool === 'lab' ? 'lab' : 'dev';
  const labels = vc
    ? [
      { category: 'Environment', name: env },
      ...(v.id % 4 === 0 ? [{ category: 'Backup', name: 'daily' }] : []),
      { category: 'Role', name: v.role },
    ]
    : [
      { category: null, name: v.role },
      ...(v.id % 4 === 0 ? [{ category: null, name: 'backup' }] : []),
    ];
  const attributes = vc && v.id % 3 === 0
    ? [{ name: 'Owner', value: pick(['team-web', 'team-data', 'team-ops'], v.id >>> 9) }]
    : [];
  return {
    disks,
    nics,
    cdroms: vc
      ? [{
        label: 'CD/DVD drive 1',
        connected: false,
        startConnected: false,
        deviceType: v.id % 9 === 0 ? 'iso' : 'client',
        file: v.id % 9 === 0 ? '[iso-library] ubuntu-22.04.iso' : null,
      }]
      : container
      ? []
      : [{ label: 'ide2', connected: null, startConnected: null, deviceType: 'none', file: null }],
    snapshots: snapshotsOf(v),
    tools,
    guest,
    hardware,
    labels,
    attributes,
    haRestartPriority: vc ? pick(['medium', 'medium', 'high', 'low'], hash(v.id, 60)) : null,
    vApp: vc && v.role === 'app' && v.id % 5 === 0 ? 'vapp-erp' : null,
    configFile: vc
      ? `[${ds.name}] ${v.name}/${v.name}.vmx`
      : `/etc/pve/${container ? 'lxc' : 'qemu-server'}/${v.vmid}.conf`,
    connectionState: v.hostDown ? 'disconnected' : vc ? 'connected' : null,
    bootTime: bootTimeOf(v, powerOn),
    consolidationNeeded: vc ? v.id % 97 === 0 : null,
  };
}

/**
 * What a VM uses at t: moves at every capture around the working day's curve (`load`), each
 * VM as busy as its own share says, bounded by its size; nothing while off or while its host
 * does not answer (its guest disks' free space: fleet.ts).
 */
export function vmUsage(key: string, v: VmFacts): Omit<VmUsage, 'guestDisks'> {
  if (v.hostDown) {
    return { key, cpuUsageMhz: null, guestMemoryMib: null, hostMemoryMib: null };
  }
  if (v.powerState !== 'poweredOn') {
    return { key, cpuUsageMhz: 0, guestMemoryMib: 0, hostMemoryMib: 0 };
  }
  const busy = (hash(v.id, 62) % 100) / 100;
  const h = hash(v.id, Math.floor(v.t / 60_000), 61);
  const cpuShare = Math.min(0.95, 0.02 + busy * (0.1 + 0.6 * v.load) + (h % 100) / 2000);
  const hostShare = Math.min(1, 0.45 + 0.35 * busy + 0.1 * v.load + ((h >>> 8) % 50) / 1000);
  const hostMemoryMib = Math.round(v.memoryMib * hostShare);
  return {
    key,
    cpuUsageMhz: Math.round(v.vcpu * 2600 * cpuShare),
    guestMemoryMib: Math.round(
      hostMemoryMib * (0.35 + 0.3 * busy + 0.25 * v.load + ((h >>> 16) % 50) / 1000),
    ),
    hostMemoryMib,
  };
}

/** Host hardware (its state, boot time and usage: fleet.ts hostsOf). */
export function hostDetails(
  flavor: DemoFlavor,
  seed: number,
  i: number,
): Partial<CaptureHostInput> {
  const vc = flavor === 'vcenter';
  return {
    vendor: vc ? 'Dell Inc.' : 'Supermicro',
    model: vc ? 'PowerEdge R750' : 'SYS-1029P-WTR',
    cpuModel: vc ? 'Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz' : 'AMD EPYC 7513 32-Core Processor',
    cpuSockets: 2,
    cpuThreads: 128,
    build: vc ? '24022510' : null,
    bootTime: new Date(Date.UTC(2026, 0, 1) - (hash(seed, i, 73) % 90) * DAY).toISOString(),
    serialNumber: `SN${(hash(seed, i, 74) % 1e8).toString().padStart(8, '0')}`,
    nics: [0, 1, 2, 3].map((n) => ({
      device: vc ? `vmnic${n}` : `eno${n + 1}`,
      driver: vc ? 'i40en' : 'ixgbe',
      macAddress: mac(vc ? '3c:ec:ef' : 'ac:1f:6b', seed, i, n),
      speedMbps: 25_000,
      linkUp: true,
      switchName: vc ? (n < 2 ? 'vSwitch0' : 'dvs-prod') : (n < 2 ? 'vmbr0' : 'vmbr1'),
    })),
    switches: vc ? [{ name: 'vSwitch0', ports: 128, mtu: 1500, uplinks: ['vmnic0', 'vmnic1'] }] : [
      { name: 'vmbr0', ports: null, mtu: 1500, uplinks: ['eno1', 'eno2'] },
      { name: 'vmbr1', ports: null, mtu: 9000, uplinks: ['eno3', 'eno4'] },
    ],
  };
}

export function clustersOf(
  flavor: DemoFlavor,
  names: string[],
  hostCounts: number[],
  effectiveHostCounts: number[],
  datacenter: string,
): CaptureCluster[] {
  return names.map((name, i) => ({
    key: flavor === 'vcenter' ? `domain-c${10 + i}` : name,
    name,
    datacenter,
    haEnabled: true,
    drsEnabled: flavor === 'vcenter' ? name !== 'dev' : null,
    drsBehavior: flavor === 'vcenter' ? (name !== 'dev' ? 'fullyAutomated' : null) : null,
    hostCount: hostCounts[i],
    effectiveHostCount: effectiveHostCounts[i],
    cpuCores: 64 * hostCounts[i],
    cpuThreads: 128 * hostCounts[i],
    totalCpuMhz: 64 * 2600 * hostCounts[i],
    effectiveCpuMhz: 64 * 2600 * effectiveHostCounts[i],
    totalMemoryMib: 1024 * 1024 * hostCounts[i],
    effectiveMemoryMib: 1024 * 1024 * effectiveHostCounts[i],
  }));
}

export function resourcePoolsOf(
  flavor: DemoFlavor,
  pools: string[],
  clusters: string[],
  datacenter: string,
  vmCounts: Map<string, number>,
): CaptureResourcePool[] {
  if (flavor === 'proxmox') {
    return pools.map((name) => ({
      key: name,
      name,
      path: name,
      cluster: null,
      cpuReservationMhz: null,
      cpuLimitMhz: null,
      cpuExpandable: null,
      cpuShares: null,
      memoryReservationMib: null,
      memoryLimitMib: null,
      memoryExpandable: null,
      memoryShares: null,
      vmCount: vmCounts.get(name) ?? 0,
      comment: `${name} guests`,
    }));
  }
  return pools.map((name, i) => ({
    key: `resgroup-${20 + i}`,
    name,
    path: `/${datacenter}/host/${clusters[0]}/Resources/${name}`,
    cluster: clusters[0],
    cpuReservationMhz: name === 'Gold' ? 20_000 : 0,
    cpuLimitMhz: -1,
    cpuExpandable: true,
    cpuShares: name === 'Gold' ? 8000 : name === 'Silver' ? 4000 : 2000,
    memoryReservationMib: name === 'Gold' ? 262_144 : 0,
    memoryLimitMib: -1,
    memoryExpandable: true,
    memoryShares: name === 'Gold' ? 327_680 : 163_840,
    vmCount: vmCounts.get(name) ?? 0,
    comment: null,
  }));
}

export function networkObjectsOf(
  flavor: DemoFlavor,
  hostNames: string[],
  vmCounts: Map<string, number>,
): CaptureNetwork[] {
  return networksOf(flavor).map((n) => ({
    key: n.key,
    name: n.name,
    kind: n.kind,
    switchName: n.switchName,
    vlanId: n.vlanId,
    hostNames,
    vmCount: vmCounts.get(n.key) ?? 0,
  }));
}
