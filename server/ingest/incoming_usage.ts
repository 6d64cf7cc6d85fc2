/**
 * A capture's `usage` (one row per VM, apart from the VM record: capture schema), given
 * out VM by VM as the VMs are read (incoming_capture.ts), as the fact row's usage fields.
 *
 * Read from text, the rows are read as the VMs need them instead of all before the first
 * fact is COPYed (at 10,000 VMs the usage is ~2 MB of JSON), in the agents' own form where
 * they are in it (usage_rows.ts), else parsed and validated. Our agents write the rows in
 * the order of the VMs, for the VMs that have usage; the reader takes them in that order
 * and checks it: a row for a VM read before it (given out without usage, or given its row
 * already), a row for a VM the capture does not hold, each throws NeedsWholeParse, so the
 * ingest rolls back and parses the text whole, which answers exactly (or with zod's 400).
 */
import { VM_CUT } from '../../agent/capture/capture_text.ts';
import { NeedsWholeParse } from './needs_whole_parse.ts';
import { checkUsageRows } from './validate_capture.ts';
import { scanUsageRows } from './usage_rows.ts';
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
/**
 * What follows the usage array in our agents' layouts, before the end `]}`: the VMs (the
 * agents' layout now: VMs last) or `complete` (the streamed spool of older agents).
 */
const USAGE_FOLLOWED_BY = ['],"vms":', '],"complete":'];

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
 * Where the inside of the (first) usage array of `text` is, in the layouts our agents write:
 * usage last, or followed by `complete` (the streamed spool of older agents) or by `vms`
 * (vms last: agent/capture/capture_text.ts). Only a guess: it is proved by the head parsing
 * with the span replaced by a nonce (capture_text.ts, stream_capture.ts) and by the rows'
 * pieces parsing (UsageText).
 */
export function usageSpan(text: string): UsageSpan | null {
  // Searched forward: usage follows the hosts and datastores, a short way into the head,
  // where searching back from the head's end went through all 2 MB of a 10,000-VM usage.
  const open = text.indexOf(USAGE_OPEN);
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
  /** The rows of the last piece read, as [key, usage fields], and the first not taken yet. */
  #rows: [string, string][] = [];
  #next = 0;
  /** Keys given out as having no usage. */
  readonly #none = new Set<string>();

  constructor(text: string, start: number, end: number, pieceChars: number) {
    this.#text = text;
    this.#from = start;
    this.#end = end;
    this.#pieceChars = pieceChars;
  }

  take(key: string, seen: ReadonlySet<string>): string {
    for (;;) {
      if (this.#next < this.#rows.length) {
        const [rowKey, fields] = this.#rows[this.#next];
        if (rowKey === key) {
          this.#next++;
          return fields;
        }
        // The next row is for a VM not read yet: in the agents' order, this VM has none (a
        // row for it later proves otherwise). For a VM read before: out of order, or twice.
        if (seen.has(rowKey)) {
          throw new NeedsWholeParse('usage out of the order of the VMs, or given twice');
        }
        this.#none.add(key);
        return NO_USAGE;
      }
      if (this.#from >= this.#end) {
        this.#none.add(key);
        return NO_USAGE;
      }
      this.#readPiece();
    }
  }

  end(): void {
    if (this.#next < this.#rows.length || this.#from < this.#end) {
      throw new NeedsWholeParse('usage names a VM not in the capture');
    }
  }

  /** Reads the next piece of rows; the rows before it were all taken. */
  #readPiece(): void {
    const text = this.#text;
    const from = this.#from;
    // A piece ends at the first row boundary past `pieceChars`, or at the end of the array.
    const cut = text.indexOf(ROW_CUT, Math.max(from, from + this.#pieceChars - 1));
    const to = cut < 0 || cut >= this.#end ? this.#end : cut + 1;
    const rows = scanUsageRows(text, from, to) ?? parsedRows(text, from, to);
    if (this.#none.size && rows.some(([key]) => this.#none.has(key))) {
      throw new NeedsWholeParse('usage out of the order of the VMs');
    }
    // The piece ends the array or is followed by the comma of the cut.
    this.#from = to + 1;
    this.#rows = rows;
    this.#next = 0;
  }
}

/** The rows of text.slice(from, to), parsed and validated, as [key, usage fields] pairs. */
function parsedRows(text: string, from: number, to: number): [string, string][] {
  let values: unknown;
  try {
    values = JSON.parse(`[${text.slice(from, to)}]`);
  } catch {
    throw new NeedsWholeParse('a part of the usage array is not JSON on its own');
  }
  const rows = checkUsageRows(values);
  if (!rows || rows.length === 0) throw new NeedsWholeParse('a usage row is invalid');
  return rows.map((row) => [row.key, usageFields(row)]);
}
