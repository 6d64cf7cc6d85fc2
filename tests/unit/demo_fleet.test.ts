import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { demoCapture, slotsFor } from '../../agent/collectors/demo/fleet.ts';

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

test.run();
