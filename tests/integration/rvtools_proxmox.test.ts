/**
 * Proxmox rows in the RVTools workbook: the Proxmox VE fake captured by the real Proxmox
 * collector, the capture posted through the real ingest, the workbook requested as a CSV
 * zip, and every VM, disk, NIC, snapshot, node, storage and pool of the capture found in the
 * RVTools tabs with the capture's values (the collector's own reading of the fake is checked
 * by its suites; this one checks that the workbook shows all of it, and where).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Capture } from '../../agent/capture/schema.ts';
import { createProxmoxCollector } from '../../agent/collectors/proxmox/collector.ts';
import { ProxmoxSourceConfig } from '../../agent/config.ts';
import { createLogger } from '../../shared/log.ts';
import { createTestApp, json, type TestApp } from '../support/app.ts';
import { csvObjects } from '../support/csv.ts';
import {
  loadFixtureCluster,
  type ProxmoxFake,
  startProxmoxFake,
} from '../support/proxmox_fake/index.ts';
import { download, readZip, type ReportView } from './reports_fixture.ts';

const test = suite('rvtools: Proxmox rows');
const TOKEN = { id: 'vmledger@pve!collector', secret: '5b0e3c9e-3f9e-4a55-9d8b-2f6f1a7b9c01' };
const AT = new Date(1_700_100_000 * 1000);

let t: TestApp;
let fake: ProxmoxFake;
let capture: Capture;
let tabs: Map<string, Record<string, string>[]>;

test.before(async () => {
  t = await createTestApp('rvtools_proxmox');
  fake = await startProxmoxFake(loadFixtureCluster());
  const config = ProxmoxSourceConfig.parse({
    kind: 'proxmox',
    name: 'lab',
    url: fake.url,
    tokenId: TOKEN.id,
    tokenSecret: TOKEN.secret,
    timeoutSeconds: 30,
  });
  const collector = createProxmoxCollector(config, createLogger({ level: 'silent' }), {
    requestTimeoutMs: 5000,
  });
  capture = Capture.parse(
    await collector.capture({ signal: new AbortController().signal, since: null, at: AT }),
  );
  const stored = await t.call('/api/v1/captures', { ...json(capture), token: t.tokens.agent });
  assert.is(stored.status, 201, await stored.clone().text());
  const res = await t.call('/api/v1/rvtools', {
    ...json({ format: 'csv', wait: true }),
    token: t.tokens.admin,
  });
  const report: ReportView = await res.json();
  assert.is(res.status, 201, JSON.stringify(report));
  const files = readZip(await download(t, report));
  tabs = new Map(
    [...files].map(([name, buf]) => [name.replace(/\.csv$/, ''), csvObjects(buf.toString('utf8'))]),
  );
});

test.after(async () => {
  await fake?.close();
  await t?.close();
});

const rowsOf = (tab: string, vmid: string) => tabs.get(tab)!.filter((r) => r['VM ID'] === vmid);
const num = (s: string) => (s === '' ? null : Number(s));

test('the fixture has what the tabs need', () => {
  assert.ok(capture.vms.some((v) => v.disks.length > 1), 'a VM with several disks');
  assert.ok(capture.vms.some((v) => v.nics.length > 0), 'NICs');
  assert.ok(capture.vms.some((v) => v.snapshots.length > 0), 'snapshots');
  assert.ok(capture.hosts.length > 0 && capture.datastores.length > 0);
});

test('vInfo: every guest, with its size, place and Proxmox in the SDK columns', () => {
  const info = tabs.get('vInfo')!;
  assert.is(info.length, capture.vms.length);
  for (const vm of capture.vms) {
    const [row] = rowsOf('vInfo', vm.sourceVmId);
    assert.ok(row, `vInfo row of ${vm.sourceVmId}`);
    assert.equal(
      [
        row.VM,
        row.Powerstate,
        row.Template,
        Number(row.CPUs),
        Number(row.Memory),
        num(row.Disks),
        num(row.NICs),
        row.Host,
        row['VI SDK Server type'],
        row['VM key'],
      ],
      [
        vm.name,
        vm.powerState,
        String(vm.isTemplate),
        vm.vcpu,
        vm.memoryMib,
        vm.disks.length,
        vm.nics.length,
        vm.host ?? '',
        'Proxmox VE',
        vm.key,
      ],
      vm.sourceVmId,
    );
    assert.is(row['Network #1'], vm.nics[0]?.network ?? '');
    assert.is(row['HW version'], vm.hardware?.version ?? '');
  }
});

test('vDisk, vNetwork, vSnapshot: every disk, NIC and snapshot of every guest', () => {
  const datastoreName = new Map(capture.datastores.map((d) => [d.key, d.name]));
  for (const vm of capture.vms) {
    assert.equal(
      rowsOf('vDisk', vm.sourceVmId).map((
        r,
      ) => [r.Disk, num(r['Capacity MiB']), r['Disk Path'], r.Datastore]),
      vm.disks.map((d) => [
        d.label,
        d.capacityMib,
        d.file ?? '',
        d.datastore === null ? '' : datastoreName.get(d.datastore) ?? d.datastore,
      ]),
      `disks of ${vm.sourceVmId}`,
    );
    assert.equal(
      rowsOf('vNetwork', vm.sourceVmId).map((
        r,
      ) => [r['NIC label'], r['Mac Address'], r.Network, r.Adapter, num(r.VLAN)]),
      vm.nics.map((n) => [n.label, n.macAddress, n.network ?? '', n.adapterType ?? '', n.vlanId]),
      `NICs of ${vm.sourceVmId}`,
    );
    assert.equal(
      rowsOf('vSnapshot', vm.sourceVmId).map((r) => r.Name).sort(),
      vm.snapshots.map((s) => s.name).sort(),
      `snapshots of ${vm.sourceVmId}`,
    );
  }
});

test('vHost, vDatastore, vRP: nodes, storages and pools', () => {
  assert.equal(
    tabs.get('vHost')!.map((h) => h.Host).sort(),
    capture.hosts.map((h) => h.name).sort(),
  );
  for (const h of capture.hosts) {
    const row = tabs.get('vHost')!.find((r) => r.Host === h.name)!;
    assert.equal([num(row['# Cores']), row['CPU Model'], row['ESX Version']], [
      h.cpuCores,
      h.cpuModel ?? '',
      h.version ?? '',
    ]);
  }
  assert.equal(
    tabs.get('vDatastore')!.map((d) => d.Name).sort(),
    capture.datastores.map((d) => d.name).sort(),
  );
  assert.equal(
    tabs.get('vRP')!.map((p) => p['Resource Pool name']).sort(),
    capture.resourcePools.map((p) => p.name).sort(),
  );
  assert.equal(tabs.get('dvSwitch')!, [], 'no distributed switches on Proxmox');
});

test.run();
