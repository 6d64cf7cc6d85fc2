/**
 * NUL characters (U+0000) in request input. PostgreSQL text cannot hold one: a NUL that
 * reached a query failed it (500), and one inside COPY data once hung the ingest (see
 * ingest/stage.ts). So every request is checked before its input is used: the URL (path and
 * query parameters) by `rejectNulInUrl`, parsed bodies by `nulPath`/`rejectNul`, and a
 * capture's text by `hasNulEscape` first (one scan; a JSON text can carry a NUL only as the
 * escape `\u0000`, since JSON.parse refuses raw control characters).
 */
import type { Buffer } from 'node:buffer';
import { AppError, type ErrorCode } from './errors.ts';

/** The path (`a.b.0.c`) of the first string or key holding a NUL in `value`, or null. */
function nulPath(value: unknown, path: string[] = []): string | null {
  if (typeof value === 'string') return value.includes('\0') ? where(path) : null;
  if (value === null || typeof value !== 'object') return null;
  // An array's entries are its elements under their indexes, in order.
  for (const [key, v] of Object.entries(value)) {
    if (key.includes('\0')) return where([...path, key.replaceAll('\0', '\\u0000')]);
    const found = nulPath(v, [...path, key]);
    if (found !== null) return found;
  }
  return null;
}

function where(path: string[]): string {
  return path.join('.') || '(root)';
}

export const NUL_MESSAGE = 'must not contain a NUL character (\\u0000)';

/** 400 naming the first field of `value` that holds a NUL; nothing when none does. */
export function rejectNul(value: unknown, code: ErrorCode = 'invalid_request'): void {
  const path = nulPath(value);
  if (path === null) return;
  throw new AppError(code, `${path}: ${NUL_MESSAGE}`, {
    issues: [{ path, message: NUL_MESSAGE }],
  });
}

/**
 * Whether JSON text holds the escape `\u0000` (a NUL once parsed): one indexOf over the
 * text, and on a hit a look at the backslashes before it, since `\\u0000` is a backslash
 * followed by the text "u0000". Hex digits may be in either case, but 0 has only one. The
 * text may be its UTF-8 bytes (a body read as it arrives): the escape and the backslashes
 * are ASCII, so the bytes hold one exactly where the text does.
 */
export function hasNulEscape(text: string | Buffer): boolean {
  for (let at = text.indexOf(NUL_ESCAPE); at >= 0; at = text.indexOf(NUL_ESCAPE, at + 1)) {
    let backslashes = 1;
    while (at - backslashes >= 0 && codeAt(text, at - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 1) return true;
  }
  return false;
}

const NUL_ESCAPE = '\\u0000';
const BACKSLASH = 92;

/** The code unit of a text, or the byte of its UTF-8, at `i`. */
function codeAt(text: string | Buffer, i: number): number {
  return typeof text === 'string' ? text.charCodeAt(i) : text[i];
}
