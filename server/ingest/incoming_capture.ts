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
} from '../../agent/capture/schema.ts';
import { splitCaptureText, VM_OPEN } from './capture_text.ts';
import { fastPathOff } from './fast_path.ts';
import { checkCaptureHead, checkCaptureVms } from './validate_capture.ts';
import { digestVm, type VmDigest } from './vm_lines.ts';
import { type MemoUse, VmTextMemoBuilder } from './vm_text_memo.ts';

/** The parts of a capture could not be vouched for; it must be parsed whole. */
export class NeedsWholeParse extends Error {
  constructor(reason: string) {
    super(`capture must be parsed whole: ${reason}`);
    this.name = 'NeedsWholeParse';
  }
}

/** About 500 VMs a part: small enough that the COPY starts early, big enough to be cheap. */
const PART_CHARS = 256 * 1024;

type VmSource =
  | { text: string; start: number; end: number; partChars: number }
  | { validated: CaptureVm[]; partSize: number };

/**
 * The VMs of a capture, given out one validated part of digests (vm_lines.ts) at a time.
 * Parts given out are not kept: a 10,000-VM capture kept whole through its ingest survives
 * two or three young generation collections, each copying it (measured 10-16 ms apiece);
 * dropped part by part, it dies young. What ingest needs of all VMs together is kept: the
 * keys and count.
 */
export class IncomingVms {
  readonly #source: VmSource;
  readonly #keys = new Set<string>();
  #reading: Generator<VmDigest[]> | null = null;

  private constructor(source: VmSource) {
    this.#source = source;
  }

  /** VMs still in text: `text.slice(start, end)` is the inside of the capture's VM array. */
  static fromText(text: string, start: number, end: number, partChars = PART_CHARS): IncomingVms {
    return new IncomingVms({ text, start, end, partChars });
  }

  /** VMs of a capture validated whole. */
  static fromValidated(vms: CaptureVm[], partSize = 500): IncomingVms {
    return new IncomingVms({ validated: vms, partSize });
  }

  /** The keys of the VMs given out so far: all of them once every part was taken. */
  get keys(): ReadonlySet<string> {
    return this.#keys;
  }

  get count(): number {
    return this.#keys.size;
  }

  /**
   * The parts not taken yet, in order, validated as they are taken; throws NeedsWholeParse.
   * `memo` (given on the first call) is the source's memo of VM texts: VMs found in it are
   * not parsed, and once every VM was read it is replaced by this capture's.
   */
  *parts(memo?: MemoUse): Generator<VmDigest[]> {
    this.#reading ??= 'text' in this.#source
      ? readVmText(this.#source, memo)
      : digestInParts(this.#source);
    for (const part of this.#reading) {
      for (const vm of part) {
        if (this.#keys.has(vm.key)) throw new NeedsWholeParse('two VMs share a key');
        this.#keys.add(vm.key);
      }
      if (this.#keys.size > MAX_VMS_PER_CAPTURE) throw new NeedsWholeParse('too many VMs');
      yield part;
    }
  }

  /** Every VM at once, for ways of storing that need them together; before any part is taken. */
  all(memo?: MemoUse): VmDigest[] {
    if (this.#reading) throw new Error('IncomingVms.all() after parts were taken');
    const all: VmDigest[] = [];
    for (const part of this.parts(memo)) for (const vm of part) all.push(vm);
    return all;
  }

  /** Validates the parts not taken yet, keeping nothing but their keys; throws NeedsWholeParse. */
  validateRest(): void {
    for (const _ of this.parts());
  }
}

function* digestInParts(
  { validated, partSize }: { validated: CaptureVm[]; partSize: number },
): Generator<VmDigest[]> {
  for (let i = 0; i < validated.length; i += partSize) {
    yield validated.slice(i, i + partSize).map(digestVm);
  }
}

/**
 * Reads the VM array's text piece by piece: a piece is the text of a VM found in the memo,
 * or else the text up to the next `},{"key":`, parsed and validated. See capture_text.ts for
 * why the pieces together are exactly the array.
 */
function* readVmText(
  { text, start, end, partChars }: { text: string; start: number; end: number; partChars: number },
  memo: MemoUse | undefined,
): Generator<VmDigest[]> {
  const previous = fastPathOff.memo ? undefined : memo?.previous;
  const matcher = previous?.reader();
  const next = memo ? new VmTextMemoBuilder(text) : null;
  let part: VmDigest[] = [];
  let partFrom = start;
  let from = start;
  while (from < end) {
    let to: number;
    const found = matcher ? matcher.find(text, from, end) : -1;
    if (found >= 0) {
      const digest = previous!.digest(found);
      to = from + previous!.length(found);
      part.push(digest);
      next?.add(from, to, digest);
    } else {
      to = pieceEnd(text, from, end);
      let vms = parsePiece(text.slice(from, to));
      // A cut inside a VM (an unknown field holding objects that begin with "key") is moved
      // on to the next a few times, then to the part's size, so that a VM with many such
      // objects is not parsed again for each.
      for (let tries = 0; !vms && to < end && tries < 8; tries++) {
        to = pieceEnd(text, to + 1, end);
        vms = parsePiece(text.slice(from, to));
      }
      if (!vms && to < end) {
        to = pieceEnd(text, Math.max(to + 1, from + partChars), end);
        vms = parsePiece(text.slice(from, to));
      }
      if (!vms) throw new NeedsWholeParse('a part of the VM array is not JSON on its own');
      for (const vm of vms) part.push(digestVm(vm));
      if (vms.length === 1) next?.add(from, to, part[part.length - 1]);
    }
    // A piece ends the array or is followed by a comma (both ways of finding one ensure it).
    from = to + 1;
    if (from === end) throw new NeedsWholeParse('a comma ends the VM array');
    if (from - partFrom >= partChars || from >= end) {
      yield part;
      part = [];
      partFrom = from;
    }
  }
  if (next) memo!.keep(next.finish());
}

const VM_CUT = `},${VM_OPEN}`;

/** Where a piece of the VM array ends: at the first `},{"key":` from `from` on, or at `end`. */
function pieceEnd(text: string, from: number, end: number): number {
  const cut = text.indexOf(VM_CUT, from);
  return cut < 0 || cut >= end ? end : cut + 1;
}

/**
 * The VMs of a piece of the VM array's text, or null if it is not JSON on its own; throws
 * NeedsWholeParse when it is but holds no value or an invalid VM.
 */
function parsePiece(piece: string): CaptureVm[] | null {
  let values: unknown;
  try {
    values = JSON.parse(`[${piece}]`);
  } catch {
    return null;
  }
  if ((values as unknown[]).length === 0) {
    throw new NeedsWholeParse('an empty part of the VM array');
  }
  const vms = checkCaptureVms(values);
  if (!vms) throw new NeedsWholeParse('a VM is invalid');
  return vms;
}

export type IncomingCapture = { head: CaptureHead; vms: IncomingVms };

/**
 * The capture in `text` with its VMs still unparsed, or null if it must be parsed whole.
 * `partChars` is the size of the VM parts (tests make them tiny).
 */
export function captureFromText(text: string, partChars?: number): IncomingCapture | null {
  const split = splitCaptureText(text);
  if (!split) return null;
  const head = checkCaptureHead(split.head);
  return head
    ? { head, vms: IncomingVms.fromText(text, split.vmStart, split.vmEnd, partChars) }
    : null;
}

/** A capture already parsed and validated whole. */
export function captureFromParsed(capture: Capture): IncomingCapture {
  const { vms, ...head } = capture;
  return { head, vms: IncomingVms.fromValidated(vms) };
}
