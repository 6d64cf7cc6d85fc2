/**
 * One capture from a body still arriving to commit: a capture in our agents' layout (VMs
 * last) is stored while the rest of it arrives (stream_capture.ts); any other, or one that
 * cannot be vouched for that way, is read whole and stored as ingestCaptureText does.
 */
export async function ingestCaptureBody(
  sql: Sql,
  body: ArrivingBody,
  token: TokenInfo,
): Promise<StoreResult> {
  const arriving = await captureArriving(body);
  if (arriving) {
    try {
      return await storeCapture(sql, arriving, token);
    } catch (err) {
      // The body itself was bad (gzip, size): that is the answer.
      if (body.failure) throw body.failure;
      const reparse = err instanceof NeedsWholeParse ||
        (err instanceof AppError && !(await arriving.vms.allValid()));
      if (!reparse) throw err;
    }
  }
  return await ingestCaptureText(sql, await body.whole(), token);
}

/**
 * One capture from body text to commit, answering exactly as if it had been parsed and
 * validated whole before anything was stored.
 *
 * The usual capture (our agent's JSON) is split into head and VM parts and stored while
 * its VMs are parsed (capture_text.ts, incoming_capture.ts). Whenever that way cannot
 * vouch for the text, or a VM turns out invalid halfway, the transaction is rolled back
 * and the text is parsed and validated whole: invalid JSON and invalid captures get their
 * 400 with zod's issues from there, as they always did.
 */
import type { TokenInfo } from '../auth/tokens.ts';
import type { Sql } from '../db/connect.ts';
import { AppError } from '../errors.ts';
import { hasNulEscape, rejectNul } from '../nul.ts';
import { captureFromParsed, captureFromText, NeedsWholeParse } from './incoming_capture.ts';
import { parseJsonText } from './read_body.ts';
import { type ArrivingBody, captureArriving } from './stream_capture.ts';
import { storeCapture, type StoreResult } from './store_capture.ts';
import { parseCapture } from './validate_capture.ts';

/** Issues listed in a 400 for an invalid capture; `more` says how many were left out. */
const MAX_ISSUES = 100;

export async function ingestCaptureText(
  sql: Sql,
  text: string,
  token: TokenInfo,
): Promise<StoreResult> {
  // PostgreSQL text cannot hold a NUL: one scan of the text, and only on a hit a parse that
  // names the field (the VM text memo and the parts never see one).
  if (hasNulEscape(text)) rejectNul(parseJsonText(text), 'invalid_capture');
  const streamed = captureFromText(text);
  if (streamed) {
    try {
      return await storeCapture(sql, streamed, token);
    } catch (err) {
      // A 403 or 409 stands only for a valid capture; an invalid one is answered with 400.
      const reparse = err instanceof NeedsWholeParse ||
        (err instanceof AppError && !(await streamed.vms.allValid()));
      if (!reparse) throw err;
    }
  }
  const parsed = parseCapture(parseJsonText(text));
  if (!parsed.success) {
    const issues = parsed.issues;
    throw new AppError(
      'invalid_capture',
      `capture is invalid: ${issues[0].path}: ${issues[0].message}`,
      { issues: issues.slice(0, MAX_ISSUES), more: Math.max(0, issues.length - MAX_ISSUES) },
    );
  }
  return await storeCapture(sql, captureFromParsed(parsed.data), token);
}
