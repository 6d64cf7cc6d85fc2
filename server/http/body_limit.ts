/**
 * Request body limits, checked before a handler reads the body. A declared Content-Length
 * above the limit is refused at once, unread; otherwise (no length, chunked, or a length
 * that lies) the body is read here, counting, and refused as soon as it passes the limit —
 * so at most `maxBytes` are ever held. The handler then reads the buffered copy.
 *
 * Limits: page forms (login included) 16 KiB; API JSON 64 KiB by default, heartbeats
 * 1 MiB (up to 1,000 sources with their last errors), token creation 256 KiB (up to
 * 1,000 bound sources). Captures are not limited here: ingest reads them itself with
 * VMLEDGER_MAX_BODY_BYTES (server/ingest/read_body.ts).
 */
import type { Context, MiddlewareHandler } from 'hono';
import { AppError } from '../errors.ts';
import { errorResponse } from './errors.ts';

export const PAGE_FORM_MAX_BYTES = 16 * 1024;
export const API_JSON_MAX_BYTES = 64 * 1024;
export const HEARTBEAT_MAX_BYTES = 1024 * 1024;
export const TOKEN_BODY_MAX_BYTES = 256 * 1024;

/** A body over the limit; `jsonBody` and the middleware answer it with 413. */
export class BodyTooLarge extends Error {
  override name = 'BodyTooLarge';
  readonly maxBytes: number;
  constructor(maxBytes: number) {
    super(`the request body is larger than ${maxBytes} bytes`);
    this.maxBytes = maxBytes;
  }
}

/** The API's limit for a request under /api/v1, or null when the route limits itself. */
export function apiBodyLimit(method: string, path: string): number | null {
  if (method === 'POST' && /\/api\/v1\/captures\/?$/.test(path)) return null;
  if (/\/api\/v1\/heartbeats\/?$/.test(path)) return HEARTBEAT_MAX_BYTES;
  if (/\/api\/v1\/tokens\/?$/.test(path)) return TOKEN_BODY_MAX_BYTES;
  return API_JSON_MAX_BYTES;
}

/**
 * Reads a body of at most `maxBytes`: refuses a larger declared Content-Length without
 * reading, and stops reading (cancelling the stream) once more arrives than allowed.
 */
export async function readLimited(
  req: Request,
  maxBytes: number,
): Promise<Uint8Array<ArrayBuffer>> {
  const declared = req.headers.get('content-length');
  if (declared !== null && /^\d+$/.test(declared.trim()) && Number(declared) > maxBytes) {
    throw new BodyTooLarge(maxBytes);
  }
  if (!req.body) return new Uint8Array(0);
  const reader = req.body.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => {});
      throw new BodyTooLarge(maxBytes);
    }
    parts.push(value);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/**
 * Middleware: the body (if any) is read with `limit(c)` bytes at most before the handler
 * runs; over it, `tooLarge` answers (413). `limit` returning null leaves the body alone.
 */
export function limitBody<E extends { Variables: object }>(
  limit: number | ((c: Context<E>) => number | null),
  tooLarge: (c: Context<E>, maxBytes: number) => Response | Promise<Response> = apiTooLarge,
): MiddlewareHandler<E> {
  return async function limitBody(c, next) {
    const max = typeof limit === 'number' ? limit : limit(c);
    const raw = c.req.raw;
    if (max === null || !raw.body || raw.method === 'GET' || raw.method === 'HEAD') {
      return await next();
    }
    let body: Uint8Array<ArrayBuffer>;
    try {
      body = await readLimited(raw, max);
    } catch (err) {
      if (err instanceof BodyTooLarge) return await tooLarge(c, max);
      throw err;
    }
    const headers = new Headers(raw.headers);
    headers.delete('transfer-encoding');
    headers.set('content-length', String(body.byteLength));
    c.req.raw = new Request(raw, { body, headers });
    await next();
  };
}

/** The API's 413: a JSON error. */
export function apiTooLarge(_c: Context, maxBytes: number): Response {
  return errorResponse(
    new AppError(
      'body_too_large',
      `the request body is larger than this route accepts (${maxBytes} bytes)`,
      { maxBytes },
    ),
  );
}

/** The pages' 413: a plain page. */
export function pageTooLarge(_c: Context, maxBytes: number): Response {
  return new Response(
    `<!doctype html><meta charset="utf-8"><title>Request too large</title>` +
      `<p>The form sent more than ${maxBytes} bytes, which this page does not accept. ` +
      `<a href="/">Back</a></p>`,
    { status: 413, headers: { 'content-type': 'text/html; charset=utf-8' } },
  );
}
