/**
 * Usage rows read straight into COPY fields (server/ingest/usage_rows.ts): whatever it
 * reads, it reads exactly as JSON.parse, the schema and usageFields would; what it cannot
 * vouch for it leaves to them (null); and the rows our agents write, it reads.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { VmUsage } from '../../agent/capture/details.ts';
import { demoCapture } from '../../agent/collectors/demo/fleet.ts';
import { scanUsageRows } from '../../server/ingest/usage_rows.ts';
import { usageFields } from '../../server/ingest/vm_lines.ts';

const test = suite('ingest: usage rows read in the agents form');

/** What the ordinary way makes of `text` as rows: [key, fields] pairs, or null if refused. */
function ordinary(text: string): [string, string][] | null {
  let values: unknown;
  try {
    values = JSON.parse(`[${text}]`);
  } catch {
    return null;
  }
  const rows = VmUsage.array().safeParse(values);
  if (!rows.success || rows.data.length === 0) return null;
  return rows.data.map((row) => [row.key, usageFields(row)]);
}

function scan(text: string): [string, string][] | null {
  // Inside a longer text, as the rows sit in a capture.
  const before = '{"usage":[';
  return scanUsageRows(`${before}${text}],"vms":[]}`, before.length, before.length + text.length);
}

/** A scan either agrees with the ordinary way or leaves the text to it. */
function agrees(text: string, label: string): boolean {
  const fast = scan(text);
  if (fast !== null) assert.equal(fast, ordinary(text), label);
  return fast !== null;
}

const row = (fields: Record<string, unknown>) =>
  JSON.stringify({
    key: 'vm-1',
    cpuUsageMhz: 579,
    guestMemoryMib: 2750,
    hostMemoryMib: 4773,
    guestDisks: [{ path: 'C:\\', freeMib: 42512 }],
    ...fields,
  });

test('the rows the agents write are read, and read exactly', () => {
  const capture = demoCapture({
    flavor: 'vcenter',
    seed: 3,
    totalVms: 400,
    at: new Date('2026-05-01T10:00:00Z'),
    since: null,
  });
  const usage = capture.usage ?? [];
  assert.ok(usage.length > 100);
  const text = usage.map((u) => JSON.stringify(VmUsage.parse(u))).join(',');
  assert.ok(agrees(text, 'demo fleet usage'), 'the demo fleet usage is read in the agents form');
  // Rows the agents write with edge values: read, and read as the ordinary way reads them.
  const edges: [string, Record<string, unknown>][] = [
    ['nulls', { cpuUsageMhz: null, guestMemoryMib: null, hostMemoryMib: null }],
    ['no disks', { guestDisks: [] }],
    ['fractions', { cpuUsageMhz: 12.5, guestMemoryMib: 0.4999, hostMemoryMib: 7.5 }],
    ['past the integer column', { hostMemoryMib: 2 ** 31 + 5 }],
    ['zero', { cpuUsageMhz: 0, guestDisks: [{ path: '', freeMib: 0 }] }],
    ['free space fractions', {
      guestDisks: [{ path: '/', freeMib: 123.456789 }, { path: '/b', freeMib: 0.000001 }],
    }],
    ['free space null', { guestDisks: [{ path: '/', freeMib: null }] }],
    ['quotes and backslashes', { guestDisks: [{ path: 'a"b\\c', freeMib: 1 }] }],
    ['a long key', { key: 'k'.repeat(300) }],
    ['many disks', {
      guestDisks: Array.from({ length: 256 }, (_, i) => ({ path: `/d${i}`, freeMib: i })),
    }],
  ];
  for (const [label, fields] of edges) {
    assert.ok(agrees(row(fields), label), `${label}: read in the agents form`);
  }
  assert.ok(agrees([row({}), row({ key: 'vm-2' }), row({ key: 'vm-3' })].join(','), 'three'));
});

test('text it cannot vouch for is left to the ordinary way', () => {
  const left: [string, string][] = [
    ['a non-canonical number', row({}).replace('42512', '42512.0')],
    ['an exponent', row({}).replace('579', '5.79e2')],
    ['free space past 15 digits', row({ guestDisks: [{ path: '/', freeMib: 1234567890.5 }] })],
    ['tiny free space', row({ guestDisks: [{ path: '/', freeMib: 1e-7 }] })],
    ['a unicode escape', row({}).replace('C:', '\\u0043:')],
    ['a raw non-ASCII path', row({ guestDisks: [{ path: 'Données', freeMib: 1 }] })],
    ['keys in another order', JSON.stringify({ cpuUsageMhz: 1, key: 'vm-1' })],
    ['a key missing', row({}).replace(',"hostMemoryMib":4773', '')],
    ['an unknown key', row({}).replace('{"key"', '{"x":1,"key"')],
    ['a key too long', row({ key: 'k'.repeat(301) })],
    ['an empty key', row({ key: '' })],
    ['a negative number', row({ cpuUsageMhz: -1 })],
    [
      '257 disks',
      row({ guestDisks: Array.from({ length: 257 }, () => ({ path: '/', freeMib: 1 })) }),
    ],
    ['a path too long', row({ guestDisks: [{ path: 'p'.repeat(1025), freeMib: 1 }] })],
    ['whitespace', row({}).replace(',"cpuUsageMhz"', ', "cpuUsageMhz"')],
    ['a trailing comma', `${row({})},`],
    ['not a row', '1'],
    ['nothing', ''],
  ];
  for (const [label, text] of left) {
    assert.is(scan(text), null, label);
    agrees(text, label);
  }
  // One row it cannot vouch for leaves the whole piece to the ordinary way.
  assert.is(scan(`${row({})},${row({ cpuUsageMhz: -1 })}`), null, 'one bad row');
});

test.run();
