/**
 * The Proxmox collector against the in-process Proxmox VE fake (tests/support/proxmox_fake):
 * a three-node cluster from tests/fixtures/proxmox/cluster.json, mutated between captures.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Capture, type CaptureInput } from '../../agent/capture/schema.ts';
import {
  createProxmoxCollector,
  type ProxmoxCollectorOptions,
} from '../../agent/collectors/proxmox/collector.ts';
import { type Collector, CollectorError } from '../../agent/collectors/collector.ts';
import { ProxmoxSourceConfig } from '../../agent/config.ts';
import { createLogger } from '../../shared/log.ts';
import {
  addTask,
  createGuest,
  destroyGuest,
  type FakeCluster,
  findGuest,
  loadFixtureCluster,
  type ProxmoxFake,
  setNode,
  startProxmoxFake,
  updateGuestConfig,
} from '../support/proxmox_fake/index.ts';

const T0 = 1_700_100_000; // after every task in the fixture
const GOOD = { id: 'vmledger@pve!collector', secret: '5b0e3c9e-3f9e-4a55-9d8b-2f6f1a7b9c01' };
const NO_ACL = { id: 'vmledger@pve!noacl', secret: '0c1d2e3f-0000-4000-8000-000000000002' };
const NODES_ONLY = { id: 'vmledger@pve!nodesonly', secret: '0c1d2e3f-0000-4000-8000-000000000003' };

type Ctx = { fake: ProxmoxFake; model: FakeCluster; collector: Collector };
const open: ProxmoxFake[] = [];

async function setup(
  options: {
    mutate?: (m: FakeCluster) => void;
    token?: { id: string; secret: string };
    collector?: ProxmoxCollectorOptions;
    urlSuffix?: string;
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
    url: fake.url + (options.urlSuffix ?? ''),
    tokenId: token.id,
    tokenSecret: token.secret,
    timeoutSeconds: 30,
  });
  // A request that answers does so within the timeout even on a machine the rest of the suite
  // keeps busy (at 300 ms, a healthy /version once timed out there); the tests about a node
  // that hangs or is slow set their own, shorter one.
  const collector = createProxmoxCollector(config, createLogger({ level: 'silent' }), {
    requestTimeoutMs: 5000,
    ...options.collector,
  });
  return { fake, model, collector };
}

async function captureAt(
  collector: Collector,
  sec: number,
  sinceSec: number | null = null,
): Promise<Capture> {
  const raw: CaptureInput = await collector.capture({
    signal: new AbortController().signal,
    since: sinceSec == null ? null : new Date(sinceSec * 1000),
    at: new Date(sec * 1000),
  });
  return Capture.parse(raw); // the wire contract holds for every capture
}

const byVmid = (c: Capture, vmid: number) => c.vms.find((v) => v.sourceVmId === String(vmid));
const iso = (sec: number) => new Date(sec * 1000).toISOString();

const test = suite('proxmox collector');

test.after.each(async () => {
  while (open.length) await open.pop()!.close();
});

test('multi-node cluster: source, keys, sizes, guest facts, hosts, datastores', async () => {
  const { collector, fake } = await setup();
  const c = await captureAt(collector, T0);
  assert.is(c.complete, true, c.errors.join('; '));
  assert.equal(c.source, {
    kind: 'proxmox',
    id: 'pve-lab',
    name: 'lab',
    endpoint: fake.url,
    version: '8.2.4',
  });
  assert.equal(c.vms.map((v) => v.key).sort(), [
    'pve-lab:100:1690000000',
    'pve-lab:101:1695000000',
    'pve-lab:102:1698000000',
    'pve-lab:103:1680000000',
    'pve-lab:104:1699000000',
    'pve-lab:200:1699999968',
    'pve-lab:201:0',
    'pve-lab:202:0',
  ]);

  const db = byVmid(c, 100)!;
  assert.is(db.name, 'db01');
  assert.is(db.powerState, 'poweredOn');
  assert.is(db.vcpu, 8);
  assert.is(db.memoryMib, 16384);
  assert.is(db.provisionedDiskGib, 232.004, '32G + 200G + 4M efidisk; the cdrom is not a disk');
  assert.is(db.usedDiskGib, 108, 'guest agent fsinfo: sda1 + sdb1 once, tmpfs excluded');
  assert.equal(db.ipAddresses, ['10.20.0.100', '2001:db8:20::100']);
  assert.equal(db.tags, ['db', 'prod']);
  assert.is(db.resourcePool, 'prod');
  assert.is(db.host, 'pve1');
  assert.is(db.cluster, 'pve-lab');
  assert.is(db.guestOs, 'l26');
  assert.is(db.biosUuid, '6c1a7d0e-59f2-4c3e-8b1f-2f0d3a9e1001');
  assert.is(db.annotation, 'PostgreSQL primary (ticket OPS-1432)');
  assert.is(db.createdAt, iso(1690000000));

  const win = byVmid(c, 102)!;
  assert.equal(win.ipAddresses, [], 'agent configured but not running');
  assert.is(win.usedDiskGib, null, 'never disk=0 from /cluster/resources');
  assert.is(win.provisionedDiskGib, 100.004);
  assert.is(byVmid(c, 101)!.usedDiskGib, null);
  assert.is(byVmid(c, 101)!.powerState, 'poweredOff');
  assert.is(byVmid(c, 103)!.isTemplate, true);

  const dns = byVmid(c, 200)!;
  assert.is(dns.provisionedDiskGib, 28, 'rootfs 8G + mp0 20G; the bind mount is not provisioned');
  assert.is(dns.usedDiskGib, 2);
  assert.equal(dns.ipAddresses, ['10.20.0.200']);
  assert.is(dns.createdAt, iso(1699999968), 'LXC creation time from the vzcreate task');
  assert.is(byVmid(c, 202)!.createdAt, null, 'a failed vzcreate is not a creation');
  assert.is(byVmid(c, 202)!.memoryMib, 256);

  assert.equal(c.hosts.map((h) => [h.name, h.connectionState, h.cpuCores, h.cpuMhz]), [
    ['pve1', 'connected', 32, 2900],
    ['pve2', 'connected', 32, 2900],
    ['pve3', 'connected', 16, 3100],
  ]);
  assert.is(c.hosts[2].version, 'pve-manager/8.2.2/cb7a8a8b4d1f0a41');
  assert.is(
    c.datastores.length,
    8,
    'shared ceph-rbd and nfs-iso once, local and local-lvm per node',
  );
  const ceph = c.datastores.find((d) => d.key === 'pve-lab:storage:ceph-rbd')!;
  assert.is(ceph.capacityGib, 10240);
  assert.is(ceph.freeGib, 7168);
  assert.ok(c.events.some((e) => e.type === 'created' && e.vmKey === 'pve-lab:200:1699999968'));
});

test('check: good token reports the cluster and what it sees', async () => {
  const { collector } = await setup();
  const r = await collector.check(new AbortController().signal);
  assert.is(r.ok, true, r.message);
  assert.match(r.message, /cluster pve-lab, 3 node\(s\)/);
  assert.match(r.message, /sees 8 guest/);
});

test('bad token: 401 → CollectorError auth, check not ok', async () => {
  const { collector } = await setup({ token: { id: GOOD.id, secret: 'wrong' } });
  try {
    await captureAt(collector, T0);
    assert.unreachable('capture should fail');
  } catch (err) {
    assert.instance(err, CollectorError);
    assert.is((err as CollectorError).code, 'auth');
    assert.match((err as Error).message, /rejected API token vmledger@pve!collector \(401\)/);
    assert.not.match((err as Error).message, /wrong/, 'the secret is never echoed');
  }
  const r = await collector.check(new AbortController().signal);
  assert.is(r.ok, false);
  assert.match(r.message, /401/);
});

test('privilege-separated token without PVEAuditor: check says so, capture refuses to report an empty fleet', async () => {
  for (const token of [NO_ACL, NODES_ONLY]) {
    const { collector } = await setup({ token });
    const r = await collector.check(new AbortController().signal);
    assert.is(r.ok, false, token.id);
    assert.match(r.message, /empty lists, not 403/);
    assert.match(r.message, /PVEAuditor/);
    assert.match(r.message, /VM\.Audit/);
    try {
      await captureAt(collector, T0);
      assert.unreachable('capture should fail');
    } catch (err) {
      assert.instance(err, CollectorError);
      assert.is((err as CollectorError).code, 'permission');
    }
    while (open.length) await open.pop()!.close();
  }
});

test('one node offline: complete:false naming it, its VMs kept with last known data, nothing deleted', async () => {
  const { collector, model } = await setup();
  const first = await captureAt(collector, T0);
  setNode(model, 'pve3', { online: false });
  const second = await captureAt(collector, T0 + 3600, T0);
  assert.is(second.complete, false);
  assert.ok(
    second.errors.some((e) => /node pve3/.test(e) && /offline/.test(e)),
    second.errors.join('; '),
  );
  assert.equal(
    second.vms.map((v) => v.key).sort(),
    first.vms.map((v) => v.key).sort(),
    'same VMs, same keys',
  );
  const web = byVmid(second, 104)!;
  assert.equal(
    web,
    { ...byVmid(first, 104)!, connectionState: 'disconnected' },
    'last known data, marked disconnected',
  );
  assert.is(byVmid(first, 104)!.connectionState, 'connected');
  assert.not.ok(second.usage.some((u) => u.key === web.key), 'no usage for an unreachable VM');
  assert.equal(second.events.filter((e) => e.type === 'deleted'), []);
  assert.is(second.hosts.find((h) => h.name === 'pve3')!.connectionState, 'notResponding');
});

/** The request timeout of the tests about a node that hangs or answers too late. */
const SHORT_TIMEOUT = { collector: { requestTimeoutMs: 1000 } };

test('node offline (hanging) on a first capture: unseen VMs left out, capture incomplete, no hang', async () => {
  const { collector, model } = await setup(SHORT_TIMEOUT);
  setNode(model, 'pve3', { online: false, offlineMode: 'hang' });
  const t = Date.now();
  const c = await captureAt(collector, T0);
  assert.ok(Date.now() - t < 3000);
  assert.is(c.complete, false);
  assert.ok(
    c.errors.some((e) => /node pve3/.test(e) && /104/.test(e) && /201/.test(e)),
    c.errors.join('; '),
  );
  assert.is(byVmid(c, 104), undefined);
  assert.is(c.vms.length, 6);
});

test('slow node beyond the request timeout: capture finishes, complete:false naming the node', async () => {
  const { collector, model } = await setup(SHORT_TIMEOUT);
  setNode(model, 'pve2', { delayMs: 5000 });
  const t = Date.now();
  const c = await captureAt(collector, T0);
  const took = Date.now() - t;
  assert.ok(took < 4500, `took ${took} ms`);
  assert.is(c.complete, false);
  assert.ok(
    c.errors.some((e) => /node pve2/.test(e) && /did not answer within 1000 ms/.test(e)),
    c.errors.join('; '),
  );
  assert.equal(
    c.vms.map((v) => Number(v.sourceVmId)).sort(),
    [100, 101, 104, 200, 201],
    'pve2 guests unseen, so left out',
  );
});

test('slow node after a full capture: unchanged guests need nothing from it; a changed one is kept and flagged', async () => {
  const { collector, model } = await setup(SHORT_TIMEOUT);
  const first = await captureAt(collector, T0);
  setNode(model, 'pve2', { delayMs: 5000 });
  const quiet = await captureAt(collector, T0 + 60, T0);
  assert.is(quiet.complete, true, 'cached configs: the slow node is not asked');
  updateGuestConfig(model, 102, { memory: '12288' }); // shows as maxmem in /cluster/resources
  const changed = await captureAt(collector, T0 + 120, T0 + 60);
  assert.is(changed.complete, false);
  assert.ok(changed.errors.some((e) => /node pve2/.test(e)), changed.errors.join('; '));
  assert.is(byVmid(changed, 102)!.key, byVmid(first, 102)!.key);
  assert.is(byVmid(changed, 102)!.memoryMib, 8192, 'last known config until the node answers');
});

test('vmid reused after delete: new key, deleted event for the old one, created for the new', async () => {
  const { collector, model } = await setup();
  const first = await captureAt(collector, T0);
  const old = findGuest(model, 100);
  destroyGuest(model, 100, T0 + 100);
  createGuest(model, {
    ...old,
    config: { ...old.config, name: 'db01-new', scsi1: 'ceph-rbd:vm-100-disk-1,size=50G' },
  }, T0 + 200);
  destroyGuest(model, 201, T0 + 110);
  createGuest(model, {
    vmid: 201,
    type: 'lxc',
    node: 'pve3',
    status: 'running',
    config: { hostname: 'proxy02', memory: 512, rootfs: 'ceph-rbd:vm-201-disk-0,size=2G' },
  }, T0 + 210);

  const second = await captureAt(collector, T0 + 300, T0);
  assert.is(second.complete, true, second.errors.join('; '));
  assert.is(byVmid(first, 100)!.key, 'pve-lab:100:1690000000');
  assert.is(byVmid(second, 100)!.key, `pve-lab:100:${T0 + 200}`);
  assert.is(byVmid(second, 100)!.provisionedDiskGib, 82.004);
  assert.is(byVmid(second, 100)!.createdAt, iso(T0 + 200));
  assert.is(
    byVmid(second, 201)!.key,
    `pve-lab:201:${T0 + 210}`,
    'LXC generation from the new vzcreate',
  );

  const deleted = second.events.filter((e) => e.type === 'deleted');
  assert.equal(deleted.map((e) => [e.vmKey, e.sourceVmId, e.vmName, e.at]), [
    ['pve-lab:100:1690000000', '100', 'db01', iso(T0 + 102)],
    ['pve-lab:201:0', '201', 'proxy01', iso(T0 + 112)],
  ]);
  const created = second.events.filter((e) => e.type === 'created');
  assert.equal(created.map((e) => [e.vmKey, e.sourceVmId, e.at]), [
    [`pve-lab:100:${T0 + 200}`, '100', iso(T0 + 200)],
    [`pve-lab:201:${T0 + 210}`, '201', iso(T0 + 210)],
  ]);

  const third = await captureAt(collector, T0 + 400, T0 + 300);
  assert.equal(third.events, [], 'each task is reported once');
});

test('config digest cache: an unchanged cluster costs ten requests; changes refetch only what changed', async () => {
  const { collector, model, fake } = await setup();
  await captureAt(collector, T0);
  const firstCount = fake.requests.length;
  assert.ok(fake.requests.filter((r) => r.path.endsWith('/config')).length === 8);

  fake.resetRequests();
  await captureAt(collector, T0 + 60, T0);
  assert.equal(fake.requests.map((r) => r.path).sort(), [
    '/access/permissions',
    '/cluster/ha/resources',
    '/cluster/ha/status/manager_status',
    '/cluster/resources',
    '/cluster/sdn/vnets',
    '/cluster/status',
    '/cluster/tasks',
    '/pools',
    '/storage',
    '/version',
  ]);
  assert.ok(firstCount > 5 * 4, `first capture made ${firstCount} requests`);

  // An added data disk does not show in /cluster/resources; the async config task does.
  updateGuestConfig(model, 104, { scsi1: 'local-lvm:vm-104-disk-1,size=100G' }, {
    at: T0 + 100,
    task: true,
  });
  fake.resetRequests();
  const c = await captureAt(collector, T0 + 180, T0 + 60);
  assert.equal(fake.requests.filter((r) => r.path.endsWith('/config')).map((r) => r.path), [
    '/nodes/pve3/qemu/104/config',
  ]);
  assert.is(byVmid(c, 104)!.provisionedDiskGib, 140);

  // A silent edit (sync PUT, no task, nothing in resources) is seen once the entry ages out.
  updateGuestConfig(model, 101, { virtio1: 'local-lvm:vm-101-disk-1,size=36G' });
  const soon = await captureAt(collector, T0 + 240, T0 + 180);
  assert.is(byVmid(soon, 101)!.provisionedDiskGib, 64);
  fake.resetRequests();
  const later = await captureAt(collector, T0 + 7 * 3600, T0 + 240);
  assert.is(byVmid(later, 101)!.provisionedDiskGib, 100);
  assert.is(fake.requests.filter((r) => r.path.endsWith('/config')).length, 8);
});

test('LXC without ctime: vzcreate task time, also when only the node task log still has it', async () => {
  const { collector, model } = await setup({
    mutate: (m) => {
      m.clusterTaskLimitPerNode = 0;
    },
  });
  createGuest(model, {
    vmid: 210,
    type: 'lxc',
    node: 'pve2',
    status: 'stopped',
    config: {
      hostname: 'ct-new',
      memory: 1024,
      cores: 2,
      rootfs: 'local-lvm:vm-210-disk-0,size=12G',
    },
  }, T0 - 500);
  const c = await captureAt(collector, T0);
  assert.is(c.complete, true, c.errors.join('; '));
  assert.is(
    byVmid(c, 200)!.key,
    'pve-lab:200:1699999968',
    'found by scanning /nodes/{node}/tasks?typefilter=vzcreate',
  );
  assert.is(byVmid(c, 210)!.key, `pve-lab:210:${T0 - 500}`);
  assert.is(byVmid(c, 210)!.createdAt, iso(T0 - 500));
  assert.is(byVmid(c, 210)!.vcpu, 2);
  assert.is(byVmid(c, 201)!.key, 'pve-lab:201:0', 'no task anywhere: generation 0');
  assert.is(byVmid(c, 201)!.createdAt, null, 'never invented');
});

test('clone: PVE logs it under the source vmid; the clone is matched by its creation time', async () => {
  const { collector, model, fake } = await setup({ urlSuffix: '/api2/json/' });
  await captureAt(collector, T0);
  const src = findGuest(model, 104);
  createGuest(model, { ...src, vmid: 300, config: { ...src.config, name: 'web02' } }, T0 + 101, {
    task: false,
  });
  addTask(model, {
    node: 'pve3',
    type: 'qmclone',
    id: 104,
    starttime: T0 + 100,
    endtime: T0 + 130,
  });
  const c = await captureAt(collector, T0 + 200, T0);
  assert.equal(c.events.map((e) => [e.type, e.vmKey, e.sourceVmId, e.vmName]), [[
    'created',
    `pve-lab:300:${T0 + 101}`,
    '300',
    'web02',
  ]]);
  assert.match(c.events[0].detail!, /^clone of vmid 104: qmclone on pve3 by root@pam/);
  assert.is(c.source.endpoint, fake.url, 'configured with an /api2/json/ suffix, reported without');
});

test('a lone node (no cluster): its name is the source id', async () => {
  const { collector } = await setup({
    mutate: (m) => {
      m.clusterName = null;
      m.nodes = m.nodes.filter((n) => n.name === 'pve1');
      m.guests = m.guests.filter((g) => g.node === 'pve1');
      m.storages = m.storages.filter((s) => s.node === 'pve1' && !s.shared);
    },
  });
  const c = await captureAt(collector, T0);
  assert.is(c.source.id, 'pve1');
  assert.equal(c.vms.map((v) => v.key).sort(), [
    'pve1:100:1690000000',
    'pve1:101:1695000000',
    'pve1:200:1699999968',
  ]);
  assert.is(byVmid(c, 100)!.cluster, null);
  const r = await collector.check(new AbortController().signal);
  assert.match(r.message, /node pve1/);
});

test.run();
