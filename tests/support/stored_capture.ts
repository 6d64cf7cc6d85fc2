/**
 * A capture as the ingest stores it, for comparing the ways of reading one: its VMs as
 * digests (server/ingest/vm_lines.ts), its usage as each VM's usage fields (the usage is
 * read with the VMs: server/ingest/incoming_usage.ts).
 */
import type { Capture } from '../../agent/capture/schema.ts';
import type { IncomingCapture } from '../../server/ingest/incoming_capture.ts';
import { digestVm, NO_USAGE, usageByKey, type VmDigest } from '../../server/ingest/vm_lines.ts';

/** The head of `incoming` as stored, once `vms` (its VMs) were all read. */
export function storedHead(incoming: IncomingCapture, vms: VmDigest[]) {
  const { usage: _, ...head } = incoming.head;
  return {
    ...head,
    usage: Object.fromEntries(vms.map((vm) => [vm.key, incoming.vms.usageOf(vm.key)])),
  };
}

/** What the whole parse of `capture` stores: storedHead's shape, with the VMs. */
export function wholeStored(capture: Capture) {
  const { vms, usage, ...head } = capture;
  const fields = usageByKey(usage);
  return {
    ...head,
    usage: Object.fromEntries(vms.map((vm) => [vm.key, fields.get(vm.key) ?? NO_USAGE])),
    vms: vms.map(digestVm),
  };
}
