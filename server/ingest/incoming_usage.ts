/**
 * A capture's `usage` (one row per VM, apart from the VM record: capture schema), given
 * out VM by VM as the VMs are read (incoming_capture.ts), as the fact row's usage fields.
 *
 * Read from text, the rows are parsed as the VMs need them instead of all before the
 * first fact is COPYed: at 10,000 VMs the usage is ~2 MB of JSON, ~45 ms of parsing,
 * validating and formatting that otherwise delays the COPY (bench ingest). Our agents
 * write the rows in the order of the VMs, for the VMs that have usage; the reader relies
 * on that order only to say early that a VM has none, and checks it: a row that turns up
 * for a VM already given out without usage, a row for a VM the capture does not hold, a
 * row repeated after its VM took it, each throws NeedsWholeParse, so the ingest rolls back
 * and parses the text whole, which answers exactly (or with zod's 400).
 */
import { VM_CUT } from '../../agent/capture/capture_text.ts';
import { NeedsWholeParse } from './needs_whole_parse.ts';
import { checkUsageRows } from './validate_capture.ts';
import { NO_USAGE, usageByKey, usageFields } from './vm_lines.ts';
import type { VmUsage } from '../../agent/capture/details.ts';

/** How the VMs being read take their usage, in the order they are read. */
export interface IncomingUsage {
  /**
   * The usage fields of the VM `key` (NO_USAGE when it has none). `seen` holds the keys of
   * every VM read so far, `key` included; each key is taken once.
   */
  take(key: string, seen: ReadonlySet<string>): string;
  /** After the last VM: throws NeedsWholeParse unless every row was taken by its VM. */
  end(): void;
}

/** Rows already parsed and validated (the whole capture, or a head that held them). */
export class ParsedUsage implements IncomingUsage {
  readonly #fields: Map<string, string>;
  #taken = 0;

  constructor(rows: readonly VmUsage[]) {
    // A key given twice: the later row, as when the whole capture is read into a map.
    this.#fields = usageByKey(rows);
  }

  take(key: string): string {
    const fields = this.#fields.get(key);
    if (fields === undefined) return NO_USAGE;
    this.#taken++;
    return fields;
  }

  end(): void {
    if (this.#taken < this.#fields.size) {
      throw new NeedsWholeParse('usage names a VM not in the capture');
    }
  }
}

/** Where one usage row ends and the next begins (rows, like VMs, begin with their key). */
const ROW_CUT = VM_CUT;
const USAGE_OPEN = '"usage":[';
/** What follows the usage array in our agents' layouts, before the end `]}`. */
const USAGE_FOLLOWED_BY = ['],"complete":', '],"vms":'];

/** Where a text's usage array is, and the text with it replaced by a string. */
export type UsageSpan = {
  /** The inside of the array: text.slice(start, end). */
  start: number;
  end: number;
  /** The text with the array replaced by the string nonce(n). */
  cut(n: string): string;
  nonce(n: string): string;
};

/**
 * Where the inside of the (last) usage array of `text` is, in the layouts our agents write:
 * usage last, or followed by `complete` (the streamed spool of older agents) or by `vms`
 * (vms last: agent/capture/capture_text.ts). Only a guess: it is proved by the head parsing
 * with the span replaced by a nonce (capture_text.ts, stream_capture.ts) and by the rows'
 * pieces parsing (UsageText).
 */
export function usageSpan(text: string): UsageSpan | null {
  const open = text.lastIndexOf(USAGE_OPEN);
  if (open < 0) return null;
  const start = open + USAGE_OPEN.length;
  let end = -1;
  for (const marker of USAGE_FOLLOWED_BY) {
    end = text.indexOf(marker, start);
    if (end >= 0) break;
  }
  if (end < 0 && text.endsWith(']}')) end = text.length - 2;
  if (end < 0) return null;
  // The last row must parse on its own: a key another producer writes after usage would be
  // taken into the span and found only by the last piece, after the COPY (then rolled back).
  const lastCut = text.lastIndexOf(ROW_CUT, end - 1);
  try {
    JSON.parse(`[${text.slice(lastCut >= start ? lastCut + 2 : start, end)}]`);
  } catch {
    return null;
  }
  const nonce = (n: string) => `${n} usage`;
  return {
    start,
    end,
    nonce,
    cut: (n) => `${text.slice(0, start - 1)}${JSON.stringify(nonce(n))}${text.slice(end + 1)}`,
  };
}

/**
 * The usage array's inside, text.slice(start, end), read a piece at a time as VMs ask.
 * The pieces are proved as the VM pieces are (capture_text.ts step 2): each parses as `[p]`
 * to at least one valid row, so together they are exactly the array.
 */
export class UsageText implements IncomingUsage {
  readonly #text: string;
  #from: number;
  readonly #end: number;
  readonly #pieceChars: number;
  /** Rows parsed but not taken yet, as fields, by key. */
  readonly #ahead = new Map<string, string>();
  /** Keys that took a row, and keys given out as having none. */
  readonly #taken = new Set<string>();
  readonly #none = new Set<string>();
  /** The key of the last row parsed. */
  #last: string | null = null;

  constructor(text: string, start: number, end: number, pieceChars: number) {
    this.#text = text;
    this.#from = start;
    this.#end = end;
    this.#pieceChars = pieceChars;
  }

  take(key: string, seen: ReadonlySet<string>): string {
    for (;;) {
      const fields = this.#ahead.get(key);
      if (fields !== undefined) {
        this.#ahead.delete(key);
        this.#taken.add(key);
        return fields;
      }
      // No row left, or the rows read reach past this VM (the last one is for a VM not read
      // yet): in the agent's order, this VM has none. A row for it later proves otherwise.
      if (this.#from >= this.#end || (this.#last !== null && !seen.has(this.#last))) {
        this.#none.add(key);
        return NO_USAGE;
      }
      this.#readPiece();
    }
  }

  end(): void {
    while (this.#from < this.#end) this.#readPiece();
    if (this.#ahead.size) throw new NeedsWholeParse('usage names a VM not in the capture');
  }

  #readPiece(): void {
    const text = this.#text;
    const from = this.#from;
    // A piece ends at the first row boundary past `pieceChars`, or at the end of the array.
    const cut = text.indexOf(ROW_CUT, Math.max(from, from + this.#pieceChars - 1));
    const to = cut < 0 || cut >= this.#end ? this.#end : cut + 1;
    let values: unknown;
    try {
      values = JSON.parse(`[${text.slice(from, to)}]`);
    } catch {
      throw new NeedsWholeParse('a part of the usage array is not JSON on its own');
    }
    const rows = checkUsageRows(values);
    if (!rows || rows.length === 0) throw new NeedsWholeParse('a usage row is invalid');
    // The piece ends the array or is followed by the comma of the cut.
    this.#from = to + 1;
    for (const row of rows) {
      if (this.#taken.has(row.key) || this.#none.has(row.key)) {
        throw new NeedsWholeParse('usage out of the order of the VMs, or given twice');
      }
      this.#ahead.set(row.key, usageFields(row));
      this.#last = row.key;
    }
  }
}
