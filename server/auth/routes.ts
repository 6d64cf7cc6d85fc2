/** HTTP routes for token administration and the audit log (admin only). */
import { Hono } from 'hono';
import { z } from 'zod';
import { audit, type AuditRow, listAudit } from '../audit/audit_log.ts';
import type { Sql } from '../db/connect.ts';
import { type ApiDoc, intParam, parseBody, parseQuery } from '../http/api_doc.ts';
import { allPages, csvResponse, fieldColumns, onePage, wantsCsv } from '../http/csv.ts';
import { AppError } from '../errors.ts';
import { log } from '../log.ts';
import type { AuthVariables } from './middleware.ts';
import { createToken, listTokens, revokeToken, ROLES, type TokenListItem } from './tokens.ts';

export const CreateTokenBody = z.object({
  name: z.string().min(1).max(200),
  role: z.enum(ROLES),
  expiresAt: z.iso.datetime({ offset: true }).optional(),
  expiresInDays: z.number().positive().max(3650).optional(),
  sources: z.array(z.string().regex(/^(vcenter|proxmox|demo):.+$/, 'must be kind:id')).max(1000)
    .optional()
    .describe('agent tokens: the sources it may post for, as "kind:id"'),
}).refine((b) => !(b.expiresAt && b.expiresInDays), {
  message: 'give expiresAt or expiresInDays, not both',
  path: ['expiresInDays'],
})
  .refine((b) => !b.sources || b.role === 'agent', {
    message: 'only agent tokens are bound to sources',
    path: ['sources'],
  });

const AuditParams = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER).optional(),
  action: z.string().max(100).optional(),
});

const TOKEN_CSV = fieldColumns<TokenListItem>(
  [
    'id',
    'name',
    'role',
    'prefix',
    'createdAt',
    'expiresAt',
    'revokedAt',
    'lastUsedAt',
    'allowedSources',
    'status',
  ],
  ['createdAt', 'expiresAt', 'revokedAt', 'lastUsedAt'],
);
const AUDIT_CSV = fieldColumns<AuditRow>(
  ['id', 'at', 'actorId', 'actorName', 'action', 'target', 'ip', 'detail'],
  ['at'],
);

export function adminRoutes(sql: Sql, doc: ApiDoc) {
  const app = new Hono<{ Variables: AuthVariables }>();

  doc.define(app, {
    method: 'get',
    path: '/tokens',
    operationId: 'listTokens',
    tag: 'Admin',
    roles: ['admin'],
    summary:
      'API tokens (never their values) with role, expiry, last use (Accept: text/csv: as CSV)',
    responses: {
      200: { description: '`{"items", "total", "next"}` or CSV', produces: ['text/csv'] },
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
    body: CreateTokenBody,
    summary: 'Create a token; its value is in this response only',
    responses: { 201: '`{"id", "token", "name", "role", "expiresAt"}`' },
  }, async (c, { body: b }) => {
    const expiresAt = b.expiresAt
      ? new Date(b.expiresAt)
      : b.expiresInDays
      ? new Date(Date.now() + b.expiresInDays * 86400_000)
      : null;
    if (expiresAt && expiresAt <= new Date()) {
      throw new AppError('invalid_body', 'expiresAt is in the past', {
        issues: [{ path: 'expiresAt', message: 'in the past' }],
      });
    }
    const actor = c.get('auth');
    const created = await createToken(sql, {
      name: b.name,
      role: b.role,
      expiresAt,
      allowedSources: b.sources ?? null,
      createdBy: actor.id,
    });
    log.info('token created', { id: created.id, name: b.name, role: b.role, by: actor.name });
    await audit(sql, {
      action: 'token.create',
      actorId: actor.id,
      actorName: actor.name,
      target: `token:${created.id}`,
      detail: { name: b.name, role: b.role },
    });
    // The value is in this response only: no cache (browser, proxy) may keep it.
    c.header('cache-control', 'no-store');
    return c.json({
      id: created.id,
      token: created.token,
      name: b.name,
      role: b.role,
      expiresAt: expiresAt?.toISOString() ?? null,
    }, 201);
  });

  doc.define(app, {
    method: 'delete',
    path: '/tokens/:id',
    operationId: 'revokeToken',
    tag: 'Admin',
    roles: ['admin'],
    summary: 'Revoke a token (its page sessions end too)',
    responses: { 200: 'Revoked', 404: 'No such live token' },
  }, async (c) => {
    const id = intParam(c, 'id');
    const actor = c.get('auth');
    if (!(await revokeToken(sql, id))) throw new AppError('not_found', `no live token ${id}`);
    log.info('token revoked', { id, by: actor.name });
    await audit(sql, {
      action: 'token.revoke',
      actorId: actor.id,
      actorName: actor.name,
      target: `token:${id}`,
    });
    return c.json({ id, revoked: true });
  });

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
      200: { description: '`{"items", "total", "next"}` or CSV', produces: ['text/csv'] },
    },
  }, async (c) => {
    const p = parseQuery(AuditParams, c.req.query());
    if (wantsCsv(c.req.header('accept'))) {
      return csvResponse(
        'vmledger-audit.csv',
        AUDIT_CSV,
        allPages((before: number | undefined) =>
          listAudit(sql, { limit: 1000, before, action: p.action }).then((page) => ({
            items: page.items,
            next: page.next === null ? null : Number(page.next),
          }))
        ),
      );
    }
    return c.json(await listAudit(sql, { limit: p.limit, before: p.cursor, action: p.action }));
  });

  return app;
}
