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

const PlainVms = z.array(CaptureVm);

/**
 * How many VMs a capture validates by zod's interpreted parse before the generated code takes
 * over. The generated code pays only in bulk: its 104 inner closures are made anew at each
 * call, so every full collection frees their optimized code and the next use compiles them
 * again on V8's threads. An hourly capture read with the memo parses only its changed VMs
 * (~16 of the bench's 10,000), and compiling for those cost 20-30 ms of CPU per ingest to
 * save well under 1 ms of parsing (~3 µs a VM). Parsed the interpreted way, the compiler
 * threads' CPU per ingest fell from ~16 to ~6 ms and the process's from ~104 to ~91 ms (same-
 * process loop, medians of 10), on a 2-core host where that CPU is PostgreSQL's too. A first
 * capture, or one of thousands of changes, still takes the generated code for all but these.
 */
export const vmValidation = {
  plainParseVms: 1000,
};

/**
 * Validated VMs of one part of a streamed capture, or null if any is invalid. `before` is how
 * many VMs of the capture were validated before these (vmValidation.plainParseVms; tests set
 * it to 0 to hold the generated code to account on every path).
 */
export const checkCaptureVms = (vms: unknown[], before: number) =>
  (before < vmValidation.plainParseVms ? PlainVms : CompiledVms).safeParse(vms).data ?? null;

/** Validated usage rows of one piece of a streamed capture's usage, or null if any is invalid. */
export const checkUsageRows = (rows: unknown) => CompiledUsage.safeParse(rows).data ?? null;
