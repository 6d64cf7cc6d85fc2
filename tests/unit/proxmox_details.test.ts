/**
 * Capture contract v2 from the Proxmox collector, against the Proxmox VE fake: VM disks,
 * NICs, CD-ROMs, snapshots, guest agent, hardware, HA; hosts, storages, the cluster, pools,
 * networks and usage — and what happens when one part of that fails.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Capture, type CaptureInput } from '../../agent/capture/schema.ts';
import {
  createProxmoxCollector,
  type ProxmoxCollectorOptions,
} from '../../agent/collectors/proxmox/collector.ts';
import type { Collector } from '../../agent/collectors/collector.ts';
import { ProxmoxSourceConfig } from '../../agent/config.ts';
import { createLogger } from '../../shared/log.ts';
import {
  deleteSnapshot,
  type FakeCluster,
  findGuest,
  loadFixtureCluster,
  type ProxmoxFake,
  setNode,
  startProxmoxFake,
  takeSnapshot,
} from '../support/proxmox_fake/index.ts';

const T0 = 1_700_100_000;
const GOOD = { id: 'vmledger@pve!collector', secret: '5b0e3c9e-3f9e-4a55-9d8b-2f6f1a7b9c01' };
const NO_AGENT = { id: 'vmledger@pve!noagent', secret: '0c1d2e3f-0000-4000-8000-000000000005' };

type Ctx = { fake: ProxmoxFake; model: FakeCluster; collector: Collector };
const open: ProxmoxFake[] = [];

async function setup(
  options: {
    mutate?: (m: FakeCluster) => void;
    token?: { id: string; secret: string };
    collector?: ProxmoxCollectorOptions;
  } = {},
): Promise<Ctx> {
  const model = loadFixtureCluster();
  options.mutate?.(model);
  const fake = await startProxmoxFake(model);
  open.push(fake);
  const token = options.token ?? GOOD;
  const config = ProxmoxSourceConfig.parse({
    kind: 'proxmox',
    name: 'lab',
    url: fake.url,
    tokenId: token.id,
    tokenSecret: token.secret,
    timeoutSeconds: 30,
  });
  const collector = createProxmoxCollector(config, createLogger({ level: 'silent' }), {
    // No slow nodes here: a generous limit keeps a busy machine from failing a node.
    requestTimeoutMs: 3000,
    ...options.collector,
  });
  return { fake, model, collector };
}

async function captureAt(collector: Collector, sec: number, sinceSec: number | null = null) {
  const raw: CaptureInput = await collector.capture({
    signal: new AbortController().signal,
    since: sinceSec == null ? null : new Date(sinceSec * 1000),
    at: new Date(sec * 1000),
  });
  return Capture.parse(raw); // the wire contract holds for every capture
}

const byVmid = (c: Capture, vmid: number) => c.vms.find((v) => v.sourceVmId === String(vmid))!;
const iso = (sec: number) => new Date(sec * 1000).toISOString();
const snapshotReads = (fake: ProxmoxFake) =>
  fake.requests.filter((r) => r.path.endsWith('/snapshot')).map((r) => r.path);

const test = suite('proxmox collector: v2 details');

test.after.each(async () => {
  while (open.length) await open.pop()!.close();
});

test('a QEMU VM: disks with datastore keys, NICs by MAC, CD-ROM, snapshots, agent facts, hardware, HA', async () => {
  const { collector } = await setup();
  const c = await captureAt(collector, T0);
  assert.is(c.complete, true, c.errors.join('; '));
  const db = byVmid(c, 100);

  assert.equal(
    db.disks.map((d) => [d.label, d.capacityMib, d.datastore, d.controller, d.unitNumber]),
    [
      ['efidisk0', 4, 'pve-lab:storage:ceph-rbd', 'efi', null],
      ['scsi0', 32768, 'pve-lab:storage:ceph-rbd', 'scsi (virtio-scsi-single)', 0],
      ['scsi1', 204800, 'pve-lab:storage:ceph-rbd', 'scsi (virtio-scsi-single)', 1],
    ],
  );
  assert.equal(db.disks[1], {
    label: 'scsi0',
    capacityMib: 32768,
    provisioning: 'thin',
    datastore: 'pve-lab:storage:ceph-rbd',
    controller: 'scsi (virtio-scsi-single)',
    unitNumber: 0,
    file: 'ceph-rbd:vm-100-disk-0',
    mode: null,
    inBackup: true,
  });
  assert.is(db.disks[2].inBackup, false, 'backup=0');
  const keys = new Set(c.datastores.map((d) => d.key));
  for (const vm of c.vms) {
    for (const d of vm.disks) assert.ok(d.datastore === null || keys.has(d.datastore), d.label);
  }

  assert.equal(db.nics, [
    {
      label: 'net0',
      macAddress: 'BC:24:11:5E:00:64',
      network: 'vmbr0',
      networkKey: 'pve-lab:net:bridge:vmbr0',
      adapterType: 'virtio',
      connected: true,
      startConnected: true,
      vlanId: null,
      firewall: true,
      ipAddresses: ['10.20.0.100', '2001:db8:20::100'],
    },
    {
      label: 'net1',
      macAddress: 'BC:24:11:5E:01:64',
      network: 'vmbr1',
      networkKey: 'pve-lab:net:vlan:vmbr1.20',
      adapterType: 'e1000',
      connected: false,
      startConnected: false,
      vlanId: 20,
      firewall: false,
      ipAddresses: [],
    },
  ]);
  assert.equal(db.cdroms, [{
    label: 'ide2',
    connected: null,
    startConnected: null,
    deviceType: 'iso',
    file: 'local:iso/debian-12.5.0-amd64-netinst.iso',
  }]);

  assert.equal(db.snapshots, [
    {
      id: 'pre-upgrade',
      name: 'pre-upgrade',
      description: 'before PostgreSQL 16',
      createdAt: iso(1695000000),
      parentId: null,
      quiesced: null,
      powerState: 'poweredOff',
      sizeMib: null,
      current: false,
    },
    {
      id: 'post-upgrade',
      name: 'post-upgrade',
      description: null,
      createdAt: iso(1696000000),
      parentId: 'pre-upgrade',
      quiesced: null,
      powerState: 'poweredOn',
      sizeMib: null,
      current: true,
    },
  ], 'the `current` pseudo-entry is not a snapshot; its parent is the current one');

  assert.equal(db.tools, {
    status: 'toolsOk',
    runningStatus: 'guestToolsRunning',
    version: '7.2.11',
    versionStatus: null,
    upgradePolicy: null,
  });
  assert.equal(db.guest, {
    hostName: 'db01.lab.example',
    state: 'running',
    os: 'Debian GNU/Linux 12 (bookworm)',
    ipAddress: '10.20.0.100',
    disks: [
      { path: '/', capacityMib: 31744, freeMib: 23552, fileSystem: 'ext4' },
      { path: '/srv/bind', capacityMib: 204800, freeMib: 102400, fileSystem: 'xfs' },
      { path: '/var/lib/postgresql', capacityMib: 204800, freeMib: 102400, fileSystem: 'xfs' },
    ],
  }, 'tmpfs left out');
  assert.equal(db.hardware, {
    version: 'pc',
    firmware: 'bios',
    coresPerSocket: 4,
    sockets: 2,
    cpuHotAdd: true,
    memoryHotAdd: true,
    cpuReservationMhz: null,
    cpuLimitMhz: 11600,
    cpuShares: 200,
    cpuSharesLevel: null,
    memoryReservationMib: 8192,
    memoryLimitMib: null,
    memoryShares: null,
    memorySharesLevel: null,
  }, 'cpulimit 4 cores × 2900 MHz; balloon 8192 is the floor');
  assert.equal(db.labels, [{ category: null, name: 'db' }, { category: null, name: 'prod' }]);
  assert.equal(db.tags, ['db', 'prod']);
  assert.is(db.haRestartPriority, 'started');
  assert.is(db.configFile, '/etc/pve/nodes/pve1/qemu-server/100.conf');
  assert.is(db.connectionState, 'connected');
  assert.is(db.bootTime, iso(T0 - 864000));
  assert.is(db.consolidationNeeded, null);

  const win = byVmid(c, 102);
  assert.equal(
    [
      win.hardware!.version,
      win.hardware!.firmware,
      win.hardware!.cpuHotAdd,
      win.hardware!.cpuLimitMhz,
    ],
    ['pc-q35-8.1', 'efi', false, -1],
  );
  assert.equal(
    [win.tools!.status, win.tools!.runningStatus, win.guest!.state],
    ['toolsNotRunning', 'guestToolsNotRunning', 'notRunning'],
    'agent configured, not answering',
  );
  assert.is(win.haRestartPriority, 'disabled', 'not an HA resource');
  assert.equal(win.disks.map((d) => d.controller), ['efi', 'sata', 'tpm']);

  const build = byVmid(c, 101);
  assert.is(build.tools!.status, 'toolsNotInstalled', 'no `agent: 1` in the config');
  assert.is(build.guest, null);
  assert.is(build.bootTime, null, 'stopped');
  assert.equal(build.cdroms.map((d) => [d.deviceType, d.file]), [['none', null]]);
  assert.equal(byVmid(c, 103).cdroms.map((d) => [d.deviceType, d.file]), [['host', null]]);

  const web = byVmid(c, 104);
  assert.equal(web.nics.map((n) => n.label), ['net0'], 'net1 has no MAC: left out');
  assert.is(web.guest!.os, 'Ubuntu 24.04 LTS');
  assert.is(web.guest!.hostName, 'web01', 'agent host name');
  assert.is(web.disks[0].datastore, 'pve-lab:storage:pve3/local-lvm', 'local storage of its node');
});

test('an LXC container: rootfs and mount-point volumes, bind mount left out, NIC tag, firewall, vnet, snapshot, HA', async () => {
  const { collector } = await setup();
  const c = await captureAt(collector, T0);
  const dns = byVmid(c, 200);
  assert.equal(dns.disks, [
    {
      label: 'mp0',
      capacityMib: 20480,
      provisioning: 'thin',
      datastore: 'pve-lab:storage:pve1/local-lvm',
      controller: null,
      unitNumber: 0,
      file: 'local-lvm:vm-200-disk-1',
      mode: null,
      inBackup: true,
    },
    {
      label: 'rootfs',
      capacityMib: 8192,
      provisioning: 'thin',
      datastore: 'pve-lab:storage:pve1/local-lvm',
      controller: null,
      unitNumber: null,
      file: 'local-lvm:vm-200-disk-0',
      mode: null,
      inBackup: true,
    },
  ]);
  assert.equal(dns.nics, [{
    label: 'net0',
    macAddress: 'BC:24:11:5E:00:C8',
    network: 'vmbr0',
    networkKey: 'pve-lab:net:vlan:vmbr0.30',
    adapterType: 'veth',
    connected: true,
    startConnected: true,
    vlanId: 30,
    firewall: true,
    ipAddresses: ['10.20.0.200'],
  }]);
  assert.equal(dns.snapshots.map((s) => [s.id, s.parentId, s.current, s.description]), [
    ['before-bind-9.18', null, true, null],
  ]);
  assert.is(dns.tools, null, 'no guest agent in a container');
  assert.equal(dns.guest, {
    hostName: 'dns01',
    state: 'running',
    os: null,
    ipAddress: '10.20.0.200',
    disks: [],
  });
  assert.is(dns.hardware!.sockets, null);
  assert.is(dns.hardware!.coresPerSocket, null);
  assert.is(dns.haRestartPriority, 'started', 'ct:200');
  assert.is(dns.configFile, '/etc/pve/nodes/pve1/lxc/200.conf');
  assert.is(byVmid(c, 201).nics[0].networkKey, 'pve-lab:net:sdn:vnet10');
});

test('hosts, storages, the cluster, pools, networks and usage', async () => {
  const { collector } = await setup();
  const c = await captureAt(collector, T0);
  const pve1 = c.hosts[0];
  assert.equal(
    [
      pve1.connectionState,
      pve1.powerState,
      pve1.cpuModel,
      pve1.cpuSockets,
      pve1.cpuCores,
      pve1.cpuThreads,
      pve1.cpuMhz,
      pve1.build,
      pve1.maintenanceMode,
      pve1.bootTime,
      pve1.cpuUsageMhz,
      pve1.memoryUsageMib,
    ],
    [
      'connected',
      'poweredOn',
      'Intel(R) Xeon(R) Gold 6226R CPU @ 2.90GHz',
      2,
      32,
      64,
      2900,
      '6.8.8-2-pve',
      false,
      iso(T0 - 2000000),
      Math.round(0.12 * 32 * 2900),
      Math.round(262144 * 0.35),
    ],
  );
  assert.equal(pve1.switches, [
    { name: 'vmbr0', ports: null, mtu: 9000, uplinks: ['bond0'] },
    { name: 'vmbr1', ports: null, mtu: null, uplinks: ['eno3'] },
  ]);
  assert.equal(pve1.nics.map((n) => [n.device, n.linkUp, n.switchName]), [
    ['eno1', true, 'vmbr0'],
    ['eno2', true, 'vmbr0'],
    ['eno3', false, 'vmbr1'],
    ['bond0', true, 'vmbr0'],
  ], 'bond members belong to the bond’s bridge');

  const ceph = c.datastores.find((d) => d.key === 'pve-lab:storage:ceph-rbd')!;
  assert.equal(
    [ceph.type, ceph.shared, ceph.content, ceph.url, ceph.hostNames, ceph.vmCount],
    ['rbd', true, 'images,rootdir', 'rbd:vm-pool', ['pve1', 'pve2', 'pve3'], 4],
  );
  const nfs = c.datastores.find((d) => d.key === 'pve-lab:storage:nfs-iso')!;
  assert.equal(
    [nfs.url, nfs.hostNames, nfs.accessible],
    ['nfs://10.10.0.5/export/pve', ['pve1', 'pve2'], true],
    'inactive on pve3: not among its hosts',
  );
  const lvm1 = c.datastores.find((d) => d.key === 'pve-lab:storage:pve1/local-lvm')!;
  assert.equal([lvm1.url, lvm1.hostNames, lvm1.vmCount], ['lvm:pve/data', ['pve1'], 2]);

  assert.equal(c.clusters, [{
    key: 'pve-lab:cluster',
    name: 'pve-lab',
    datacenter: null,
    haEnabled: true,
    drsEnabled: null,
    drsBehavior: null,
    hostCount: 3,
    effectiveHostCount: 3,
    cpuCores: 80,
    cpuThreads: 160,
    totalCpuMhz: 32 * 2900 * 2 + 16 * 3100,
    effectiveCpuMhz: 32 * 2900 * 2 + 16 * 3100,
    totalMemoryMib: 655360,
    effectiveMemoryMib: 655360,
  }]);
  assert.equal(
    c.resourcePools.map((p) => [p.key, p.name, p.comment, p.vmCount]),
    [
      ['pve-lab:pool:dev', 'dev', 'Development', 2],
      ['pve-lab:pool:prod', 'prod', 'Production (charged to IT-OPS)', 3],
    ],
  );
  assert.equal(c.networks.map((n) => [n.key, n.kind, n.switchName, n.vlanId, n.vmCount]), [
    ['pve-lab:net:bridge:vmbr0', 'bridge', 'vmbr0', null, 4],
    ['pve-lab:net:bridge:vmbr1', 'bridge', 'vmbr1', null, 0],
    ['pve-lab:net:sdn:vnet10', 'sdn', 'evpn1', 10010, 1],
    ['pve-lab:net:vlan:vmbr0.30', 'vlan', 'vmbr0', 30, 1],
    ['pve-lab:net:vlan:vmbr0.50', 'vlan', 'vmbr0', 50, 0],
    ['pve-lab:net:vlan:vmbr1.20', 'vlan', 'vmbr1', 20, 1],
  ]);
  const nets = new Set(c.networks.map((n) => n.key));
  for (const vm of c.vms) for (const n of vm.nics) assert.ok(nets.has(n.networkKey!), n.label);

  assert.equal(c.usage.find((u) => u.key === byVmid(c, 100).key), {
    key: 'pve-lab:100:1690000000',
    cpuUsageMhz: Math.round(0.0731 * 8 * 2900),
    guestMemoryMib: 12288,
    hostMemoryMib: null,
  });
  assert.is(c.usage.length, c.vms.length);
  const text = JSON.stringify(c.vms);
  assert.not.match(text, /cpuUsageMhz|guestMemoryMib/, 'usage is not in the VM records');
});

test('an unchanged VM is the same JSON text in the next capture while its usage moves', async () => {
  const { collector, model } = await setup();
  const first = await captureAt(collector, T0);
  findGuest(model, 100).cpu = 0.5;
  findGuest(model, 100).memUsedBytes = 4 * 1024 ** 3;
  // Uptime as a real clock would report it 30 s later, a second off: boot time holds still.
  for (const g of model.guests) if (g.uptime) g.uptime += 31;
  const second = await captureAt(collector, T0 + 30, T0);
  assert.is(second.complete, true, second.errors.join('; '));
  for (const vm of first.vms) {
    assert.is(
      JSON.stringify(byVmid(second, Number(vm.sourceVmId))),
      JSON.stringify(vm),
      vm.sourceVmId,
    );
  }
  const usage = second.usage.find((u) => u.key === 'pve-lab:100:1690000000')!;
  assert.equal([usage.cpuUsageMhz, usage.guestMemoryMib], [Math.round(0.5 * 8 * 2900), 4096]);

  // A reboot: uptime starts again, so the boot time moves.
  findGuest(model, 104).uptime = 60;
  const third = await captureAt(collector, T0 + 3600, T0 + 30);
  assert.is(byVmid(third, 104).bootTime, iso(T0 + 3600 - 60));
});

test('snapshots are asked only where the config names a parent, again only when its digest moves', async () => {
  const { collector, model, fake } = await setup();
  await captureAt(collector, T0);
  assert.equal(snapshotReads(fake).sort(), [
    '/nodes/pve1/lxc/200/snapshot',
    '/nodes/pve1/qemu/100/snapshot',
  ]);
  fake.resetRequests();
  await captureAt(collector, T0 + 60, T0);
  assert.equal(snapshotReads(fake), [], 'unchanged configs: no snapshot reads');

  takeSnapshot(model, 104, { name: 'before-kernel', at: T0 + 100, description: 'patch night' });
  takeSnapshot(model, 104, { name: 'after-kernel', at: T0 + 110, vmstate: true });
  deleteSnapshot(model, 100, 'pre-upgrade', T0 + 120);
  fake.resetRequests();
  const c = await captureAt(collector, T0 + 180, T0 + 60);
  assert.equal(snapshotReads(fake).sort(), [
    '/nodes/pve1/qemu/100/snapshot',
    '/nodes/pve3/qemu/104/snapshot',
  ], 'the snapshot tasks moved both configs');
  assert.equal(
    byVmid(c, 104).snapshots.map((s) => [s.id, s.parentId, s.current, s.powerState]),
    [['before-kernel', null, false, 'poweredOff'], [
      'after-kernel',
      'before-kernel',
      true,
      'poweredOn',
    ]],
  );
  assert.equal(byVmid(c, 100).snapshots.map((s) => [s.id, s.parentId]), [['post-upgrade', null]]);

  deleteSnapshot(model, 100, 'post-upgrade', T0 + 200);
  fake.resetRequests();
  const none = await captureAt(collector, T0 + 240, T0 + 180);
  assert.equal(byVmid(none, 100).snapshots, []);
  assert.equal(snapshotReads(fake), [], 'no parent left: nothing to ask');
});

test('the snapshot API failing for one VM: its last known snapshots, the capture incomplete naming it', async () => {
  const { collector, model } = await setup();
  const first = await captureAt(collector, T0);
  takeSnapshot(model, 100, { name: 'third', at: T0 + 100 });
  findGuest(model, 100).snapshotFails = true;
  const c = await captureAt(collector, T0 + 180, T0);
  assert.is(c.complete, false);
  assert.ok(c.errors.some((e) => /snapshots of qemu 100 on pve1/.test(e)), c.errors.join('; '));
  assert.equal(byVmid(c, 100).snapshots, byVmid(first, 100).snapshots);
  assert.is(byVmid(c, 200).snapshots.length, 1, 'other guests unaffected');

  const fresh = await setup({ mutate: (m) => void (findGuest(m, 100).snapshotFails = true) });
  const c2 = await captureAt(fresh.collector, T0);
  assert.is(c2.complete, false);
  assert.equal(byVmid(c2, 100).snapshots, [], 'nothing known yet');
});

test('a token without VM.Monitor: Tools and guest state unknown, not "not running"; the capture stays complete', async () => {
  const { collector, fake } = await setup({ token: NO_AGENT });
  const c = await captureAt(collector, T0);
  assert.is(c.complete, true, c.errors.join('; '));
  const db = byVmid(c, 100);
  assert.equal([db.tools!.status, db.tools!.runningStatus, db.guest!.state], [null, null, null]);
  assert.equal(db.ipAddresses, []);
  assert.is(byVmid(c, 101).tools!.status, 'toolsNotInstalled', 'known from the config');
  assert.ok(
    fake.requests.some((r) => r.path.endsWith('/agent/network-get-interfaces') && r.status === 403),
  );
  assert.not.ok(
    fake.requests.some((r) => r.path.endsWith('/agent/get-fsinfo')),
    'one refused call per guest',
  );
  const r = await collector.check(new AbortController().signal);
  assert.is(r.ok, true, 'captures are complete without it');
  assert.match(r.message, /guest agents not readable \(no VM\.Monitor/);
  const good = await (await setup()).collector.check(new AbortController().signal);
  assert.not.match(good.message, /guest agents not readable/);
});

test('optional cluster reads failing: their fields are null, the last answer is kept, the capture stays complete', async () => {
  const { collector, model } = await setup({
    mutate: (m) => {
      m.failing = ['/cluster/ha/resources', '/storage', '/cluster/ha/status/manager_status'];
    },
  });
  const c = await captureAt(collector, T0);
  assert.is(c.complete, true, c.errors.join('; '));
  assert.is(byVmid(c, 100).haRestartPriority, null);
  assert.is(c.clusters[0].haEnabled, null);
  assert.is(c.hosts[0].maintenanceMode, null);
  assert.is(c.datastores[0].url, null);
  assert.is(byVmid(c, 100).disks[0].provisioning, 'thin', 'rbd is thin whatever its config');

  model.failing = [];
  model.haNodeStatus = { pve1: 'online', pve2: 'maintenance', pve3: 'online' };
  const ok = await captureAt(collector, T0 + 60, T0);
  assert.is(byVmid(ok, 100).haRestartPriority, 'started');
  assert.equal(ok.hosts.map((h) => h.maintenanceMode), [false, true, false]);
  model.failing = ['/cluster/ha/resources'];
  const again = await captureAt(collector, T0 + 120, T0 + 60);
  assert.is(byVmid(again, 100).haRestartPriority, 'started', 'last answer kept');
});

test('a node whose interfaces cannot be read: no host NICs or switches, its bridges still known from the guests', async () => {
  const { collector } = await setup({
    mutate: (m) => {
      for (const n of m.nodes) n.networkFails = true;
    },
  });
  const c = await captureAt(collector, T0);
  assert.is(c.complete, true, c.errors.join('; '));
  assert.equal([c.hosts[0].nics, c.hosts[0].switches], [[], []]);
  assert.is(c.hosts[0].cpuModel, 'Intel(R) Xeon(R) Gold 6226R CPU @ 2.90GHz', 'status still read');
  const vmbr0 = c.networks.find((n) => n.key === 'pve-lab:net:bridge:vmbr0')!;
  assert.equal([vmbr0.kind, vmbr0.hostNames, vmbr0.vmCount], [
    'bridge',
    ['pve1', 'pve2', 'pve3'],
    4,
  ]);
  assert.is(
    c.networks.find((n) => n.name === 'vmbr0.50'),
    undefined,
    'a node-only VLAN is unknown',
  );
  const nets = new Set(c.networks.map((n) => n.key));
  for (const vm of c.vms) for (const n of vm.nics) assert.ok(nets.has(n.networkKey!), n.label);
});

test('a node down: its guests disconnected with last known details, host not responding, cluster counts it out', async () => {
  const { collector, model } = await setup();
  const first = await captureAt(collector, T0);
  setNode(model, 'pve3', { online: false });
  const c = await captureAt(collector, T0 + 60, T0);
  assert.is(c.complete, false);
  const web = byVmid(c, 104);
  assert.is(web.connectionState, 'disconnected');
  assert.equal(web.disks, byVmid(first, 104).disks);
  assert.equal(web.nics, byVmid(first, 104).nics);
  const pve3 = c.hosts.find((h) => h.name === 'pve3')!;
  assert.equal(
    [pve3.connectionState, pve3.powerState, pve3.cpuUsageMhz, pve3.bootTime],
    ['notResponding', null, null, null],
  );
  assert.equal(
    [c.clusters[0].hostCount, c.clusters[0].effectiveHostCount],
    [3, 2],
  );
  assert.is(c.clusters[0].effectiveMemoryMib, 524288);
});

test.run();
