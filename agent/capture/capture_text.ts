/**
 * A capture's JSON text as our agents send it: the head first, the VMs last. The server
 * reads a capture in this layout while it still arrives, COPYing each VM's facts as its
 * text comes in, instead of after the last byte (server/ingest/stream_capture.ts): with the
 * VMs first, the usage after them was needed before the first fact could be stored.
 * Text in any other layout is still a valid capture, read whole.
 */
import type { Capture } from './schema.ts';

/** How the text of the head ends, just before the first VM. */
export const VMS_OPEN = '"vms":[';
/** How every VM begins (the schema puts `key` first): the server cuts the VM array before each. */
export const VM_OPEN = '{"key":';
/** Where one VM ends and the next begins. */
export const VM_CUT = `},${VM_OPEN}`;

/** The head's text, up to and including `"vms":[`. `head` is a validated capture's head. */
export function captureHeadText(head: Omit<Capture, 'vms'>): string {
  return `${JSON.stringify(head).slice(0, -1)},${VMS_OPEN}`;
}

/** The text of a validated capture: its head, then its VMs, then `]}`. */
export function captureText(capture: Capture): string {
  const { vms, ...head } = capture;
  return `${captureHeadText(head)}${vms.map((vm) => JSON.stringify(vm)).join(',')}]}`;
}
