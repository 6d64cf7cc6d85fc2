/**
 * A capture read while its body is still arriving, so that its facts are COPYed while the
 * rest of it is received and inflated, instead of after the last byte.
 *
 * Our agents write a capture with its VMs last (agent/capture/capture_text.ts): the head
 * (source, time, hosts, datastores, events, clusters, pools, networks, usage, complete,
 * errors) ends with `"vms":[`, followed by the VMs, each beginning `{"key":`, then `]}`. Once
 * the head has arrived the capture can be claimed and its facts COPYed window by window as
 * the VM text arrives (each window whole VMs: the text up to the last `},{"key":` received).
 *
 * As with a body read whole (capture_text.ts), nothing here is trusted unproved:
 *
 * 1. The head is the text before `"vms":[` followed by a string S holding a random nonce and
 *    `}`. If that parses to an object whose `vms` is S and that holds every key the schema
 *    puts after `vms`, the VM array begins exactly where JSON.parse binds the object's last
 *    key, `vms`. (Text in any other layout, as older agents write it, is read whole:
 *    read_body.ts, ingest_capture.ts.)
 * 2. Each window parses as VMs separated by commas (incoming_capture.ts, as the pieces of a
 *    whole body), and the text ends with `]}` right after the last window.
 * 3. So the text is an object equal to the head with `vms` set to the windows' VMs in order:
 *    exactly what JSON.parse(text) gives.
 *
 * Whatever cannot be proved throws NeedsWholeParse (or, before anything was stored, is read
 * whole): the ingest rolls back and parses the whole text, which answers exactly as always.
 */
import { Buffer } from 'node:buffer';
import { VM_CUT, VMS_OPEN } from '../../agent/capture/capture_text.ts';
import { CAPTURE_SCHEMA_VERSION } from '../../agent/capture/schema.ts';
import { hasNulEscape } from '../nul.ts';
import { fastPathOff } from './fast_path.ts';
import { AFTER_VMS, parseHead } from './capture_text.ts';
import { type IncomingCapture, IncomingVms, PART_CHARS, VmTextReader } from './incoming_capture.ts';
import { ParsedUsage, usageSpan, UsageText } from './incoming_usage.ts';
import { NeedsWholeParse } from './needs_whole_parse.ts';
import { decoded } from './read_body.ts';
import { checkCaptureHead } from './validate_capture.ts';

const VMS_END = ']}';
/** A head longer than this without `"vms":[` is not our agents' layout: read it whole. */
const MAX_HEAD_BYTES = 64 * 1024 * 1024;
const NOTHING = Buffer.alloc(0);

/**
 * The body's bytes as they arrive (read_body.ts bodyBuffers), every chunk kept: if the
 * capture cannot be read as it arrives, the whole text is still at hand for the whole
 * parse. An error of the body itself (bad gzip, too large) is kept and given again to
 * whoever reads on.
 *
 * The chunks stay bytes: the VMs are matched against the previous capture's bytes and
 * decoded only where they changed (incoming_capture.ts VmTextReader). Decoding every chunk
 * into a string took ~20 ms of a 27 MB capture's ingest, most of it the kernel handing out
 * fresh pages for the strings.
 */
export class ArrivingBody {
  readonly #chunks: AsyncIterator<Uint8Array>;
  readonly #seen: Buffer[] = [];
  #failure: unknown = null;
  #done = false;

  constructor(chunks: AsyncIterable<Uint8Array>) {
    this.#chunks = chunks[Symbol.asyncIterator]();
  }

  /** The body's own error (AppError: 400 bad gzip, 413 too large), once one happened. */
  get failure(): unknown {
    return this.#failure;
  }

  /** The next chunk, or null at the end. */
  async next(): Promise<Buffer | null> {
    if (this.#failure) throw this.#failure;
    if (this.#done) return null;
    let r: IteratorResult<Uint8Array>;
    try {
      r = await this.#chunks.next();
    } catch (err) {
      this.#failure = err;
      throw err;
    }
    if (r.done) {
      this.#done = true;
      return null;
    }
    const chunk = Buffer.isBuffer(r.value)
      ? r.value
      : Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength);
    this.#seen.push(chunk);
    return chunk;
  }

  /** The whole text: what arrived so far and the rest, decoded together. */
  async whole(): Promise<string> {
    while ((await this.next()) !== null);
    return decoded(Buffer.concat(this.#seen));
  }
}

/**
 * The capture arriving in `body`, once its head arrived, with its VMs read as they arrive;
 * or null if it is not in our agents' layout (then `body.whole()` is read whole).
 */
export async function captureArriving(
  body: ArrivingBody,
  partChars = PART_CHARS,
): Promise<IncomingCapture | null> {
  if (fastPathOff.cut) return null;
  // The head's chunks are searched one by one (and the seam between two) and joined once.
  const chunks: Buffer[] = [];
  let length = 0;
  let chunk: Buffer | null;
  let bracket = -1; // where the `[` of `"vms":[` is in `chunk`
  while (bracket < 0) {
    chunk = await body.next();
    if (chunk === null || length > MAX_HEAD_BYTES) return null;
    // `"vms":[` begun in the last chunk ends in this one (it cannot lie wholly in the seam's
    // first half, shorter than it): its `[` is in this chunk.
    const last = chunks.at(-1) ?? NOTHING;
    const tail = last.subarray(Math.max(0, last.length - (VMS_OPEN.length - 1)));
    const seam = Buffer.concat([tail, chunk.subarray(0, VMS_OPEN.length - 1)]);
    const across = seam.indexOf(VMS_OPEN);
    const within = across >= 0 ? -1 : chunk.indexOf(VMS_OPEN);
    if (across >= 0) bracket = across + VMS_OPEN.length - 1 - tail.length;
    else if (within >= 0) bracket = within + VMS_OPEN.length - 1;
    else chunks.push(chunk);
    length += chunk.length;
  }
  const nonce = `vms ${crypto.randomUUID()}`;
  // The head ends at an ASCII mark: its bytes decode on their own as within the whole. The
  // nonce is joined to the bytes, not to the decoded text: one flat string, where a string
  // joined to 2 MB of text was copied whole by the first search through it (~1.4 ms).
  const headText = decoded(
    Buffer.concat([
      ...chunks,
      chunk!.subarray(0, bracket),
      Buffer.from(`${JSON.stringify(nonce)}}`),
    ]),
  );
  if (hasNulEscape(headText)) return null;
  const usage = usageSpan(headText);
  let head = usage ? parseHead(usage.cut(nonce)) : null;
  const usageCut = head !== null && head.usage === usage!.nonce(nonce);
  if (!usageCut) head = parseHead(headText);
  if (!head || head.vms !== nonce || head.schemaVersion !== CAPTURE_SCHEMA_VERSION) return null;
  if (!AFTER_VMS.every((key) => key in head)) return null;
  if (Object.keys(head).at(-1) !== 'vms') return null;
  delete head.vms;
  if (usageCut) head.usage = [];
  const valid = checkCaptureHead(head);
  if (!valid) return null;
  const rows = usageCut
    ? new UsageText(headText, usage!.start, usage!.end, partChars)
    : new ParsedUsage(valid.usage);
  const rest = chunk!.subarray(bracket + 1);
  return {
    head: valid,
    vms: new IncomingVms(
      async function* (memo) {
        const reader = new VmTextReader(partChars, memo, false);
        for await (const w of vmWindows(body, rest)) yield* reader.read(w.text, w.start, w.end);
        yield* reader.finish();
      },
      rows,
      valid,
    ),
  };
}

/** A stretch of the VM array's bytes, text.subarray(start, end): whole VMs separated by commas. */
type VmWindow = { text: Buffer; start: number; end: number };

/**
 * The VM array's bytes as they arrive, in windows of whole VMs: the windows joined by commas
 * are the array's inside. `first` is what arrived after `[` with the head.
 *
 * Each chunk is read where it is: the VM that began in earlier chunks and ends in this one
 * is a small buffer of its own, and the rest of the chunk up to its last `},{"key":` is a
 * window into the chunk itself.
 */
async function* vmWindows(body: ArrivingBody, first: Buffer): AsyncGenerator<VmWindow> {
  // The bytes after the last cut given out, in pieces (joined once, when a cut ends them):
  // the start of a VM whose end has not arrived.
  let carry: Buffer[] = [];
  for (let chunk: Buffer | null = first; chunk !== null; chunk = await body.next()) {
    if (hasNulEscape(chunk)) throw new NeedsWholeParse('a NUL in the VM text');
    const last = chunk.lastIndexOf(VM_CUT);
    if (last < 0) {
      carry.push(chunk);
      continue;
    }
    // A cut split between two chunks is not seen here: the VMs either side of it are
    // then read together from `ending`, as one window.
    const begun = carry.reduce((n, piece) => n + piece.length, 0);
    const ending = Buffer.concat([...carry, chunk.subarray(0, chunk.indexOf(VM_CUT) + 1)]);
    if (hasNulEscape(ending)) throw new NeedsWholeParse('a NUL in the VM text');
    yield { text: ending, start: 0, end: ending.length };
    const from = ending.length - begun + 1;
    if (from < last + 1) yield { text: chunk, start: from, end: last + 1 };
    carry = [chunk.subarray(last + 2)];
  }
  const rest = Buffer.concat(carry);
  const end = rest.length - VMS_END.length;
  if (end < 0 || rest.toString('latin1', end) !== VMS_END) {
    throw new NeedsWholeParse('the VMs are not the last of it');
  }
  if (hasNulEscape(rest)) throw new NeedsWholeParse('a NUL in the VM text');
  if (end > 0) yield { text: rest, start: 0, end };
}
