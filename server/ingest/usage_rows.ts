/**
 * Usage rows read straight into their COPY fields when they are written the way our agents
 * write them (JSON.stringify of validated rows: every key, in the schema's order, numbers in
 * JavaScript's own shortest form, strings with no escape but `\\` and `\"`).
 *
 * At 10,000 VMs the usage is ~2 MB of JSON that changes at every capture, so no memo can
 * skip it: JSON.parse, the compiled zod check and formatting the fields (usageFields) took
 * ~35 ms of each ingest's Node time. One sticky regular expression per row takes ~5 ms.
 *
 * The expression admits only text whose JSON.parse is a row VmUsage accepts unchanged
 * (vm_lines.ts usageFields then gives the fields built here): keys and paths of printable
 * ASCII no longer than the schema allows, numbers without sign or exponent (so >= 0 and
 * finite), and free space in a form JSON.stringify gives back character for character (at
 * most 9 integer and 6 decimal digits, no trailing zero: at most 15 significant digits,
 * which a double holds exactly and prints in that shortest form), so the guest disks' text
 * is stored as it came. A row in any other form (a `\u00e9`, `1.50`, `1e3`, another key,
 * other key order) is not matched: the caller parses its piece the ordinary way.
 */
import { copyField } from './vm_lines.ts';

/** Printable ASCII but `"` and `\`. */
const PLAIN = String.raw`[\x20\x21\x23-\x5b\x5d-\x7e]`;
/** A string character as JSON.stringify writes it, escapes that do not change the length class. */
const CHAR = String.raw`(?:${PLAIN}|\\[\\"])`;
/** A JSON number without sign or exponent. */
const NUMBER = String.raw`(?:0|[1-9]\d*)(?:\.\d+)?`;
/** A number JSON.stringify writes exactly so (see above). */
const SHORTEST = String.raw`(?:0|[1-9]\d{0,8})(?:\.\d{0,5}[1-9])?`;
// Lengths are checked after the match: bounded repetitions made the expression ~60% slower.
const DISK = String.raw`\{"path":"${CHAR}*","freeMib":(?:${SHORTEST}|null)\}`;
const ROW = new RegExp(
  String.raw`\{"key":"(${PLAIN}+)","cpuUsageMhz":(${NUMBER}|null),` +
    String.raw`"guestMemoryMib":(${NUMBER}|null),"hostMemoryMib":(${NUMBER}|null),` +
    String.raw`"guestDisks":(\[(?:${DISK}(?:,${DISK})*)?\])\}`,
  'y',
);

/** The longest key and guest disk path (VmUsage), and the most guest disks a row may list. */
const MAX_KEY = 300;
const MAX_PATH = 1024;
const MAX_DISKS = 256;

const INT_MAX = 2 ** 31 - 1;

/** An integer column as usageFields stores it: whole, at most 2^31 - 1. */
function whole(token: string): string {
  if (token === 'null') return '\\N';
  // Up to 9 digits and no point: already what String(Math.round(Number(token))) gives.
  if (token.length <= 9 && !token.includes('.')) return token;
  return String(Math.min(Math.round(Number(token)), INT_MAX));
}

/**
 * Whether a matched guest disk list keeps to the schema's bounds. Only a long list can
 * break them (a path's text is never shorter than the path), and only that one is parsed.
 */
function disksInBounds(disks: string): boolean {
  if (disks.length <= MAX_PATH) return true;
  const list = JSON.parse(disks) as { path: string }[];
  return list.length <= MAX_DISKS && list.every((d) => d.path.length <= MAX_PATH);
}

/**
 * The rows of text.slice(from, to) (rows separated by commas) as [key, COPY fields] pairs,
 * or null unless every row is in the agents' form (then nothing of the piece is used).
 */
export function scanUsageRows(text: string, from: number, to: number): [string, string][] | null {
  const rows: [string, string][] = [];
  let at = from;
  while (at < to) {
    ROW.lastIndex = at;
    const m = ROW.exec(text);
    if (m === null) return null;
    const end = at + m[0].length;
    if (end > to || (end < to && text.charCodeAt(end) !== 44)) return null;
    const disks = m[5];
    if (m[1].length > MAX_KEY || !disksInBounds(disks)) return null;
    const fields = `${whole(m[2])}\t${whole(m[3])}\t${whole(m[4])}\t${
      disks === '[]' ? '\\N' : copyField(disks)
    }`;
    rows.push([m[1], fields]);
    at = end + 1;
  }
  // A piece that ends with a comma is not rows alone.
  return rows.length > 0 && at === to + 1 ? rows : null;
}
