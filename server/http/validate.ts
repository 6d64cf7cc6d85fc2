/** Parses request input with a zod schema; bad input answers 400 naming every problem and where. */
import type { z } from 'zod';
import { describeIssues } from '../../agent/capture/schema.ts';
import { ApiError } from './errors.ts';
import { rejectNul } from './nul.ts';

export function parseOr400<T extends z.ZodType>(
  schema: T,
  input: unknown,
  code = 'invalid_request',
): z.infer<T> {
  // PostgreSQL text cannot hold a NUL: refused in any field (400), whatever the schema says.
  rejectNul(input, code);
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const issues = describeIssues(parsed.error);
    throw new ApiError(400, code, `${issues[0].path}: ${issues[0].message}`, { issues });
  }
  return parsed.data;
}

/** Query parameters without empty values. */
export function query(q: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(q).filter(([, v]) => v !== ''));
}

/** The JSON body, or 400 when it is not JSON. */
export async function jsonBody(req: Request): Promise<unknown> {
  try {
    return await req.json();
  } catch {
    throw new ApiError(400, 'invalid_json', 'the request body must be JSON');
  }
}
