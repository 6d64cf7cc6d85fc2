/** Small hand-made captures for tests: only what a test cares about, sensible defaults for the rest. */
import type { CaptureInput } from '../../agent/capture/schema.ts';

type VmSpec = { key: string } & Partial<CaptureInput['vms'][number]>;

export function vm(spec: VmSpec): CaptureInput['vms'][number] {
  return {
    sourceVmId: spec.key.split(':').pop()!,
    biosUuid: null,
    instanceUuid: null,
    name: `vm-${spec.key}`,
    powerState: 'poweredOn',
    isTemplate: false,
    vcpu: 2,
    memoryMib: 4096,
    provisionedDiskGib: 40,
    usedDiskGib: null,
    datacenter: 'dc1',
    cluster: 'c1',
    host: 'h1',
    resourcePool: 'Gold',
    folder: null,
    guestOs: null,
    ipAddresses: [],
    tags: [],
    annotation: null,
    createdAt: null,
    ...spec,
  };
}

export function makeCapture(options: {
  sourceId?: string;
  kind?: 'vcenter' | 'proxmox' | 'demo';
  at: string;
  vms: VmSpec[];
  complete?: boolean;
  events?: CaptureInput['events'];
  captureId?: string;
  hosts?: CaptureInput['hosts'];
  datastores?: CaptureInput['datastores'];
}): CaptureInput {
  return {
    captureId: options.captureId ?? crypto.randomUUID(),
    source: {
      kind: options.kind ?? 'vcenter',
      id: options.sourceId ?? 'vc-test',
      name: options.sourceId ?? 'vc-test',
      endpoint: null,
      version: null,
    },
    capturedAt: options.at,
    complete: options.complete ?? true,
    errors: options.complete === false ? ['hosts: timed out'] : [],
    vms: options.vms.map(vm),
    hosts: options.hosts ?? [],
    datastores: options.datastores ?? [],
    events: options.events ?? [],
  };
}
