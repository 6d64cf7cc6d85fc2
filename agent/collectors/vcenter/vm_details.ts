/**
 * The v2 details of a VM that need nothing but the VM's own properties: the snapshot tree,
 * VMware Tools, what the guest reports, and the virtual hardware settings. Each reader takes
 * the `<val>` elements of a retrieved page and returns plain records, so the page's XML can
 * be dropped at once.
 */
import type {
  GuestDisk,
  VmGuest,
  VmHardware,
  VmSettings,
  VmSnapshot,
  VmTools,
} from '../../capture/details.ts';
import type { RawVideo } from './devices.ts';
import { readMoRef } from './soap.ts';
import { child, childText, type XmlElement } from './xml.ts';

const MIB = 1024 ** 2;

function bool(el: XmlElement | undefined): boolean | null {
  return el?.text === 'true' ? true : el?.text === 'false' ? false : null;
}

function int(el: XmlElement | undefined): number | null {
  if (!el || el.text === '') return null;
  const n = Number(el.text);
  return Number.isInteger(n) ? n : null;
}

function text(el: XmlElement | undefined, max = 512): string | null {
  const t = el?.text;
  return t ? t.slice(0, max) : null;
}

/** An ISO time as the schema wants it (vSphere sends xsd:dateTime with an offset or Z). */
export function isoOrNull(raw: string | null | undefined): string | null {
  if (!raw) return null;
  const t = Date.parse(raw);
  return Number.isFinite(t) ? new Date(t).toISOString() : null;
}

/**
 * Flattens `snapshot` (VirtualMachineSnapshotInfo): every node of `rootSnapshotList` and its
 * `childSnapshotList`, depth first, with its parent's id; the current one is flagged.
 * Walks with an explicit stack, so a deep chain cannot overflow the call stack.
 */
export function readSnapshots(info: XmlElement | undefined): VmSnapshot[] {
  if (!info) return [];
  const current = readMoRef(child(info, 'currentSnapshot'))?.value ?? null;
  const out: VmSnapshot[] = [];
  const stack: { node: XmlElement; parentId: string | null }[] = [];
  const roots = info.children.filter((c) => c.name === 'rootSnapshotList');
  for (let i = roots.length - 1; i >= 0; i--) stack.push({ node: roots[i], parentId: null });
  while (stack.length) {
    const { node, parentId } = stack.pop()!;
    const id = readMoRef(child(node, 'snapshot'))?.value ?? `id:${childText(node, 'id') ?? '?'}`;
    out.push({
      id,
      name: text(child(node, 'name')) ?? '',
      description: text(child(node, 'description'), 8192),
      createdAt: isoOrNull(childText(node, 'createTime')),
      parentId,
      quiesced: bool(child(node, 'quiesced')),
      powerState: text(child(node, 'state'), 32),
      sizeMib: null,
      current: current === null ? null : id === current,
    });
    const kids = node.children.filter((c) => c.name === 'childSnapshotList');
    for (let i = kids.length - 1; i >= 0; i--) stack.push({ node: kids[i], parentId: id });
  }
  return out;
}

/** VMware Tools from `guest.tools*` and `config.tools.toolsUpgradePolicy`; null when none is known. */
export function readTools(p: Map<string, XmlElement>): VmTools | null {
  const tools: VmTools = {
    status: text(p.get('guest.toolsStatus'), 64),
    runningStatus: text(p.get('guest.toolsRunningStatus'), 64),
    version: text(p.get('guest.toolsVersion'), 64),
    versionStatus: text(p.get('guest.toolsVersionStatus2'), 64),
    upgradePolicy: text(p.get('config.tools.toolsUpgradePolicy'), 64),
  };
  return Object.values(tools).some((v) => v !== null) ? tools : null;
}

/**
 * `guest.disk` (GuestDiskInfo[]): the guest's own file systems, as Tools report them, with
 * their free space (which the capture carries apart, in `usage`: it moves at every capture).
 */
export function readGuestDisks(
  el: XmlElement | undefined,
): (GuestDisk & { freeMib: number | null })[] {
  if (!el) return [];
  const out: (GuestDisk & { freeMib: number | null })[] = [];
  for (const d of el.children) {
    const cap = int(child(d, 'capacity'));
    const free = int(child(d, 'freeSpace'));
    out.push({
      path: text(child(d, 'diskPath'), 1024) ?? '',
      capacityMib: cap === null ? null : cap / MIB,
      freeMib: free === null ? null : free / MIB,
      fileSystem: text(child(d, 'filesystemType'), 64),
    });
    if (out.length === 256) break;
  }
  return out;
}

/** What the guest reports (`guest.hostName`, `guest.guestState`…); null when nothing is. */
export function readGuest(p: Map<string, XmlElement>): VmGuest | null {
  const guest: VmGuest = {
    hostName: text(p.get('guest.hostName')),
    state: text(p.get('guest.guestState'), 64),
    os: text(p.get('guest.guestFullName')),
    ipAddress: text(p.get('guest.ipAddress'), 64),
    disks: readGuestDisks(p.get('guest.disk')).map(({ freeMib: _, ...disk }) => disk),
  };
  const known = guest.hostName ?? guest.state ?? guest.os ?? guest.ipAddress;
  return known !== null || guest.disks.length ? guest : null;
}

/** The free space of the guest's file systems, by path, for the capture's `usage`. */
export function readGuestDiskFree(
  p: Map<string, XmlElement>,
): { path: string; freeMib: number | null }[] {
  return readGuestDisks(p.get('guest.disk')).map(({ path, freeMib }) => ({ path, freeMib }));
}

/** IPs per NIC from `guest.net` (GuestNicInfo[]), by lower-case MAC. */
export function readGuestNicIps(net: XmlElement | undefined): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const nic of net?.children ?? []) {
    const mac = childText(nic, 'macAddress')?.toLowerCase();
    if (!mac) continue;
    const ips: string[] = [];
    for (const c of nic.children) {
      if (c.name === 'ipAddress' && c.text && c.text.length <= 64 && ips.length < 64) {
        ips.push(c.text);
      }
    }
    out.set(mac, ips);
  }
  return out;
}

function allocation(el: XmlElement | undefined) {
  const shares = child(el, 'shares');
  return {
    reservation: int(child(el, 'reservation')),
    limit: int(child(el, 'limit')),
    shares: int(child(shares, 'shares')),
    level: text(child(shares, 'level'), 32),
  };
}

/** Hardware version, firmware, CPU topology, hot add and the CPU/memory allocation. */
export function readHardware(p: Map<string, XmlElement>, vcpu: number): VmHardware | null {
  const cores = int(p.get('config.hardware.numCoresPerSocket'));
  const cpu = allocation(p.get('config.cpuAllocation'));
  const mem = allocation(p.get('config.memoryAllocation'));
  const hw: VmHardware = {
    version: text(p.get('config.version'), 64),
    firmware: text(p.get('config.firmware'), 32),
    coresPerSocket: cores,
    sockets: cores && cores > 0 && vcpu > 0 ? Math.max(1, Math.floor(vcpu / cores)) : null,
    cpuHotAdd: bool(p.get('config.cpuHotAddEnabled')),
    memoryHotAdd: bool(p.get('config.memoryHotAddEnabled')),
    cpuReservationMhz: cpu.reservation,
    cpuLimitMhz: cpu.limit,
    cpuShares: cpu.shares,
    cpuSharesLevel: cpu.level,
    memoryReservationMib: mem.reservation,
    memoryLimitMib: mem.limit,
    memoryShares: mem.shares,
    memorySharesLevel: mem.level,
  };
  return Object.values(hw).some((v) => v !== null) ? hw : null;
}

/** A count or a delay: a whole number from 0 to 2^31 - 1, else null. */
function count(el: XmlElement | undefined): number | null {
  const n = int(el);
  return n !== null && n >= 0 && n < 2 ** 31 ? n : null;
}

/**
 * The settings vInfo shows: `configStatus`, `guestHeartbeatStatus`, `config.changeVersion`,
 * CBT, latency sensitivity, boot options, scheduled hardware upgrade, file directories, FT
 * state, EVC mode, the video card (from the devices) and the parent folder's moref; null
 * when nothing is known.
 */
export function readSettings(
  p: Map<string, XmlElement>,
  video: RawVideo | null,
  folderId: string | null,
): VmSettings | null {
  const boot = p.get('config.bootOptions');
  const upgrade = p.get('config.scheduledHardwareUpgradeInfo');
  const settings: VmSettings = {
    configStatus: text(p.get('configStatus'), 16),
    heartbeat: text(p.get('guestHeartbeatStatus'), 16),
    changeVersion: text(p.get('config.changeVersion'), 128),
    changeTracking: bool(p.get('config.changeTrackingEnabled')),
    latencySensitivity: text(p.get('config.latencySensitivity.level'), 32),
    minRequiredEvcModeKey: text(p.get('runtime.minRequiredEVCModeKey'), 128),
    faultToleranceState: text(p.get('runtime.faultToleranceState'), 32),
    monitors: video?.monitors ?? null,
    videoRamKib: video?.videoRamKib ?? null,
    folderId: folderId ? folderId.slice(0, 128) : null,
    bootDelayMs: count(child(boot, 'bootDelay')),
    bootRetryDelayMs: count(child(boot, 'bootRetryDelay')),
    bootRetryEnabled: bool(child(boot, 'bootRetryEnabled')),
    enterBiosSetup: bool(child(boot, 'enterBIOSSetup')),
    efiSecureBoot: bool(child(boot, 'efiSecureBootEnabled')),
    hwUpgradeStatus: text(child(upgrade, 'scheduledHardwareUpgradeStatus'), 64),
    hwUpgradePolicy: text(child(upgrade, 'upgradePolicy'), 64),
    hwUpgradeTarget: text(child(upgrade, 'versionKey'), 64),
    logDirectory: text(p.get('config.files.logDirectory'), 2048),
    snapshotDirectory: text(p.get('config.files.snapshotDirectory'), 2048),
    suspendDirectory: text(p.get('config.files.suspendDirectory'), 2048),
  };
  return Object.values(settings).some((v) => v !== null) ? settings : null;
}
