/** HTTP routes for who a token is, token administration and the audit log (admin only). */
import { Hono } from 'hono';
import { z } from 'zod';
import { AuditRow, listAudit } from '../audit/audit_log.ts';
import type { Sql } from '../db/connect.ts';
import { actorOf } from '../http/actions.ts';
import { type ApiDoc, IdParams, ListOf } from '../http/api_doc.ts';
import { allPages, csvResponse, fieldColumns, onePage, wantsCsv } from '../http/csv.ts';
import type { AuthVariables } from './middleware.ts';
import {
  CreatedToken,
  CreateToken,
  createTokenAction,
  RevokedToken,
  revokeTokenAction,
} from './token_actions.ts';
import { listTokens, ROLES, TokenListItem } from './tokens.ts';
import { WhoAmI, whoAmI } from './whoami.ts';
import { listSessions, SessionListItem } from './sessions.ts';
import { EndedSessions, endSessionAction, endSessionsOfAction } from './session_actions.ts';

const AuditParams = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER).optional(),
  action: z.string().max(100).optional(),
});

/** CSV columns: every field of the JSON item, in its order; times in the CSV time format. */
const csvOf = <T>(item: z.ZodObject, times: (keyof T & string)[]) =>
  fieldColumns<T>(Object.keys(item.shape) as (keyof T & string)[], times);
const TOKEN_CSV = csvOf<TokenListItem>(TokenListItem, [
  'createdAt',
  'expiresAt',
  'revokedAt',
  'lastUsedAt',
]);
const AUDIT_CSV = csvOf<AuditRow>(AuditRow, ['at']);

export function adminRoutes(sql: Sql, doc: ApiDoc) {
  const app = new Hono<{ Variables: AuthVariables }>();

  doc.define(app, {
    method: 'get',
    path: '/whoami',
    operationId: 'whoami',
    tag: 'Meta',
    roles: ROLES,
    summary:
      "The presented token: name, role, and the sources it is bound to (agents' `check` calls this)",
    responses: { 200: { description: 'Who the token is', schema: WhoAmI } },
  }, async (c) => {
    c.header('cache-control', 'no-store');
    return c.json(await whoAmI(sql, c.get('auth')));
  });

  doc.define(app, {
    method: 'get',
    path: '/tokens',
    operationId: 'listTokens',
    tag: 'Admin',
    roles: ['admin'],
    summary:
      'API tokens (never their values) with role, expiry, last use (Accept: text/csv: as CSV)',
    responses: {
      200: {
        description: 'Every token, newest first, or CSV',
        schema: ListOf(TokenListItem),
        produces: ['text/csv'],
      },
    },
  }, async (c) => {
    if (wantsCsv(c.req.header('accept'))) {
      return csvResponse('vmledger-tokens.csv', TOKEN_CSV, onePage(listTokens(sql)));
    }
    const items = await listTokens(sql);
    return c.json({ items, total: items.length, next: null });
  });

  doc.define(app, {
    method: 'post',
    path: '/tokens',
    operationId: 'createToken',
    tag: 'Admin',
    roles: ['admin'],
    body: CreateToken,
    summary: 'Create a token; its value is in this response only',
    responses: { 201: { description: 'Created', schema: CreatedToken } },
  }, async (c, { body }) => {
    const created = await createTokenAction(sql, body, actorOf(c));
    // The value is in this response only: no cache (browser, proxy) may keep it.
    c.header('cache-control', 'no-store');
    return c.json(created, 201);
  });

  doc.define(app, {
    method: 'delete',
    path: '/tokens/:id',
    operationId: 'revokeToken',
    tag: 'Admin',
    roles: ['admin'],
    params: IdParams,
    summary: 'Revoke a token (its page sessions end too); not the one this request uses',
    responses: {
      200: { description: 'Revoked', schema: RevokedToken },
      404: 'No such live token',
    },
  }, async (c, { params }) => c.json(await revokeTokenAction(sql, params.id, actorOf(c))));

  doc.define(app, {
    method: 'get',
    path: '/sessions',
    operationId: 'listSessions',
    tag: 'Admin',
    roles: ['admin'],
    summary: 'Live page sessions: who, role, sign-in method, from where, last use, when each ends',
    responses: { 200: { description: 'Every live session', schema: ListOf(SessionListItem) } },
  }, async (c) => {
    const items = await listSessions(sql);
    return c.json({ items, total: items.length, next: null });
  });

  doc.define(app, {
    method: 'delete',
    path: '/sessions/:id',
    operationId: 'endSession',
    tag: 'Admin',
    roles: ['admin'],
    params: IdParams,
    summary: 'End one page session (its number from GET /sessions)',
    responses: {
      200: { description: 'Ended', schema: EndedSessions },
      404: 'No such live session',
    },
  }, async (c, { params }) => c.json(await endSessionAction(sql, params.id, actorOf(c))));

  doc.define(app, {
    method: 'delete',
    path: '/principals/:id/sessions',
    operationId: 'endSessionsOfPrincipal',
    tag: 'Admin',
    roles: ['admin'],
    params: IdParams,
    summary:
      'Log a person (or token) out everywhere: end every page session of that principal (principalId from GET /sessions)',
    responses: { 200: { description: 'How many ended', schema: EndedSessions } },
  }, async (c, { params }) => c.json(await endSessionsOfAction(sql, params.id, actorOf(c))));

  doc.define(app, {
    method: 'get',
    path: '/audit',
    operationId: 'listAudit',
    tag: 'Admin',
    roles: ['admin'],
    query: AuditParams,
    summary:
      'The audit log: admin actions and authentication failures, newest first (Accept: text/csv: the whole filtered log)',
    responses: {
      200: {
        description: 'A page of the log, or the whole filtered log as CSV',
        schema: ListOf(AuditRow),
        produces: ['text/csv'],
      },
    },
  }, async (c, { query: q }) => {
    if (wantsCsv(c.req.header('accept'))) {
      return csvResponse(
        'vmledger-audit.csv',
        AUDIT_CSV,
        allPages((before: number | undefined) =>
          listAudit(sql, { limit: 1000, before, action: q.action }).then((page) => ({
            items: page.items,
            next: page.next === null ? null : Number(page.next),
          }))
        ),
      );
    }
    return c.json(await listAudit(sql, { limit: q.limit, before: q.cursor, action: q.action }));
  });

  return app;
}
