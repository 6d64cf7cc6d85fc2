/**
 * A capture read while its body still arrives (server/ingest/stream_capture.ts): whatever
 * the chunk boundaries, what is read as it arrives equals JSON.parse of the whole text, read
 * whole and validated by zod; or it is refused (null before anything is read, or
 * NeedsWholeParse from the VMs) so that the whole parse answers. The layout is the agents'
 * own (agent/capture/capture_text.ts), as the spool writes it.
 */
import { gzipSync } from 'node:zlib';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { captureText } from '../../agent/capture/capture_text.ts';
import { Capture } from '../../agent/capture/schema.ts';
import { demoCapture } from '../../agent/collectors/demo/fleet.ts';
import { AppError } from '../../server/errors.ts';
import { NeedsWholeParse } from '../../server/ingest/incoming_capture.ts';
import { bodyBuffers } from '../../server/ingest/read_body.ts';
import { ArrivingBody, captureArriving } from '../../server/ingest/stream_capture.ts';
import type { VmTextMemo } from '../../server/ingest/vm_text_memo.ts';
import { storedHead, wholeStored } from '../support/stored_capture.ts';

const test = suite('ingest: a capture read as it arrives');

const capture = (at = '2026-05-01T10:00:00Z'): Capture =>
  Capture.parse(demoCapture({
    flavor: 'vcenter',
    seed: 5,
    totalVms: 100,
    at: new Date(at),
    since: null,
  }));

/**
 * `text` arriving as UTF-8 in chunks of `size` bytes, each on its own turn: a chunk may end
 * inside a character.
 */
async function* inChunks(text: string, size: number): AsyncGenerator<Uint8Array> {
  const bytes = Buffer.from(text);
  for (let at = 0, n = 0; at < bytes.length; at += size, n++) {
    if (n % 64 === 0) await new Promise((resolve) => setImmediate(resolve));
    yield bytes.subarray(at, at + size);
  }
}

type Reading = { kind: 'arriving'; value: unknown } | { kind: 'whole'; text: string };

/** What ingest reads of `text` arriving in chunks of `size`. */
async function read(text: string, size: number, memo?: VmTextMemo): Promise<Reading> {
  const body = new ArrivingBody(inChunks(text, size));
  const incoming = await captureArriving(body, 200);
  if (incoming) {
    try {
      const vms = await incoming.vms.all({ previous: memo, keep: () => {} });
      return { kind: 'arriving', value: { ...storedHead(incoming, vms), vms } };
    } catch (err) {
      if (!(err instanceof NeedsWholeParse)) throw err;
    }
  }
  return { kind: 'whole', text: await body.whole() };
}

/** Reads `text` in chunks of several sizes: each reading equals the whole parse, or is whole. */
async function assertFaithful(text: string, label: string): Promise<Reading['kind'][]> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined; // not JSON: the whole parse answers 400
  }
  const whole = Capture.safeParse(json);
  const kinds: Reading['kind'][] = [];
  for (const size of [13, 300, 4096, 1 << 22]) {
    const r = await read(text, size);
    if (r.kind === 'arriving') {
      assert.ok(whole.success, `${label} (chunks of ${size}): accepted arriving, refused whole`);
      assert.equal(r.value, wholeStored(whole.data), `${label} (chunks of ${size})`);
    } else {
      assert.is(r.text, text, `${label} (chunks of ${size}): the whole text is kept`);
    }
    kinds.push(r.kind);
  }
  return kinds;
}

const ALL = (kind: Reading['kind']) => [kind, kind, kind, kind];

test('what our agents send is read as it arrives, whatever the chunks', async () => {
  const c = capture();
  const text = captureText(c);
  assert.ok(text.endsWith(']}') && text.indexOf('"vms":[') > text.indexOf('"usage":['));
  assert.equal(await assertFaithful(text, 'agent capture'), ALL('arriving'));
  assert.equal(
    await assertFaithful(captureText({ ...c, vms: [], usage: [] }), 'no VMs'),
    ALL('arriving'),
  );
  assert.equal(
    await assertFaithful(
      captureText({ ...c, usage: c.usage.filter((_, i) => i % 2) }),
      'some usage',
    ),
    ALL('arriving'),
  );
});

test('parts run on across chunks: as many as the size of the VM text makes, whatever the chunks', async () => {
  const c = capture();
  const text = captureText(c);
  const vmChars = text.length - text.indexOf('"vms":[');
  for (const size of [300, 4096]) {
    const sizes: number[] = [];
    const incoming = (await captureArriving(new ArrivingBody(inChunks(text, size)), 5000))!;
    for await (const part of incoming.vms.parts()) sizes.push(part.length);
    assert.is(sizes.reduce((a, b) => a + b), c.vms.length, `chunks of ${size}`);
    // Each part but the last holds 5,000 characters of VMs or more: never a window's few.
    assert.ok(sizes.length <= Math.ceil(vmChars / 5000), `chunks of ${size}: ${sizes.join(' ')}`);
  }
});

test('VMs first (older agents), another version or missing head keys: read whole', async () => {
  const c = capture();
  const { vms, hosts: _h, ...noHosts } = c;
  const cases: [string, string][] = [
    ['vms first', JSON.stringify(c)],
    ['schema version 1', captureText({ ...c, schemaVersion: 1 } as Capture)],
    ['no hosts', JSON.stringify({ ...noHosts, vms })],
    ['pretty-printed', JSON.stringify({ ...c, vms: undefined, v: vms }, null, 2)],
  ];
  for (const [label, text] of cases) {
    assert.equal(await assertFaithful(text, label), ALL('whole'), label);
  }
});

test('anything after the VM array, truncation, a NUL, a bad VM: refused as it arrives, then whole', async () => {
  const c = capture();
  const text = captureText(c);
  const bad = structuredClone(c);
  bad.vms[40].vcpu = -1;
  const nul = structuredClone(c);
  nul.vms[30].annotation = 'a\u0000b';
  const cases: [string, string][] = [
    ['a key after vms', `${text.slice(0, -1)},"x":1}`],
    ['an array after vms', `${text.slice(0, -1)},"x":[{"key":"y"}]}`],
    ['trailing whitespace', `${text} `],
    ['truncated', text.slice(0, -2)],
    ['truncated in a VM', text.slice(0, text.length / 2)],
    ['an invalid VM', captureText(bad)],
    ['a NUL in a VM', captureText(nul)],
    ['a comma before the end', `${text.slice(0, -2)},]}`],
    [
      'usage for a VM not in the capture',
      captureText({ ...c, usage: [...c.usage, { ...c.usage[0], key: 'ghost' }] }),
    ],
    ["usage out of the VMs' order", captureText({ ...c, usage: [...c.usage].reverse() })],
  ];
  for (const [label, t] of cases) {
    const kinds = await assertFaithful(t, label);
    assert.equal(kinds, ALL('whole'), label);
  }
});

test('look-alikes of the boundaries inside strings are read as what they are', async () => {
  const c = capture();
  c.vms[3].name = '},{"key":"fake"';
  c.vms[4].annotation = ']}';
  c.source.name = '"vms":[{"key":"x"}]';
  c.hosts[0].name = '"usage":[';
  c.errors = ['],"vms":['];
  assert.equal(await assertFaithful(captureText(c), 'look-alikes'), ALL('arriving'));
});

test('the text memo matches VMs across windows of the next capture', async () => {
  const first = captureText(capture('2026-05-01T10:00:00Z'));
  const second = captureText(capture('2026-05-01T11:00:00Z'));
  let memo: VmTextMemo | undefined;
  const body = new ArrivingBody(inChunks(first, 5000));
  const incoming = (await captureArriving(body, 200))!;
  await incoming.vms.all({ previous: undefined, keep: (m) => (memo = m) });
  assert.ok(memo && memo.size === capture().vms.length);
  const r = await read(second, 3000, memo);
  assert.is(r.kind, 'arriving');
  const held = new Set(Array.from({ length: memo!.size }, (_, i) => memo!.digest(i)));
  const vms = (r as { value: { vms: unknown[] } }).value.vms;
  const reused = vms.filter((d) => held.has(d as never)).length;
  assert.ok(reused > vms.length / 2, `${reused} of ${vms.length} VMs taken from the memo`);
  assert.equal(r, { kind: 'arriving', value: wholeStored(Capture.parse(JSON.parse(second))) });
});

test("the body's own error (bad gzip mid-way) is kept and given to whoever reads on", async () => {
  const text = captureText(capture());
  async function* broken(): AsyncGenerator<Uint8Array> {
    yield* inChunks(text.slice(0, text.length / 2), 4096);
    throw new AppError('invalid_gzip', 'body could not be decompressed: broken');
  }
  const body = new ArrivingBody(broken());
  const incoming = (await captureArriving(body, 200))!;
  const refused = await incoming.vms.all().then(() => null, (e) => e);
  assert.ok(refused instanceof AppError && refused.code === 'invalid_gzip');
  assert.is(body.failure, refused);
  assert.is(await body.whole().then(() => null, (e: unknown) => e), refused);
});

/** A POST whose gzip'd body arrives in chunks of `size` bytes. */
function post(bytes: Uint8Array, size: number): Request {
  let at = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(at, at += size));
    },
  });
  return new Request('http://localhost/api/v1/captures', {
    method: 'POST',
    body,
    headers: { 'content-encoding': 'gzip' },
    duplex: 'half',
  } as RequestInit);
}

test('characters of any length, cut between chunks anywhere, read as the whole text', async () => {
  const c = capture();
  c.source.name = 'Zürich \u{1f600} été';
  c.hosts[0].name = '\u00e9'.repeat(40);
  c.vms[2].name = 'ünïcödé \u{1f600}\u{1f600}';
  c.vms[7].annotation = '\u4e2d\u6587 '.repeat(50);
  c.vms[8].annotation = '\u00e9},{"key":"\u00e9';
  const text = captureText(c);
  assert.equal(await assertFaithful(text, 'non-ASCII'), ALL('arriving'));
  // Down to the length of `"vms":[`, which must lie in at most two chunks to be found.
  for (const size of [7, 8, 9, 10, 11]) {
    const r = await read(text, size);
    assert.is(r.kind, 'arriving', `chunks of ${size} bytes`);
  }
  // The memo of a capture with such VMs matches them in the next, byte for byte.
  let memo: VmTextMemo | undefined;
  const first = (await captureArriving(new ArrivingBody(inChunks(text, 777)), 200))!;
  await first.vms.all({ previous: undefined, keep: (m) => (memo = m) });
  const r = await read(text, 1001, memo);
  assert.equal(r, { kind: 'arriving', value: wholeStored(Capture.parse(JSON.parse(text))) });
  const held = new Set(Array.from({ length: memo!.size }, (_, i) => memo!.digest(i)));
  const vms = (r as { value: { vms: unknown[] } }).value.vms;
  assert.is(vms.filter((d) => held.has(d as never)).length, vms.length, 'every VM from the memo');
});

test('gzip members in a row, arriving in chunks, are one text', async () => {
  const text = `{"name":"${'\u00e9t\u00e9 \u{1f600} '.repeat(500_000)}"}`;
  const gz = Buffer.concat([gzipSync(text.slice(0, 1000)), gzipSync(text.slice(1000))]);
  for (const size of [1 << 10, 1 << 16]) {
    const body = new ArrivingBody(bodyBuffers(post(gz, size), 1 << 26));
    let chunks = 0;
    while ((await body.next()) !== null) chunks++;
    assert.ok(chunks > 1, 'several chunks');
    assert.is(await body.whole(), text);
  }
});

test.run();
