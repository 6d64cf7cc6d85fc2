/**
 * Request body limits, checked before a handler reads the body: the body is read here,
 * bounded (server/read_limited.ts), and the handler then reads the buffered copy.
 *
 * Limits: page forms (login included) 16 KiB; API JSON 64 KiB by default, heartbeats
 * 1 MiB (up to 1,000 sources with their last errors), token creation 256 KiB (up to
 * 1,000 bound sources). Captures are not limited here: ingest reads them itself with
 * VMLEDGER_MAX_BODY_BYTES (server/ingest/read_body.ts).
 */
import type { Context, MiddlewareHandler } from 'hono';
import { AppError } from '../errors.ts';
import { errorResponse } from './errors.ts';
import { BodyTooLarge, readLimited } from '../read_limited.ts';

export const PAGE_FORM_MAX_BYTES = 16 * 1024;
const API_JSON_MAX_BYTES = 64 * 1024;
export const HEARTBEAT_MAX_BYTES = 1024 * 1024;
const TOKEN_BODY_MAX_BYTES = 256 * 1024;

/** The API's limit for a request under /api/v1, or null when the route limits itself. */
export function apiBodyLimit(method: string, path: string): number | null {
  if (method === 'POST' && /\/api\/v1\/captures\/?$/.test(path)) return null;
  if (/\/api\/v1\/heartbeats\/?$/.test(path)) return HEARTBEAT_MAX_BYTES;
  if (/\/api\/v1\/tokens\/?$/.test(path)) return TOKEN_BODY_MAX_BYTES;
  return API_JSON_MAX_BYTES;
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
    // The method first: asking a Node request for its body builds a whole fetch Request.
    const method = c.req.method;
    if (method === 'GET' || method === 'HEAD') return await next();
    const max = typeof limit === 'number' ? limit : limit(c);
    const raw = c.req.raw;
    if (max === null || !raw.body) return await next();
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
function apiTooLarge(_c: Context, maxBytes: number): Response {
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
