/**
 * Parses a Proxmox guest config (`GET /nodes/{node}/{qemu|lxc}/{vmid}/config`) into the
 * few facts the capture needs: vCPU, RAM, provisioned disk, creation time, identity bits.
 *
 * Pure functions, no I/O: the collector hands in the decoded `data` object.
 *
 * Disk accounting (provisioned = what the guest was given, summed over every disk):
 * - QEMU: `ide*`, `sata*`, `scsi*`, `virtio*` with a `size=`, plus `efidisk0` and
 *   `tpmstate0` — they are small but real volumes on a datastore, so they count.
 *   `media=cdrom` drives and `none` are not disks. `unused*` volumes are detached and
 *   carry no `size=` in the config, so they cannot be counted (documented gap).
 * - LXC: `rootfs` and `mp*` volumes with a `size=`. Bind mounts (`mp0: /srv/data,mp=/data`)
 *   are host paths, not provisioned storage, and have no size.
 * `/cluster/resources` cannot replace this: it reports `maxdisk` for the boot disk only
 * and `disk = 0` for every QEMU VM.
 */
import { type GuestDetails, parseGuestDetails } from './config_details.ts';
import { parsePropertyString, parseSize } from './property_string.ts';

export { parsePropertyString, parseSize };

export type GuestType = 'qemu' | 'lxc';

export type DiskEntry = { key: string; volume: string; sizeBytes: number };

export type ParsedGuestConfig = {
  digest: string | null;
  name: string | null;
  /** cores × sockets for QEMU; LXC `cores`, or null when unlimited (then all host cores). */
  vcpu: number | null;
  memoryMib: number;
  disks: DiskEntry[];
  provisionedBytes: number;
  /** `meta: …,ctime=<epoch>` (QEMU only; LXC configs have no creation time). */
  ctime: number | null;
  ostype: string | null;
  description: string | null;
  tags: string[];
  /** QEMU `smbios1: uuid=…`. */
  biosUuid: string | null;
  /** QEMU `agent: 1` / `agent: enabled=1`: only then is asking the guest agent worthwhile. */
  agentEnabled: boolean;
  /** Disks, NICs, CD-ROMs, hardware (config_details.ts). */
  details: GuestDetails;
};

/** scsi2 before scsi10; one collator (a `localeCompare` with options builds one per call). */
const byNumber = new Intl.Collator('en', { numeric: true });

const QEMU_DISK = /^(ide|sata|scsi|virtio)\d+$|^efidisk0$|^tpmstate0$/;
const LXC_DISK = /^rootfs$|^mp\d+$/;

/** Lists the guest's disks with their sizes, following the accounting rules above. */
export function listDisks(type: GuestType, config: Record<string, unknown>): DiskEntry[] {
  const pattern = type === 'qemu' ? QEMU_DISK : LXC_DISK;
  const disks: DiskEntry[] = [];
  for (const [key, raw] of Object.entries(config)) {
    if (!pattern.test(key) || typeof raw !== 'string') continue;
    const props = parsePropertyString(raw, type === 'qemu' ? 'file' : 'volume');
    const volume = props.file ?? props.volume ?? '';
    if (props.media === 'cdrom' || volume === 'none' || volume === 'cdrom') continue;
    const size = parseSize(props.size);
    // No size: an LXC bind mount or an unsized passthrough; nothing provisioned on a datastore.
    if (size == null) continue;
    disks.push({ key, volume, sizeBytes: size });
  }
  return disks.sort((a, b) => byNumber.compare(a.key, b.key));
}

function toInt(value: unknown): number | null {
  if (typeof value === 'number' && Number.isFinite(value)) return Math.trunc(value);
  if (typeof value === 'string' && /^\s*\d+\s*$/.test(value)) return Number(value);
  return null;
}

/** QEMU memory is `4096` or, since PVE 8.1, the property string `current=4096`. */
function parseMemory(value: unknown): number | null {
  const direct = toInt(value);
  if (direct != null) return direct;
  if (typeof value === 'string') return toInt(parsePropertyString(value, 'current').current);
  return null;
}

/** Reads `ctime` from `meta: creation-qemu=8.1.2,ctime=1700000000`. */
export function parseCtime(meta: unknown): number | null {
  if (typeof meta !== 'string') return null;
  const ctime = toInt(parsePropertyString(meta, 'meta').ctime);
  return ctime && ctime > 0 ? ctime : null;
}

/** Splits Proxmox tags: the API uses `;`, configs written by hand may use `,` or spaces. */
export function splitTags(value: unknown): string[] {
  if (typeof value !== 'string') return [];
  return [...new Set(value.split(/[;,\s]+/).map((t) => t.trim()).filter(Boolean))];
}

function text(value: unknown): string | null {
  return typeof value === 'string' && value.length > 0 ? value : null;
}

function agentEnabled(value: unknown): boolean {
  if (value == null) return false;
  const props = parsePropertyString(String(value), 'enabled');
  return props.enabled === '1';
}

/** Parses a guest config object into the capture's facts. */
export function parseGuestConfig(
  type: GuestType,
  config: Record<string, unknown>,
): ParsedGuestConfig {
  const disks = listDisks(type, config);
  let vcpu: number | null;
  let memoryMib: number;
  if (type === 'qemu') {
    vcpu = (toInt(config.cores) ?? 1) * (toInt(config.sockets) ?? 1);
    memoryMib = parseMemory(config.memory) ?? 512; // PVE's documented default
  } else {
    vcpu = toInt(config.cores);
    memoryMib = toInt(config.memory) ?? 512;
  }
  const smbios = typeof config.smbios1 === 'string'
    ? parsePropertyString(config.smbios1, 'uuid')
    : {};
  return {
    digest: text(config.digest),
    name: text(type === 'qemu' ? config.name : config.hostname),
    vcpu,
    memoryMib,
    disks,
    provisionedBytes: disks.reduce((sum, d) => sum + d.sizeBytes, 0),
    ctime: type === 'qemu' ? parseCtime(config.meta) : null,
    ostype: text(config.ostype),
    description: text(config.description),
    tags: splitTags(config.tags),
    biosUuid: text(smbios.uuid),
    agentEnabled: type === 'qemu' && agentEnabled(config.agent),
    details: parseGuestDetails(type, config),
  };
}
