/**
 * One error type for the HTTP layer. An ApiError knows its status and stable code and
 * builds its own JSON response: `{"error":{"code","message",...details}}`.
 * `handleError` is the app's single onError: ApiErrors answer as themselves, Hono's
 * HTTPExceptions keep their response, anything else is a logged 500.
 */
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { log } from '../log.ts';

export class ApiError extends HTTPException {
  readonly code: string;
  readonly details: Record<string, unknown>;
  readonly headers: Record<string, string>;

  constructor(
    status: ContentfulStatusCode,
    code: string,
    message: string,
    details: Record<string, unknown> = {},
    headers: Record<string, string> = {},
  ) {
    super(status, { message });
    this.code = code;
    this.details = details;
    this.headers = headers;
  }

  override getResponse(): Response {
    return new Response(
      JSON.stringify({ error: { code: this.code, message: this.message, ...this.details } }),
      {
        status: this.status,
        headers: { 'content-type': 'application/json; charset=utf-8', ...this.headers },
      },
    );
  }
}

/** The app's onError. */
export function handleError(err: Error, c: Context): Response {
  if (err instanceof HTTPException) {
    if (err instanceof ApiError) return err.getResponse();
    const res = err.getResponse();
    if (res.headers.get('content-type')?.includes('json')) return res;
    return c.json(
      { error: { code: `http_${err.status}`, message: err.message || res.statusText } },
      err.status,
    );
  }
  log.error('unhandled error', { path: c.req.path, method: c.req.method, error: err });
  return c.json({ error: { code: 'internal', message: 'internal server error' } }, 500);
}
