/**
 * The vCenter collector against vcsim (govmomi's simulator, scripts/vcsim): counts, names
 * and hierarchy checked against vcsim's own answers, paging, changes between captures,
 * and the failure modes a site admin meets (wrong password, TLS pinning, unreachable).
 */
import http from 'node:http';
import * as assert from 'uvu/assert';
import { suiteNeeding } from '../support/parts.ts';
import { Capture, type CaptureInput } from '../../agent/capture/schema.ts';
import { VcenterSourceConfig } from '../../agent/config.ts';
import { createLogger, type Logger } from '../../shared/log.ts';
import { CollectorError } from '../../agent/collectors/collector.ts';
import { createVcenterCollector } from '../../agent/collectors/vcenter/collector.ts';
import { freePort } from '../../scripts/free_port.ts';
import {
  connectVim,
  moRefXml,
  startVcsim,
  textXml,
  type Vcsim,
  type Vim,
} from '../support/vcsim.ts';

type Ctx = { sim: Vcsim; vim: Vim };
const test = suiteNeeding<Ctx>('vcenter collector against vcsim', ['govmomi']);

// 2 datacenters (one inside folder F0), 2 clusters of 2 hosts + 1 standalone host each,
// 2 child pools per cluster, 3 VMs per root pool: 18 VMs. The page cap of 7 makes the
// simulator page like a real vCenter even when a larger maxObjects is asked for.
const MODEL = {
  datacenters: 2,
  folders: 1,
  clusters: 2,
  clusterHosts: 2,
  hosts: 1,
  pools: 2,
  vmsPerPool: 3,
  pageCap: 7,
};

function quietLog(lines: string[] = []): Logger {
  return createLogger({ level: 'debug', sink: (l) => lines.push(l) });
}

function collectorFor(sim: Vcsim, extra: Record<string, unknown> = {}, log: Logger = quietLog()) {
  const cfg = VcenterSourceConfig.parse({
    kind: 'vcenter',
    name: 'vc-test',
    url: sim.url,
    username: sim.username,
    password: sim.password,
    ...extra,
  });
  return createVcenterCollector(cfg, log);
}

async function capture(
  sim: Vcsim,
  since: Date | null = null,
  extra: Record<string, unknown> = {},
  log?: Logger,
): Promise<CaptureInput> {
  return await collectorFor(sim, extra, log).capture({
    signal: AbortSignal.timeout(60_000),
    since,
  });
}

test.before(async (ctx) => {
  ctx.sim = await startVcsim(MODEL);
  ctx.vim = await connectVim(ctx.sim);
});

test.after(async (ctx) => {
  await ctx.vim?.close().catch(() => {});
  await ctx.sim?.stop();
});

test('check logs in, reads about and counts the VMs', async ({ sim }) => {
  const res = await collectorFor(sim).check(AbortSignal.timeout(30_000));
  assert.ok(res.ok, res.message);
  assert.is(res.details?.vms, sim.counts.vm);
  assert.is(res.details?.instanceUuid, sim.instanceUuid);
  assert.match(res.message, /18 VMs visible/);
});

test('a capture is valid and its counts equal what vcsim reports', async ({ sim }) => {
  const cap = await capture(sim);
  const parsed = Capture.safeParse(cap);
  assert.ok(parsed.success, parsed.success ? '' : JSON.stringify(parsed.error.issues.slice(0, 3)));
  assert.is(cap.complete, true);
  assert.equal(cap.errors, []);
  assert.is(cap.vms.length, sim.counts.vm);
  assert.is(cap.vms.length, 18);
  assert.is(cap.hosts!.length, sim.counts.host);
  assert.is(cap.datastores!.length, sim.counts.datastore);
  assert.equal(cap.source, {
    kind: 'vcenter',
    id: sim.instanceUuid,
    name: 'vc-test',
    endpoint: sim.url,
    version: 'VMware vCenter Server 6.5.0 build-5973321',
  });
  // Keys follow the identity rule: vCenter instance uuid + config.instanceUuid.
  for (const vm of cap.vms) {
    assert.ok(vm.instanceUuid, `${vm.name} has an instanceUuid`);
    assert.is(vm.key, `${sim.instanceUuid}:${vm.instanceUuid}`);
    assert.match(vm.sourceVmId, /^vm-\d+$/);
  }
  // Every datacenter, cluster and host name of the model is present.
  const clusters = new Set(cap.vms.map((v) => v.cluster).filter(Boolean));
  assert.equal([...clusters].sort(), ['DC0_C0', 'DC0_C1', 'DC1_C0', 'DC1_C1']);
  assert.equal([...new Set(cap.vms.map((v) => v.datacenter))].sort(), ['DC0', 'DC1']);
  for (const h of cap.hosts!) {
    assert.is(h.connectionState, 'connected');
    assert.ok((h.cpuCores ?? 0) > 0 && (h.memoryMib ?? 0) > 0, `${h.name} hardware`);
  }
  for (const d of cap.datastores!) {
    assert.is(d.name, 'LocalDS_0');
    assert.ok((d.capacityGib ?? 0) > 0 && d.accessible === true);
  }
});

test('names and hierarchy match vcsim object by object', async ({ sim, vim }) => {
  const cap = await capture(sim);
  for (const vm of cap.vms) {
    // The folder path is vcsim's own inventory path: its SearchIndex must find the VM there.
    const found = await vim.findByPath(`${vm.folder}/${vm.name}`);
    assert.equal(
      found,
      { type: 'VirtualMachine', value: vm.sourceVmId },
      `${vm.folder}/${vm.name}`,
    );
    assert.ok(
      vm.folder!.startsWith(vm.datacenter === 'DC1' ? '/F0/DC1/vm' : '/DC0/vm'),
      vm.folder!,
    );

    // Host, cluster and pool read the slow way: one object at a time, walking parents.
    const p = await vim.props({ type: 'VirtualMachine', value: vm.sourceVmId }, [
      'name',
      'runtime.host',
      'resourcePool',
      'config.hardware.numCPU',
      'config.hardware.memoryMB',
      'runtime.powerState',
    ]);
    assert.is(p.get('name')?.text, vm.name);
    assert.is(Number(p.get('config.hardware.numCPU')?.text), vm.vcpu);
    assert.is(Number(p.get('config.hardware.memoryMB')?.text), vm.memoryMib);
    assert.is(p.get('runtime.powerState')?.text, vm.powerState);
    const hostRef = { type: 'HostSystem', value: p.get('runtime.host')!.text };
    const host = await vim.props(hostRef, ['name', 'parent']);
    assert.is(host.get('name')?.text, vm.host);
    const parent = host.get('parent')!;
    const parentName = (await vim.props({ type: parent.attrs!.type, value: parent.text }, ['name']))
      .get('name')?.text;
    if (parent.attrs!.type === 'ClusterComputeResource') {
      assert.is(parentName, vm.cluster);
      assert.ok(vm.name.startsWith(`${vm.cluster}_`), `${vm.name} lives in ${vm.cluster}`);
      // vcsim's path for the host: /<dc path>/host/<cluster>/<host>.
      const dcPath = vm.folder!.replace(/\/vm(\/.*)?$/, '');
      const hostPath = vm.datacenter === 'DC1'
        ? `${dcPath}/host/F0/${vm.cluster}/${vm.host}`
        : `${dcPath}/host/${vm.cluster}/${vm.host}`;
      assert.equal(await vim.findByPath(hostPath), hostRef, hostPath);
    } else {
      assert.is(vm.cluster, null, 'standalone host has no cluster');
      assert.ok(vm.name.startsWith(`${vm.host}_`));
    }
    const pool = p.get('resourcePool')!;
    assert.is(
      (await vim.props({ type: pool.attrs!.type, value: pool.text }, ['name'])).get('name')?.text,
      vm.resourcePool,
    );
    assert.is(vm.resourcePool, 'Resources');
  }
});

test('paging follows every continuation token, whatever the page size', async ({ sim }) => {
  for (const pageSize of [1, 4, 1000]) {
    const lines: string[] = [];
    const cap = await capture(sim, null, { pageSize }, quietLog(lines));
    assert.is(cap.vms.length, 18, `pageSize ${pageSize}`);
    assert.is(new Set(cap.vms.map((v) => v.key)).size, 18);
    const info = lines.map((l) => JSON.parse(l)).find((l) => l.msg === 'vcenter capture');
    // The server caps pages at 7 (MODEL.pageCap), so even maxObjects 1000 takes 3 pages.
    assert.is(
      info.vmPages,
      Math.ceil(18 / Math.min(pageSize, 7)),
      `pages for pageSize ${pageSize}`,
    );
  }
});

test('creation, clone, removal, power-off, reconfigure and attributes show in the next capture', async ({ sim, vim }) => {
  const first = await capture(sim);
  const since = new Date(first.capturedAt);
  const byName = new Map(first.vms.map((v) => [v.name, v]));
  const vmRef = (name: string) => ({ type: 'VirtualMachine', value: byName.get(name)!.sourceVmId });

  // Create a VM in DC0's vm folder, in cluster DC0_C0's root pool.
  const folder = (await vim.findByPath('/DC0/vm'))!;
  const pool = (await vim.findByPath('/DC0/host/DC0_C0/Resources'))!;
  assert.ok(folder && pool);
  const created = await vim.task(
    'CreateVM_Task',
    folder,
    `<config><name>ledger-new</name><guestId>otherGuest</guestId><annotation>made by the test</annotation><files><vmPathName>[LocalDS_0]</vmPathName></files><numCPUs>2</numCPUs><memoryMB>1024</memoryMB></config>${
      moRefXml('pool', pool)
    }`,
  );
  const newRef = { type: 'VirtualMachine', value: created!.text };
  // Clone one, destroy one, power one off, resize one.
  const cloned = await vim.task(
    'CloneVM_Task',
    vmRef('DC0_C1_RP0_VM0'),
    `${moRefXml('folder', folder)}${
      textXml('name', 'ledger-clone')
    }<spec><location/><template>false</template><powerOn>false</powerOn></spec>`,
  );
  const cloneRef = { type: 'VirtualMachine', value: cloned!.text };
  const doomed = byName.get('DC0_C0_RP0_VM2')!;
  await vim.task('PowerOffVM_Task', vmRef('DC0_C0_RP0_VM2'));
  await vim.task('Destroy_Task', vmRef('DC0_C0_RP0_VM2'));
  await vim.task('PowerOffVM_Task', vmRef('DC1_C0_RP0_VM1'));
  await vim.task(
    'ReconfigVM_Task',
    vmRef('DC1_C1_RP0_VM0'),
    '<spec><annotation>resized</annotation><numCPUs>4</numCPUs><memoryMB>4096</memoryMB></spec>',
  );
  // A custom attribute becomes a tag.
  const cfm = vim.content.customFieldsManager!;
  const def = await vim.call(
    'AddCustomFieldDef',
    cfm,
    `${textXml('name', 'owner')}${textXml('moType', 'VirtualMachine')}`,
  );
  const fieldKey = def.children[0].children.find((c) => c.name === 'key')!.text;
  await vim.call(
    'SetField',
    cfm,
    `${moRefXml('entity', vmRef('DC0_C0_RP0_VM0'))}${textXml('key', fieldKey)}${
      textXml('value', 'team-a')
    }`,
  );

  const second = await capture(sim, since);
  assert.ok(Capture.safeParse(second).success);
  assert.is(second.complete, true);
  assert.is(second.vms.length, 18 + 2 - 1);
  const now = new Map(second.vms.map((v) => [v.name, v]));

  const fresh = now.get('ledger-new')!;
  assert.ok(fresh, 'created VM is captured');
  assert.is(fresh.sourceVmId, newRef.value);
  assert.equal([
    fresh.vcpu,
    fresh.memoryMib,
    fresh.datacenter,
    fresh.cluster,
    fresh.resourcePool,
    fresh.folder,
    fresh.annotation,
  ], [2, 1024, 'DC0', 'DC0_C0', 'Resources', '/DC0/vm', 'made by the test']);
  assert.is(fresh.powerState, 'poweredOff');
  // vcsim leaves config.createDate empty: creation time comes from the VmCreatedEvent.
  assert.ok(
    fresh.createdAt && Date.parse(fresh.createdAt) >= since.getTime() - 1000,
    `createdAt ${fresh.createdAt}`,
  );
  const clone = now.get('ledger-clone')!;
  assert.ok(clone, 'cloned VM is captured');
  assert.is(clone.sourceVmId, cloneRef.value);
  assert.is.not(
    clone.instanceUuid,
    now.get('DC0_C1_RP0_VM0')!.instanceUuid,
    'a clone gets its own instanceUuid',
  );
  assert.ok(clone.createdAt);

  assert.not.ok(now.has('DC0_C0_RP0_VM2'), 'destroyed VM is gone');
  assert.is(now.get('DC1_C0_RP0_VM1')!.powerState, 'poweredOff');
  const resized = now.get('DC1_C1_RP0_VM0')!;
  assert.equal([resized.vcpu, resized.memoryMib, resized.annotation], [4, 4096, 'resized']);
  assert.equal(now.get('DC0_C0_RP0_VM0')!.tags, ['owner=team-a']);
  // Unchanged VMs keep their keys.
  assert.is(now.get('DC0_C0_RP0_VM1')!.key, byName.get('DC0_C0_RP0_VM1')!.key);

  const events = second.events!;
  const createdEv = events.find((e) => e.type === 'created' && e.sourceVmId === newRef.value);
  assert.ok(createdEv, 'VmCreatedEvent reported');
  assert.is(createdEv!.vmKey, fresh.key);
  assert.is(createdEv!.vmName, 'ledger-new');
  assert.is(createdEv!.at, fresh.createdAt);
  // vcsim clones through CreateVM, so a clone has a VmCreatedEvent and a VmClonedEvent.
  const cloneEv = events.find((e) =>
    e.type === 'created' && e.sourceVmId === cloneRef.value && /^VmClonedEvent/.test(e.detail ?? '')
  );
  assert.ok(cloneEv, 'VmClonedEvent reported');
  assert.is(cloneEv!.vmKey, clone.key);
  const removedEv = events.find((e) => e.type === 'deleted' && e.sourceVmId === doomed.sourceVmId);
  assert.ok(removedEv, 'VmRemovedEvent reported');
  assert.is(removedEv!.vmKey, null, 'a removed VM has no current key');
  assert.is(removedEv!.vmName, 'DC0_C0_RP0_VM2');
  // Only events inside the window (since, minus the clock-skew allowance) are reported.
  for (const e of events) assert.ok(Date.parse(e.at) >= since.getTime() - 5 * 60_000);
});

/**
 * A fault-injecting proxy in front of vcsim: requests whose SOAP body calls one of
 * `failing` get a SOAP fault (as a vCenter under load or without privileges would answer);
 * everything else is forwarded untouched.
 */
async function faultProxy(
  target: string,
  failing: RegExp,
): Promise<{ url: string; close(): Promise<void> }> {
  const t = new URL(target);
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (failing.test(body.toString())) {
        res.writeHead(500, { 'content-type': 'text/xml' });
        res.end(
          '<?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring>injected: event history unavailable</faultstring><detail><SystemErrorFault xmlns="urn:vim25" xsi:type="SystemError"><reason>injected</reason></SystemErrorFault></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>',
        );
        return;
      }
      const up = http.request({
        host: t.hostname,
        port: t.port,
        path: req.url,
        method: req.method,
        headers: req.headers,
      }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      up.on('error', () => res.destroy());
      up.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}${t.pathname}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

test('a failing part (events, inventory) still yields the VMs, marked incomplete with the reason', async ({ sim }) => {
  const expected = (await capture(sim)).vms.length;
  const proxy = await faultProxy(
    sim.url,
    /<CreateCollectorForEvents|<CreateContainerView[^]*<type>Folder<\/type>/,
  );
  try {
    const cap = await capture({ ...sim, url: proxy.url });
    assert.ok(Capture.safeParse(cap).success);
    assert.is(cap.complete, false);
    assert.is(cap.vms.length, expected, 'the VMs are all there');
    assert.equal(cap.events, []);
    assert.is(cap.errors!.length, 2);
    assert.match(cap.errors![0], /^inventory .*SystemError: injected/);
    assert.match(cap.errors![1], /^events: .*SystemError: injected/);
    // Without the inventory, locations are unknown (null), never guessed.
    assert.ok(cap.vms.every((v) => v.datacenter === null && v.cluster === null && v.host === null));
    assert.equal(cap.hosts, []);
  } finally {
    await proxy.close();
  }
});

test('a failing VM retrieval is a failed poll (CollectorError), not a half capture', async ({ sim }) => {
  const proxy = await faultProxy(sim.url, /<RetrievePropertiesEx[^]*<type>VirtualMachine<\/type>/);
  try {
    await capture({ ...sim, url: proxy.url });
    assert.unreachable('capture should fail');
  } catch (err) {
    assert.instance(err, CollectorError);
    assert.match((err as Error).message, /retrieving the VM inventory failed: .*injected/);
  } finally {
    await proxy.close();
  }
});

test('a wrong password is a CollectorError with a clear message, and check says so', async ({ sim }) => {
  const lines: string[] = [];
  const c = collectorFor(sim, { password: 'not-the-password' }, quietLog(lines));
  try {
    await c.capture({ signal: AbortSignal.timeout(30_000), since: null });
    assert.unreachable('capture should fail');
  } catch (err) {
    assert.instance(err, CollectorError);
    assert.is((err as CollectorError).code, 'auth');
    assert.match(
      (err as Error).message,
      /rejected the login for user "user": incorrect user name or password/,
    );
    assert.not.match((err as Error).message, /not-the-password/);
  }
  const res = await c.check(AbortSignal.timeout(30_000));
  assert.is(res.ok, false);
  assert.match(res.message, /incorrect user name or password/);
  assert.not.ok(
    lines.join('\n').includes('not-the-password'),
    'the password never reaches the log',
  );
});

test('an unreachable vCenter is a CollectorError, not a crash', async () => {
  const port = await freePort();
  const cfg = VcenterSourceConfig.parse({
    kind: 'vcenter',
    name: 'gone',
    url: `http://127.0.0.1:${port}/sdk`,
    username: 'u',
    password: 'p',
  });
  const c = createVcenterCollector(cfg, quietLog());
  try {
    await c.capture({ signal: AbortSignal.timeout(10_000), since: null });
    assert.unreachable('capture should fail');
  } catch (err) {
    assert.instance(err, CollectorError);
    assert.is((err as CollectorError).code, 'unreachable');
  }
});

test.run();

// TLS: a self-signed vcsim is refused by default and with a wrong pin; the right pin,
// the CA file or `insecure` (with a warning) let the capture through.
const tls = suiteNeeding<{ sim: Vcsim }>('vcenter collector TLS against vcsim', ['govmomi']);

tls.before(async (ctx) => {
  ctx.sim = await startVcsim({
    tls: true,
    vmsPerPool: 2,
    username: 'admin@vsphere.local',
    password: 's3cret!',
  });
});

tls.after(async (ctx) => {
  await ctx.sim?.stop();
});

async function tlsFailure(sim: Vcsim, extra: Record<string, unknown>): Promise<CollectorError> {
  try {
    await capture(sim, null, extra);
  } catch (err) {
    assert.instance(err, CollectorError);
    return err as CollectorError;
  }
  throw new Error('capture should have failed');
}

tls('an unverifiable certificate is refused by default', async ({ sim }) => {
  assert.ok(sim.url.startsWith('https://'));
  const err = await tlsFailure(sim, {});
  assert.is(err.code, 'tls');
  assert.match(err.message, /set caFile or thumbprint/);
});

tls('a thumbprint pin that does not match is refused', async ({ sim }) => {
  const wrong = sim.thumbprint!.replace(/^./, (c) => (c === '0' ? '1' : '0'));
  const err = await tlsFailure(sim, { thumbprint: wrong });
  assert.is(err.code, 'tls');
  assert.match(err.message, /does not match the pinned/);
});

tls('the right thumbprint pin (with colons, upper case) is accepted', async ({ sim }) => {
  const pin = sim.thumbprint!.toUpperCase().match(/../g)!.join(':');
  const cap = await capture(sim, null, { thumbprint: pin });
  assert.is(cap.vms.length, sim.counts.vm);
  assert.is(cap.complete, true);
});

tls('the server certificate as caFile verifies the chain', async ({ sim }) => {
  assert.ok(sim.certFile, 'vcsim wrote its certificate');
  const cap = await capture(sim, null, { caFile: sim.certFile });
  assert.is(cap.vms.length, sim.counts.vm);
});

tls('insecure works and warns in the log', async ({ sim }) => {
  const lines: string[] = [];
  const cap = await capture(sim, null, { insecure: true }, quietLog(lines));
  assert.is(cap.vms.length, sim.counts.vm);
  assert.ok(lines.some((l) => /verification is OFF/.test(l) && JSON.parse(l).level === 'warn'));
});

tls.run();
