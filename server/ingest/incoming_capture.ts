/**
 * A capture on its way into the database: its head validated up front, its VMs validated
 * part by part as the ingest consumes them, so a capture read from text (capture_text.ts)
 * is parsed while its facts are being COPYed, and a VM whose text is the same as in the
 * source's previous capture is not parsed again (vm_text_memo.ts).
 *
 * A part that does not parse or validate throws NeedsWholeParse: the ingest then rolls
 * back and reads the whole text the ordinary way, which answers with zod's own issues.
 */
import {
  type Capture,
  type CaptureHead,
  type CaptureVm,
  MAX_VMS_PER_CAPTURE,
  upgradeV1Capture,
} from '../../agent/capture/schema.ts';
import { VM_CUT } from '../../agent/capture/capture_text.ts';
import { splitCaptureText } from './capture_text.ts';
import { fastPathOff } from './fast_path.ts';
import { type IncomingUsage, ParsedUsage, UsageText } from './incoming_usage.ts';
import { NeedsWholeParse } from './needs_whole_parse.ts';
import { checkCaptureHead, checkCaptureVms } from './validate_capture.ts';
import { digestVm, NO_USAGE, type VmDigest } from './vm_lines.ts';
import { decoded } from './read_body.ts';
import { type JsonText, type MemoUse, VmTextMemo } from './vm_text_memo.ts';

export { NeedsWholeParse };

/** About 500 VMs a part: small enough that the COPY starts early, big enough to be cheap. */
export const PART_CHARS = 256 * 1024;

/**
 * The VMs of a capture, given out one validated part of digests (vm_lines.ts) at a time.
 * Parts given out are not kept: a 10,000-VM capture kept whole through its ingest survives
 * two or three young generation collections, each copying it (measured 10-16 ms apiece);
 * dropped part by part, it dies young. What ingest needs of all VMs together is kept: their
 * keys.
 */
export class IncomingVms {
  readonly #read: (memo: MemoUse | undefined) => VmReading;
  readonly #keys = new Set<string>();
  /** The keys of the VMs given out so far: all of them once every part was taken. */
  readonly keys: ReadonlySet<string> = this.#keys;
  #reading: AsyncIterator<VmDigest[]> | Iterator<VmDigest[]> | null = null;
  readonly #usage: IncomingUsage;
  /** The usage fields of the VMs given out so far that have usage. */
  readonly #usageFields = new Map<string, string>();
  /** The datastores the VMs' disks must be on: null when the whole capture was validated. */
  readonly #datastores: ReadonlySet<string> | null;

  /**
   * `read` reads the VMs in parts, validating them; it is called once, by the first `parts`.
   * `usage` gives each VM its usage as it is read. `head` is the capture's validated head,
   * whose datastores the VMs' disks must be on (a check the whole parse makes in schema.ts).
   */
  constructor(
    read: (memo: MemoUse | undefined) => VmReading,
    usage: IncomingUsage,
    head?: CaptureHead,
  ) {
    this.#read = read;
    this.#usage = usage;
    this.#datastores = head ? new Set(head.datastores.map((d) => d.key)) : null;
  }

  /**
   * The parts not taken yet, in order, validated as they are taken; throws NeedsWholeParse.
   * `memo` (given on the first call) is the source's memo of VM texts: VMs found in it are
   * not parsed, and once every VM was read it is replaced by this capture's.
   */
  async *parts(memo?: MemoUse): AsyncGenerator<VmDigest[]> {
    if (!this.#reading) {
      const reading = this.#read(memo);
      this.#reading = Symbol.asyncIterator in reading
        ? reading[Symbol.asyncIterator]()
        : reading[Symbol.iterator]();
    }
    for (;;) {
      const next = await this.#reading.next();
      if (next.done) break;
      const part = next.value;
      const keys = this.#keys;
      const datastores = this.#datastores;
      for (const vm of part) {
        // One lookup, not has() then add(): a key already there leaves the size as it was.
        const size = keys.size;
        keys.add(vm.key);
        if (keys.size === size) throw new NeedsWholeParse('two VMs share a key');
        if (!vm.snapshotTreeValid) throw new NeedsWholeParse('a snapshot tree is invalid');
        if (datastores) {
          for (const d of vm.diskDatastores) {
            if (!datastores.has(d)) {
              throw new NeedsWholeParse('a disk is on a datastore not in the capture');
            }
          }
        }
        const usage = this.#usage.take(vm.key, keys);
        if (usage !== NO_USAGE) this.#usageFields.set(vm.key, usage);
      }
      if (keys.size > MAX_VMS_PER_CAPTURE) throw new NeedsWholeParse('too many VMs');
      yield part;
    }
    this.#usage.end();
  }

  /** The usage fields of a VM given out (vm_lines.ts usageFields; NO_USAGE when none). */
  usageOf(key: string): string {
    return this.#usageFields.get(key) ?? NO_USAGE;
  }

  /** Every VM at once, for ways of storing that need them together; before any part is taken. */
  async all(memo?: MemoUse): Promise<VmDigest[]> {
    if (this.#reading) throw new Error('IncomingVms.all() after parts were taken');
    const all: VmDigest[] = [];
    for await (const part of this.parts(memo)) for (const vm of part) all.push(vm);
    return all;
  }

  /** Whether the parts not taken yet are all valid; it keeps nothing of them but their keys. */
  async allValid(): Promise<boolean> {
    try {
      for await (const _ of this.parts());
      return true;
    } catch (err) {
      if (err instanceof NeedsWholeParse) return false;
      throw err;
    }
  }
}

function* digestInParts(vms: CaptureVm[], partSize = 500): Generator<VmDigest[]> {
  for (let i = 0; i < vms.length; i += partSize) yield vms.slice(i, i + partSize).map(digestVm);
}

/**
 * Reads the VM array's text piece by piece: a piece is the text of a VM found in the memo,
 * or else the text up to the next `},{"key":`, parsed and validated. See capture_text.ts for
 * why the pieces together are exactly the array.
 */
function* readVmText(
  text: string,
  start: number,
  end: number,
  partChars: number,
  memo: MemoUse | undefined,
  v1: boolean,
): Generator<VmDigest[]> {
  const reader = new VmTextReader(partChars, memo, v1);
  yield* reader.read(text, start, end);
  yield* reader.finish();
}

/**
 * Reads VM array text given in one piece or in windows (stream_capture.ts: each window
 * whole VMs, the windows in order separated by commas, as UTF-8 bytes), keeping the memo's
 * place from one window to the next. Bytes are decoded only for the VMs the memo does not
 * hold: a VM's pieces begin and end at ASCII marks, so its bytes decode on their own to
 * exactly its text within the whole.
 */
export class VmTextReader {
  readonly #partChars: number;
  readonly #memo: MemoUse | undefined;
  readonly #v1: boolean;
  readonly #previous: VmTextMemo | undefined;
  readonly #next: VmTextMemo | null;
  /** The previous memo's VM after the last one found there. */
  #after = 0;
  /**
   * The part being filled and the characters of text its VMs took. A part runs on from one
   * window to the next: ending one at each window's end cut a 10,000-VM capture into 187
   * parts, 61 of them of one or two VMs, each one more COPY message and one more trip
   * through the streams.
   */
  #part: VmDigest[] = [];
  #partFilled = 0;
  /** How many VMs were parsed and validated so far (the others were found in the memo). */
  #parsed = 0;

  constructor(partChars: number, memo: MemoUse | undefined, v1: boolean) {
    this.#partChars = partChars;
    this.#memo = memo;
    this.#v1 = v1;
    // A digest is the text's under v2's names: v1 text (renamed before validation) is neither
    // looked up nor remembered, so a v2 capture never takes a v1 text's digest unvalidated.
    this.#previous = fastPathOff.memo || v1 ? undefined : memo?.previous;
    this.#next = memo && !v1 ? new VmTextMemo() : null;
  }

  /**
   * The VMs of text.slice(start, end), whole VMs separated by commas, in parts; the VMs after
   * the last full part wait for the next window, or for finish().
   */
  *read(text: JsonText, start: number, end: number): Generator<VmDigest[]> {
    const previous = this.#previous;
    const next = this.#next;
    const partChars = this.#partChars;
    const v1 = this.#v1;
    let part = this.#part;
    let from = start;
    while (from < end) {
      let to: number;
      const found = previous ? previous.find(text, from, end, this.#after) : -1;
      if (found >= 0) {
        this.#after = found + 1;
        const digest = previous!.digest(found);
        to = from + previous!.length(found);
        part.push(digest);
        next?.add(text, from, to, digest);
      } else {
        to = pieceEnd(text, from, end);
        let vms = parsePiece(textOf(text, from, to), v1, this.#parsed);
        // A cut inside a VM (an unknown field holding objects that begin with "key") is moved
        // on to the next a few times, then to the part's size, so that a VM with many such
        // objects is not parsed again for each.
        for (let tries = 0; !vms && to < end && tries < 8; tries++) {
          to = pieceEnd(text, to + 1, end);
          vms = parsePiece(textOf(text, from, to), v1, this.#parsed);
        }
        if (!vms && to < end) {
          to = pieceEnd(text, Math.max(to + 1, from + partChars), end);
          vms = parsePiece(textOf(text, from, to), v1, this.#parsed);
        }
        if (!vms) throw new NeedsWholeParse('a part of the VM array is not JSON on its own');
        this.#parsed += vms.length;
        for (const vm of vms) part.push(digestVm(vm));
        if (vms.length === 1) next?.add(text, from, to, part[part.length - 1]);
        // The VM expected here, changed: the next one is expected after it.
        const after = this.#after;
        if (previous && after < previous.size && vms.at(-1)!.key === previous.key(after)) {
          this.#after = after + 1;
        }
      }
      // A piece ends the array or is followed by a comma (both ways of finding one ensure it).
      this.#partFilled += to + 1 - from;
      from = to + 1;
      if (from === end) throw new NeedsWholeParse('a comma ends the VM array');
      if (this.#partFilled >= partChars) {
        yield part;
        part = this.#part = [];
        this.#partFilled = 0;
      }
    }
  }

  /**
   * Once every window was read: gives out the last part (the VMs read but not given out yet),
   * then this capture's memo replaces the previous one.
   */
  *finish(): Generator<VmDigest[]> {
    if (this.#part.length > 0) {
      yield this.#part;
      this.#part = [];
      this.#partFilled = 0;
    }
    if (this.#next) this.#memo!.keep(this.#next);
  }
}

/** text.slice(from, to) as a string. */
function textOf(text: JsonText, from: number, to: number): string {
  return typeof text === 'string' ? text.slice(from, to) : decoded(text.subarray(from, to));
}

/** Where a piece of the VM array ends: at the first `},{"key":` from `from` on, or at `end`. */
function pieceEnd(text: JsonText, from: number, end: number): number {
  const cut = text.indexOf(VM_CUT, from);
  return cut < 0 || cut >= end ? end : cut + 1;
}

/**
 * The VMs of a piece of the VM array's text, or null if it is not JSON on its own; throws
 * NeedsWholeParse when it is but holds no value or an invalid VM. `v1`: the capture's VMs
 * may have v1's names (upgradeV1Capture). `parsed`: how many VMs of the capture were
 * validated before (validate_capture.ts vmValidation).
 */
function parsePiece(piece: string, v1: boolean, parsed: number): CaptureVm[] | null {
  let values: unknown;
  try {
    values = JSON.parse(`[${piece}]`);
  } catch {
    return null;
  }
  if ((values as unknown[]).length === 0) {
    throw new NeedsWholeParse('an empty part of the VM array');
  }
  if (v1) upgradeV1Capture({ schemaVersion: 1, vms: values });
  const vms = checkCaptureVms(values as unknown[], parsed);
  if (!vms) throw new NeedsWholeParse('a VM is invalid');
  return vms;
}

export type IncomingCapture = { head: CaptureHead; vms: IncomingVms };

/** The VMs' digests part by part: read from text at hand, or from a body still arriving. */
export type VmReading = Iterable<VmDigest[]> | AsyncIterable<VmDigest[]>;

/**
 * The capture in `text` with its VMs still unparsed, or null if it must be parsed whole.
 * `partChars` is the size of the VM parts (tests make them tiny).
 */
export function captureFromText(text: string, partChars = PART_CHARS): IncomingCapture | null {
  const split = splitCaptureText(text);
  if (!split) return null;
  // A v1 capture (or one that does not say) is given v2's names, as the whole parse does.
  const v1 = split.head.schemaVersion === undefined || split.head.schemaVersion === 1;
  const head = checkCaptureHead(v1 ? upgradeV1Capture(split.head) : split.head);
  if (!head) return null;
  const { vmStart, vmEnd, usage } = split;
  const rows = usage
    ? new UsageText(text, usage.start, usage.end, partChars)
    : new ParsedUsage(head.usage);
  return {
    head,
    vms: new IncomingVms(
      (memo) => readVmText(text, vmStart, vmEnd, partChars, memo, v1),
      rows,
      head,
    ),
  };
}

/** A capture already parsed and validated whole. */
export function captureFromParsed(capture: Capture): IncomingCapture {
  const { vms, ...head } = capture;
  return { head, vms: new IncomingVms(() => digestInParts(vms), new ParsedUsage(head.usage)) };
}
