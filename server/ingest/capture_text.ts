/**
 * Cuts a capture's JSON text into its head (everything but the VMs) and the text of its VM
 * array, without parsing the VMs, so that parsing and validating them can overlap the COPY
 * of the facts instead of preceding it, and VMs unchanged since the previous capture need
 * not be parsed at all (vm_text_memo.ts). Measured without it, so without the memo either
 * (bench ingest --pieces, 16 runs): one ingest 1.44× as long (same-round pairs), slower in
 * all 16 runs; against the cut without the memo, 1.18× (slower in 15 of 16 runs).
 *
 * Only the layout our agent writes is cut (JSON.stringify of a validated capture): no
 * whitespace, `"vms":[` followed by VMs that begin `{"key":` (the array is cut into pieces
 * at `},{"key":`), and the array followed by the keys the schema puts after it, `hosts`,
 * `datastores`, `events`, `clusters`, `resourcePools`, `networks`, `usage`, in that order (or
 * the first few of them: a v1 agent writes `hosts`, `datastores`, `events`). Text in another layout, as another producer
 * may write it, gives `null` here and is parsed whole: stored the same, only slower.
 *
 * The cut is never trusted on its own; it is proved right by parsing, and anything that
 * cannot be proved is returned as `null`, to be parsed whole:
 *
 * 1. The head is the text with the VM array replaced by a string S holding a random nonce.
 *    If it parses to an object whose `vms` is S, the replaced span sits exactly where
 *    JSON.parse binds the object's (last) `vms` key: S occurs nowhere else, since the
 *    client cannot know the nonce.
 * 2. The span is cut into pieces at the commas between them, each piece either parsed as
 *    `[p]` holding at least one value, or equal to a text that once parsed on its own to
 *    exactly one value. The span is then `[p1,p2,…,pn]`, a valid array whose elements are
 *    those of the pieces in order.
 * 3. A value's text parses to the same value wherever it sits, so the whole text parses to
 *    the head with `vms` set to the pieces' elements: exactly what JSON.parse(text) gives.
 *
 * The usage array (after the VMs, ~2 MB at 10,000 VMs) is cut out of the head the same way,
 * with a second nonce, and read with the VMs as they need it (incoming_usage.ts), so that
 * parsing it overlaps the COPY too; where it cannot be cut, it is read with the head.
 *
 * Step 1 is done here; step 2 as the VMs are read (incoming_capture.ts). The layout checks
 * only spare a foreign layout the fast way's work. One layout passes them and is caught by
 * step 2 alone, after the facts were COPYed (the ingest then rolls back and parses whole):
 * a key the schema does not know, holding objects, written between `vms` and `hosts`.
 */
import { VM_OPEN, VMS_OPEN } from '../../agent/capture/capture_text.ts';
import { Capture, CaptureVm } from '../../agent/capture/schema.ts';
import { fastPathOff } from './fast_path.ts';
import { usageSpan } from './incoming_usage.ts';

const CAPTURE_KEYS = Object.keys(Capture.shape);
/** The keys the schema puts after `vms`: the VM array ends where the first of them begins. */
export const AFTER_VMS = CAPTURE_KEYS.slice(CAPTURE_KEYS.indexOf('vms') + 1);
// The layout is the schema's; these say loudly when the schema stops fitting the search.
if (AFTER_VMS.length === 0) {
  throw new Error('capture_text.ts finds the end of the VM array by the key after vms: none');
}
if (Object.keys(CaptureVm.shape)[0] !== 'key') {
  throw new Error('capture_text.ts cuts the VM array where a VM begins with its key: not first');
}
const VMS_CLOSE = `],"${AFTER_VMS[0]}":`;
/**
 * The parsed head of `text` with `vms` removed, and the VM array's inside:
 * text.slice(vmStart, vmEnd), between its `[` and `]`. Null when the cut is not proved.
 */
export function splitCaptureText(text: string) {
  if (fastPathOff.cut) return null;
  const open = text.indexOf(VMS_OPEN);
  if (open < 0) return null;
  const start = open + VMS_OPEN.length;
  // The key after vms is found from the end: the text after the VMs is short.
  const close = text.lastIndexOf(VMS_CLOSE);
  if (close < start) return null;
  // Cut at `},{"key":`, VMs that begin otherwise would all be one piece, parsed before the COPY;
  // and a VM, not another key's value written between vms and hosts, ends right before `]`.
  if (close > start && (!text.startsWith(VM_OPEN, start) || text[close - 1] !== '}')) return null;

  const nonce = `vms ${crypto.randomUUID()}`;
  const after = text.slice(close + 1);
  const usage = usageSpan(after);
  const cut = usage ? usage.cut(nonce) : null;
  const head = parseHead(`${text.slice(0, start - 1)}${JSON.stringify(nonce)}${cut ?? after}`);
  if (cut && head?.usage === usage!.nonce(nonce)) {
    head.usage = [];
    const at = close + 1;
    return withKeysChecked(head, nonce, start, close, {
      start: at + usage!.start,
      end: at + usage!.end,
    });
  }
  // Usage where the cut did not find it: read with the head (one more parse of the head).
  const whole = cut
    ? parseHead(`${text.slice(0, start - 1)}${JSON.stringify(nonce)}${after}`)
    : head;
  return whole ? withKeysChecked(whole, nonce, start, close, null) : null;
}

/** `text` parsed as a JSON object, or null. */
export function parseHead(text: string): Record<string, unknown> | null {
  let head: unknown;
  try {
    head = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof head !== 'object' || head === null || Array.isArray(head)) return null;
  return head as Record<string, unknown>;
}

function withKeysChecked(
  fields: Record<string, unknown>,
  nonce: string,
  vmStart: number,
  vmEnd: number,
  usage: { start: number; end: number } | null,
) {
  if (fields.vms !== nonce) return null;
  // The keys after vms follow it in the schema's order, at least the first of them (an older
  // agent's capture ends with hosts, datastores, events); none of them comes again later. So
  // none of them was inside the span. Head keys may follow (the agent's streamed spool file
  // writes `complete` and `errors`, known only at the end, last: agent/spool/capture_stream.ts).
  const keys = Object.keys(fields);
  const at = keys.indexOf('vms');
  let n = 0;
  while (n < AFTER_VMS.length && keys[at + 1 + n] === AFTER_VMS[n]) n++;
  if (n === 0 || keys.slice(at + 1 + n).some((key) => AFTER_VMS.includes(key))) return null;
  delete fields.vms;
  return { head: fields, vmStart, vmEnd, usage };
}
