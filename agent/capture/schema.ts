/**
 * The capture record: the one wire contract between agent and server.
 *
 * The agent owns this format; the server imports it to validate what it receives.
 * Nothing else crosses the boundary. Bump CAPTURE_SCHEMA_VERSION on any change that an
 * older server could not read, and keep the server accepting the previous version.
 */
import { z } from 'zod';

export const CAPTURE_SCHEMA_VERSION = 1;

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
  ramMb: z.number().int().min(0).max(1e9),
  provisionedDiskGb: z.number().min(0).max(1e9),
  usedDiskGb: z.number().min(0).max(1e9).nullable().default(null),
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
  memoryMb: z.number().min(0).nullable().default(null),
  version: nullableText(200),
});
export type CaptureHost = z.infer<typeof CaptureHost>;

export const CaptureDatastore = z.object({
  key: text(300).min(1),
  name: text(512),
  type: nullableText(64),
  capacityGb: z.number().min(0).nullable().default(null),
  freeGb: z.number().min(0).nullable().default(null),
  accessible: z.boolean().nullable().default(null),
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
  schemaVersion: z.literal(CAPTURE_SCHEMA_VERSION).default(CAPTURE_SCHEMA_VERSION),
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
});
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
