/**
 * The error catalogue: every error the server answers with, by a stable code. Data access,
 * actions and routes raise `AppError(code, message)` and know nothing of HTTP; the one
 * place that turns an AppError into a response (server/http/errors.ts) takes its status
 * from here. docs/errors.md lists the same table (tests/unit/error_catalogue.test.ts keeps
 * them in step). A code is a contract: clients and agents branch on it, so a code is never
 * renamed or given another meaning.
 */
export const ERROR_CATALOGUE = {
  invalid_json: [400, 'The request body could not be read, or is not JSON.'],
  invalid_body: [400, 'A JSON body field is missing or wrong; `issues` names each.'],
  invalid_request: [400, 'The request asks for something that cannot be done as given.'],
  invalid_query: [400, 'A query parameter is wrong; `issues` names each.'],
  invalid_path: [400, 'A path parameter is not of its type (ids are integers 1..2^31-1).'],
  invalid_capture: [400, 'The capture breaks the capture contract; `issues` names each.'],
  invalid_captured_at: [400, '`capturedAt` is before 2000 or more than 10 minutes ahead.'],
  invalid_heartbeat: [400, 'The heartbeat breaks its contract; `issues` names each.'],
  invalid_gzip: [400, 'The body says gzip but does not inflate.'],
  unauthorized: [401, 'Missing, invalid, expired or revoked token or session.'],
  forbidden: [403, "The token's role may not do this."],
  csrf: [403, "A page form without this session's CSRF token."],
  source_not_yours: [
    403,
    "The capture is for a source another agent token owns or isn't bound to.",
  ],
  not_found: [404, 'No such route, or no such thing at this id.'],
  not_failed: [409, 'Only a failed job can be retried.'],
  alert_not_firing: [409, 'Only a firing alert can be acknowledged.'],
  not_ready: [409, 'The report is not generated (yet, or it failed).'],
  capture_conflict: [409, 'Another capture id exists for the same source and capture time.'],
  body_too_large: [413, 'The body is larger than this route accepts (`maxBytes`).'],
  unsupported_encoding: [415, 'A Content-Encoding other than gzip or identity.'],
  too_many_failures: [429, 'Too many failed sign-ins from this address; wait `Retry-After`.'],
  internal: [500, 'A server fault; logged with the request path.'],
  report_failed: [500, 'Generating the report failed; the message says why.'],
  jobs_unavailable: [503, 'Background jobs are not running on this server.'],
  ingest_busy: [503, 'Too many captures arriving at once; send it again after `Retry-After`.'],
  db_unavailable: [503, 'The database cannot be reached now; retry after `Retry-After` seconds.'],
} as const satisfies Record<string, readonly [number, string]>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/** An error the caller can act on: a catalogued code, a message, and fields that help. */
export class AppError extends Error {
  readonly code: ErrorCode;
  /** Added to the error body, e.g. `issues: [{path, message}]` or `maxBytes`. */
  readonly details: Record<string, unknown>;
  /** Response headers the error needs, e.g. Retry-After. */
  readonly headers: Record<string, string>;

  constructor(
    code: ErrorCode,
    message: string,
    details: Record<string, unknown> = {},
    headers: Record<string, string> = {},
  ) {
    super(message);
    this.code = code;
    this.details = details;
    this.headers = headers;
  }

  get status(): (typeof ERROR_CATALOGUE)[ErrorCode][0] {
    return ERROR_CATALOGUE[this.code][0];
  }
}
