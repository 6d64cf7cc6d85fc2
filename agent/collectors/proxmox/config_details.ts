/**
 * The configuration details of a guest (capture contract v2) as its config states them:
 * disks, NICs, CD-ROMs and hardware settings. Pure and independent of the capture around
 * it, so the result is cached with the config (config_cache.ts) and parsed once per
 * digest; what needs the capture (datastore keys, network keys, node MHz) is resolved in
 * records.ts.
 *
 * - Disks: QEMU `scsiN`/`virtioN`/`sataN`/`ideN`, `efidisk0`, `tpmstate0` (not `media=cdrom`,
 *   not `none`); LXC `rootfs` and `mpN` volumes (`storage:volume`). LXC bind mounts and
 *   device mounts (a host path) are not disks; `unusedN` volumes are detached.
 * - NICs: `netN`. QEMU `virtio=BC:24:…,bridge=vmbr0,tag=20,firewall=1,link_down=1` (or
 *   `model=virtio,macaddr=…`); LXC `name=eth0,hwaddr=…,bridge=…,tag=…,firewall=1,ip=…`.
 *   PVE writes a MAC into every NIC it creates; a hand-written NIC without one gets a random
 *   MAC at every start, so it has no identity to record: it is kept with `mac: null` here
 *   and left out of the capture (records.ts), which counts it in `nicsWithoutMac`.
 */
import { parsePropertyString, parseSize } from './property_string.ts';

const MiB = 1024 ** 2;

export type DiskDetail = {
  /** The config key: scsi0, efidisk0, rootfs, mp1. */
  label: string;
  /** The storage id of `storage:volume`; null for a host path. */
  storage: string | null;
  /** The volume id as configured (`local-lvm:vm-100-disk-0`) or the host path. */
  file: string;
  capacityMib: number | null;
  /** qcow2, raw, vmdk when the config or the volume name says so. */
  format: string | null;
  /** scsi (virtio-scsi-single), virtio, sata, ide, efi, tpm; LXC: null. */
  controller: string | null;
  unitNumber: number | null;
  /** False when the disk is left out of backups (QEMU `backup=0`; LXC mpN without `backup=1`). */
  inBackup: boolean;
};

export type NicDetail = {
  label: string;
  model: string | null;
  /** As configured (PVE writes upper case); null when the config has none. */
  mac: string | null;
  bridge: string | null;
  tag: number | null;
  firewall: boolean;
  linkDown: boolean;
};

export type CdromDetail = {
  label: string;
  /** iso (a storage volume), host (the host's drive: `cdrom`), none (empty drive). */
  deviceType: 'iso' | 'host' | 'none';
  file: string | null;
};

/** The hardware settings as configured; PVE's documented defaults where a key is absent. */
export type HardwareConfig = {
  /** QEMU machine type (`pc`, `q35`, `pc-q35-8.1`); LXC null. */
  machine: string | null;
  /** bios or efi (QEMU `bios: ovmf`); LXC null. */
  firmware: string | null;
  cores: number | null;
  sockets: number | null;
  cpuHotAdd: boolean | null;
  memoryHotAdd: boolean | null;
  /** `cpulimit` in cores; 0 or absent: unlimited. */
  cpuLimitCores: number;
  cpuUnits: number | null;
  /** QEMU `balloon`: the least memory the guest keeps (MiB); 0 disables ballooning. */
  balloonMib: number | null;
  /** QEMU `shares` (auto-ballooning weight). */
  memoryShares: number | null;
};

export type GuestDetails = {
  disks: DiskDetail[];
  nics: NicDetail[];
  cdroms: CdromDetail[];
  hardware: HardwareConfig;
  /** `parent` in the config: the guest has snapshots (only then is the snapshot list asked). */
  hasSnapshots: boolean;
};

const QEMU_DRIVE = /^(ide|sata|scsi|virtio)(\d+)$|^(efidisk|tpmstate)0$/;
const LXC_VOLUME = /^rootfs$|^mp(\d+)$/;
const NET = /^net(\d+)$/;
/** QEMU NIC models: the key that carries the MAC (`virtio=BC:24:…`). */
const QEMU_MODELS = new Set([
  'e1000',
  'e1000-82540em',
  'e1000-82544gc',
  'e1000-82545em',
  'e1000e',
  'i82551',
  'i82557b',
  'i82559er',
  'ne2k_isa',
  'ne2k_pci',
  'pcnet',
  'rtl8139',
  'virtio',
  'vmxnet3',
]);

/** net2 before net10; one collator (a `localeCompare` with options builds one per call). */
const collator = new Intl.Collator('en', { numeric: true });
const byConfigKey = (a: { label: string }, b: { label: string }) =>
  collator.compare(a.label, b.label);

function int(value: unknown): number | null {
  if (typeof value === 'number' && Number.isFinite(value)) return Math.trunc(value);
  if (typeof value === 'string' && /^\s*-?\d+\s*$/.test(value)) return Number(value);
  return null;
}

function num(value: unknown): number | null {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(value)) return Number(value);
  return null;
}

/** `storage:volume` → storage; a host path or a bare word → null. */
export function storageOf(volume: string): string | null {
  if (volume.startsWith('/')) return null;
  const colon = volume.indexOf(':');
  return colon > 0 ? volume.slice(0, colon) : null;
}

function formatOf(props: Record<string, string>, volume: string): string | null {
  if (props.format) return props.format;
  const ext = /\.(qcow2|raw|vmdk)$/.exec(volume)?.[1];
  return ext ?? null;
}

function qemuController(bus: string, scsihw: unknown): string {
  if (bus === 'scsi') return `scsi (${typeof scsihw === 'string' && scsihw ? scsihw : 'lsi'})`;
  return bus;
}

function qemuDrives(
  config: Record<string, unknown>,
): { disks: DiskDetail[]; cdroms: CdromDetail[] } {
  const disks: DiskDetail[] = [];
  const cdroms: CdromDetail[] = [];
  for (const [key, raw] of Object.entries(config)) {
    const m = QEMU_DRIVE.exec(key);
    if (!m || typeof raw !== 'string') continue;
    const props = parsePropertyString(raw, 'file');
    const volume = props.file ?? '';
    if (props.media === 'cdrom' || volume === 'cdrom') {
      cdroms.push({
        label: key,
        deviceType: volume === 'cdrom' ? 'host' : volume === 'none' || !volume ? 'none' : 'iso',
        file: volume && volume !== 'none' && volume !== 'cdrom' ? volume : null,
      });
      continue;
    }
    if (volume === 'none' || !volume) continue;
    const size = parseSize(props.size);
    disks.push({
      label: key,
      storage: storageOf(volume),
      file: volume,
      capacityMib: size == null ? null : Math.round((size / MiB) * 1000) / 1000,
      format: formatOf(props, volume),
      controller: m[1] ? qemuController(m[1], config.scsihw) : m[3] === 'efidisk' ? 'efi' : 'tpm',
      unitNumber: m[2] ? Number(m[2]) : null,
      inBackup: props.backup !== '0',
    });
  }
  return { disks: disks.sort(byConfigKey), cdroms: cdroms.sort(byConfigKey) };
}

function lxcVolumes(config: Record<string, unknown>): DiskDetail[] {
  const disks: DiskDetail[] = [];
  for (const [key, raw] of Object.entries(config)) {
    const m = LXC_VOLUME.exec(key);
    if (!m || typeof raw !== 'string') continue;
    const props = parsePropertyString(raw, 'volume');
    const volume = props.volume ?? '';
    const storage = storageOf(volume);
    if (!storage) continue; // a bind or device mount: a host path, not a volume
    const size = parseSize(props.size);
    disks.push({
      label: key,
      storage,
      file: volume,
      capacityMib: size == null ? null : Math.round((size / MiB) * 1000) / 1000,
      format: formatOf(props, volume),
      controller: null,
      unitNumber: m[1] ? Number(m[1]) : null,
      // rootfs is always in the backup; a mount point only with backup=1.
      inBackup: key === 'rootfs' ? true : props.backup === '1',
    });
  }
  return disks.sort(byConfigKey);
}

/** One `netN` value, QEMU or LXC. */
export function parseNic(type: 'qemu' | 'lxc', label: string, raw: string): NicDetail {
  const props = parsePropertyString(raw, 'model');
  let model: string | null = null;
  let mac: string | null = null;
  if (type === 'qemu') {
    for (const [k, v] of Object.entries(props)) {
      if (QEMU_MODELS.has(k)) {
        model = k;
        if (v) mac = v;
      }
    }
    model = props.model ?? model;
    mac = props.macaddr ?? mac;
  } else {
    model = props.type ?? 'veth';
    mac = props.hwaddr ?? null;
  }
  return {
    label,
    model,
    mac: mac && mac.trim() ? mac.trim() : null,
    bridge: props.bridge || null,
    tag: int(props.tag),
    firewall: props.firewall === '1',
    linkDown: props.link_down === '1',
  };
}

function hotplug(config: Record<string, unknown>): Set<string> {
  const raw = config.hotplug == null ? 'network,disk,usb' : String(config.hotplug);
  if (raw === '0') return new Set();
  if (raw === '1') return new Set(['network', 'disk', 'usb']);
  return new Set(raw.split(',').map((s) => s.trim()));
}

function hardwareOf(type: 'qemu' | 'lxc', config: Record<string, unknown>): HardwareConfig {
  const common = {
    cpuLimitCores: num(config.cpulimit) ?? 0,
    cpuUnits: int(config.cpuunits),
  };
  if (type === 'lxc') {
    return {
      machine: null,
      firmware: null,
      cores: int(config.cores),
      sockets: null,
      cpuHotAdd: null,
      memoryHotAdd: null,
      balloonMib: null,
      memoryShares: null,
      ...common,
    };
  }
  const plug = hotplug(config);
  const machine = typeof config.machine === 'string'
    ? parsePropertyString(config.machine, 'type').type ?? null
    : null;
  return {
    // Absent: PVE's default, the newest i440fx machine (`pc`).
    machine: machine ?? 'pc',
    firmware: config.bios === 'ovmf' ? 'efi' : 'bios',
    cores: int(config.cores) ?? 1,
    sockets: int(config.sockets) ?? 1,
    cpuHotAdd: plug.has('cpu'),
    memoryHotAdd: plug.has('memory'),
    balloonMib: int(config.balloon),
    memoryShares: int(config.shares),
    ...common,
  };
}

/** The details of one guest config (the decoded `data` of `…/config`). */
export function parseGuestDetails(
  type: 'qemu' | 'lxc',
  config: Record<string, unknown>,
): GuestDetails {
  const { disks, cdroms } = type === 'qemu'
    ? qemuDrives(config)
    : { disks: lxcVolumes(config), cdroms: [] };
  const nics: NicDetail[] = [];
  for (const [key, raw] of Object.entries(config)) {
    if (NET.test(key) && typeof raw === 'string') nics.push(parseNic(type, key, raw));
  }
  return {
    disks,
    nics: nics.sort(byConfigKey),
    cdroms,
    hardware: hardwareOf(type, config),
    hasSnapshots: typeof config.parent === 'string' && config.parent.length > 0,
  };
}
