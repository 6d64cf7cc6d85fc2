/**
 * The 10,000-VM capture the ingest-side benches post: the demo fleet's vCenter capture at
 * `at`, cut to `vms` VMs (their usage with them), named for `sourceId`, validated by the
 * server's compiled parser.
 */
import { Capture } from '../agent/capture/schema.ts';
import { demoCapture } from '../agent/collectors/demo/fleet.ts';
import { parseCapture } from '../server/ingest/validate_capture.ts';

export function benchCapture(sourceId: string, at: Date, vms = 10_000): Capture {
  const c = validated(
    demoCapture({
      flavor: 'vcenter',
      seed: 7,
      totalVms: Math.ceil(vms / 0.6) + 50,
      at,
      since: null,
    }),
  );
  c.vms = c.vms.slice(0, vms);
  const kept = new Set(c.vms.map((vm) => vm.key));
  c.usage = c.usage.filter((u) => kept.has(u.key));
  c.source = { ...c.source, id: sourceId, name: sourceId };
  return c;
}

/** A capture validated by the server's compiled parser: the demo fleet makes ~80 of 10,000 VMs. */
export function validated(raw: unknown): Capture {
  const parsed = parseCapture(raw);
  if (!parsed.success) {
    throw new Error(`invalid bench capture: ${JSON.stringify(parsed.issues[0])}`);
  }
  return parsed.data;
}
