/**
 * The configuration details of capture contract v2 (schema.ts): what RVTools shows of a VM,
 * a host, a cluster, a resource pool, a datastore and a network, where the source knows it.
 *
 * Every field is nullable or defaults to empty, so a v1 capture (which has none of them) is
 * a valid v2 capture with nothing known. A collector never invents a value: null is "the
 * source did not say". Units are in the names (MiB, GiB, MHz), binary where they say so.
 *
 * No object in a VM begins with a `key` field: the server cuts the VM array where a VM begins
 * `{"key":` (server/ingest/capture_text.ts), and a nested object that began so would cost it
 * a retry. For the same reason no object after the VM array has a `hosts` or `vms` field:
 * they name hosts in `hostNames` and count VMs in `vmCount`.
 */
import { z } from 'zod';

const isoTime = z.iso.datetime({ offset: true });
const text = (max = 512) => z.string().max(max);
const maybeText = (max = 512) => text(max).nullable().default(null);
const maybeBool = z.boolean().nullable().default(null);
/** A count or an amount: never negative. */
const maybeNumber = z.number().min(0).nullable().default(null);
const maybeInt = z.number().int().min(0).max(2 ** 31 - 1).nullable().default(null);
/** A limit: vSphere says -1 for "unlimited". */
const maybeLimit = z.number().int().min(-1).nullable().default(null);
const list = <T extends z.ZodType>(item: T, max: number) => z.array(item).max(max).default([]);

export const DiskProvisioning = z.enum(['thin', 'thick', 'eagerZeroedThick']);

/** A virtual disk (vSphere VirtualDisk; Proxmox scsiN/virtioN/sataN/ideN/efidisk0/tpmstate0/rootfs/mpN). */
export const VmDisk = z.object({
  /** "Hard disk 1" on vSphere; the device name ("scsi0", "rootfs", "mp0") on Proxmox. */
  label: text(200).min(1),
  capacityMib: maybeNumber,
  provisioning: DiskProvisioning.nullable().default(null),
  /** The key of a datastore in the same capture (`datastores[].key`); null when unknown. */
  datastore: maybeText(300),
  /** "SCSI controller 0", "scsi", "virtio"… */
  controller: maybeText(200),
  unitNumber: maybeInt,
  /** "[ds1] vm/vm.vmdk" on vSphere; the volume id ("local-lvm:vm-100-disk-0") on Proxmox. */
  file: maybeText(2048),
  /** persistent, independent_persistent…; Proxmox: null. */
  mode: maybeText(64),
  /** Proxmox "backup=0" / vSphere independent disks are not in snapshots: false. */
  inBackup: maybeBool,
});
export type VmDisk = z.infer<typeof VmDisk>;

/** A virtual NIC (vSphere VirtualEthernetCard; Proxmox netN). */
export const VmNic = z.object({
  label: text(200).min(1),
  /** Required: a NIC is known by its MAC across captures. */
  macAddress: text(64).min(1),
  /** The port group or network name (vSphere), the bridge (Proxmox). */
  network: maybeText(),
  /** The key of a network in the same capture, when the collector could resolve it. */
  networkKey: maybeText(300),
  adapterType: maybeText(64),
  connected: maybeBool,
  startConnected: maybeBool,
  vlanId: maybeInt,
  firewall: maybeBool,
  /** What the guest reports on this NIC (VMware Tools, QEMU guest agent). */
  ipAddresses: list(text(64), 64),
});
export type VmNic = z.infer<typeof VmNic>;

export const VmCdrom = z.object({
  label: text(200).min(1),
  connected: maybeBool,
  startConnected: maybeBool,
  /** "iso", "client", "host", "none". */
  deviceType: maybeText(64),
  /** The ISO file or host device, when one is mounted. */
  file: maybeText(2048),
});
export type VmCdrom = z.infer<typeof VmCdrom>;

export const VmSnapshot = z.object({
  /** vSphere snapshot MoRef ("snapshot-12"); Proxmox snapshot name. Unique in a VM. */
  id: text(300).min(1),
  name: text(512),
  description: maybeText(8192),
  createdAt: isoTime.nullable().default(null),
  /** The parent snapshot's id; null for a root. */
  parentId: maybeText(300),
  quiesced: maybeBool,
  /** The VM's power state when the snapshot was taken ("vmstate" kept on Proxmox: poweredOn). */
  powerState: maybeText(32),
  /** The snapshot's own files, where the source reports them. */
  sizeMib: maybeNumber,
  /** The snapshot the VM runs from. */
  current: maybeBool,
});
export type VmSnapshot = z.infer<typeof VmSnapshot>;

export const VmTools = z.object({
  /** toolsOk, toolsOld, toolsNotRunning, toolsNotInstalled; Proxmox guest agent: ok/notRunning. */
  status: maybeText(64),
  /** guestToolsRunning, guestToolsNotRunning… */
  runningStatus: maybeText(64),
  version: maybeText(64),
  versionStatus: maybeText(64),
  upgradePolicy: maybeText(64),
});
export type VmTools = z.infer<typeof VmTools>;

/** A file system the guest reports; its free space moves, so it travels in `usage`. */
export const GuestDisk = z.object({
  path: text(1024),
  capacityMib: maybeNumber,
  fileSystem: maybeText(64),
});
export type GuestDisk = z.infer<typeof GuestDisk>;

export const VmGuest = z.object({
  /** The DNS name the guest reports. */
  hostName: maybeText(),
  /** running, notRunning, shuttingDown, resetting, standby, unknown. */
  state: maybeText(64),
  /** The OS as the guest's tools report it (the configured OS is `guestOs`). */
  os: maybeText(),
  ipAddress: maybeText(64),
  disks: list(GuestDisk, 256),
});
export type VmGuest = z.infer<typeof VmGuest>;

export const VmHardware = z.object({
  /** vmx-19; Proxmox machine type ("pc-q35-8.1"). */
  version: maybeText(64),
  /** bios or efi. */
  firmware: maybeText(32),
  coresPerSocket: maybeInt,
  sockets: maybeInt,
  cpuHotAdd: maybeBool,
  memoryHotAdd: maybeBool,
  cpuReservationMhz: maybeInt,
  cpuLimitMhz: maybeLimit,
  cpuShares: maybeInt,
  cpuSharesLevel: maybeText(32),
  memoryReservationMib: maybeInt,
  memoryLimitMib: maybeLimit,
  memoryShares: maybeInt,
  memorySharesLevel: maybeText(32),
});
export type VmHardware = z.infer<typeof VmHardware>;

/**
 * VM settings RVTools shows in vInfo (vSphere only; Proxmox leaves it null): boot options,
 * CBT, latency sensitivity, the video card, scheduled hardware upgrade, file directories and
 * a few runtime states that change only when someone changes the VM or its Tools.
 */
export const VmSettings = z.object({
  /** configStatus: gray, green, yellow, red. */
  configStatus: maybeText(16),
  /** guestHeartbeatStatus: gray, green, yellow, red. */
  heartbeat: maybeText(16),
  /** config.changeVersion: the configuration's change stamp. */
  changeVersion: maybeText(128),
  /** config.changeTrackingEnabled (CBT). */
  changeTracking: maybeBool,
  /** config.latencySensitivity.level: low, normal, medium, high, custom. */
  latencySensitivity: maybeText(32),
  /** runtime.minRequiredEVCModeKey. */
  minRequiredEvcModeKey: maybeText(128),
  /** runtime.faultToleranceState: notConfigured, disabled, enabled, needSecondary, starting, running. */
  faultToleranceState: maybeText(32),
  /** The video card: numDisplays and videoRamSizeInKB. */
  monitors: maybeInt,
  videoRamKib: maybeInt,
  /** The VM's parent folder (its moref, "group-v3"). */
  folderId: maybeText(128),
  /** config.bootOptions. */
  bootDelayMs: maybeInt,
  bootRetryDelayMs: maybeInt,
  bootRetryEnabled: maybeBool,
  enterBiosSetup: maybeBool,
  efiSecureBoot: maybeBool,
  /** config.scheduledHardwareUpgradeInfo: upgradeStatus, upgradePolicy, versionKey. */
  hwUpgradeStatus: maybeText(64),
  hwUpgradePolicy: maybeText(64),
  hwUpgradeTarget: maybeText(64),
  /** config.files: logDirectory, snapshotDirectory, suspendDirectory. */
  logDirectory: maybeText(2048),
  snapshotDirectory: maybeText(2048),
  suspendDirectory: maybeText(2048),
});
export type VmSettings = z.infer<typeof VmSettings>;

/** A vSphere tag with its category, or a Proxmox tag (no category). */
export const VmLabel = z.object({
  category: maybeText(256),
  name: text(256),
});
export type VmLabel = z.infer<typeof VmLabel>;

/**
 * The v2 details of a VM, all optional. These fields are configuration: they change when
 * someone changes the VM, and the server keeps them as change-only history. What moves at
 * every capture (CPU and memory usage) travels apart, in the capture's `usage`.
 */
export const VmDetails = {
  disks: list(VmDisk, 256),
  nics: list(VmNic, 64),
  cdroms: list(VmCdrom, 16),
  snapshots: list(VmSnapshot, 512),
  tools: VmTools.nullable().default(null),
  guest: VmGuest.nullable().default(null),
  hardware: VmHardware.nullable().default(null),
  settings: VmSettings.nullable().default(null),
  /** vSphere tags with categories (the tagging service); Proxmox tags. */
  labels: list(VmLabel, 256),
  /** vSphere custom attributes (name → value); `tags` keeps their "name=value" text for v1. */
  attributes: list(z.object({ name: text(256), value: text(4096) }), 256),
  haRestartPriority: maybeText(64),
  /** The vApp the VM belongs to. */
  vApp: maybeText(),
  /** The .vmx path ("[ds1] vm/vm.vmx"); the Proxmox config path. */
  configFile: maybeText(2048),
  /** connected, disconnected, orphaned, inaccessible, invalid. */
  connectionState: maybeText(64),
  bootTime: isoTime.nullable().default(null),
  consolidationNeeded: maybeBool,
};
export const VM_DETAIL_KEYS = Object.keys(VmDetails) as (keyof typeof VmDetails)[];

/** What moves at every capture, by VM key: summary.quickStats, guest free space; Proxmox cpu and mem. */
export const VmUsage = z.object({
  key: text(300).min(1),
  cpuUsageMhz: maybeNumber,
  guestMemoryMib: maybeNumber,
  hostMemoryMib: maybeNumber,
  /**
   * Free space of the guest's file systems (`guest.disks`, by path): it changes at every
   * capture on a real estate, and in the VM record it would make every VM look changed.
   */
  guestDisks: list(z.object({ path: text(1024), freeMib: maybeNumber }), 256),
});
export type VmUsage = z.infer<typeof VmUsage>;

export const HostNic = z.object({
  device: text(64),
  driver: maybeText(64),
  macAddress: maybeText(64),
  speedMbps: maybeInt,
  linkUp: maybeBool,
  switchName: maybeText(),
});

export const HostSwitch = z.object({
  name: text(),
  ports: maybeInt,
  mtu: maybeInt,
  uplinks: list(text(64), 64),
});

/** The v2 details of a host (ESXi host, Proxmox node). */
export const HostDetails = {
  vendor: maybeText(),
  model: maybeText(),
  cpuModel: maybeText(),
  cpuSockets: maybeInt,
  cpuThreads: maybeInt,
  build: maybeText(64),
  maintenanceMode: maybeBool,
  bootTime: isoTime.nullable().default(null),
  cpuUsageMhz: maybeNumber,
  memoryUsageMib: maybeNumber,
  serialNumber: maybeText(),
  nics: list(HostNic, 64),
  switches: list(HostSwitch, 64),
};

/** The v2 details of a datastore (Proxmox storage). */
export const DatastoreDetails = {
  url: maybeText(2048),
  uncommittedGib: maybeNumber,
  maintenanceMode: maybeText(64),
  /** Mounted by more than one host (Proxmox: shared storage). */
  shared: maybeBool,
  /** Proxmox content types ("images,rootdir"). */
  content: maybeText(),
  hostNames: list(text(512), 4096),
  vmCount: maybeInt,
};

export const CaptureCluster = z.object({
  key: text(300).min(1),
  name: text(512),
  datacenter: maybeText(),
  haEnabled: maybeBool,
  drsEnabled: maybeBool,
  drsBehavior: maybeText(64),
  hostCount: maybeInt,
  effectiveHostCount: maybeInt,
  cpuCores: maybeInt,
  cpuThreads: maybeInt,
  totalCpuMhz: maybeNumber,
  effectiveCpuMhz: maybeNumber,
  totalMemoryMib: maybeNumber,
  effectiveMemoryMib: maybeNumber,
});
export type CaptureCluster = z.infer<typeof CaptureCluster>;

export const CaptureResourcePool = z.object({
  key: text(300).min(1),
  name: text(512),
  /** The pool's inventory path ("/dc/host/cluster/Resources/prod"); Proxmox: the pool id. */
  path: maybeText(2048),
  cluster: maybeText(),
  cpuReservationMhz: maybeInt,
  cpuLimitMhz: maybeLimit,
  cpuExpandable: maybeBool,
  cpuShares: maybeInt,
  memoryReservationMib: maybeInt,
  memoryLimitMib: maybeLimit,
  memoryExpandable: maybeBool,
  memoryShares: maybeInt,
  vmCount: maybeInt,
  /** Proxmox pool comment. */
  comment: maybeText(4096),
});
export type CaptureResourcePool = z.infer<typeof CaptureResourcePool>;

export const NetworkKind = z.enum(['standard', 'distributed', 'opaque', 'bridge', 'vlan', 'sdn']);

/** A network: a standard or distributed port group, a Proxmox bridge or VLAN. */
export const CaptureNetwork = z.object({
  key: text(300).min(1),
  name: text(512),
  kind: NetworkKind.nullable().default(null),
  /** The vSwitch or distributed switch (or Proxmox bridge) it belongs to. */
  switchName: maybeText(),
  vlanId: maybeInt,
  hostNames: list(text(512), 4096),
  vmCount: maybeInt,
});
export type CaptureNetwork = z.infer<typeof CaptureNetwork>;
