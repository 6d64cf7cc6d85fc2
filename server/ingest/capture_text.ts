/**
 * Cuts a capture's JSON text into its head (everything but the VMs) and the text of its VM
 * array, without parsing the VMs, so that parsing and validating them can overlap the COPY
 * of the facts instead of preceding it, and VMs unchanged since the previous capture need
 * not be parsed at all (vm_text_memo.ts).
 *
 * The cut is found by searching the text for the shapes our agent writes (JSON.stringify of
 * a validated capture: `"vms":[` then VMs that begin `{"key":`, then `],"hosts":`). It is
 * never trusted on its own; it is proved right by parsing, and anything that cannot be
 * proved is returned as `null`, to be parsed whole:
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
 * Step 1 is done here; step 2 as the VMs are read (incoming_capture.ts).
 */

import { fastPathOff } from './fast_path.ts';

export type CaptureText = {
  /** The parsed head, with `vms` removed. */
  head: Record<string, unknown>;
  /** The VM array's inside is text.slice(vmStart, vmEnd), between its `[` and `]`. */
  vmStart: number;
  vmEnd: number;
};

/** What may follow the VM array in a capture written in schema order. */
const AFTER_VMS = ['}],"hosts":', '}],"datastores":', '}],"events":'];

export function splitCaptureText(text: string): CaptureText | null {
  if (fastPathOff.cut) return null;
  const open = text.indexOf('"vms":[');
  if (open < 0) return null;
  const start = open + '"vms":['.length;
  const close = arrayEnd(text, start);
  if (close < 0) return null;

  const nonce = `vms ${crypto.randomUUID()}`;
  let head: unknown;
  try {
    head = JSON.parse(
      `${text.slice(0, start - 1)}${JSON.stringify(nonce)}${text.slice(close + 1)}`,
    );
  } catch {
    return null;
  }
  if (typeof head !== 'object' || head === null || Array.isArray(head)) return null;
  const fields = head as Record<string, unknown>;
  if (fields.vms !== nonce) return null;
  delete fields.vms;
  return { head: fields, vmStart: start, vmEnd: close };
}

/**
 * Where the `]` closing the VM array probably is: the first of the keys that follow `vms`
 * in schema order, found from the end (the text after the VMs is short), or the end of
 * the object when `vms` comes last. -1 when none fits; a wrong guess fails the proof.
 */
function arrayEnd(text: string, start: number): number {
  let best = -1;
  for (const marker of AFTER_VMS) {
    const at = text.lastIndexOf(marker);
    if (at >= start && (best < 0 || at + 1 < best)) best = at + 1;
  }
  if (best >= 0) return best;
  const tail = text.trimEnd();
  return tail.endsWith('}]}') && tail.length - 3 >= start ? tail.length - 2 : -1;
}
