/**
 * Captures for the RVTools suites: a vCenter source "vc-rv" captured at T1 and T2 and a
 * Proxmox source "pve-rv" captured at T1, with every v2 detail. Between T1 and T2: VM "b" is
 * deleted, VM "c" is created, VM "a" gets a second disk. At T1, vHealth has one finding of
 * each kind (an old snapshot on "a", Tools not running and consolidation needed on "b", a
 * disconnected host, a datastore 85 % full). Not a suite itself (no .test.ts).
 */
import * as assert from 'uvu/assert';
import type { CaptureInput } from '../../agent/capture/schema.ts';
import { json, type TestApp } from '../support/app.ts';
import { makeCapture } from '../support/captures.ts';

export const T1 = '2026-11-20T10:00:00Z';
export const T2 = '2026-11-21T10:00:00Z';
/** The old snapshot on "a": 10 days before T1. */
export const SNAP_AT = '2026-11-10T10:00:00Z';

const hardware = {
  version: 'vmx-19',
  firmware: 'efi',
  coresPerSocket: 2,
  sockets: 2,
  cpuHotAdd: true,
  memoryHotAdd: false,
  cpuReservationMhz: 500,
  cpuLimitMhz: -1,
  cpuShares: 4000,
  cpuSharesLevel: 'normal',
  memoryReservationMib: 1024,
  memoryLimitMib: -1,
  memoryShares: 81920,
  memorySharesLevel: 'normal',
};

/** What vInfo shows of app-a's settings (VmSettings). */
export const settings = {
  configStatus: 'green',
  heartbeat: 'green',
  changeVersion: '2026-11-19T09:00:00.000001Z',
  changeTracking: true,
  latencySensitivity: 'normal',
  minRequiredEvcModeKey: 'intel-haswell',
  faultToleranceState: 'notConfigured',
  monitors: 1,
  videoRamKib: 4096,
  folderId: 'group-v22',
  bootDelayMs: 3000,
  bootRetryDelayMs: 10000,
  bootRetryEnabled: false,
  enterBiosSetup: false,
  efiSecureBoot: true,
  hwUpgradeStatus: 'none',
  hwUpgradePolicy: 'never',
  hwUpgradeTarget: 'vmx-21',
  logDirectory: '[ds1] a/',
  snapshotDirectory: '[ds1] a/snaps/',
  suspendDirectory: '[ds1] a/',
};

const disk1 = {
  label: 'Hard disk 1',
  capacityMib: 40960,
  provisioning: 'thin' as const,
  datastore: 'ds-1',
  controller: 'SCSI controller 0',
  unitNumber: 0,
  file: '[ds1] a/a.vmdk',
  mode: 'persistent',
};

const disk2 = {
  label: 'Hard disk 2',
  capacityMib: 10240,
  provisioning: 'eagerZeroedThick' as const,
  datastore: 'ds-1',
  controller: 'SCSI controller 0',
  unitNumber: 1,
  file: '[ds1] a/a_1.vmdk',
  mode: 'persistent',
};

type VmSpec = Parameters<typeof makeCapture>[0]['vms'][number];

function vmA(at: string): VmSpec {
  return {
    key: 'vc:a',
    sourceVmId: 'vm-1',
    name: 'app-a',
    vcpu: 4,
    memoryMib: 8192,
    provisionedDiskGib: at === T1 ? 40 : 50,
    usedDiskGib: 12.5,
    host: 'esx-1',
    folder: '/dc1/vm/apps',
    guestOs: 'Ubuntu Linux (64-bit)',
    instanceUuid: '5001aaaa-0000-0000-0000-000000000001',
    biosUuid: '4201aaaa-0000-0000-0000-000000000001',
    ipAddresses: ['10.0.0.5'],
    annotation: '=HYPERLINK("http://x")',
    disks: at === T1 ? [disk1] : [disk1, disk2],
    nics: [{
      label: 'Network adapter 1',
      macAddress: '00:50:56:aa:00:01',
      network: 'VM Network',
      networkKey: 'net-1',
      adapterType: 'vmxnet3',
      connected: true,
      startConnected: true,
      ipAddresses: ['10.0.0.5', 'fe80::1'],
    }],
    cdroms: [{
      label: 'CD/DVD drive 1',
      connected: false,
      startConnected: false,
      deviceType: 'iso',
      file: '[ds1] iso/tools.iso',
    }],
    snapshots: [{
      id: 'snapshot-1',
      name: 'before-upgrade',
      description: 'pre patch',
      createdAt: SNAP_AT,
      parentId: null,
      quiesced: false,
      powerState: 'poweredOn',
      sizeMib: 512,
      current: true,
    }],
    tools: {
      status: 'toolsOk',
      runningStatus: 'guestToolsRunning',
      version: '12389',
      versionStatus: 'guestToolsCurrent',
      upgradePolicy: 'manual',
    },
    guest: {
      hostName: 'app-a.example.com',
      state: 'running',
      os: 'Ubuntu Linux (64-bit)',
      ipAddress: '10.0.0.5',
      disks: [{ path: '/', capacityMib: 40000, fileSystem: 'ext4' }],
    },
    hardware,
    settings,
    labels: [{ category: 'env', name: 'prod' }],
    attributes: [{ name: 'owner', value: 'team-a' }],
    haRestartPriority: 'medium',
    configFile: '[ds1] a/a.vmx',
    connectionState: 'connected',
    bootTime: '2026-11-01T08:00:00Z',
    consolidationNeeded: false,
  };
}

const vmB: VmSpec = {
  key: 'vc:b',
  sourceVmId: 'vm-2',
  name: 'batch-b',
  host: 'esx-2',
  tools: { status: 'toolsNotRunning', runningStatus: 'guestToolsNotRunning' },
  consolidationNeeded: true,
  disks: [{ ...disk1, file: '[ds1] b/b.vmdk' }],
  nics: [{ label: 'Network adapter 1', macAddress: '00:50:56:aa:00:02', network: 'prod-dv' }],
} as VmSpec;

const vmC = {
  key: 'vc:c',
  sourceVmId: 'vm-3',
  name: 'cache-c',
  host: 'esx-1',
  disks: [{ ...disk1, file: '[ds1] c/c.vmdk' }],
} as VmSpec;

const template = {
  key: 'vc:t',
  sourceVmId: 'vm-9',
  name: 'tmpl-linux',
  annotation: 'golden image',
  isTemplate: true,
  powerState: 'poweredOff',
  host: 'esx-1',
} as VmSpec;

/** The vCenter source at T1 or T2. */
export function vcenterCapture(at: string): CaptureInput {
  const vms = at === T1 ? [vmA(at), vmB, template] : [vmA(at), vmC, template];
  const capture = makeCapture({
    sourceId: 'vc-rv',
    at,
    vms,
    hosts: [
      {
        key: 'host-1',
        name: 'esx-1',
        datacenter: 'dc1',
        cluster: 'c1',
        connectionState: 'connected',
        powerState: 'poweredOn',
        cpuCores: 16,
        cpuMhz: 2500,
        memoryMib: 262144,
        version: 'VMware ESXi 8.0.3',
        vendor: 'Dell Inc.',
        model: 'PowerEdge R750',
        cpuModel: 'Intel(R) Xeon(R) Gold 6338',
        cpuSockets: 2,
        cpuThreads: 32,
        build: '24022510',
        maintenanceMode: false,
        bootTime: '2026-10-01T00:00:00Z',
        cpuUsageMhz: 8000,
        memoryUsageMib: 131072,
        serialNumber: 'SN-1',
        nics: [{
          device: 'vmnic0',
          driver: 'ixgben',
          macAddress: '3c:fd:fe:00:00:01',
          speedMbps: 10000,
          linkUp: true,
          switchName: 'vSwitch0',
        }],
        switches: [{ name: 'vSwitch0', ports: 128, mtu: 9000, uplinks: ['vmnic0', 'vmnic1'] }],
      },
      {
        key: 'host-2',
        name: 'esx-2',
        datacenter: 'dc1',
        cluster: 'c1',
        connectionState: 'disconnected',
        powerState: 'unknown',
        cpuCores: 16,
        cpuMhz: 2500,
        memoryMib: 262144,
      },
    ],
    datastores: [{
      key: 'ds-1',
      name: 'ds1',
      type: 'VMFS',
      capacityGib: 1000,
      freeGib: 150,
      accessible: true,
      url: 'ds:///vmfs/volumes/ds1/',
      uncommittedGib: 100,
      shared: true,
      hostNames: ['esx-1', 'esx-2'],
      vmCount: 3,
    }],
  });
  return {
    ...capture,
    clusters: [{
      key: 'domain-c1',
      name: 'c1',
      datacenter: 'dc1',
      haEnabled: true,
      drsEnabled: true,
      drsBehavior: 'fullyAutomated',
      hostCount: 2,
      effectiveHostCount: 1,
      cpuCores: 32,
      cpuThreads: 64,
      totalCpuMhz: 80000,
      effectiveCpuMhz: 40000,
      totalMemoryMib: 524288,
      effectiveMemoryMib: 262144,
    }],
    resourcePools: [{
      key: 'resgroup-1',
      name: 'Gold',
      path: '/dc1/host/c1/Resources/Gold',
      cluster: 'c1',
      cpuReservationMhz: 1000,
      cpuLimitMhz: -1,
      cpuExpandable: true,
      cpuShares: 4000,
      memoryReservationMib: 2048,
      memoryLimitMib: -1,
      memoryExpandable: false,
      memoryShares: 163840,
      vmCount: 2,
    }],
    networks: [
      {
        key: 'net-1',
        name: 'VM Network',
        kind: 'standard',
        switchName: 'vSwitch0',
        vlanId: 10,
        hostNames: ['esx-1', 'esx-2'],
        vmCount: 1,
      },
      {
        key: 'dvportgroup-1',
        name: 'prod-dv',
        kind: 'distributed',
        switchName: 'dvs-1',
        vlanId: 20,
        hostNames: ['esx-1'],
        vmCount: 1,
      },
    ],
    usage: [{
      key: 'vc:a',
      cpuUsageMhz: 1200,
      guestMemoryMib: 2048,
      hostMemoryMib: 4100,
      guestDisks: [{ path: '/', freeMib: 10000 }],
    }],
  };
}

/** The Proxmox source at T1: one VM with a disk and a NIC, one node, one storage, a pool. */
export function proxmoxCapture(): CaptureInput {
  const capture = makeCapture({
    sourceId: 'pve-rv',
    kind: 'proxmox',
    at: T1,
    vms: [{
      key: 'pve:100:1700000000',
      sourceVmId: '100',
      name: 'pve-web',
      host: 'pve1',
      datacenter: null,
      cluster: 'pve-rv',
      resourcePool: 'web',
      disks: [{
        label: 'scsi0',
        capacityMib: 32768,
        datastore: 'local-lvm',
        controller: 'scsi',
        unitNumber: 0,
        file: 'local-lvm:vm-100-disk-0',
      }],
      nics: [{
        label: 'net0',
        macAddress: 'BC:24:11:00:00:01',
        network: 'vmbr0',
        adapterType: 'virtio',
        vlanId: 5,
        firewall: true,
      }],
      hardware: { version: 'pc-q35-8.1', firmware: 'efi', sockets: 1, coresPerSocket: 2 },
      tools: { status: 'ok', runningStatus: 'guestToolsRunning' },
    } as VmSpec],
    hosts: [{
      key: 'node/pve1',
      name: 'pve1',
      datacenter: null,
      cluster: 'pve-rv',
      connectionState: 'connected',
      powerState: 'poweredOn',
      cpuCores: 8,
      cpuMhz: 3000,
      memoryMib: 65536,
      version: 'pve-manager/8.2.4',
      cpuModel: 'AMD EPYC 7302P',
      cpuSockets: 1,
    }],
    datastores: [{
      key: 'local-lvm',
      name: 'local-lvm',
      type: 'lvmthin',
      capacityGib: 500,
      freeGib: 300,
      accessible: true,
      shared: false,
      content: 'images,rootdir',
      hostNames: ['pve1'],
    }],
  });
  return {
    ...capture,
    resourcePools: [{ key: 'pool/web', name: 'web', path: 'web', comment: 'web tier' }],
    networks: [{ key: 'pve1/vmbr0', name: 'vmbr0', kind: 'bridge', hostNames: ['pve1'] }],
  };
}

/** Posts the three captures through the ingest API. */
export async function seedRvtools(t: TestApp): Promise<void> {
  for (const body of [vcenterCapture(T1), proxmoxCapture(), vcenterCapture(T2)]) {
    const res = await t.call('/api/v1/captures', { ...json(body), token: t.tokens.agent });
    assert.equal(res.status, 201, `capture stored: ${await res.clone().text()}`);
  }
}

/** Every row of a cursor. */
export async function allRows<T>(batches: AsyncIterable<T[]> | Iterable<T[]>): Promise<T[]> {
  const out: T[] = [];
  for await (const b of batches) out.push(...b);
  return out;
}
