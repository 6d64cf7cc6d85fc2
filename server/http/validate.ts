/** Parses request input with a zod schema; bad input answers 400 naming every problem and where. */
import type { z } from 'zod';
import { describeIssues } from '../../shared/issues.ts';
import { AppError, type ErrorCode } from '../errors.ts';
import { rejectNul } from '../nul.ts';
import { HEARTBEAT_MAX_BYTES } from './body_limit.ts';
import { BodyTooLarge, readLimited } from '../read_limited.ts';

export function parseOr400<T extends z.ZodType>(
  schema: T,
  input: unknown,
  code: ErrorCode = 'invalid_request',
): z.infer<T> {
  // PostgreSQL text cannot hold a NUL: refused in any field (400), whatever the schema says.
  rejectNul(input, code);
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const issues = describeIssues(parsed.error);
    throw new AppError(code, `${issues[0].path}: ${issues[0].message}`, { issues });
  }
  return parsed.data;
}

/** Query parameters without empty values. */
export function query(q: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(q).filter(([, v]) => v !== ''));
}

/**
 * The JSON body, or 400 when it is not JSON, or 413 past the largest of the API's per-route
 * limits (those are applied earlier, server/http/body_limit.ts): no caller reads unbounded.
 */
export async function jsonBody(req: Request): Promise<unknown> {
  const maxBytes = HEARTBEAT_MAX_BYTES;
  let bytes: Uint8Array;
  try {
    bytes = await readLimited(req, maxBytes);
  } catch (err) {
    if (err instanceof BodyTooLarge) {
      throw new AppError('body_too_large', err.message, { maxBytes });
    }
    throw new AppError('invalid_json', 'the request body could not be read');
  }
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new AppError('invalid_json', 'the request body must be JSON');
  }
}
