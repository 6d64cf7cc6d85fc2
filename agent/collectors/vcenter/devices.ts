/**
 * A VM's virtual hardware from `config.hardware.device`: disks (with their controller's
 * label), NICs and CD-ROMs, read into compact records while the page's XML is alive.
 *
 * References (a disk's datastore, a NIC's network or distributed port group) stay morefs
 * here; vms.ts turns them into capture keys once the inventory is known.
 */
import type { VmCdrom, VmDisk } from '../../capture/details.ts';
import { readMoRef } from './soap.ts';
import { child, childText, type XmlElement } from './xml.ts';

export type RawDisk = Omit<VmDisk, 'datastore'> & {
  /** Datastore moref value (`datastore-12`), resolved to a capture key later. */
  datastoreRef: string | null;
};

export type RawNic = {
  label: string;
  macAddress: string;
  adapterType: string | null;
  connected: boolean | null;
  startConnected: boolean | null;
  /** Standard port group: the network moref value and its name. */
  networkRef: string | null;
  networkName: string | null;
  /** Distributed port group: its key (`dvportgroup-12`) and the switch's uuid. */
  portgroupKey: string | null;
  /** What the guest reports on this NIC (guest.net by MAC), filled in by readRawVm. */
  ips: string[];
};

/** The video card's displays and video memory (VirtualMachineVideoCard). */
export type RawVideo = { monitors: number | null; videoRamKib: number | null };

export type RawDevices = {
  disks: RawDisk[];
  nics: RawNic[];
  cdroms: VmCdrom[];
  video: RawVideo | null;
};

function bool(el: XmlElement | undefined): boolean | null {
  return el?.text === 'true' ? true : el?.text === 'false' ? false : null;
}

function whole(el: XmlElement | undefined): number | null {
  const n = num(el);
  return n !== null && Number.isInteger(n) && n >= 0 && n < 2 ** 31 ? n : null;
}

function num(el: XmlElement | undefined): number | null {
  if (!el || el.text === '') return null;
  const n = Number(el.text);
  return Number.isFinite(n) ? n : null;
}

function label(device: XmlElement): string | null {
  return childText(child(device, 'deviceInfo'), 'label') || null;
}

const MIB = 1024 ** 2;

/** thin, eagerZeroedThick or thick, when the backing says (flat and sparse backings do). */
function provisioning(backing: XmlElement | undefined): VmDisk['provisioning'] {
  const thin = bool(child(backing, 'thinProvisioned'));
  const eager = bool(child(backing, 'eagerlyScrub'));
  if (thin === true) return 'thin';
  if (eager === true) return 'eagerZeroedThick';
  return thin === false ? 'thick' : null;
}

function readDisk(d: XmlElement): RawDisk {
  const backing = child(d, 'backing');
  const bytes = num(child(d, 'capacityInBytes'));
  const kb = num(child(d, 'capacityInKB'));
  const mode = childText(backing, 'diskMode') || null;
  return {
    label: label(d) ?? `disk ${childText(d, 'key') ?? ''}`.trim(),
    capacityMib: bytes !== null ? bytes / MIB : kb !== null ? kb / 1024 : null,
    provisioning: provisioning(backing),
    datastoreRef: readMoRef(child(backing, 'datastore'))?.value ?? null,
    // The controller's key until readDevices has seen every controller, then its label.
    controller: childText(d, 'controllerKey') ?? null,
    unitNumber: num(child(d, 'unitNumber')),
    file: childText(backing, 'fileName') || null,
    mode,
    // Independent disks are left out of snapshots, hence out of snapshot-based backups.
    inBackup: mode === null ? null : !mode.startsWith('independent'),
  };
}

function readNic(d: XmlElement): RawNic | null {
  const mac = childText(d, 'macAddress');
  if (!mac) return null; // a NIC is known by its MAC; vCenter assigns one at creation
  const backing = child(d, 'backing');
  const connectable = child(d, 'connectable');
  const port = child(backing, 'port');
  return {
    label: label(d) ?? 'Network adapter',
    macAddress: mac.toLowerCase(),
    adapterType: d.xsiType ? d.xsiType.replace(/^Virtual/, '') : null,
    connected: bool(child(connectable, 'connected')),
    startConnected: bool(child(connectable, 'startConnected')),
    networkRef: readMoRef(child(backing, 'network'))?.value ?? null,
    networkName: childText(backing, 'deviceName') || null,
    portgroupKey: childText(port, 'portgroupKey') || null,
    ips: [],
  };
}

/** iso, client (remote passthrough/ATAPI), host (the host's device) or none. */
function cdromType(backing: XmlElement | undefined): string {
  const t = backing?.xsiType ?? '';
  if (t === 'VirtualCdromIsoBackingInfo') return 'iso';
  if (t.startsWith('VirtualCdromRemote')) return 'client';
  if (t === 'VirtualCdromAtapiBackingInfo' || t === 'VirtualCdromPassthroughBackingInfo') {
    return 'host';
  }
  return 'none';
}

function readCdrom(d: XmlElement): VmCdrom {
  const backing = child(d, 'backing');
  const connectable = child(d, 'connectable');
  return {
    label: label(d) ?? 'CD/DVD drive',
    connected: bool(child(connectable, 'connected')),
    startConnected: bool(child(connectable, 'startConnected')),
    deviceType: cdromType(backing),
    file: childText(backing, 'fileName') || childText(backing, 'deviceName') || null,
  };
}

/** Reads `config.hardware.device` (an ArrayOfVirtualDevice). */
export function readDevices(el: XmlElement | undefined): RawDevices {
  const out: RawDevices = { disks: [], nics: [], cdroms: [], video: null };
  if (!el) return out;
  /** Controller labels by device key ("1000" → "SCSI controller 0"). */
  const controllers = new Map<string, string>();
  for (const d of el.children) {
    const type = d.xsiType ?? '';
    if (type === 'VirtualDisk') out.disks.push(readDisk(d));
    else if (type === 'VirtualCdrom') out.cdroms.push(readCdrom(d));
    else if (type === 'VirtualMachineVideoCard') {
      out.video ??= {
        monitors: whole(child(d, 'numDisplays')),
        videoRamKib: whole(child(d, 'videoRamSizeInKB')),
      };
    } else if (child(d, 'macAddress') !== undefined || child(d, 'addressType') !== undefined) {
      const nic = readNic(d);
      if (nic) out.nics.push(nic);
    } else if (child(d, 'busNumber') !== undefined) {
      // Every controller (SCSI, SATA, NVMe, IDE) carries a busNumber; disks name its key.
      const key = childText(d, 'key');
      const name = label(d);
      if (key && name) controllers.set(key, name);
    }
  }
  for (const disk of out.disks) {
    disk.controller = disk.controller === null ? null : controllers.get(disk.controller) ?? null;
  }
  return out;
}
