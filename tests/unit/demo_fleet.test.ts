import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { demoCapture, slotsFor } from '../../agent/collectors/demo/fleet.ts';
import { Capture } from '../../agent/capture/schema.ts';
import { configText } from '../../server/ingest/vm_lines.ts';

const test = suite('demo fleet');
const at = (iso: string) => new Date(iso);

test('the same instant gives the same fleet (deterministic)', () => {
  const a = demoCapture({
    flavor: 'proxmox',
    seed: 1,
    totalVms: 300,
    at: at('2026-06-01T12:00:00Z'),
    since: null,
    captureId: crypto.randomUUID(),
  });
  const b = demoCapture({
    flavor: 'proxmox',
    seed: 1,
    totalVms: 300,
    at: at('2026-06-01T12:00:00Z'),
    since: null,
    captureId: crypto.randomUUID(),
  });
  assert.equal(a.vms, b.vms);
  assert.equal(a.source, b.source);
});

test('sizes split 60/40 between flavours and keys are unique', () => {
  assert.is(slotsFor('vcenter', 500) + slotsFor('proxmox', 500), 500);
  const c = demoCapture({
    flavor: 'vcenter',
    seed: 2,
    totalVms: 500,
    at: at('2026-06-01T00:00:00Z'),
    since: null,
  });
  assert.ok(c.vms.length <= 300 && c.vms.length > 240, `got ${c.vms.length}`);
  assert.is(new Set(c.vms.map((v) => v.key)).size, c.vms.length);
});

test('over weeks there is churn: creations, deletions, resizes, moves, power changes', () => {
  const t0 = at('2026-06-01T00:00:00Z');
  const t1 = at('2026-06-29T00:00:00Z');
  const a = demoCapture({ flavor: 'vcenter', seed: 1, totalVms: 500, at: t0, since: null });
  const b = demoCapture({ flavor: 'vcenter', seed: 1, totalVms: 500, at: t1, since: t0 });
  const before = new Map(a.vms.map((v) => [v.key, v]));
  const after = new Map(b.vms.map((v) => [v.key, v]));
  const created = [...after.keys()].filter((k) => !before.has(k));
  const deleted = [...before.keys()].filter((k) => !after.has(k));
  const kept = [...after.keys()].filter((k) => before.has(k));
  assert.ok(created.length > 5, `created ${created.length}`);
  assert.ok(deleted.length > 5, `deleted ${deleted.length}`);
  assert.ok(kept.some((k) => before.get(k)!.vcpu !== after.get(k)!.vcpu), 'some VM resized');
  assert.ok(kept.some((k) => before.get(k)!.host !== after.get(k)!.host), 'some VM moved');
  assert.ok(
    kept.some((k) => before.get(k)!.powerState !== after.get(k)!.powerState),
    'some VM changed power',
  );
  // Every creation/deletion in the window is reported as an event.
  const events = b.events!;
  for (const k of created) {
    assert.ok(events.some((e) => e.type === 'created' && e.vmKey === k), `created event for ${k}`);
  }
  for (const k of deleted) {
    assert.ok(events.some((e) => e.type === 'deleted' && e.vmKey === k), `deleted event for ${k}`);
  }
});

test('the Proxmox-like source reuses vmids with a new key', () => {
  const seen = new Map<string, Set<string>>();
  for (let d = 0; d < 90; d += 3) {
    const c = demoCapture({
      flavor: 'proxmox',
      seed: 1,
      totalVms: 500,
      at: new Date(Date.UTC(2026, 3, 1 + d)),
      since: null,
    });
    for (const vm of c.vms) {
      if (!seen.has(vm.sourceVmId)) seen.set(vm.sourceVmId, new Set());
      seen.get(vm.sourceVmId)!.add(vm.key);
    }
  }
  assert.ok([...seen.values()].some((keys) => keys.size > 1), 'a vmid reused under a new key');
});

test('v2 details for both flavours: valid, disks on the capture datastores, NICs with MACs, hosts, clusters, pools, networks', () => {
  for (const flavor of ['vcenter', 'proxmox'] as const) {
    const c = Capture.parse(demoCapture({
      flavor,
      seed: 3,
      totalVms: 400,
      at: at('2026-06-01T12:00:00Z'),
      since: null,
    }));
    const datastores = new Set(c.datastores.map((d) => d.key));
    const vms = c.vms.filter((v) => !v.isTemplate);
    assert.ok(vms.every((v) => v.disks.length >= 1 && v.disks.length <= 4), `${flavor}: 1–4 disks`);
    assert.ok(c.vms.every((v) => v.disks.every((d) => datastores.has(d.datastore!))), flavor);
    assert.ok(vms.every((v) => v.nics.length >= 1 && v.nics.length <= 2), `${flavor}: 1–2 NICs`);
    const macs = c.vms.flatMap((v) => v.nics.map((n) => n.macAddress));
    assert.ok(new Set(macs).size > macs.length * 0.99, `${flavor}: MACs (nearly all) distinct`);
    assert.ok(c.vms.some((v) => v.nics.length === 2), `${flavor}: some VMs have two NICs`);
    assert.ok(c.vms.some((v) => v.snapshots.length > 0), `${flavor}: some VMs have snapshots`);
    assert.ok(c.vms.some((v) => v.hardware !== null && v.guest !== null), flavor);
    assert.ok(c.vms.every((v) => v.labels.length > 0), `${flavor}: tags`);
    assert.is(c.usage.length, c.vms.length, `${flavor}: usage for every VM`);
    assert.ok(c.hosts.every((h) => h.cpuModel !== null && h.nics.length > 0), flavor);
    assert.ok(c.clusters.length > 0 && c.resourcePools.length > 0 && c.networks.length > 0, flavor);
    // No nested object of a VM begins with "key" (the server cuts VM text there).
    for (const vm of c.vms) {
      assert.not.ok(JSON.stringify(vm).slice(1).includes('{"key":'), `${vm.key}: nested key`);
    }
  }
  const vc = Capture.parse(demoCapture({
    flavor: 'vcenter',
    seed: 3,
    totalVms: 400,
    at: at('2026-06-01T12:00:00Z'),
    since: null,
  }));
  assert.ok(vc.vms.some((v) => v.labels.some((l) => l.category === 'Environment')));
  assert.equal(
    [...new Set(vc.networks.map((n) => n.kind))].sort(),
    ['distributed', 'standard'],
    'standard and distributed port groups',
  );
  assert.ok(vc.networks.some((n) => n.vlanId !== null && n.vlanId > 0));
});

test('configuration changes for a small fraction of VMs an hour; usage moves every capture; some snapshots are older than 7 days', () => {
  const fleet = (iso: string) =>
    Capture.parse(demoCapture({
      flavor: 'vcenter',
      seed: 4,
      totalVms: 2000,
      at: at(iso),
      since: null,
    }));
  const a = fleet('2026-06-01T13:00:00Z');
  const b = fleet('2026-06-01T14:00:00Z');
  const before = new Map(a.vms.map((v) => [v.key, configText(v)]));
  const kept = b.vms.filter((v) => before.has(v.key));
  const changed = kept.filter((v) => before.get(v.key) !== configText(v)).length;
  assert.ok(changed > 0 && changed < kept.length * 0.05, `${changed} of ${kept.length} changed`);
  const usage = new Map(a.usage.map((u) => [u.key, u.cpuUsageMhz]));
  const moved = b.usage.filter((u) => usage.has(u.key) && usage.get(u.key) !== u.cpuUsageMhz);
  assert.ok(moved.length > kept.length * 0.5, `usage moved for ${moved.length}`);
  const week = Date.parse(b.capturedAt) - 7 * 24 * 3600_000;
  const old = b.vms.filter((v) => v.snapshots.some((s) => Date.parse(s.createdAt!) < week));
  assert.ok(old.length > 0, 'a snapshot older than 7 days');
  // Snapshots come and go: a month later other VMs have them.
  const later = fleet('2026-07-01T14:00:00Z');
  const withSnap = (c: Capture) =>
    new Set(c.vms.filter((v) => v.snapshots.length).map((v) => v.key));
  const now = withSnap(b);
  assert.ok([...withSnap(later)].some((k) => !now.has(k)), 'new snapshots');
  assert.ok([...now].some((k) => !withSnap(later).has(k)), 'snapshots removed');
});

test.run();
