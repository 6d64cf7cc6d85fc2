/**
 * The memo of a source's VM texts (server/ingest/vm_text_memo.ts): a capture read with the
 * memo of the previous one must give exactly the digests of its whole parse, whatever
 * changed between the two, and must really skip the VMs whose text is unchanged.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Capture, type CaptureVm } from '../../agent/capture/schema.ts';
import { demoCapture } from '../../agent/collectors/demo/fleet.ts';
import {
  captureFromText,
  NeedsWholeParse,
  VmTextReader,
} from '../../server/ingest/incoming_capture.ts';
import { digestVm, type VmDigest } from '../../server/ingest/vm_lines.ts';
import { type VmTextMemo, VmTextMemos } from '../../server/ingest/vm_text_memo.ts';
import { ConfigError, loadServerConfig } from '../../server/config.ts';

const test = suite('VM text memo');

/** A capture as its JSON text reads back, its VMs open to any key so that cases can bend them. */
type CaptureJson = Omit<Capture, 'vms'> & { vms: (CaptureVm & Record<string, unknown>)[] };

/** Without usage: the cases add, remove and rename VMs, and usage must name VMs there are. */
const captureAt = (hour: number): CaptureJson => ({
  ...JSON.parse(JSON.stringify(Capture.parse(demoCapture({
    flavor: 'vcenter',
    seed: 11,
    totalVms: 300,
    at: new Date(Date.UTC(2026, 4, 1, hour)),
    since: null,
  })))),
  usage: [],
});

type Reading = { digests: VmDigest[]; memo: VmTextMemo | undefined };

/** Reads `text` as ingest does, with `previous` as the source's memo. */
async function read(
  text: string,
  previous: VmTextMemo | undefined,
  partChars = 4096,
): Promise<Reading> {
  const incoming = captureFromText(text, partChars);
  assert.ok(incoming, 'the text is split');
  let memo: VmTextMemo | undefined;
  const digests = await incoming!.vms.all({ previous, keep: (next) => (memo = next) });
  return { digests, memo };
}

/** What the whole parse gives: the reference every reading must equal. */
const wholeDigests = (text: string) => Capture.parse(JSON.parse(text)).vms.map(digestVm);

/** How many digests of `reading` are the very objects the previous memo held. */
function reused(reading: Reading, previous: VmTextMemo): number {
  const held = new Set(Array.from({ length: previous.size }, (_, i) => previous.digest(i)));
  return reading.digests.filter((d) => held.has(d)).length;
}

test('consecutive captures: unchanged VMs come from the memo, the rest are parsed, all equal the whole parse', async () => {
  const first = JSON.stringify(captureAt(1));
  const a = await read(first, undefined);
  assert.equal(a.digests, wholeDigests(first));
  assert.is(a.memo!.size, a.digests.length, 'every VM of the first capture is remembered');

  let previous = a.memo!;
  for (let hour = 2; hour <= 6; hour++) {
    const c = captureAt(hour);
    c.vms[hour].memoryMib += 1024; // besides what the demo fleet changes itself
    const text = JSON.stringify(c);
    const b = await read(text, previous);
    assert.equal(b.digests, wholeDigests(text), `hour ${hour}`);
    const taken = reused(b, previous);
    assert.ok(
      taken > 0.8 * b.digests.length,
      `hour ${hour}: only ${taken} of ${b.digests.length} VMs taken from the memo`,
    );
    assert.ok(taken < b.digests.length, `hour ${hour}: a changed VM was taken from the memo`);
    previous = b.memo!;
  }
});

test('VMs in another order, added, removed, changed by one character', async () => {
  const c = captureAt(1);
  const base = (await read(JSON.stringify(c), undefined)).memo!;
  const shuffled = { ...c, vms: [...c.vms].reverse() };
  shuffled.vms.splice(10, 5);
  shuffled.vms.splice(40, 0, { ...c.vms[0], key: 'brand-new', sourceVmId: 'vm-new' });
  shuffled.vms[20] = { ...shuffled.vms[20], vcpu: shuffled.vms[20].vcpu + 1 };
  shuffled.vms[21] = { ...shuffled.vms[21], name: `${shuffled.vms[21].name.slice(0, -1)}#` };
  const text = JSON.stringify(shuffled);
  const r = await read(text, base);
  assert.equal(r.digests, wholeDigests(text));
  assert.is(
    reused(r, base),
    shuffled.vms.length - 3,
    'all but the new and the two changed VMs, found by key',
  );
});

test('a remembered text followed by anything but a comma, or cut short, is not taken', async () => {
  const c = captureAt(1);
  const text = JSON.stringify(c);
  const base = (await read(text, undefined)).memo!;
  const second = JSON.stringify(c.vms[1]);
  const cases = [
    text.replace(`${second},`, `${second} ,`), // still JSON: parsed, not taken
    text.replace(`${second},`, `${second},"x":1},`), // a remembered text and a comma, inside a longer value
    text.replace(`${second},`, `${second}x,`), // not JSON
    text.replace(`${second},`, `${second}x`), // not JSON: one character in place of the comma
  ];
  for (const [i, t] of cases.entries()) {
    let digests: VmDigest[] | null = null;
    try {
      const r = await read(t, base);
      digests = r.digests;
      assert.equal(
        (await read(t, r.memo)).digests,
        digests,
        `case ${i}: read again with its own memo`,
      );
    } catch (err) {
      if (!(err instanceof NeedsWholeParse)) throw err;
    }
    let whole: VmDigest[] | null = null;
    try {
      whole = wholeDigests(t);
    } catch { /* invalid JSON: the whole parse answers 400 */ }
    if (digests) assert.equal(digests, whole, `case ${i}`);
    if (i > 0) assert.is(digests, null, 'broken text is never read in parts');
    if (digests) {
      assert.not.ok(digests.includes(base.digest(1)), `case ${i}: the changed VM was not taken`);
    }
  }
});

test('keys with escapes, nested look-alikes of a VM boundary', async () => {
  const c = captureAt(1);
  c.vms[3].key = 'a "quoted" key \\ é';
  c.vms[4].key = 'ünïcödé';
  c.vms[5].extra = [{ key: 'nested-a' }, { key: 'nested-b' }]; // unknown field: stripped, but cuts look here
  const text = JSON.stringify(c);
  const a = await read(text, undefined, 1 << 20);
  assert.equal(a.digests, wholeDigests(text));
  const again = await read(text, a.memo, 1 << 20);
  assert.equal(again.digests, wholeDigests(text));
  assert.is(
    reused(again, a.memo!),
    c.vms.length,
    'in the same order every VM is found, the nested one too',
  );
  // Reversed, the cursor never helps: VMs are found by key, except the one with escapes.
  const reversed = JSON.stringify({ ...c, vms: [...c.vms].reverse() });
  const r = await read(reversed, a.memo, 1 << 20);
  assert.equal(r.digests, wholeDigests(reversed));
  assert.is(reused(r, a.memo!), c.vms.length - 1);
});

test('an invalid VM stops the reading and leaves the memo as it was', async () => {
  const c = captureAt(1);
  const base = (await read(JSON.stringify(c), undefined)).memo!;
  c.vms[150].vcpu = -1;
  const incoming = captureFromText(JSON.stringify(c), 1)!;
  let kept = false;
  const refused = await incoming.vms.all({ previous: base, keep: () => (kept = true) }).then(
    () => null,
    (e: unknown) => e,
  );
  assert.ok(refused instanceof NeedsWholeParse);
  assert.not.ok(kept);
});

test('memos are kept per source, least recently used dropped over the limit', async () => {
  const memos = new VmTextMemos(250);
  const text = JSON.stringify(captureAt(1));
  const size = (await read(text, undefined)).digests.length;
  assert.ok(size > 125 && size <= 250, `${size} VMs`);
  const keep = (sourceId: number) => captureFromText(text)!.vms.all(memos.use(sourceId));
  await keep(1);
  assert.is(memos.vms, size);
  assert.ok(memos.use(1).previous);
  await keep(2);
  assert.not.ok(memos.use(1).previous, 'source 1 was dropped for source 2');
  assert.is(memos.use(2).previous!.size, size);
  assert.is(memos.vms, size);
  const small = new VmTextMemos(100);
  await captureFromText(text)!.vms.all(small.use(3));
  assert.not.ok(small.use(3).previous, 'a source over the limit is not kept');
  assert.is(small.vms, 0);
});

test('memos are also bounded by bytes: text and digests counted, least recently used dropped', async () => {
  const text = JSON.stringify(captureAt(1));
  const one = new VmTextMemos();
  await captureFromText(text)!.vms.all(one.use(1));
  const bytes = one.bytes;
  // The body's VM text at least, and not wildly more than text and digests.
  assert.ok(bytes > text.length * 0.9 && bytes < text.length * 4, `${bytes} for ${text.length}`);
  assert.is(one.use(1).previous!.bytes, bytes);
  const memos = new VmTextMemos(1_000_000, Math.round(bytes * 1.5));
  const keep = (sourceId: number) => captureFromText(text)!.vms.all(memos.use(sourceId));
  await keep(1);
  await keep(2);
  assert.not.ok(memos.use(1).previous, 'source 1 was dropped for source 2');
  assert.ok(memos.use(2).previous);
  assert.is(memos.bytes, bytes);
  await keep(2); // replacing a source's memo does not count it twice
  assert.is(memos.bytes, bytes);
  const small = new VmTextMemos(1_000_000, bytes - 1);
  await captureFromText(text)!.vms.all(small.use(3));
  assert.not.ok(small.use(3).previous, 'a source over the limit is not kept');
  assert.is(small.bytes, 0);
  assert.is(loadServerConfig({}).ingestMemoMb, 512);
  assert.is(loadServerConfig({ VMLEDGER_INGEST_MEMO_MB: '64' }).ingestMemoMb, 64);
});

test('VMLEDGER_INGEST_MEMO_VMS sets the limit; a bad value names the setting', async () => {
  assert.is(loadServerConfig({}).ingestMemoVms, 100_000);
  assert.is(loadServerConfig({ VMLEDGER_INGEST_MEMO_VMS: '0' }).ingestMemoVms, 0);
  assert.is(loadServerConfig({ VMLEDGER_INGEST_MEMO_VMS: '250000' }).ingestMemoVms, 250_000);
  for (const bad of ['-1', 'lots', '1.5']) {
    assert.throws(
      () => loadServerConfig({ VMLEDGER_INGEST_MEMO_VMS: bad }),
      (e: unknown) => e instanceof ConfigError && e.message.includes('VMLEDGER_INGEST_MEMO_VMS'),
    );
  }
  const off = new VmTextMemos(0);
  await captureFromText(JSON.stringify(captureAt(1)))!.vms.all(off.use(1));
  assert.not.ok(off.use(1).previous, '0 keeps nothing');
});

test('bytes are matched against bytes, text against text; a byte differing anywhere is a miss', () => {
  const vms = captureAt(1).vms.slice(0, 20);
  vms[5].name = 'caf\u00e9 \u{1f600}';
  const inner = (list: unknown[]) => JSON.stringify(list).slice(1, -1);
  const text = inner(vms);
  const readAll = (t: string | Buffer, previous: VmTextMemo | undefined) => {
    let memo: VmTextMemo | undefined;
    const reader = new VmTextReader(4096, { previous, keep: (m) => (memo = m) }, false);
    const digests = [...reader.read(t, 0, t.length), ...reader.finish()].flat();
    return { digests, memo: memo! };
  };
  const asBytes = readAll(Buffer.from(text), undefined);
  assert.equal(asBytes.digests, readAll(text, undefined).digests, 'bytes read as the text');
  const again = readAll(Buffer.from(text), asBytes.memo);
  assert.is(reused(again, asBytes.memo), 20, 'every VM matched byte for byte');
  const asText = readAll(text, asBytes.memo);
  assert.is(reused(asText, asBytes.memo), 0, 'text is not matched against bytes');
  assert.equal(asText.digests, asBytes.digests);
  const changed = structuredClone(vms);
  changed[5].name = 'caf\u00e8 \u{1f600}';
  const oneByte = readAll(Buffer.from(inner(changed)), asBytes.memo);
  assert.is(reused(oneByte, asBytes.memo), 19, 'the VM with one byte changed is parsed');
  assert.is(oneByte.digests[5].facts.includes('caf\u00e8'), true);
});

test.run();
