/**
 * The vCenter capture streamed into the spool page by page (Collector.captureTo +
 * spool.stream): the file reads back as the same capture `capture()` builds in memory, in
 * the layout the server cuts without parsing the VMs, and a VM that fails the contract
 * leaves nothing in the spool.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as assert from 'uvu/assert';
import { suiteNeeding } from '../support/parts.ts';
import { Capture } from '../../agent/capture/schema.ts';
import { VcenterSourceConfig } from '../../agent/config.ts';
import { createLogger } from '../../shared/log.ts';
import { createVcenterCollector } from '../../agent/collectors/vcenter/collector.ts';
import { gunzip, openSpool } from '../../agent/spool/spool.ts';
import { InvalidCaptureError } from '../../agent/spool/capture_stream.ts';
import type { CaptureSink } from '../../agent/collectors/collector.ts';
import { createScheduler } from '../../agent/scheduler/scheduler.ts';
import { captureText } from '../../agent/capture/capture_text.ts';
import { ArrivingBody, captureArriving } from '../../server/ingest/stream_capture.ts';
import { startVcsim, type Vcsim } from '../support/vcsim.ts';

type Ctx = { sim: Vcsim; dir: string };
const test = suiteNeeding<Ctx>('vcenter capture streamed into the spool', ['govmomi']);
const log = createLogger({ level: 'error', sink: () => {} });

function collector(sim: Vcsim) {
  return createVcenterCollector(
    VcenterSourceConfig.parse({
      kind: 'vcenter',
      name: 'vc-stream',
      url: sim.url,
      username: sim.username,
      password: sim.password,
      pageSize: 3,
    }),
    log,
  );
}

test.before(async (ctx) => {
  // 2 clusters of 2 hosts, 4 VMs per root pool: 8 VMs in pages of 3.
  ctx.sim = await startVcsim({ clusters: 2, clusterHosts: 2, vmsPerPool: 4, pageCap: 3 });
  ctx.dir = mkdtempSync(path.join(os.tmpdir(), 'vml-vc-stream-'));
});

test.after(async (ctx) => {
  await ctx.sim?.stop();
  if (ctx.dir) rmSync(ctx.dir, { recursive: true, force: true });
});

test('the streamed file is the capture capture() builds, in the layout the server cuts', async ({ sim, dir }) => {
  const c = collector(sim);
  const spool = await openSpool(dir, { maxBytes: 100 << 20, log });
  const writer = await spool.stream();
  const signal = AbortSignal.timeout(60_000);
  await c.captureTo!({ signal, since: null }, writer);
  const done = await writer.commit();
  const [entry] = await spool.list();
  assert.is(entry.captureId, done.captureId);
  const text = await gunzip(await spool.read(entry));
  const streamed = Capture.parse(JSON.parse(text));
  // The agents' layout: the validated capture with its VMs last.
  assert.is(captureText(streamed), text);
  const arriving = await captureArriving(
    new ArrivingBody((async function* () {
      yield Buffer.from(text);
    })()),
  );
  assert.ok(arriving, 'the server reads it as it arrives');
  assert.is((await arriving!.vms.all()).length, streamed.vms.length);
  assert.is(streamed.vms.length, 8);
  assert.equal(
    [done.vmCount, done.complete, done.errors, done.sourceId],
    [8, true, [], sim.instanceUuid],
  );
  assert.ok(streamed.vms.every((v) => v.labels.length > 0), 'tags fetched page by page');
  const whole = Capture.parse(await c.capture({ signal, since: null }));
  const strip = (cap: Capture) => cap.vms.map((v) => JSON.stringify(v)).sort();
  assert.equal(strip(streamed), strip(whole));
  assert.equal(streamed.hosts.map((h) => h.key), whole.hosts.map((h) => h.key));
  assert.equal(streamed.datastores, whole.datastores);
  assert.equal(streamed.usage.map((u) => u.key).sort(), whole.usage.map((u) => u.key).sort());
  await spool.ack(entry);
});

test('a VM that breaks the contract aborts the stream and leaves no file', async ({ dir }) => {
  const spool = await openSpool(dir, { maxBytes: 100 << 20, log });
  const writer = await spool.stream();
  await writer.start({
    captureId: crypto.randomUUID(),
    source: { kind: 'vcenter', id: 'vc', name: 'n', endpoint: null, version: null },
    capturedAt: new Date().toISOString(),
    datastores: [{ key: 'vc:ds-1', name: 'ds1' }],
  });
  const vm = {
    key: 'vc:1',
    sourceVmId: 'vm-1',
    name: 'a',
    powerState: 'poweredOn' as const,
    isTemplate: false,
    vcpu: 1,
    memoryMib: 1,
    provisionedDiskGib: 0,
  };
  await writer.vm(vm);
  const err = await writer.vm({
    ...vm,
    key: 'vc:2',
    disks: [{ label: 'Hard disk 1', datastore: 'vc:ds-9' }],
  }).catch((e) => e);
  assert.instance(err, InvalidCaptureError);
  assert.match(err.message, /vms\.1\.disks\.0\.datastore: unknown datastore "vc:ds-9"/);
  const dup = await writer.vm(vm).catch((e) => e);
  assert.match(dup.message, /vms\.1\.key: duplicate VM key "vc:1"/);
  await writer.abort();
  assert.equal(readdirSync(path.join(dir, 'pending')), []);
  assert.equal(await spool.list(), []);
});

test('at the spool cap a streamed capture is refused and counted', async ({ sim }) => {
  const small = mkdtempSync(path.join(os.tmpdir(), 'vml-vc-cap-'));
  try {
    const spool = await openSpool(small, { maxBytes: 1000, log });
    const writer = await spool.stream();
    await collector(sim).captureTo!({ signal: AbortSignal.timeout(60_000), since: null }, writer);
    const err = await writer.commit().catch((e) => e);
    assert.match(String(err?.message), /spool at its cap/);
    assert.is((await spool.stats()).refusedAtCap, 1);
    assert.equal(readdirSync(path.join(small, 'pending')), []);
  } finally {
    rmSync(small, { recursive: true, force: true });
  }
});

test('the scheduler streams a vCenter capture into the spool; a failed one leaves nothing', async ({ sim }) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vml-vc-sched-'));
  try {
    const spool = await openSpool(dir, { maxBytes: 100 << 20, log });
    const good = collector(sim);
    const cfg = VcenterSourceConfig.parse({
      kind: 'vcenter',
      name: 'vc-stream',
      url: sim.url,
      username: sim.username,
      password: sim.password,
    });
    let nudged = 0;
    let stored = 0;
    const failing = {
      ...good,
      // Fails after some VMs were written: the half-written file must go.
      async captureTo(o: Parameters<NonNullable<typeof good.captureTo>>[0], sink: CaptureSink) {
        let n = 0;
        await good.captureTo!(o, {
          start: (h) => sink.start(h),
          vm: async (vm) => {
            if (++n === 5) throw new Error('connection reset after 4 VMs');
            await sink.vm(vm);
          },
          end: (r) => sink.end(r),
        });
      },
    };
    const scheduler = createScheduler({
      sources: [
        { config: cfg, collector: good },
        { config: { ...cfg, name: 'vc-broken' }, collector: failing },
      ],
      store: () => {
        stored++;
        return Promise.resolve();
      },
      stream: () => spool.stream(),
      streamed: () => nudged++,
      log,
    });
    assert.is(await scheduler.runSource('vc-stream'), true);
    assert.is(await scheduler.runSource('vc-broken'), false);
    const health = Object.fromEntries(scheduler.health().map((h) => [h.name, h]));
    assert.is(health['vc-stream'].lastVmCount, 8);
    assert.is(health['vc-stream'].sourceId, sim.instanceUuid);
    assert.match(String(health['vc-broken'].lastError), /connection reset after 4 VMs/);
    // A VM the contract refuses fails the capture with the writer's own message and path.
    const refusing = {
      ...good,
      captureTo: (o: Parameters<NonNullable<typeof good.captureTo>>[0], sink: CaptureSink) =>
        good.captureTo!(o, {
          start: (h) => sink.start(h),
          vm: (vm) => sink.vm({ ...vm, vcpu: -1 }),
          end: (r) => sink.end(r),
        }),
    };
    const bad = createScheduler({
      sources: [{ config: { ...cfg, name: 'vc-bad' }, collector: refusing }],
      store: () => Promise.resolve(),
      stream: () => spool.stream(),
      log,
    });
    assert.is(await bad.runSource('vc-bad'), false);
    assert.match(
      String(bad.health()[0].lastError),
      /^collector produced an invalid capture: vms\.0\.vcpu: /,
    );
    assert.equal([nudged, stored], [1, 0], 'streamed, never stored whole');
    assert.is((await spool.list()).length, 1);
    assert.is(readdirSync(path.join(dir, 'pending')).length, 1, 'no temp file left');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
