/**
 * Capture contract v2 from the vCenter collector against vcsim: disks, NICs, snapshots,
 * hardware, Tools, usage, hosts, clusters, pools, networks and vSphere tags, each checked
 * against vcsim's own model read the slow, independent way (one object at a time over
 * vim25, one VM at a time over the tagging REST API), and the degraded path when the
 * tagging service is missing.
 */
import * as assert from 'uvu/assert';
import { suiteNeeding } from '../support/parts.ts';
import { Capture, type CaptureInput } from '../../agent/capture/schema.ts';
import { VcenterSourceConfig } from '../../agent/config.ts';
import { createLogger } from '../../shared/log.ts';
import { createVcenterCollector } from '../../agent/collectors/vcenter/collector.ts';
import { child, childrenNamed, childText } from '../../agent/collectors/vcenter/xml.ts';
import { readMoRef } from '../../agent/collectors/vcenter/soap.ts';
import {
  connectVim,
  moRefXml,
  startVcsim,
  textXml,
  type Vcsim,
  type Vim,
} from '../support/vcsim.ts';

type Ctx = { sim: Vcsim; vim: Vim };
const test = suiteNeeding<Ctx>('vcenter collector v2 against vcsim', ['govmomi']);

// 1 cluster of 2 hosts + 1 standalone host, 1 child pool, 3 VMs per root pool: 6 VMs.
const MODEL = { clusters: 1, clusterHosts: 2, hosts: 1, pools: 1, vmsPerPool: 3, pageCap: 4 };

async function capture(sim: Vcsim, lines: string[] = []): Promise<CaptureInput> {
  const cfg = VcenterSourceConfig.parse({
    kind: 'vcenter',
    name: 'vc-v2',
    url: sim.url,
    username: sim.username,
    password: sim.password,
  });
  const log = createLogger({ level: 'warn', sink: (line) => void lines.push(line) });
  return await createVcenterCollector(cfg, log)
    .capture({ signal: AbortSignal.timeout(60_000), since: null });
}

function valid(cap: CaptureInput) {
  const parsed = Capture.safeParse(cap);
  assert.ok(parsed.success, parsed.success ? '' : JSON.stringify(parsed.error.issues.slice(0, 3)));
  return parsed.data!;
}

test.before(async (ctx) => {
  ctx.sim = await startVcsim(MODEL);
  ctx.vim = await connectVim(ctx.sim);
});

test.after(async (ctx) => {
  await ctx.vim?.close().catch(() => {});
  await ctx.sim?.stop();
});

test('disks, NICs, CD-ROMs, hardware and files equal vcsim, VM by VM', async ({ sim, vim }) => {
  const cap = valid(await capture(sim));
  assert.is(cap.schemaVersion, 2);
  assert.is(cap.vms.length, 6);
  const dsKeys = new Set(cap.datastores.map((d) => d.key));
  for (const vm of cap.vms) {
    const p = await vim.props({ type: 'VirtualMachine', value: vm.sourceVmId }, [
      'config.hardware.device',
      'config.version',
      'config.firmware',
      'config.files.vmPathName',
      'runtime.connectionState',
      'config.cpuAllocation',
    ]);
    const devices = p.get('config.hardware.device')!.children;
    const disks = devices.filter((d) => d.xsiType === 'VirtualDisk');
    assert.ok(disks.length > 0, `${vm.name} has disks in vcsim`);
    assert.is(vm.disks.length, disks.length, `${vm.name} disk count`);
    disks.forEach((d, i) => {
      const backing = child(d, 'backing');
      assert.is(vm.disks[i].label, childText(child(d, 'deviceInfo'), 'label'));
      assert.is(vm.disks[i].capacityMib, Number(childText(d, 'capacityInKB')) / 1024);
      assert.is(vm.disks[i].file, childText(backing, 'fileName'));
      assert.is(vm.disks[i].unitNumber, Number(childText(d, 'unitNumber')));
      const ds = readMoRef(child(backing, 'datastore'))!.value;
      assert.is(vm.disks[i].datastore, `${sim.instanceUuid}:${ds}`);
      assert.ok(dsKeys.has(vm.disks[i].datastore!), 'the disk names a datastore of the capture');
      assert.is(
        vm.disks[i].provisioning,
        childText(backing, 'thinProvisioned') === 'true' ? 'thin' : 'thick',
      );
      const controller = devices.find((c) => childText(c, 'key') === childText(d, 'controllerKey'));
      assert.is(vm.disks[i].controller, childText(child(controller, 'deviceInfo'), 'label'));
    });
    const macs = devices.map((d) => childText(d, 'macAddress')).filter(Boolean);
    assert.ok(macs.length > 0);
    assert.equal(vm.nics.map((n) => n.macAddress), macs.map((m) => m!.toLowerCase()));
    for (const nic of vm.nics) {
      assert.ok(nic.network, `${vm.name} ${nic.label} has a network`);
      assert.ok(cap.networks.some((n) => n.key === nic.networkKey), 'NIC network is captured');
    }
    assert.is(vm.cdroms.length, devices.filter((d) => d.xsiType === 'VirtualCdrom').length);
    assert.is(vm.hardware?.version, p.get('config.version')!.text);
    assert.is(vm.hardware?.firmware, p.get('config.firmware')!.text);
    assert.is(
      vm.hardware?.cpuLimitMhz,
      Number(childText(p.get('config.cpuAllocation'), 'limit')),
    );
    assert.is(vm.configFile, p.get('config.files.vmPathName')!.text);
    assert.is(vm.connectionState, p.get('runtime.connectionState')!.text);
    assert.ok(vm.tools?.status, `${vm.name} tools status`);
  }
  // Usage travels apart: one row per VM, by key, and nothing of it in the VM records.
  assert.equal(cap.usage.map((u) => u.key).sort(), cap.vms.map((v) => v.key).sort());
  for (const vm of cap.vms) assert.not.ok('cpuUsageMhz' in vm);
});

test('settings (vInfo): boot options, files, status, video card and folder equal vcsim', async ({ sim, vim }) => {
  const lines: string[] = [];
  const cap = valid(await capture(sim, lines));
  // Every path of the VM spec is one vcsim knows: no VM comes back with a missing property.
  assert.not.ok(lines.some((l) => l.includes('not readable')), lines.join('\n'));
  const opt = (el: ReturnType<typeof child>, name: string) => {
    const t = childText(el, name);
    return t === undefined || t === null ? null : t;
  };
  for (const vm of cap.vms) {
    const p = await vim.props({ type: 'VirtualMachine', value: vm.sourceVmId }, [
      'config.hardware.device',
      'config.bootOptions',
      'config.files',
      'config.changeVersion',
      'configStatus',
      'guestHeartbeatStatus',
      'parent',
    ]);
    const s = vm.settings;
    assert.ok(s, `${vm.name} has settings`);
    assert.is(s!.configStatus, p.get('configStatus')?.text || null);
    assert.is(s!.heartbeat, p.get('guestHeartbeatStatus')?.text || null);
    assert.is(s!.changeVersion, p.get('config.changeVersion')?.text || null);
    assert.is(s!.folderId, readMoRef(p.get('parent'))?.value ?? null);
    const boot = p.get('config.bootOptions');
    const delay = opt(boot, 'bootDelay');
    assert.is(s!.bootDelayMs, delay === null ? null : Number(delay));
    const retry = opt(boot, 'bootRetryEnabled');
    assert.is(s!.bootRetryEnabled, retry === null ? null : retry === 'true');
    const files = p.get('config.files');
    assert.is(s!.logDirectory, opt(files, 'logDirectory'));
    assert.is(s!.snapshotDirectory, opt(files, 'snapshotDirectory'));
    const video = p.get('config.hardware.device')!.children.find((d) =>
      d.xsiType === 'VirtualMachineVideoCard'
    );
    const displays = opt(video, 'numDisplays');
    assert.is(s!.monitors, displays === null ? null : Number(displays));
    const ram = opt(video, 'videoRamSizeInKB');
    assert.is(s!.videoRamKib, ram === null ? null : Number(ram));
  }
  // vcsim's VMs live in a folder, have a video card and a log directory.
  assert.ok(cap.vms.every((v) => v.settings?.folderId), 'every VM has its folder');
  assert.ok(cap.vms.some((v) => v.settings?.videoRamKib !== null), 'a video card is read');
  assert.ok(cap.vms.some((v) => v.settings?.logDirectory !== null), 'a log directory is read');
});

test('hosts, clusters, pools, datastores and networks equal vcsim', async ({ sim, vim }) => {
  const cap = valid(await capture(sim));
  assert.is(cap.hosts.length, sim.counts.host);
  for (const h of cap.hosts) {
    const moref = h.key.slice(sim.instanceUuid.length + 1);
    const p = await vim.props({ type: 'HostSystem', value: moref }, [
      'summary.hardware',
      'summary.config.product',
      'runtime.inMaintenanceMode',
      'config.network.pnic',
    ]);
    const hw = p.get('summary.hardware');
    assert.is(h.vendor, childText(hw, 'vendor'));
    assert.is(h.cpuModel, childText(hw, 'cpuModel'));
    assert.is(h.cpuSockets, Number(childText(hw, 'numCpuPkgs')));
    assert.is(h.cpuThreads, Number(childText(hw, 'numCpuThreads')));
    assert.is(h.build, childText(p.get('summary.config.product'), 'build'));
    assert.is(h.maintenanceMode, p.get('runtime.inMaintenanceMode')!.text === 'true');
    assert.equal(
      h.nics.map((n) => n.device),
      p.get('config.network.pnic')!.children.map((n) => childText(n, 'device')),
    );
    assert.ok(h.switches.length > 0, `${h.name} has a standard switch`);
  }
  assert.is(cap.clusters.length, sim.counts.cluster);
  assert.is(cap.clusters[0].name, 'DC0_C0');
  assert.is(cap.clusters[0].hostCount, 2);
  // Root pools (one per compute resource) plus one child pool in the cluster.
  assert.equal(cap.resourcePools.map((r) => r.path).sort(), [
    '/DC0/host/DC0_C0/Resources',
    '/DC0/host/DC0_C0/Resources/DC0_C0_RP1',
    '/DC0/host/DC0_H0/Resources',
  ]);
  const rootPool = cap.resourcePools.find((r) => r.path === '/DC0/host/DC0_C0/Resources')!;
  assert.is(rootPool.vmCount, 3);
  assert.is(rootPool.cluster, 'DC0_C0');
  const ds = cap.datastores[0];
  assert.is(ds.vmCount, 6);
  assert.ok(ds.url && ds.hostNames.length > 0, 'datastore URL and mounts');
  const kinds = cap.networks.map((n) => `${n.kind}:${n.name}`).sort();
  assert.ok(kinds.includes('standard:VM Network'), kinds.join());
  assert.ok(kinds.includes('distributed:DC0_DVPG0'), kinds.join());
  const dvpg = cap.networks.find((n) => n.name === 'DC0_DVPG0')!;
  assert.is(dvpg.switchName, 'DVS0');
});

test('a snapshot tree comes back with ids, parents, names and the current one', async ({ sim, vim }) => {
  const vm = (await vim.findByPath('/DC0/vm/DC0_H0_VM0'))!;
  const snap = (name: string, quiesce: boolean) =>
    vim.task(
      'CreateSnapshot_Task',
      vm,
      textXml('name', name) + textXml('description', `${name} taken by the test`) +
        textXml('memory', false) + textXml('quiesce', quiesce),
    );
  const first = readMoRef(await snap('before-upgrade', false))!;
  const second = readMoRef(await snap('after-upgrade', true))!;
  const cap = valid(await capture(sim));
  const got = cap.vms.find((v) => v.sourceVmId === vm.value)!;
  assert.equal(
    got.snapshots.map((s) => [s.id, s.name, s.parentId, s.current, s.quiesced]),
    [
      [first.value, 'before-upgrade', null, false, false],
      [second.value, 'after-upgrade', first.value, true, true],
    ],
  );
  assert.is(got.snapshots[0].description, 'before-upgrade taken by the test');
  assert.ok(Date.parse(got.snapshots[1].createdAt!) > Date.now() - 600_000);
  // The independent read: vcsim's own current snapshot.
  const p = await vim.props(vm, ['snapshot']);
  assert.is(readMoRef(child(p.get('snapshot'), 'currentSnapshot'))!.value, second.value);
  const other = cap.vms.find((v) => v.sourceVmId !== vm.value)!;
  assert.equal(other.snapshots, []);
});

test('custom attributes are name/value pairs, and tags keep their v1 text', async ({ sim, vim }) => {
  const cfm = vim.content.customFieldsManager!;
  const res = await vim.call(
    'AddCustomFieldDef',
    cfm,
    textXml('name', 'cost-centre') + textXml('moType', 'VirtualMachine'),
  );
  const fieldKey = childText(child(res, 'returnval'), 'key')!;
  const vm = (await vim.findByPath('/DC0/vm/DC0_H0_VM1'))!;
  await vim.call(
    'SetField',
    cfm,
    moRefXml('entity', vm) + textXml('key', fieldKey) + textXml('value', 'CC-42'),
  );
  const cap = valid(await capture(sim));
  const got = cap.vms.find((v) => v.sourceVmId === vm.value)!;
  assert.equal(got.attributes, [{ name: 'cost-centre', value: 'CC-42' }]);
  assert.equal(got.tags, ['cost-centre=CC-42']);
});

/** The tags on one VM, read one VM at a time through the REST API (the slow, independent way). */
async function tagsOf(sim: Vcsim, moref: string): Promise<string[]> {
  const root = new URL('/rest/com/vmware/cis', sim.url).toString();
  const basic = Buffer.from(`${sim.username}:${sim.password}`).toString('base64');
  const login = await fetch(`${root}/session`, {
    method: 'POST',
    headers: { Authorization: `Basic ${basic}` },
  });
  const session = ((await login.json()) as { value: string }).value;
  const headers = { 'vmware-api-session-id': session, 'Content-Type': 'application/json' };
  const get = async <T>(path: string, body?: unknown): Promise<T> => {
    const r = await fetch(`${root}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return ((await r.json()) as { value: T }).value;
  };
  const ids = await get<string[]>('/tagging/tag-association?~action=list-attached-tags', {
    object_id: { type: 'VirtualMachine', id: moref },
  });
  const out: string[] = [];
  for (const id of ids ?? []) {
    const tag = await get<{ name: string; category_id: string }>(`/tagging/tag/id:${id}`);
    const cat = await get<{ name: string }>(`/tagging/category/id:${tag.category_id}`);
    out.push(`${cat.name}/${tag.name}`);
  }
  await fetch(`${root}/session`, { method: 'DELETE', headers });
  return out.sort();
}

test('vSphere tags come with their categories, as the tagging service has them', async ({ sim }) => {
  const cap = valid(await capture(sim));
  assert.is(cap.complete, true, cap.errors.join('; '));
  let tagged = 0;
  let multi = 0;
  for (const vm of cap.vms) {
    const expected = await tagsOf(sim, vm.sourceVmId);
    assert.equal(vm.labels.map((l) => `${l.category}/${l.name}`).sort(), expected, vm.name);
    if (expected.length) tagged++;
    if (vm.labels.filter((l) => l.category === 'Owner').length > 1) multi++;
  }
  assert.is(tagged, cap.vms.length, 'vcsim seeds a tag on every VM');
  assert.ok(multi > 0, 'some VM has two tags of one category');
});

test('without a tagging service the VMs are still captured, without tags, the reason noted', async () => {
  const sim = await startVcsim({ ...MODEL, vapi: false });
  try {
    const cap = valid(await capture(sim));
    assert.is(cap.vms.length, sim.counts.vm);
    assert.ok(cap.vms.every((v) => v.labels.length === 0));
    assert.ok(cap.vms.every((v) => v.disks.length > 0), 'the rest of v2 is there');
    assert.is(cap.complete, false);
    assert.is(cap.errors.length, 1);
    assert.match(cap.errors[0], /vSphere tags.*HTTP 404/);
  } finally {
    await sim.stop();
  }
});

test('HA restart priority: the VM override, else the cluster default', async ({ sim, vim }) => {
  const cluster = (await vim.findByPath('/DC0/host/DC0_C0'))!;
  const vm = (await vim.findByPath('/DC0/vm/DC0_C0_RP0_VM0'))!;
  await vim.task(
    'ReconfigureComputeResource_Task',
    cluster,
    '<spec xsi:type="ClusterConfigSpecEx"><dasConfig><enabled>true</enabled>' +
      '<defaultVmSettings><restartPriority>high</restartPriority></defaultVmSettings></dasConfig>' +
      `<dasVmConfigSpec><operation>add</operation><info>${moRefXml('key', vm)}` +
      '<dasSettings><restartPriority>low</restartPriority></dasSettings></info></dasVmConfigSpec>' +
      '</spec><modify>true</modify>',
  );
  // vcsim applies the per-VM override but keeps its own dasConfig: read what it holds.
  const cfg = (await vim.props(cluster, ['configurationEx'])).get('configurationEx');
  assert.is(childrenNamed(cfg, 'dasVmConfig').length, 1, 'vcsim holds the override');
  const das = child(cfg, 'dasConfig');
  const clusterDefault = childText(child(das, 'defaultVmSettings'), 'restartPriority') ?? null;
  const enabled = childText(das, 'enabled');
  const cap = valid(await capture(sim));
  const inCluster = cap.vms.filter((v) => v.cluster === 'DC0_C0');
  const standalone = cap.vms.filter((v) => v.cluster === null);
  assert.ok(inCluster.length > 1 && standalone.length > 0);
  assert.ok(standalone.every((v) => v.haRestartPriority === null));
  assert.is(cap.clusters[0].haEnabled, enabled === undefined ? null : enabled === 'true');
  for (const v of inCluster) {
    assert.is(v.haRestartPriority, v.sourceVmId === vm.value ? 'low' : clusterDefault, v.name);
  }
});

test.run();
