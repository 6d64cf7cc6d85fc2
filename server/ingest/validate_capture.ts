/**
 * Capture validation for the ingest hot path, with exactly the answers of `Capture.safeParse`.
 *
 * The interpreted zod parse costs ~4 µs per VM, the largest single cost of an ingest. zod's own
 * ahead-of-time compiler (`z.compile`, zod >= 4.5) generates a straight-line validator from the
 * schema, so `agent/capture/schema.ts` stays the only statement of the rules (lengths counted in
 * code points, the datetime and uuid patterns, defaults, key stripping, the duplicate-key
 * refinement). Any input the generated code rejects is re-parsed by the ordinary zod parser, so
 * issues are zod's own. tests/unit/validate_capture.test.ts holds both claims to account.
 */
import { z } from 'zod';
import { VmUsage } from '../../agent/capture/details.ts';
import { Capture, CaptureHead, CaptureVm, upgradeV1Capture } from '../../agent/capture/schema.ts';
import { describeIssues } from '../../shared/issues.ts';

export type CaptureIssue = { path: string; message: string };

/**
 * Not `strict`: were a future schema construct beyond the compiler, `z.compile` hands `Capture`
 * back unchanged, so ingest stays correct, only slower. The unit test compiles strictly to notice.
 */
const CompiledCapture = z.compile(Capture);
const CompiledHead = z.compile(CaptureHead);
const CompiledVms = z.compile(z.array(CaptureVm));
const CompiledUsage = z.compile(z.array(VmUsage));

export function parseCapture(body: unknown):
  | { success: true; data: Capture }
  | { success: false; issues: CaptureIssue[] } {
  const result = CompiledCapture.safeParse(upgradeV1Capture(body));
  return result.success
    ? { success: true, data: result.data }
    : { success: false, issues: describeIssues(result.error) };
}

/** The validated head of a capture streamed in parts (see capture_text.ts), or null if invalid. */
export const checkCaptureHead = (head: unknown) => CompiledHead.safeParse(head).data ?? null;

/** Validated VMs of one part of a streamed capture, or null if any is invalid. */
export const checkCaptureVms = (vms: unknown) => CompiledVms.safeParse(vms).data ?? null;

/** Validated usage rows of one piece of a streamed capture's usage, or null if any is invalid. */
export const checkUsageRows = (rows: unknown) => CompiledUsage.safeParse(rows).data ?? null;
