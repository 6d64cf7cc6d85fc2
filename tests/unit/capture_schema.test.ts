import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Capture } from '../../agent/capture/schema.ts';
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
  assert.is(parsed.schemaVersion, 1);
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

test.run();
