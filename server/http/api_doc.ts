/**
 * API routes declared once. `ApiDoc.define` registers a route on a Hono app from one
 * declaration: method, path, roles, an `operationId`, zod schemas for path params, query
 * and body, and a schema for every response. The declaration validates the request (400
 * naming each bad field) and hands the handler typed input; the same schemas build the
 * OpenAPI 3.1 document, and the integration suites check every JSON response against the
 * schema its route declares (tests/support/app.ts). A route cannot exist without its
 * description, and the description cannot drift from what the route does.
 */
import type { Context, Hono, MiddlewareHandler } from 'hono';
import { z } from 'zod';
import { type AuthVariables, requireRole } from '../auth/middleware.ts';
import type { Role } from '../auth/tokens.ts';
import { ERROR_CATALOGUE, type ErrorCode } from '../errors.ts';
import { jsonBody, parseOr400, query } from './validate.ts';

/** One response: what it means, its JSON schema, and other content types it may have. */
export type Reply = { description: string; schema?: z.ZodType; produces?: string[] };

export type RouteSpec = {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** Hono path relative to /api/v1, e.g. `/vms/:source/:key`. */
  path: string;
  /** Unique, stable name of the operation (clients generate method names from it). */
  operationId: string;
  summary: string;
  tag: string;
  /** Roles allowed (admin implies viewer). */
  roles: readonly Role[];
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: z.ZodType;
  /** The error code of a body that fails its schema (default `invalid_body`). */
  bodyError?: ErrorCode;
  /** The handler reads the body itself (streamed, gzip); `body` only describes it. */
  rawBody?: boolean;
  /** Status → reply. Error statuses need only a description: their schema is ErrorBody. */
  responses: Record<number, Reply | string>;
};

type Parsed<T> = T extends z.ZodType ? z.infer<T> : undefined;

/** What a handler receives: the validated params, query and body of its declaration. */
export type Input<S extends RouteSpec> = {
  params: Parsed<S['params']>;
  query: Parsed<S['query']>;
  body: S['rawBody'] extends true ? undefined : Parsed<S['body']>;
};

type Env = { Variables: AuthVariables };
export type RouteHandler<S extends RouteSpec> = (
  c: Context<Env>,
  input: Input<S>,
) => Response | Promise<Response>;

/** Every error answer: `{"error":{"code","message",...}}` (codes: docs/errors.md). */
export const ErrorBody = z.object({
  error: z.looseObject({
    code: z.string(),
    message: z.string(),
    issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  }),
});

/** An integer id from a path or query string, 1..2^31-1 (what an `integer` column holds). */
export const IntId = z.coerce.number().int().min(1).max(2 ** 31 - 1);
/** An id path parameter `:id`. */
export const IdParams = z.object({ id: IntId });

/** A list answer: a page of `item`s, the filtered total, and the cursor of the next page (null on the last). */
export const ListOf = <T extends z.ZodType>(item: T) =>
  z.object({ items: z.array(item), total: z.number().int(), next: z.string().nullable() });

/** A time in JSON: an ISO 8601 string. */
export const Time = z.iso.datetime({ offset: true });

/** A declared route, as the OpenAPI builder and the response check read it. */
export type DeclaredRoute = RouteSpec & { pattern: RegExp };

/** The routes of one app instance, for the OpenAPI document and the response checks. */
export class ApiDoc {
  readonly routes: DeclaredRoute[] = [];

  /** Registers the route on `app`: the role check, input validation, then `handler`. */
  define<const S extends RouteSpec>(app: Hono<Env>, spec: S, handler: RouteHandler<S>) {
    if (this.routes.some((r) => r.operationId === spec.operationId)) {
      throw new Error(`operationId ${spec.operationId} is declared twice`);
    }
    const pattern = new RegExp(
      '^/api/v1' + spec.path.replace(/:[A-Za-z_]+/g, '[^/]+').replace(/\./g, '\\.') + '$',
    );
    this.routes.push({ ...spec, pattern });
    const guard = requireRole(...spec.roles) as MiddlewareHandler<Env>;
    app.on(spec.method.toUpperCase(), spec.path, guard, async (c) => {
      const input = {
        params: spec.params && parseOr400(spec.params, c.req.param(), 'invalid_path'),
        query: spec.query && parseOr400(spec.query, query(c.req.query()), 'invalid_query'),
        body: spec.body && !spec.rawBody
          ? parseOr400(spec.body, await jsonBody(c.req.raw), spec.bodyError ?? 'invalid_body')
          : undefined,
      };
      return await handler(c, input as Input<S>);
    });
  }

  /** The declared route answering `method path` (path under /api/v1, no query), if any. */
  find(method: string, path: string): DeclaredRoute | undefined {
    return this.routes.find((r) => r.method === method.toLowerCase() && r.pattern.test(path));
  }

  /** The schema a response with `status` must match, or undefined if none is declared. */
  static replySchema(route: RouteSpec, status: number): z.ZodType | undefined {
    const reply = route.responses[status];
    if (status >= 400) return ErrorBody;
    return typeof reply === 'object' ? reply.schema : undefined;
  }

  /** The OpenAPI 3.1 document. */
  openapi(info: { title: string; version: string }) {
    const paths: Record<string, Record<string, unknown>> = {};
    const jsonSchema = (s: z.ZodType, io: 'input' | 'output') =>
      z.toJSONSchema(s, { io, unrepresentable: 'any', target: 'draft-2020-12' });
    for (const r of this.routes) {
      const path = '/api/v1' + r.path.replace(/:([A-Za-z_]+)/g, '{$1}');
      const params: unknown[] = [];
      const describe = (schema: z.ZodObject, where: 'path' | 'query') => {
        const s = jsonSchema(schema, 'input');
        for (const [name, p] of Object.entries(s.properties ?? {})) {
          const { description, ...rest } = p as { description?: string };
          params.push({
            name,
            in: where,
            required: where === 'path' || (s.required ?? []).includes(name),
            ...(description ? { description } : {}),
            schema: rest,
          });
        }
      };
      if (r.params) describe(r.params, 'path');
      if (r.query) describe(r.query, 'query');
      const declared: Record<number, Reply> = {};
      for (const [status, reply] of Object.entries(r.responses)) {
        declared[+status] = typeof reply === 'string' ? { description: reply } : reply;
      }
      declared[400] ??= { description: 'Invalid input; `issues` names each bad field' };
      declared[401] = { description: 'Missing, invalid, expired or revoked token' };
      declared[403] ??= { description: `Needs role: ${r.roles.join(' or ')}` };
      const responses: Record<string, unknown> = {};
      for (const [status, reply] of Object.entries(declared)) {
        const schema = +status >= 400 ? ErrorBody : reply.schema;
        responses[status] = {
          description: reply.description,
          content: {
            // A reply without a schema and with its own content types (a file) is not JSON.
            ...(schema || !reply.produces
              ? { 'application/json': schema ? { schema: jsonSchema(schema, 'output') } : {} }
              : {}),
            ...Object.fromEntries((reply.produces ?? []).map((t) => [t, {}])),
          },
        };
      }
      paths[path] ??= {};
      paths[path][r.method] = {
        operationId: r.operationId,
        summary: r.summary,
        tags: [r.tag],
        'x-roles': r.roles,
        parameters: params,
        ...(r.body
          ? {
            requestBody: {
              required: true,
              content: { 'application/json': { schema: jsonSchema(r.body, 'input') } },
            },
          }
          : {}),
        responses,
      };
    }
    return {
      openapi: '3.1.0',
      info: {
        ...info,
        description:
          'vmledger API. Every route needs `Authorization: Bearer <token>`; errors are `{"error":{"code","message",...}}` with the codes in docs/errors.md: ' +
          Object.keys(ERROR_CATALOGUE).join(', ') + '.',
      },
      servers: [{ url: '/' }],
      security: [{ bearer: [] }],
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      paths,
    };
  }
}
