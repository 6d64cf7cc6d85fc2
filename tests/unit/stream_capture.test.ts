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
import { bodyTextChunks, wholeCharacters } from '../../server/ingest/read_body.ts';
import { ArrivingText, captureArriving } from '../../server/ingest/stream_capture.ts';
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

/** `text` arriving in chunks of `size` characters, each on its own turn. */
async function* inChunks(text: string, size: number): AsyncGenerator<string> {
  for (let at = 0, n = 0; at < text.length; at += size, n++) {
    if (n % 64 === 0) await new Promise((resolve) => setImmediate(resolve));
    yield text.slice(at, at + size);
  }
}

type Reading = { kind: 'arriving'; value: unknown } | { kind: 'whole'; text: string };

/** What ingest reads of `text` arriving in chunks of `size`. */
async function read(text: string, size: number, memo?: VmTextMemo): Promise<Reading> {
  const body = new ArrivingText(inChunks(text, size));
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
  const body = new ArrivingText(inChunks(first, 5000));
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
  async function* broken(): AsyncGenerator<string> {
    yield* inChunks(text.slice(0, text.length / 2), 4096);
    throw new AppError('invalid_gzip', 'body could not be decompressed: broken');
  }
  const body = new ArrivingText(broken());
  const incoming = (await captureArriving(body, 200))!;
  const refused = await incoming.vms.all().then(() => null, (e) => e);
  assert.ok(refused instanceof AppError && refused.code === 'invalid_gzip');
  assert.is(body.failure, refused);
  assert.is(await body.whole().then(() => null, (e) => e), refused);
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

test('text chunks never cut a character; gzip members in a row are one text', async () => {
  assert.is(wholeCharacters(Buffer.from('abc')), 3);
  assert.is(wholeCharacters(Buffer.from('ab\u00e9').subarray(0, 3)), 2);
  assert.is(wholeCharacters(Buffer.from('a\u{1f600}').subarray(0, 4)), 1);
  assert.is(wholeCharacters(Buffer.from('a\u{1f600}')), 5);
  const text = `{"name":"${'\u00e9t\u00e9 \u{1f600} '.repeat(300_000)}"}`;
  const gz = Buffer.concat([gzipSync(text.slice(0, 1000)), gzipSync(text.slice(1000))]);
  for (const size of [1 << 10, 1 << 16]) {
    const chunks: string[] = [];
    for await (const chunk of bodyTextChunks(post(gz, size), 1 << 26)) chunks.push(chunk);
    assert.ok(chunks.length > 1, 'several chunks');
    assert.is(chunks.join(''), text);
  }
});

test.run();
