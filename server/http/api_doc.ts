/**
 * API routes described once: `defineRoute` registers a handler on a Hono app AND records
 * its method, path, roles and zod schemas, from which the OpenAPI 3.1 document is built.
 * A route cannot exist without its description, and vice versa.
 */
import type { Context, Handler, Hono, MiddlewareHandler } from 'hono';
import { z } from 'zod';
import { type AuthVariables, requireRole } from '../auth/middleware.ts';
import type { Role } from '../auth/tokens.ts';
import { AppError } from '../errors.ts';
import { jsonBody, parseOr400, query } from './validate.ts';

export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

export type RouteSpec = {
  method: Method;
  /** Hono path relative to /api/v1, e.g. `/vms/:source/:key`. */
  path: string;
  summary: string;
  tag: string;
  /** Roles allowed (admin implies viewer). */
  roles: Role[];
  query?: z.ZodObject;
  body?: z.ZodType;
  /** Status → description. */
  responses?: Record<number, string>;
  /** Content types the success response may have besides JSON. */
  produces?: string[];
};

type Env = { Variables: AuthVariables };

/** The routes of one app instance, for the OpenAPI document and the route/doc test. */
export class ApiDoc {
  readonly routes: RouteSpec[] = [];

  /** Registers `handler` under `spec` on `app`, with the role check in front. */
  define(
    app: Hono<Env>,
    spec: RouteSpec,
    ...handlers: Handler<Env>[]
  ) {
    this.routes.push(spec);
    const guard = requireRole(...spec.roles) as MiddlewareHandler<Env>;
    app.on(spec.method.toUpperCase(), spec.path, guard, ...handlers);
  }

  /** The OpenAPI 3.1 document. */
  openapi(info: { title: string; version: string }) {
    const paths: Record<string, Record<string, unknown>> = {};
    for (const r of this.routes) {
      const path = '/api/v1' + r.path.replace(/:([A-Za-z_]+)/g, '{$1}');
      const params: unknown[] = [...r.path.matchAll(/:([A-Za-z_]+)/g)].map((m) => ({
        name: m[1],
        in: 'path',
        required: true,
        schema: { type: 'string' },
      }));
      if (r.query) {
        const schema = z.toJSONSchema(r.query, { io: 'input', unrepresentable: 'any' });
        for (const [name, s] of Object.entries(schema.properties ?? {})) {
          params.push({
            name,
            in: 'query',
            required: (schema.required ?? []).includes(name),
            schema: s,
          });
        }
      }
      const responses: Record<string, unknown> = {};
      for (const [status, description] of Object.entries(r.responses ?? { 200: 'OK' })) {
        responses[status] = {
          description,
          content: {
            'application/json': {},
            ...Object.fromEntries((r.produces ?? []).map((t) => [t, {}])),
          },
        };
      }
      responses['400'] ??= {
        description: 'Invalid input: `{"error":{"code","message","issues":[{"path","message"}]}}`',
      };
      responses['401'] = { description: 'Missing, invalid, expired or revoked token' };
      responses['403'] = { description: `Needs role: ${r.roles.join(' or ')}` };
      paths[path] ??= {};
      paths[path][r.method] = {
        summary: r.summary,
        tags: [r.tag],
        'x-roles': r.roles,
        parameters: params,
        ...(r.body
          ? {
            requestBody: {
              required: true,
              content: {
                'application/json': {
                  schema: z.toJSONSchema(r.body, { io: 'input', unrepresentable: 'any' }),
                },
              },
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
          'vmledger API. Every route needs `Authorization: Bearer <token>`; errors are `{"error":{"code","message",...}}`.',
      },
      servers: [{ url: '/' }],
      security: [{ bearer: [] }],
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      paths,
    };
  }
}

/** Parses query parameters with a zod schema; 400 naming each bad parameter. */
export function parseQuery<T extends z.ZodType>(schema: T, q: Record<string, string>): z.infer<T> {
  return parseOr400(schema, query(q), 'invalid_query');
}

/** Parses a JSON body with a zod schema; 400 naming each bad field. */
export async function parseBody<T extends z.ZodType>(schema: T, c: Context): Promise<z.infer<T>> {
  return parseOr400(schema, await jsonBody(c.req.raw), 'invalid_body');
}

/** The largest id an `integer` column holds. */
export const MAX_INT_ID = 2 ** 31 - 1;

/** A positive integer path parameter that fits an `integer` id column, or 400. */
export function intParam(c: Context, name: string): number {
  const v = Number(c.req.param(name));
  if (!Number.isInteger(v) || v <= 0 || v > MAX_INT_ID) {
    throw new AppError('invalid_path', `${name} must be an integer from 1 to ${MAX_INT_ID}`);
  }
  return v;
}
