import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Capture, upgradeV1Capture } from '../../agent/capture/schema.ts';
import { describeIssues } from '../../shared/issues.ts';
import { demoCapture } from '../../agent/collectors/demo/fleet.ts';

const test = suite('capture schema');

const sample = () =>
  demoCapture({
    flavor: 'vcenter',
    seed: 3,
    totalVms: 20,
    at: new Date('2026-05-01T10:00:00Z'),
    since: null,
  });

test('a demo capture is valid and gets defaults', () => {
  const parsed = Capture.parse(sample());
  assert.is(parsed.schemaVersion, 2);
  assert.ok(parsed.vms.length > 0);
  for (const vm of parsed.vms) {
    assert.type(vm.key, 'string');
    assert.ok(['poweredOn', 'poweredOff', 'suspended'].includes(vm.powerState));
  }
});

test('a wrong type is reported with its path', () => {
  const bad: { vms: Record<string, unknown>[] } = sample();
  bad.vms[1].vcpu = 'four';
  const r = Capture.safeParse(bad);
  assert.not.ok(r.success);
  const issues = describeIssues(r.error!);
  assert.is(issues[0].path, 'vms.1.vcpu');
});

test('duplicate VM keys are refused', () => {
  const bad = sample();
  bad.vms[2].key = bad.vms[0].key;
  const r = Capture.safeParse(bad);
  assert.not.ok(r.success);
  assert.match(describeIssues(r.error!)[0].message, /duplicate VM key/);
  assert.is(describeIssues(r.error!)[0].path, 'vms.2.key');
});

test('capture id must be a uuid and the source kind known', () => {
  const a = sample();
  a.captureId = 'not-a-uuid';
  assert.is(describeIssues(Capture.safeParse(a).error!)[0].path, 'captureId');
  const b: { source: Record<string, unknown> } = sample();
  b.source.kind = 'hyperv';
  assert.is(describeIssues(Capture.safeParse(b).error!)[0].path, 'source.kind');
});

test('a v1 capture from an older agent is read with v2 names, values unchanged', () => {
  // deno-lint-ignore no-explicit-any -- a capture as an older agent wrote it: no type fits
  const v1 = JSON.parse(JSON.stringify(sample())) as Record<string, any>;
  v1.schemaVersion = 1;
  const vm = v1.vms[0];
  vm.ramMb = vm.memoryMib;
  vm.provisionedDiskGb = vm.provisionedDiskGib;
  vm.usedDiskGb = vm.usedDiskGib;
  delete vm.memoryMib, delete vm.provisionedDiskGib, delete vm.usedDiskGib;
  v1.hosts[0].memoryMb = v1.hosts[0].memoryMib;
  delete v1.hosts[0].memoryMib;
  v1.datastores[0].capacityGb = v1.datastores[0].capacityGib;
  delete v1.datastores[0].capacityGib;
  const expected = Capture.parse(sample());
  assert.not.ok(Capture.safeParse(v1).success, 'v1 names alone are not v2');
  const upgraded = Capture.parse(upgradeV1Capture(v1));
  assert.is(upgraded.schemaVersion, 1);
  assert.equal(upgraded.vms[0], expected.vms[0]);
  assert.equal(upgraded.hosts[0], expected.hosts[0]);
  assert.equal(upgraded.datastores[0], expected.datastores[0]);
});

test('v2 references: unknown datastore, NIC without MAC, snapshot cycle and duplicate id', () => {
  const paths = (mutate: (vm: Record<string, unknown>) => void) => {
    const c = sample() as { vms: Record<string, unknown>[] };
    mutate(c.vms[2]);
    return describeIssues(Capture.safeParse(c).error!).map((i) => `${i.path}: ${i.message}`);
  };
  assert.equal(
    paths((vm) => (vm.disks = [{ label: 'Hard disk 1', datastore: 'datastore-404' }])),
    ['vms.2.disks.0.datastore: unknown datastore "datastore-404": not in the capture\'s datastores'],
  );
  assert.match(
    paths((vm) => (vm.nics = [{ label: 'Network adapter 1' }]))[0],
    /^vms\.2\.nics\.0\.macAddress: /,
  );
  assert.match(
    paths((vm) => (vm.nics = [{ label: 'net0', macAddress: '' }]))[0],
    /^vms\.2\.nics\.0\.macAddress: /,
  );
  assert.equal(
    paths((vm) => (vm.snapshots = [
      { id: 'a', name: 'a', parentId: 'b' },
      { id: 'b', name: 'b', parentId: 'a' },
    ])),
    [
      'vms.2.snapshots.0.parentId: snapshot "a" is its own ancestor: the snapshot tree has a cycle',
      'vms.2.snapshots.1.parentId: snapshot "b" is its own ancestor: the snapshot tree has a cycle',
    ],
  );
  assert.equal(paths((vm) => (vm.snapshots = [{ id: 'a', name: 'x' }, { id: 'a', name: 'y' }])), [
    'vms.2.snapshots.1.id: duplicate snapshot id "a"',
  ]);
  assert.equal(paths((vm) => (vm.snapshots = [{ id: 'a', name: 'x', parentId: 'gone' }])), [
    'vms.2.snapshots.0.parentId: unknown parent snapshot "gone"',
  ]);
});

test.run();
