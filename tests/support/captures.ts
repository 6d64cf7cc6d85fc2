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
  clusters?: CaptureInput['clusters'];
  resourcePools?: CaptureInput['resourcePools'];
  networks?: CaptureInput['networks'];
  usage?: CaptureInput['usage'];
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
    clusters: options.clusters ?? [],
    resourcePools: options.resourcePools ?? [],
    networks: options.networks ?? [],
    usage: options.usage ?? [],
  };
}

/** The datastores v2Vm() puts disks on. */
export const V2_DATASTORES: NonNullable<CaptureInput['datastores']> = [
  {
    key: 'ds-a',
    name: 'vsan-a',
    type: 'vsan',
    capacityGib: 20_000,
    freeGib: 5_000,
    accessible: true,
  },
  {
    key: 'ds-b',
    name: 'nfs-b',
    type: 'NFS',
    capacityGib: 10_000,
    freeGib: 2_000,
    accessible: true,
  },
];

/** A v2 VM spec with two disks (on V2_DATASTORES) and one NIC, all derived from its key. */
export function v2Vm(key: string, i: number, extra: Partial<VmSpec> = {}): VmSpec {
  const mac = (i & 0xffffff).toString(16).padStart(6, '0').replace(/(..)(?=.)/g, '$1:');
  return {
    key,
    disks: [0, 1].map((d) => ({
      label: `Hard disk ${d + 1}`,
      capacityMib: (d + 1) * 20_480,
      provisioning: 'thin',
      datastore: d === 0 ? 'ds-a' : 'ds-b',
      controller: 'SCSI controller 0',
      unitNumber: d,
      file: `[${d === 0 ? 'vsan-a' : 'nfs-b'}] ${key}/${key}${d ? '_1' : ''}.vmdk`,
    })),
    nics: [{
      label: 'Network adapter 1',
      macAddress: `00:50:56:${mac}`,
      network: 'VM Network',
      adapterType: 'vmxnet3',
      connected: true,
    }],
    ...extra,
  };
}

/** An agent heartbeat with an empty spool and nothing delivered yet; `extra` overrides fields. */
export function makeHeartbeat(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    agentVersion: 'test',
    hostname: 'h',
    sentAt: new Date().toISOString(),
    sources: [],
    spool: { pending: 0, pendingBytes: 0, rejected: 0, refusedAtCap: 0, maxBytes: 1 },
    delivery: {
      delivered: 0,
      rejected: 0,
      lastDeliveredAt: null,
      lastError: null,
      retryAt: null,
    },
    ...extra,
  };
}
