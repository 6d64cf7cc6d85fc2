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
import {
  captureFromParsed,
  captureFromText,
  NeedsWholeParse,
} from '../../server/ingest/incoming_capture.ts';
import { parseCapture } from '../../server/ingest/validate_capture.ts';
import { type VmDigest } from '../../server/ingest/vm_lines.ts';
import { storedHead, wholeStored } from '../support/stored_capture.ts';
import { VM_DETAIL_KEYS } from '../../agent/capture/details.ts';

const test = suite('capture text read in parts');

/** How many items `items` gives. */
async function count(items: AsyncIterable<unknown>): Promise<number> {
  let n = 0;
  for await (const _ of items) n++;
  return n;
}

/** Whether `promise` rejects with an error of `kind` (whose message matches `message`). */
async function rejectsWith(
  promise: Promise<unknown>,
  kind: abstract new (...args: never[]) => Error,
  message?: RegExp,
): Promise<boolean> {
  try {
    await promise;
    return false;
  } catch (err) {
    return err instanceof kind && (!message || message.test((err as Error).message));
  }
}

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
async function read(text: string, partChars: number): Promise<Reading> {
  const incoming = captureFromText(text, partChars);
  if (!incoming) return { kind: 'whole' };
  try {
    const vms = await incoming.vms.all();
    return { kind: 'parts', value: { ...storedHead(incoming, vms), vms } };
  } catch (err) {
    if (err instanceof NeedsWholeParse) return { kind: 'whole' };
    throw err;
  }
}

/** Reads `text` with several part sizes; every reading in parts must equal zod's whole parse. */
async function assertFaithful(text: string, label: string): Promise<Reading['kind'][]> {
  const whole = Capture.safeParse(JSON.parse(text));
  const kinds: Reading['kind'][] = [];
  for (const partChars of [1, 200, 3000, 1 << 20]) {
    const r = await read(text, partChars);
    if (r.kind === 'parts') {
      assert.ok(
        whole.success,
        `${label} (parts of ${partChars}): accepted in parts, refused whole`,
      );
      assert.equal(
        r.value,
        wholeStored(whole.data),
        `${label} (parts of ${partChars}): different data`,
      );
    }
    kinds.push(r.kind);
  }
  return kinds;
}

test('what our agent sends is read in parts, in as many parts as asked for', async () => {
  const text = JSON.stringify(capture());
  assert.equal(await assertFaithful(text, 'agent capture'), ['parts', 'parts', 'parts', 'parts']);
  assert.ok(VMS > 50);
  assert.is(
    await count(captureFromText(text, 1)!.vms.parts()),
    VMS,
    'one VM a part',
  );
  assert.is(await count(captureFromText(text, 1 << 20)!.vms.parts()), 1);
  assert.not.ok('vms' in splitCaptureText(text)!.head);
});

test('boundary look-alikes inside strings and unknown keys', async () => {
  const c = capture();
  c.vms[3].name = '},{"key":"fake"';
  c.vms[4].annotation = '}],"hosts":[{"key":"h"}],"x":[';
  c.vms[5].name = '"vms":[';
  c.vms[6].extra = [{ key: 'nested-a' }, { key: 'nested-b' }];
  c.vms[7].more = { hosts: [{ key: 'h' }], vms: [{ key: 'v' }] };
  c.source.name = '"vms":[{"key":"x"}]';
  c.hosts[0].name = '}],"hosts":';
  for (const kind of await assertFaithful(JSON.stringify(c), 'look-alikes')) {
    assert.ok(kind === 'parts' || kind === 'whole');
  }
  // The look-alikes in strings are escaped, so the real boundaries still read in parts.
  assert.is((await assertFaithful(JSON.stringify(c), 'look-alikes'))[3], 'parts');
});

test('a second "vms" key, before or after the array, or nested: never read in parts with the wrong one', async () => {
  const c = capture();
  const text = JSON.stringify(c);
  const cases: [string, string][] = [
    ['a later vms of another type', text.replace(/}$/, ',"vms":5}')],
    ['a later vms array', text.replace(/}$/, ',"vms":[]}')],
    ['an earlier vms', text.replace('{"schemaVersion"', '{"vms":[{"key":1}],"schemaVersion"')],
    ['vms inside source first', text.replace('"source":{', '"source":{"vms":[{"key":"s"}],')],
    ['vms inside events only', JSON.stringify({ ...c, vms: undefined, events: [{ vms: c.vms }] })],
  ];
  for (const [label, t] of cases) await assertFaithful(t, label);
  assert.is((await read(cases[0][1], 1)).kind, 'whole');
  assert.is((await read(cases[1][1], 1)).kind, 'whole');
});

test('other layouts: pretty-printed, vms last, no hosts, empty vms, broken or truncated text', async () => {
  const c = capture();
  const { vms, ...rest } = c;
  const { hosts: _hosts, ...noHosts } = c;
  const layouts: [string, string][] = [
    ['pretty-printed', JSON.stringify(c, null, 2)],
    ['vms last', JSON.stringify({ ...rest, vms })],
    ['no hosts', JSON.stringify(noHosts)],
    ['empty vms', JSON.stringify({ ...c, vms: [], usage: [] })],
    ['trailing whitespace', `${JSON.stringify(c)}\n  `],
  ];
  for (const [label, t] of layouts) await assertFaithful(t, label);
  assert.is((await read(layouts[1][1], 1)).kind, 'whole', 'vms last is not the agent layout');
  assert.is((await read(layouts[2][1], 1)).kind, 'whole', 'neither is a capture without hosts');
  assert.is(
    (await read(layouts[3][1], 1)).kind,
    'parts',
    'an empty VM array is read in (no) parts',
  );
  assert.is((await read(layouts[4][1], 1)).kind, 'parts');
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
      (await read(broken, 1)).kind,
      'whole',
      'broken text is left to the whole parse, which answers 400',
    );
  }
});

type Way = 'parts' | 'whole' | 'refused in parts, then whole';

/** What ingest stores from `text`: its parts when they can be read, else the whole parse's. */
async function stored(text: string): Promise<{ way: Way; head: unknown; vms: VmDigest[] }> {
  const incoming = captureFromText(text, 200);
  if (incoming) {
    try {
      const vms = await incoming.vms.all();
      return { way: 'parts', head: storedHead(incoming, vms), vms };
    } catch (err) {
      if (!(err instanceof NeedsWholeParse)) throw err;
    }
  }
  const parsed = parseCapture(JSON.parse(text));
  assert.ok(parsed.success, 'the layout is a valid capture');
  const whole = captureFromParsed(parsed.data);
  const way = incoming ? 'refused in parts, then whole' : 'whole';
  const vms = await whole.vms.all();
  return { way, head: storedHead(whole, vms), vms };
}

/** `o` with its keys in the order of `keys`. */
const inOrder = (o: Record<string, unknown>, keys: string[]) =>
  Object.fromEntries(keys.map((k) => [k, o[k]]));

test('only the agent layout is read in parts; the same capture in another layout is read whole, the same', async () => {
  const c = capture();
  const agent = await stored(JSON.stringify(c));
  assert.is(agent.way, 'parts');
  const top = Object.keys(Capture.shape);
  assert.equal(Object.keys(c), top, 'the agent writes the schema order');
  const vms = top.indexOf('vms');
  const keyLast = [...Object.keys(c.vms[0]).slice(1), 'key'];
  const layouts: [string, unknown, Way][] = [
    ['an unknown key at the end', { ...c, producer: [{ key: 'x' }] }, 'parts'],
    ['VMs with key last', { ...c, vms: c.vms.map((vm) => inOrder(vm, keyLast)) }, 'whole'],
    [
      'key first in the first VM only: read in larger pieces',
      { ...c, vms: c.vms.map((vm, i) => (i === 0 ? vm : inOrder(vm, keyLast))) },
      'parts',
    ],
    [
      'vms followed by events',
      inOrder(c, [
        ...top.slice(0, vms + 1),
        'events',
        'hosts',
        'datastores',
        ...top.slice(vms + 4),
      ]),
      'whole',
    ],
    [
      'datastores before hosts',
      inOrder(c, [
        ...top.slice(0, vms + 1),
        'datastores',
        'hosts',
        'events',
        ...top.slice(vms + 4),
      ]),
      'whole',
    ],
    ['vms first', inOrder(c, ['vms', ...top.filter((k) => k !== 'vms')]), 'whole'],
    ['vms last', inOrder(c, [...top.filter((k) => k !== 'vms'), 'vms']), 'whole'],
    ['keys in reverse', inOrder(c, [...top].reverse()), 'whole'],
    [
      'errors between vms and hosts',
      inOrder(c, [
        ...top.slice(0, vms).filter((k) => k !== 'errors'),
        'vms',
        'errors',
        ...top.slice(vms + 1),
      ]),
      'whole',
    ],
    [
      'an unknown key holding objects between vms and hosts: only reading the VMs finds it',
      inOrder({ ...c, producer: [{ key: 'a' }, { key: 'b' }] }, [
        ...top.slice(0, vms + 1),
        'producer',
        ...top.slice(vms + 1),
      ]),
      'refused in parts, then whole',
    ],
  ];
  for (const [label, layout, way] of layouts) {
    const r = await stored(JSON.stringify(layout));
    assert.is(r.way, way, label);
    assert.equal(r.head, agent.head, `${label}: head`);
    assert.equal(r.vms, agent.vms, `${label}: VMs`);
  }
  // Defaults left out: the keys after vms are missing but datastores (the VMs' disks are on
  // them), so the VM array's end is not found.
  const {
    hosts: _h,
    events: _e,
    clusters: _c,
    resourcePools: _p,
    networks: _n,
    usage: _u,
    ...bare
  } = {
    ...c,
    hosts: [],
    events: [],
    clusters: [],
    resourcePools: [],
    networks: [],
    usage: [],
  };
  const r = await stored(JSON.stringify(bare));
  assert.is(r.way, 'whole');
  assert.equal(r.vms, agent.vms);
});

test('a v1 capture (old names, hosts, datastores and events after vms) is read in parts, as whole', async () => {
  const c = capture();
  const details = new Set<string>(VM_DETAIL_KEYS);
  const v1 = {
    schemaVersion: 1,
    captureId: c.captureId,
    source: c.source,
    capturedAt: c.capturedAt,
    complete: c.complete,
    errors: c.errors,
    vms: c.vms.map((vm) => {
      const { memoryMib, provisionedDiskGib, usedDiskGib, ...rest } = vm;
      const kept = Object.fromEntries(Object.entries(rest).filter(([k]) => !details.has(k)));
      return {
        ...kept,
        ramMb: memoryMib,
        provisionedDiskGb: provisionedDiskGib,
        usedDiskGb: usedDiskGib,
      };
    }),
    hosts: c.hosts.map(({ memoryMib, ...h }) => ({ ...h, memoryMb: memoryMib })),
    datastores: c.datastores.map(({ capacityGib, freeGib, ...d }) => ({
      ...d,
      capacityGb: capacityGib,
      freeGb: freeGib,
    })),
    events: c.events,
  };
  const r = await stored(JSON.stringify(v1));
  assert.is(r.way, 'parts');
  const parsed = parseCapture(JSON.parse(JSON.stringify(v1)));
  assert.ok(parsed.success);
  const whole = captureFromParsed(parsed.data);
  const wholeVms = await whole.vms.all();
  assert.equal(r.head, storedHead(whole, wholeVms));
  assert.equal(r.vms, wholeVms);
  assert.is(r.vms[0].facts.split('\t')[6], String(c.vms[0].memoryMib), 'ramMb read as memoryMib');
  // The same VMs under v2 (schemaVersion 2) with v1 names are invalid, in parts as whole.
  const v2Text = JSON.stringify({ ...v1, schemaVersion: 2 });
  assert.ok(await rejectsWith(captureFromText(v2Text, 200)!.vms.all(), NeedsWholeParse));
  assert.not.ok(parseCapture(JSON.parse(v2Text)).success);
});

test('a part that does not validate, or repeats a key of an earlier part, stops the reading', async () => {
  const c = capture();
  c.vms[40].vcpu = -1;
  assert.ok(await rejectsWith(captureFromText(JSON.stringify(c), 1)!.vms.all(), NeedsWholeParse));
  const d = capture();
  d.vms[50].key = d.vms[2].key;
  const incoming = captureFromText(JSON.stringify(d), 1)!;
  let taken = 0;
  const reading = (async () => {
    for await (const _ of incoming.vms.parts()) taken++;
  })();
  assert.ok(await rejectsWith(reading, NeedsWholeParse));
  assert.is(taken, 50, 'the first 50 parts were good');
});

test('parts given out are not given again; all() only before any was taken', async () => {
  const incoming = captureFromText(JSON.stringify(capture()), 1)!;
  const first = (await incoming.vms.parts().next()).value!;
  assert.is(first.length, 1);
  assert.ok(await rejectsWith(incoming.vms.all(), Error, /after parts were taken/));
  assert.ok(await incoming.vms.allValid());
  assert.is(incoming.vms.keys.size, VMS);
  assert.is(await count(incoming.vms.parts()), 0);
});

test('usage is read with the VMs, in their order; any other order or a stray row is read whole, the same', async () => {
  const c = capture();
  assert.ok(c.usage.length === VMS, 'the demo gives every VM usage');
  const keys = c.vms.map((vm) => vm.key);
  const some = c.usage.filter((_, i) => i % 3 !== 0);
  const row = (key: string, cpu: number) => ({
    key,
    cpuUsageMhz: cpu,
    guestMemoryMib: null,
    hostMemoryMib: null,
    guestDisks: [{ path: '},{"key":"x"}],"complete":', freeMib: 1 }],
  });
  const spool = (u: unknown[]) => {
    const { complete, errors, ...rest } = c;
    return JSON.stringify({ ...rest, usage: u, complete, errors });
  };
  const ALL_WHOLE: Reading['kind'][] = ['whole', 'whole', 'whole', 'whole'];
  const cases: [string, string, Reading['kind'][]][] = [
    ['every VM', JSON.stringify(c), ['parts', 'parts', 'parts', 'parts']],
    ['two VMs in three', JSON.stringify({ ...c, usage: some }), [
      'parts',
      'parts',
      'parts',
      'parts',
    ]],
    ['complete and errors after usage (the spool)', spool(some), [
      'parts',
      'parts',
      'parts',
      'parts',
    ]],
    ['none', JSON.stringify({ ...c, usage: [] }), ['parts', 'parts', 'parts', 'parts']],
    ['look-alikes in a path', JSON.stringify({ ...c, usage: [row(keys[5], 3)] }), [
      'parts',
      'parts',
      'parts',
      'parts',
    ]],
    // Rows are taken in the VMs' order: a row behind the VM it is for (that VM was given out
    // as having none) and a row repeated after its VM took the first are read whole.
    ['in reverse', JSON.stringify({ ...c, usage: [...some].reverse() }), ALL_WHOLE],
    [
      'a row for a VM not in the capture',
      JSON.stringify({ ...c, usage: [...some, row('ghost', 1)] }),
      [
        'whole',
        'whole',
        'whole',
        'whole',
      ],
    ],
    [
      'a row for a VM not in the capture, first',
      JSON.stringify({ ...c, usage: [row('ghost', 1), ...some] }),
      [
        'whole',
        'whole',
        'whole',
        'whole',
      ],
    ],
    [
      'a VM given two rows, apart',
      JSON.stringify({ ...c, usage: [...some, row(some[0].key, 9)] }),
      ALL_WHOLE,
    ],
    [
      'a VM given two rows, together',
      JSON.stringify({ ...c, usage: [row(keys[0], 1), row(keys[0], 2)] }),
      ALL_WHOLE,
    ],
    [
      'an invalid row',
      JSON.stringify({ ...c, usage: [...some.slice(0, 9), { key: keys[40], cpuUsageMhz: 'x' }] }),
      [
        'whole',
        'whole',
        'whole',
        'whole',
      ],
    ],
  ];
  for (const [label, text, kinds] of cases) {
    assert.equal(await assertFaithful(text, `usage: ${label}`), kinds, label);
  }
  // Two rows for one VM, however far apart: the parts refuse them, and the whole parse
  // (assertFaithful above) keeps the later, as it always did.
  const twice = captureFromText(
    JSON.stringify({ ...c, usage: [row(keys[0], 1), row(keys[0], 2)] }),
    1 << 20,
  )!;
  assert.ok(await rejectsWith(twice.vms.all(), NeedsWholeParse));
});

test.run();
