/**
 * Keyset cursors: the sort key of a page's last row, handed to clients as an opaque string
 * (base64url JSON) and checked against its schema when it comes back, so a hand-made cursor
 * is refused (400) instead of reaching a query with values its columns cannot hold.
 */
import { z } from 'zod';

export function encodeCursor(key: unknown): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

/** The key in `text` if it is a cursor of `schema`'s shape; null otherwise. */
export function decodeCursor<T>(schema: z.ZodType<T>, text: string): T | null {
  try {
    const parsed = schema.safeParse(JSON.parse(Buffer.from(text, 'base64url').toString('utf8')));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** A query parameter holding a cursor of `schema`'s shape. */
export const cursorParam = <T>(schema: z.ZodType<T>) =>
  z.string().max(2000).refine((c) => decodeCursor(schema, c) !== null, 'not a cursor from this API')
    .describe('`next` of the previous page');

/** Text a column can hold: PostgreSQL refuses a NUL. */
export const ColumnText = z.string().max(1000).refine((s) => !s.includes('\0'));
/** An integer an `integer` id column can hold. */
export const IntKey = z.number().int().min(1).max(2 ** 31 - 1);
