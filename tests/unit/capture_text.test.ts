/**
 * Reading a capture's text in parts (server/ingest/capture_text.ts): texts shaped to fool
 * the search for the VM array and its part boundaries. Whatever the search finds, a
 * capture read in parts must equal JSON.parse(text) read whole, or be refused (null, or
 * NeedsWholeParse from a part) so that the whole parse answers.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Capture, type CaptureVm } from '../../agent/capture/schema.ts';
import { demoCapture } from '../../agent/collectors/demo/fleet.ts';
import { splitCaptureText } from '../../server/ingest/capture_text.ts';
import { captureFromText, NeedsWholeParse } from '../../server/ingest/incoming_capture.ts';
import { digestVm } from '../../server/ingest/vm_lines.ts';

const test = suite('capture text read in parts');

/** A capture as its JSON text reads back, its VMs open to any key so that cases can bend them. */
type CaptureJson = Omit<Capture, 'vms'> & { vms: (CaptureVm & Record<string, unknown>)[] };

const capture = (): CaptureJson =>
  JSON.parse(JSON.stringify(Capture.parse(demoCapture({
    flavor: 'vcenter',
    seed: 5,
    totalVms: 100,
    at: new Date('2026-05-01T10:00:00Z'),
    since: null,
  }))));

const VMS = capture().vms.length;

type Reading = { kind: 'whole' } | { kind: 'parts'; value: unknown };

/** What ingest does with `text`: parts when they can be vouched for, else the whole parse. */
function read(text: string, partChars: number): Reading {
  const incoming = captureFromText(text, partChars);
  if (!incoming) return { kind: 'whole' };
  try {
    return { kind: 'parts', value: { ...incoming.head, vms: incoming.vms.all() } };
  } catch (err) {
    if (err instanceof NeedsWholeParse) return { kind: 'whole' };
    throw err;
  }
}

/** Reads `text` with several part sizes; every reading in parts must equal zod's whole parse. */
function assertFaithful(text: string, label: string): Reading['kind'][] {
  const whole = Capture.safeParse(JSON.parse(text));
  return [1, 200, 3000, 1 << 20].map((partChars) => {
    const r = read(text, partChars);
    if (r.kind === 'parts') {
      assert.ok(
        whole.success,
        `${label} (parts of ${partChars}): accepted in parts, refused whole`,
      );
      const { vms, ...head } = whole.data;
      assert.equal(
        r.value,
        { ...head, vms: vms.map(digestVm) },
        `${label} (parts of ${partChars}): different data`,
      );
    }
    return r.kind;
  });
}

test('what our agent sends is read in parts, in as many parts as asked for', () => {
  const text = JSON.stringify(capture());
  assert.equal(assertFaithful(text, 'agent capture'), ['parts', 'parts', 'parts', 'parts']);
  assert.ok(VMS > 50);
  assert.is([...captureFromText(text, 1)!.vms.parts()].length, VMS, 'one VM a part');
  assert.is([...captureFromText(text, 1 << 20)!.vms.parts()].length, 1);
  assert.not.ok('vms' in splitCaptureText(text)!.head);
});

test('boundary look-alikes inside strings and unknown keys', () => {
  const c = capture();
  c.vms[3].name = '},{"key":"fake"';
  c.vms[4].annotation = '}],"hosts":[{"key":"h"}],"x":[';
  c.vms[5].name = '"vms":[';
  c.vms[6].extra = [{ key: 'nested-a' }, { key: 'nested-b' }];
  c.vms[7].more = { hosts: [{ key: 'h' }], vms: [{ key: 'v' }] };
  c.source.name = '"vms":[{"key":"x"}]';
  c.hosts[0].name = '}],"hosts":';
  for (const kind of assertFaithful(JSON.stringify(c), 'look-alikes')) {
    assert.ok(kind === 'parts' || kind === 'whole');
  }
  // The look-alikes in strings are escaped, so the real boundaries still read in parts.
  assert.is(assertFaithful(JSON.stringify(c), 'look-alikes')[3], 'parts');
});

test('a second "vms" key, before or after the array, or nested: never read in parts with the wrong one', () => {
  const c = capture();
  const text = JSON.stringify(c);
  const cases: [string, string][] = [
    ['a later vms of another type', text.replace(/}$/, ',"vms":5}')],
    ['a later vms array', text.replace(/}$/, ',"vms":[]}')],
    ['an earlier vms', text.replace('{"schemaVersion"', '{"vms":[{"key":1}],"schemaVersion"')],
    ['vms inside source first', text.replace('"source":{', '"source":{"vms":[{"key":"s"}],')],
    ['vms inside events only', JSON.stringify({ ...c, vms: undefined, events: [{ vms: c.vms }] })],
  ];
  for (const [label, t] of cases) assertFaithful(t, label);
  assert.is(read(cases[0][1], 1).kind, 'whole');
  assert.is(read(cases[1][1], 1).kind, 'whole');
});

test('other layouts: pretty-printed, vms last, no hosts, empty vms, broken or truncated text', () => {
  const c = capture();
  const { vms, ...rest } = c;
  const { hosts: _hosts, ...noHosts } = c;
  const layouts: [string, string][] = [
    ['pretty-printed', JSON.stringify(c, null, 2)],
    ['vms last', JSON.stringify({ ...rest, vms })],
    ['no hosts', JSON.stringify(noHosts)],
    ['empty vms', JSON.stringify({ ...c, vms: [] })],
    ['trailing whitespace', `${JSON.stringify({ ...rest, vms })}\n  `],
  ];
  for (const [label, t] of layouts) assertFaithful(t, label);
  assert.is(read(layouts[1][1], 1).kind, 'parts', 'vms last is found at the end of the object');
  assert.is(read(layouts[2][1], 1).kind, 'parts', 'without hosts the datastores follow');
  const text = JSON.stringify(c);
  for (
    const broken of [
      text.slice(0, -1),
      text.slice(0, text.length / 2),
      text.replace('},{"key":', '},,{"key":'),
      `${text}x`,
    ]
  ) {
    assert.is(
      read(broken, 1).kind,
      'whole',
      'broken text is left to the whole parse, which answers 400',
    );
  }
});

test('a part that does not validate, or repeats a key of an earlier part, stops the reading', () => {
  const c = capture();
  c.vms[40].vcpu = -1;
  assert.throws(
    () => captureFromText(JSON.stringify(c), 1)!.vms.all(),
    (e: unknown) => e instanceof NeedsWholeParse,
  );
  const d = capture();
  d.vms[50].key = d.vms[2].key;
  const incoming = captureFromText(JSON.stringify(d), 1)!;
  let taken = 0;
  assert.throws(() => {
    for (const _ of incoming.vms.parts()) taken++;
  }, (e: unknown) => e instanceof NeedsWholeParse);
  assert.is(taken, 50, 'the first 50 parts were good');
});

test('parts given out are not given again; all() only before any was taken', () => {
  const incoming = captureFromText(JSON.stringify(capture()), 1)!;
  const first = incoming.vms.parts().next().value!;
  assert.is(first.length, 1);
  assert.throws(() => incoming.vms.all(), /after parts were taken/);
  incoming.vms.validateRest();
  assert.is(incoming.vms.count, VMS);
  assert.is(incoming.vms.keys.size, VMS);
  assert.is([...incoming.vms.parts()].length, 0);
});

test.run();
