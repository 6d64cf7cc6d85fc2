/**
 * The switches of the ingest fast way (server/ingest/fast_path.ts), which the ingest bench
 * turns to measure each piece alone: a piece switched off is not used, gives the general
 * way's result, and still keeps what the next capture with the piece on starts from.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Capture } from '../../agent/capture/schema.ts';
import { demoCapture } from '../../agent/collectors/demo/fleet.ts';
import { fastPathOff } from '../../server/ingest/fast_path.ts';
import { captureFromText } from '../../server/ingest/incoming_capture.ts';
import { type SourceState, SourceStateCache } from '../../server/ingest/source_state.ts';
import { digestVm } from '../../server/ingest/vm_lines.ts';
import type { VmTextMemo } from '../../server/ingest/vm_text_memo.ts';

const test = suite('ingest fast way: each piece switched off alone');

test.after.each(() => {
  fastPathOff.memo = false;
  fastPathOff.cut = false;
  fastPathOff.stateCache = false;
});

const text = (hour: number) =>
  JSON.stringify(Capture.parse(demoCapture({
    flavor: 'vcenter',
    seed: 17,
    totalVms: 120,
    at: new Date(Date.UTC(2026, 4, 1, hour)),
    since: null,
  })));

test('cut off: the text is left to the whole parse', () => {
  fastPathOff.cut = true;
  assert.is(captureFromText(text(1)), null);
  fastPathOff.cut = false;
  assert.ok(captureFromText(text(1)));
});

test('memo off: every VM is parsed, and the memo of this capture is still kept', async () => {
  let memo: VmTextMemo | undefined;
  const keep = (m: VmTextMemo) => (memo = m);
  await captureFromText(text(1))!.vms.all({ previous: undefined, keep });
  const first = memo!;
  const second = text(2);
  fastPathOff.memo = true;
  const digests = await captureFromText(second)!.vms.all({ previous: first, keep });
  const held = new Set(Array.from({ length: first.size }, (_, i) => first.digest(i)));
  assert.is(digests.filter((d) => held.has(d)).length, 0, 'nothing taken from the memo');
  assert.equal(digests, Capture.parse(JSON.parse(second)).vms.map(digestVm));
  assert.is(memo!.size, digests.length, 'the next capture finds this one remembered');
  fastPathOff.memo = false;
  const again = await captureFromText(second)!.vms.all({ previous: memo, keep });
  assert.ok(again.every((d, i) => d === digests[i]), 'switched on, all are taken from it');
});

test('state cache off: the kept state is not used, but a committed state is still kept', () => {
  const cache = new SourceStateCache();
  const state = (generation: string): SourceState => ({
    generation,
    live: new Map([['vm-1', 1]]),
    leftOut: new Set(),
    creationUnchecked: new Set(),
  });
  cache.put(7, state('5'));
  fastPathOff.stateCache = true;
  assert.is(cache.take(7, '5'), undefined, 'read again from the database');
  cache.put(7, state('6'));
  fastPathOff.stateCache = false;
  assert.is(cache.take(7, '6')?.generation, '6');
});

test.run();
