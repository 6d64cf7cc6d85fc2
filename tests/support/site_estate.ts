/**
 * A small v2 estate stored through the real ingest, for the site suites: ten daily captures of
 * one vCenter with two hosts in one cluster (the second goes into maintenance on days 5–6 and is
 * disconnected from day 8), a datastore filling by 10 GiB a day and a flat one, two networks
 * (one named by key, one by name only), three VMs and a template whose name is markup.
 */
import type { CaptureInput } from '../../agent/capture/schema.ts';
import { readJson } from './api_bodies.ts';
import { json, type TestApp } from './app.ts';
import { makeCapture } from './captures.ts';

export const DAYS = 10;
export const dayAt = (d: number) => `2026-05-${String(d + 1).padStart(2, '0')}T00:00:00Z`;
export const EVIL = '<img src=x onerror=alert(1)>';

const disk = (label: string, datastore: string, gib: number) => ({
  label,
  capacityMib: gib * 1024,
  provisioning: 'thin' as const,
  datastore,
  controller: null,
  unitNumber: null,
  file: `[${datastore}] vm/${label}.vmdk`,
  mode: null,
  inBackup: null,
});
const nic = (mac: string, network: string, networkKey: string | null) => ({
  label: `NIC ${mac.slice(-1)}`,
  macAddress: mac,
  network,
  networkKey,
  adapterType: 'vmxnet3',
  connected: true,
  startConnected: true,
  vlanId: null,
  firewall: null,
  ipAddresses: ['10.0.0.1'],
});

/** The capture of day `d` (0-based). */
export function siteCapture(d: number): CaptureInput {
  const hostState = (n: number) => ({
    connectionState: n === 2 && d >= 8 ? 'disconnected' : 'connected',
    maintenanceMode: n === 2 && d >= 5 && d <= 6,
  });
  const base = makeCapture({
    sourceId: 'vc-site',
    at: dayAt(d),
    vms: [
      {
        key: 'vm-a',
        name: 'app-01',
        vcpu: 8,
        host: 'esx-1',
        cluster: 'c1',
        disks: [disk('Hard disk 1', 'ds-1', 100)],
        nics: [nic('00:50:56:00:00:01', 'VM Network', 'net-10')],
      },
      {
        key: 'vm-b',
        name: 'db-01',
        vcpu: 4,
        host: 'esx-2',
        cluster: 'c1',
        disks: [disk('Hard disk 1', 'ds-1', 50), disk('Hard disk 2', 'ds-2', 300)],
        nics: [nic('00:50:56:00:00:02', 'DMZ', null)],
      },
      {
        key: 'vm-t',
        name: EVIL,
        vcpu: 2,
        isTemplate: true,
        powerState: 'poweredOff',
        host: 'esx-1',
        cluster: 'c1',
        disks: [disk('Hard disk 1', 'ds-2', 20)],
      },
    ],
    hosts: [1, 2].map((n) => ({
      key: `host-${n}`,
      name: `esx-${n}`,
      datacenter: 'dc1',
      cluster: 'c1',
      powerState: 'poweredOn',
      cpuCores: 16,
      cpuMhz: 2000,
      memoryMib: 131072,
      version: 'VMware ESXi 8.0.3',
      vendor: 'Dell Inc.',
      model: 'PowerEdge R750',
      cpuModel: 'Xeon Gold',
      cpuSockets: 2,
      cpuThreads: 32,
      build: '24022510',
      cpuUsageMhz: 8000 + d * 100,
      memoryUsageMib: 65536,
      ...hostState(n),
    })) as CaptureInput['hosts'],
    datastores: [
      {
        key: 'ds-1',
        name: 'filling-ds',
        type: 'VMFS',
        capacityGib: 1000,
        freeGib: 500 - 10 * d,
        accessible: true,
        uncommittedGib: 200,
        url: 'ds:///vmfs/volumes/1/',
      },
      {
        key: 'ds-2',
        name: 'flat-ds',
        type: 'NFS',
        capacityGib: 2000,
        freeGib: 1800,
        accessible: true,
      },
    ] as CaptureInput['datastores'],
  });
  return {
    ...base,
    clusters: [{
      key: 'domain-c1',
      name: 'c1',
      datacenter: 'dc1',
      haEnabled: true,
      drsEnabled: true,
      drsBehavior: 'fullyAutomated',
    }] as CaptureInput['clusters'],
    networks: [
      { key: 'net-10', name: 'VM Network', kind: 'standard', switchName: 'vSwitch0', vlanId: 10 },
      { key: 'net-20', name: 'DMZ', kind: 'distributed', switchName: 'dvs-1', vlanId: 20 },
    ] as CaptureInput['networks'],
  };
}

/** Stores the ten captures through the ingest API; the source's id. */
export async function storeSiteEstate(t: TestApp): Promise<number> {
  let sourceId = 0;
  for (let d = 0; d < DAYS; d++) {
    const res = await t.call('/api/v1/captures', {
      ...json(siteCapture(d)),
      token: t.tokens.agent,
    });
    if (res.status !== 201) throw new Error(`capture ${d}: ${res.status} ${await res.text()}`);
    sourceId = (await readJson<{ sourceId: number }>(res)).sourceId;
  }
  return sourceId;
}
