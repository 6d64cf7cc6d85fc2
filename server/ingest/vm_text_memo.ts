/**
 * The VMs of a source's previous capture as JSON text, each with its digest (vm_lines.ts),
 * so that a VM whose text has not changed since is neither parsed, validated, nor turned
 * into COPY text and hashed again. In an hourly capture most VMs are unchanged (the demo
 * fleet: 98%); parsing and digesting them was ~35 ms of JavaScript per 10,000 VMs, and
 * matching their text is ~3 ms (v1 size; ~10 ms for a v2 capture's 27 MB). Measured without it (bench ingest --pieces, 16 runs on a
 * busy 2-core machine): one ingest 1.17× as long (median of same-round pairs; slower in 12
 * of 16 runs), ~75 ms more Node CPU per 10,000-VM capture (+43%, 9 runs), 12 captures from
 * 4 concurrent agents ~10% slower. On a quiet machine one ingest gained only ~4% (131 vs
 * 136 ms): the parsing it saves mostly hides behind the COPY; the CPU it saves does not.
 *
 * Sound because a digest depends on the VM's text alone: a text that once parsed on its
 * own to exactly one valid VM gives that VM wherever it sits. Nothing here is a guess that
 * can go stale. A text that differs in any byte is simply not matched and is parsed.
 *
 * The memo keeps the previous body text (or the chunks of a body read as it arrived, as
 * bytes: stream_capture.ts) and the bounds of each VM in it rather than one string per VM:
 * plain numbers give the garbage collector nothing to trace. A body read as it arrives is
 * matched byte for byte against the previous one's bytes, so its unchanged VMs are never
 * decoded into strings at all; a text is matched only against a text, bytes against bytes.
 */
import { Buffer } from 'node:buffer';
import { VM_OPEN } from '../../agent/capture/capture_text.ts';
import type { VmDigest } from './vm_lines.ts';

/**
 * JSON text: a string, or its UTF-8 bytes. Offsets are code units in one, bytes in the
 * other; the markers searched for are ASCII, so both find them at the same places.
 */
export type JsonText = string | Buffer;

const COMMA = 44;
const QUOTE = '"';
const BACKSLASH = '\\';
const KEY_OPEN = `${VM_OPEN}"`;
const KEY_OPEN_BYTES = Buffer.from(KEY_OPEN);
/** A memo's own cost per VM beside its strings: the digest object, its bounds, its map entry. */
const VM_OVERHEAD_BYTES = 200;

/** Whether `text` holds the opening of a VM and its key at `at`. */
function startsAt(text: JsonText, at: number): boolean {
  if (typeof text === 'string') return text.startsWith(KEY_OPEN, at);
  const end = at + KEY_OPEN_BYTES.length;
  return end <= text.length && text.subarray(at, end).equals(KEY_OPEN_BYTES);
}

/** One capture's VMs as text: built while that capture is read (`add`), matched by the next. */
export class VmTextMemo {
  /** The texts the VMs were read from: one body, or the chunks of a streamed one. */
  readonly #texts: JsonText[] = [];
  /** Text index, start and end of VM i's text at 3i, 3i + 1 and 3i + 2. */
  readonly #bounds: number[] = [];
  readonly #digests: VmDigest[] = [];
  #byKey: Map<string, number> | null = null;
  #bytes = 0;

  get size(): number {
    return this.#digests.length;
  }

  /**
   * About how many bytes this memo keeps alive: the texts (a body read as it arrived: all of
   * its chunks) and the digests' strings, plus ~200 bytes a VM of objects and bounds.
   */
  get bytes(): number {
    return this.#bytes;
  }

  /** `text.slice(start, end)` parsed on its own as exactly one valid VM, digested as `digest`. */
  add(text: JsonText, start: number, end: number, digest: VmDigest): void {
    if (this.#texts[this.#texts.length - 1] !== text) {
      this.#texts.push(text);
      this.#bytes += text.length;
    }
    this.#bounds.push(this.#texts.length - 1, start, end);
    this.#digests.push(digest);
    this.#bytes += VM_OVERHEAD_BYTES + digest.key.length + digest.sourceVmId.length +
      digest.facts.length + digest.state.length + digest.config.length;
  }

  /**
   * The index of the VM whose text is at `from` in a new capture's `text`, ending at `close`
   * (the end of the VM array) or followed by a comma; -1 if none. Tried first: VM `next`, the
   * one after the last found, as agents list VMs in a stable order; then the VM named by the
   * key the text begins with, unless the key holds an escape.
   */
  find(text: JsonText, from: number, close: number, next: number): number {
    if (next < this.size && this.#fitsAt(next, text, from, close)) return next;
    if (!startsAt(text, from)) return -1;
    const quote = text.indexOf(QUOTE, from + KEY_OPEN.length);
    if (quote < 0) return -1;
    const key = typeof text === 'string'
      ? text.slice(from + KEY_OPEN.length, quote)
      : text.toString('utf8', from + KEY_OPEN.length, quote);
    if (key.includes(BACKSLASH)) return -1;
    // The VM expected here, changed: the usual miss, answered without the map of keys
    // (building it took ~5 ms of every 10,000-VM capture that changed any VM).
    if (next < this.size && this.#digests[next].key === key) return -1;
    const i = this.#indexOf(key);
    return i >= 0 && this.#fitsAt(i, text, from, close) ? i : -1;
  }

  /** The key of VM i. */
  key(i: number): string {
    return this.#digests[i].key;
  }

  length(i: number): number {
    return this.#bounds[3 * i + 2] - this.#bounds[3 * i + 1];
  }

  digest(i: number): VmDigest {
    return this.#digests[i];
  }

  #fitsAt(i: number, text: JsonText, from: number, close: number): boolean {
    const stored = this.#texts[this.#bounds[3 * i]];
    const start = this.#bounds[3 * i + 1];
    const stop = this.#bounds[3 * i + 2];
    const end = from + stop - start;
    if (end > close) return false;
    if (typeof text === 'string') {
      if (typeof stored !== 'string' || (end < close && text.charCodeAt(end) !== COMMA)) {
        return false;
      }
      // Two slices compared with === (V8 compares their flat contents in bulk), not
      // startsWith, which goes character by character: for the 27 MB of a 10,000-VM v2
      // capture, ~8 ms instead of 60-370 ms on this machine (a microbench of 10,000 texts of 2.7 kB, 5 runs).
      return text.slice(from, end) === stored.slice(start, stop);
    }
    if (typeof stored === 'string' || (end < close && text[end] !== COMMA)) return false;
    // Compared as two views (memcmp): Deno's compare(target, …, sourceStart, sourceEnd)
    // checks the source's end against the target's length.
    return text.subarray(from, end).equals(stored.subarray(start, stop));
  }

  #indexOf(key: string): number {
    if (!this.#byKey) {
      this.#byKey = new Map();
      for (let i = 0; i < this.#digests.length; i++) this.#byKey.set(this.#digests[i].key, i);
    }
    return this.#byKey.get(key) ?? -1;
  }
}

/** How one capture's reading uses the memo: the previous one to match, and where the new one goes. */
export type MemoUse = { previous: VmTextMemo | undefined; keep(next: VmTextMemo): void };

/**
 * The memos of this node, one per source, least recently used dropped first once they
 * hold more than `maxVms` VMs or `maxBytes` bytes in all. A VM costs its text and its
 * digest: ~1.2 kB for the demo fleet's, ~4.3 kB for the bench's (2.8 kB of text): by VMs
 * alone, 100,000 of those were ~430 MB on each node of the load drill.
 */
export class VmTextMemos {
  #memos = new Map<number, VmTextMemo>();
  #vms = 0;
  #bytes = 0;
  /** Lowering it takes effect at the next capture kept. */
  maxVms: number;
  /** Lowering it takes effect at the next capture kept. */
  maxBytes: number;

  constructor(maxVms = 100_000, maxBytes = DEFAULT_MEMO_BYTES) {
    this.maxVms = maxVms;
    this.maxBytes = maxBytes;
  }

  /** The memo use of one capture of `sourceId`. */
  use(sourceId: number): MemoUse {
    return { previous: this.#memos.get(sourceId), keep: (next) => this.#put(sourceId, next) };
  }

  get vms(): number {
    return this.#vms;
  }

  get bytes(): number {
    return this.#bytes;
  }

  #put(sourceId: number, memo: VmTextMemo): void {
    const old = this.#memos.get(sourceId);
    if (old) this.#drop(sourceId, old);
    if (memo.size > this.maxVms || memo.bytes > this.maxBytes) return;
    this.#memos.set(sourceId, memo);
    this.#vms += memo.size;
    this.#bytes += memo.bytes;
    for (const [id, m] of this.#memos) {
      if (this.#vms <= this.maxVms && this.#bytes <= this.maxBytes) break;
      this.#drop(id, m);
    }
  }

  #drop(sourceId: number, memo: VmTextMemo): void {
    this.#memos.delete(sourceId);
    this.#vms -= memo.size;
    this.#bytes -= memo.bytes;
  }
}

/** 512 MiB: the load drill's 20 sources of 5,000 bench VMs (~22 MB each) fit, with room. */
export const DEFAULT_MEMO_BYTES = 512 * 1024 * 1024;

const memos = new WeakMap<object, VmTextMemos>();

/** The memos of one database pool (tests run several databases in one process). */
export function vmTextMemos(pool: object): VmTextMemos {
  let m = memos.get(pool);
  if (!m) memos.set(pool, m = new VmTextMemos());
  return m;
}
