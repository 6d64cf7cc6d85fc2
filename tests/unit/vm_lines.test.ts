/**
 * The COPY text of a VM and its state hash. The hash is stored (vm_inventory.state_hash)
 * and compared with every later capture's, so its value for a given VM must never change:
 * a different hash would make every VM of every source look changed once.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CaptureVm } from '../../agent/capture/schema.ts';
import {
  configText,
  digestVm,
  factFields,
  NO_USAGE,
  stageLine,
  stateFields,
  stateHash,
  usageFields,
} from '../../server/ingest/vm_lines.ts';

const test = suite('VM lines: COPY text and state hash');

const escaped: CaptureVm = CaptureVm.parse({
  key: 'vc-1:vm-42',
  sourceVmId: 'vm-42',
  biosUuid: '4210-aa',
  instanceUuid: null,
  name: 'web\t01\\prod\nx',
  powerState: 'poweredOn',
  isTemplate: false,
  vcpu: 4,
  memoryMib: 8192,
  provisionedDiskGib: 100.12345,
  usedDiskGib: null,
  datacenter: 'DC1',
  cluster: null,
  host: 'esx-1',
  resourcePool: 'RP "a"',
  folder: '/vm/Prod',
  guestOs: 'Ubuntu',
  ipAddresses: ['10.0.0.1', 'fe80::1'],
  tags: ['env:prod', 'a"b\\c'],
  annotation: 'line1\r\nline2',
  createdAt: '2026-01-02T03:04:05Z',
});
const sparse: CaptureVm = CaptureVm.parse({
  key: 'k',
  sourceVmId: '100',
  biosUuid: null,
  instanceUuid: null,
  name: 'Ünïcødé ☃',
  powerState: 'suspended',
  isTemplate: true,
  vcpu: 0,
  memoryMib: 0,
  provisionedDiskGib: 0,
  usedDiskGib: 1.0005,
  datacenter: null,
  cluster: null,
  host: null,
  resourcePool: null,
  folder: null,
  guestOs: null,
  ipAddresses: [],
  tags: [],
  annotation: null,
  createdAt: null,
});

test('COPY text: escapes, nulls, arrays, three decimals', () => {
  assert.is(
    factFields(escaped),
    'vc-1:vm-42\tvm-42\tweb\\t01\\\\prod\\nx\tpoweredOn\tf\t4\t8192\t100.123\t\\N\tDC1\t\\N\tesx-1\tRP "a"\t/vm/Prod\tUbuntu',
  );
  assert.is(
    stateFields(escaped),
    '4210-aa\t\\N\t{"10.0.0.1","fe80::1"}\t{"env:prod","a\\\\"b\\\\\\\\c"}\tline1\\r\\nline2\t2026-01-02T03:04:05Z',
  );
  assert.is(
    factFields(sparse),
    'k\t100\tÜnïcødé ☃\tsuspended\tt\t0\t0\t0.000\t1.001\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N',
  );
  assert.is(stateFields(sparse), '\\N\t\\N\t{}\t{}\t\\N\t\\N');
});

test('state hashes are the ones already stored (values from the first release of the hash)', () => {
  assert.is(stateHash(factFields(escaped), stateFields(escaped)), 7352628069556323);
  assert.is(stateHash(factFields(sparse), stateFields(sparse)), 178676690550603);
  assert.ok(
    stateHash('a', 'b') !== stateHash('ab', ''),
    'text moved between the parts changes the hash',
  );
});

test('a VM without v2 details (v1) keeps its hash; its configuration document is empty', () => {
  assert.is(configText(escaped), '');
  assert.is(digestVm(escaped).hash, 7352628069556323, 'the stored v1 hash');
  assert.is(digestVm(sparse).hash, 178676690550603);
  assert.ok(digestVm(sparse).hash !== 0, 'hash is not trivially zero');
});

test('v2 details: the document holds the non-empty parts, joins the hash, and is staged as jsonb', () => {
  const withDisk = CaptureVm.parse({
    ...escaped,
    disks: [{ label: 'Hard disk 1', capacityMib: 1024, datastore: 'ds-1' }],
    tools: { status: 'toolsOk' },
  });
  const doc = JSON.parse(configText(withDisk));
  assert.equal(Object.keys(doc), ['disks', 'tools']);
  assert.equal(
    doc.disks[0],
    { label: 'Hard disk 1', capacityMib: 1024, datastore: 'ds-1' },
    'no nulls',
  );
  const a = digestVm(withDisk);
  assert.ok(a.hash !== digestVm(escaped).hash, 'a configuration changes the hash');
  const bigger = CaptureVm.parse({
    ...withDisk,
    disks: [{ ...withDisk.disks[0], capacityMib: 2048 }],
  });
  assert.ok(digestVm(bigger).hash !== a.hash, 'a configuration change changes the hash');
  // The stage line: facts, state, the document (COPY-escaped), the hash, usage.
  const fields = stageLine(a).slice(0, -1).split('\t');
  assert.is(fields.at(-4), String(a.hash));
  assert.equal(JSON.parse(fields.at(-5)!.replace(/\\\\/g, '\\')), doc);
  assert.equal(fields.slice(-3).join('\t'), NO_USAGE);
  assert.is(stageLine(digestVm(escaped)).split('\t').at(-5), '\\N', 'no document: null');
  assert.is(
    usageFields({ key: 'k', cpuUsageMhz: 12.6, guestMemoryMib: null, hostMemoryMib: 1e12 }),
    `13\t\\N\t${2 ** 31 - 1}`,
  );
});

test.run();
