/**
 * The capture record: the one wire contract between agent and server.
 *
 * The agent owns this format; the server imports it to validate what it receives.
 * Nothing else crosses the boundary. Bump CAPTURE_SCHEMA_VERSION on any change that an
 * older server could not read, and keep the server accepting the previous version.
 */
import { z } from 'zod';
import {
  CaptureCluster,
  CaptureNetwork,
  CaptureResourcePool,
  DatastoreDetails,
  HostDetails,
  VmDetails,
  VmUsage,
} from './details.ts';

/**
 * 2: configuration details (details.ts), clusters, resource pools, networks and usage; units
 * in the field names (`memoryMib`, `provisionedDiskGib`; v1 said `ramMb`, `provisionedDiskGb`
 * for the same binary values). The server accepts v1 (upgradeV1Capture).
 */
export const CAPTURE_SCHEMA_VERSION = 2;

const isoTime = z.iso.datetime({ offset: true });
const text = (max = 512) => z.string().max(max);
const nullableText = (max = 512) => text(max).nullable().default(null);

export const SourceKind = z.enum(['vcenter', 'proxmox', 'demo']);
export type SourceKind = z.infer<typeof SourceKind>;

export const PowerState = z.enum(['poweredOn', 'poweredOff', 'suspended']);
export type PowerState = z.infer<typeof PowerState>;

/** Which site system a capture came from; `id` is stable across renames and re-installs. */
export const CaptureSource = z.object({
  kind: SourceKind,
  /** vCenter instanceUuid, Proxmox cluster name/id, or the demo source id. */
  id: text(200).min(1),
  name: text(200).min(1),
  endpoint: nullableText(),
  version: nullableText(200),
});
export type CaptureSource = z.infer<typeof CaptureSource>;

/** One VM (or template) as it was at capture time. */
export const CaptureVm = z.object({
  /** Stable identity within the source (see DESIGN.md identity rules). */
  key: text(300).min(1),
  /** vCenter MoRef (vm-123) or Proxmox vmid. */
  sourceVmId: text(200).min(1),
  biosUuid: nullableText(64),
  instanceUuid: nullableText(64),
  name: text(512),
  powerState: PowerState,
  isTemplate: z.boolean(),
  vcpu: z.number().int().min(0).max(100_000),
  memoryMib: z.number().int().min(0).max(1e9),
  provisionedDiskGib: z.number().min(0).max(1e9),
  usedDiskGib: z.number().min(0).max(1e9).nullable().default(null),
  datacenter: nullableText(),
  cluster: nullableText(),
  host: nullableText(),
  resourcePool: nullableText(),
  folder: nullableText(2048),
  guestOs: nullableText(),
  ipAddresses: z.array(text(64)).max(256).default([]),
  tags: z.array(text(256)).max(256).default([]),
  annotation: nullableText(8192),
  /** When the source says the VM was created; null when unknown (never invented). */
  createdAt: isoTime.nullable().default(null),
  ...VmDetails,
});
export type CaptureVm = z.infer<typeof CaptureVm>;

/** A hypervisor host (ESXi host, Proxmox node). */
export const CaptureHost = z.object({
  key: text(300).min(1),
  name: text(512),
  datacenter: nullableText(),
  cluster: nullableText(),
  connectionState: nullableText(64),
  powerState: nullableText(64),
  /** An `integer` column on the server: larger values could not be stored. */
  cpuCores: z.number().int().min(0).max(2 ** 31 - 1).nullable().default(null),
  cpuMhz: z.number().min(0).nullable().default(null),
  memoryMib: z.number().min(0).nullable().default(null),
  version: nullableText(200),
  ...HostDetails,
});
export type CaptureHost = z.infer<typeof CaptureHost>;

export const CaptureDatastore = z.object({
  key: text(300).min(1),
  name: text(512),
  type: nullableText(64),
  capacityGib: z.number().min(0).nullable().default(null),
  freeGib: z.number().min(0).nullable().default(null),
  accessible: z.boolean().nullable().default(null),
  ...DatastoreDetails,
});
export type CaptureDatastore = z.infer<typeof CaptureDatastore>;

/** A lifecycle event the source reported since the previous capture. */
export const CaptureEvent = z.object({
  type: z.enum(['created', 'deleted']),
  at: isoTime,
  /** Key of the VM when the collector could resolve it; null for a VM already gone. */
  vmKey: nullableText(300),
  sourceVmId: nullableText(200),
  vmName: nullableText(512),
  detail: nullableText(1024),
});
export type CaptureEvent = z.infer<typeof CaptureEvent>;

/** More VMs than any one vCenter or Proxmox cluster holds; a bound, not a target. */
export const MAX_VMS_PER_CAPTURE = 1_000_000;

const CaptureObject = z.object({
  /** Agents always write it; text without it is read as v2 (old names still upgraded). */
  schemaVersion: z.union([z.literal(1), z.literal(CAPTURE_SCHEMA_VERSION)]).default(
    CAPTURE_SCHEMA_VERSION,
  ),
  captureId: z.uuid(),
  source: CaptureSource,
  capturedAt: isoTime,
  /** False when any part of the collection failed: the server never infers deletions then. */
  complete: z.boolean(),
  /** What failed, when `complete` is false. */
  errors: z.array(text(2048)).max(100).default([]),
  vms: z.array(CaptureVm).max(MAX_VMS_PER_CAPTURE),
  hosts: z.array(CaptureHost).default([]),
  datastores: z.array(CaptureDatastore).default([]),
  events: z.array(CaptureEvent).default([]),
  clusters: z.array(CaptureCluster).max(100_000).default([]),
  resourcePools: z.array(CaptureResourcePool).max(MAX_VMS_PER_CAPTURE).default([]),
  networks: z.array(CaptureNetwork).max(MAX_VMS_PER_CAPTURE).default([]),
  usage: z.array(VmUsage).max(MAX_VMS_PER_CAPTURE).default([]),
});

export const Capture = CaptureObject.superRefine((capture, ctx) => {
  // A key names one VM: two VMs with one key in a capture would make the facts ambiguous.
  const seen = new Set<string>();
  capture.vms.forEach((vm, i) => {
    if (seen.has(vm.key)) {
      ctx.addIssue({
        code: 'custom',
        path: ['vms', i, 'key'],
        message: `duplicate VM key "${vm.key}"`,
      });
    }
    seen.add(vm.key);
  });
  capture.usage.forEach((row, i) => {
    if (!seen.has(row.key)) {
      ctx.addIssue({
        code: 'custom',
        path: ['usage', i, 'key'],
        message: `usage for "${row.key}", a VM not in the capture`,
      });
    }
  });
  const datastores = new Set(capture.datastores.map((d) => d.key));
  capture.vms.forEach((vm, i) => {
    for (const issue of vmReferenceIssues(vm, datastores)) {
      ctx.addIssue({ code: 'custom', path: ['vms', i, ...issue.path], message: issue.message });
    }
  });
});

/**
 * What is wrong with the references inside one VM: a disk on a datastore the capture does not
 * hold, two snapshots with one id, a snapshot whose parent is not there, a cycle of parents.
 * Paths are relative to the VM. Checked apart from the zod schema so that the server can
 * check VMs streamed in parts against the capture's head.
 */
export function vmReferenceIssues(
  vm: Pick<CaptureVm, 'disks' | 'snapshots'>,
  datastoreKeys: ReadonlySet<string>,
): { path: (string | number)[]; message: string }[] {
  const issues: { path: (string | number)[]; message: string }[] = [];
  vm.disks.forEach((disk, d) => {
    if (disk.datastore !== null && !datastoreKeys.has(disk.datastore)) {
      issues.push({
        path: ['disks', d, 'datastore'],
        message: `unknown datastore "${disk.datastore}": not in the capture's datastores`,
      });
    }
  });
  const parentOf = new Map<string, string | null>();
  vm.snapshots.forEach((snap, s) => {
    if (parentOf.has(snap.id)) {
      issues.push({ path: ['snapshots', s, 'id'], message: `duplicate snapshot id "${snap.id}"` });
    }
    parentOf.set(snap.id, snap.parentId);
  });
  vm.snapshots.forEach((snap, s) => {
    if (snap.parentId !== null && !parentOf.has(snap.parentId)) {
      issues.push({
        path: ['snapshots', s, 'parentId'],
        message: `unknown parent snapshot "${snap.parentId}"`,
      });
      return;
    }
    // Walk up the parents: more steps than snapshots means a cycle.
    let at: string | null = snap.parentId;
    for (let steps = 0; at !== null; steps++) {
      if (at === snap.id || steps > parentOf.size) {
        issues.push({
          path: ['snapshots', s, 'parentId'],
          message: `snapshot "${snap.id}" is its own ancestor: the snapshot tree has a cycle`,
        });
        return;
      }
      at = parentOf.get(at) ?? null;
    }
  });
  return issues;
}

/** v1 names → v2 names: the same binary values, named for their units. */
const V1_NAMES: Record<'vms' | 'hosts' | 'datastores', [string, string][]> = {
  vms: [['ramMb', 'memoryMib'], ['provisionedDiskGb', 'provisionedDiskGib'], [
    'usedDiskGb',
    'usedDiskGib',
  ]],
  hosts: [['memoryMb', 'memoryMib']],
  datastores: [['capacityGb', 'capacityGib'], ['freeGb', 'freeGib']],
};

/**
 * A v1 capture as parsed JSON, given v2's names (in place); anything else is returned as is.
 * Call before validating what an older agent may have written (the server, the spool).
 */
export function upgradeV1Capture(raw: unknown): unknown {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return raw;
  const capture = raw as Record<string, unknown>;
  if (capture.schemaVersion !== undefined && capture.schemaVersion !== 1) return raw;
  for (const [list, names] of Object.entries(V1_NAMES)) {
    const items = capture[list];
    if (!Array.isArray(items)) continue;
    for (const item of items) {
      if (typeof item !== 'object' || item === null) continue;
      const record = item as Record<string, unknown>;
      for (const [v1, v2] of names) {
        if (v1 in record && !(v2 in record)) {
          record[v2] = record[v1];
          delete record[v1];
        }
      }
    }
  }
  return raw;
}
/**
 * A capture without its VMs, checked on its own so the server can stream the VMs in parts
 * (server/ingest/capture_text.ts). A capture is valid exactly when its head is, each VM is,
 * there are at most MAX_VMS_PER_CAPTURE, and no two share a key.
 */
export const CaptureHead = CaptureObject.omit({ vms: true });
export type CaptureHead = z.infer<typeof CaptureHead>;

/** A validated capture (defaults filled in). */
export type Capture = z.infer<typeof Capture>;
/** What a collector may build before defaults are applied. */
export type CaptureInput = z.input<typeof Capture>;
/** What a collector builds for one VM, host or datastore: the details may be left out. */
export type CaptureVmInput = z.input<typeof CaptureVm>;
export type CaptureHostInput = z.input<typeof CaptureHost>;
export type CaptureDatastoreInput = z.input<typeof CaptureDatastore>;
