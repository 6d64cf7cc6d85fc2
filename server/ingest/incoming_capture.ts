/**
 * A capture on its way into the database: its head validated up front, its VMs validated
 * part by part as the ingest consumes them, so a capture read from text (capture_text.ts)
 * is parsed while its facts are being COPYed.
 *
 * A part that does not parse or validate throws NeedsWholeParse: the ingest then rolls
 * back and reads the whole text the ordinary way, which answers with zod's own issues.
 */
import {
  type Capture, type CaptureHead, type CaptureVm, MAX_VMS_PER_CAPTURE,
} from '../../agent/capture/schema.ts';
import { splitCaptureText } from './capture_text.ts';
import { checkCaptureHead, checkCaptureVms } from './validate_capture.ts';

/** The parts of a capture could not be vouched for; it must be parsed whole. */
export class NeedsWholeParse extends Error {
  constructor(reason: string) {
    super(`capture must be parsed whole: ${reason}`);
    this.name = 'NeedsWholeParse';
  }
}

/**
 * The VMs of a capture, given out one validated part at a time. Parts given out are not
 * kept: a 10,000-VM capture kept whole through its ingest survives two or three young
 * generation collections, each copying it (measured 10-16 ms apiece); dropped part by
 * part, it dies young. What ingest needs of all VMs together is kept: the keys and count.
 */
export class IncomingVms {
  /** Each part is either text (the inside of a JSON array) or VMs already validated. */
  readonly #parts: readonly (string | CaptureVm[])[];
  readonly #keys = new Set<string>();
  #next = 0;

  private constructor(parts: readonly (string | CaptureVm[])[]) {
    this.#parts = parts;
  }

  /** VMs still in text: each part is the inside of a JSON array. */
  static fromText(parts: string[]): IncomingVms {
    return new IncomingVms(parts);
  }

  /** VMs of a capture validated whole. */
  static fromValidated(vms: CaptureVm[], partSize = 500): IncomingVms {
    const parts: CaptureVm[][] = [];
    for (let i = 0; i < vms.length; i += partSize) parts.push(vms.slice(i, i + partSize));
    return new IncomingVms(parts);
  }

  /** The keys of the VMs given out so far: all of them once every part was taken. */
  get keys(): ReadonlySet<string> {
    return this.#keys;
  }

  get count(): number {
    return this.#keys.size;
  }

  /** The parts not taken yet, in order, validated as they are taken; throws NeedsWholeParse. */
  *parts(): Generator<CaptureVm[]> {
    while (this.#next < this.#parts.length) {
      const given = this.#parts[this.#next++];
      const part = typeof given === 'string' ? this.#check(given) : given;
      for (const vm of part) {
        if (this.#keys.has(vm.key)) throw new NeedsWholeParse('two VMs share a key');
        this.#keys.add(vm.key);
      }
      if (this.#keys.size > MAX_VMS_PER_CAPTURE) throw new NeedsWholeParse('too many VMs');
      yield part;
    }
  }

  /** Every VM at once, for ways of storing that need them together; before any part is taken. */
  all(): CaptureVm[] {
    if (this.#next > 0) throw new Error('IncomingVms.all() after parts were taken');
    const all: CaptureVm[] = [];
    for (const part of this.parts()) for (const vm of part) all.push(vm);
    return all;
  }

  /** Validates the parts not taken yet, keeping nothing but their keys; throws NeedsWholeParse. */
  validateRest(): void {
    for (const _ of this.parts());
  }

  #check(text: string): CaptureVm[] {
    let values: unknown;
    try {
      values = JSON.parse(`[${text}]`);
    } catch {
      throw new NeedsWholeParse('a part of the VM array is not JSON on its own');
    }
    if ((values as unknown[]).length === 0) throw new NeedsWholeParse('an empty part of the VM array');
    const vms = checkCaptureVms(values);
    if (!vms) throw new NeedsWholeParse('a VM is invalid');
    return vms;
  }
}

export type IncomingCapture = { head: CaptureHead; vms: IncomingVms };

/**
 * The capture in `text` with its VMs still unparsed, or null if it must be parsed whole.
 * `partChars` is the size of the VM parts (tests make them tiny).
 */
export function captureFromText(text: string, partChars?: number): IncomingCapture | null {
  const split = splitCaptureText(text, partChars);
  if (!split) return null;
  const head = checkCaptureHead(split.head);
  return head ? { head, vms: IncomingVms.fromText(split.vmParts) } : null;
}

/** A capture already parsed and validated whole. */
export function captureFromParsed(capture: Capture): IncomingCapture {
  const { vms, ...head } = capture;
  return { head, vms: IncomingVms.fromValidated(vms) };
}
