/**
 * Creating and revoking an API token: the one action behind the admin page's forms and
 * `POST /api/v1/tokens` / `DELETE /api/v1/tokens/:id`. One input schema (the API's body;
 * the page's form fields are read into it), the same write, the same audit row
 * (`token.create` / `token.revoke`, target `token:<id>`, actor and client address) and the
 * same errors whichever way it comes.
 */
import { z } from 'zod';
import { type Actor, auditAction } from '../audit/audit_log.ts';
import type { Sql } from '../db/connect.ts';
import { AppError } from '../errors.ts';
import { log } from '../log.ts';
import { SELECTOR } from './scope.ts';
import { createToken, revokeToken, ROLES } from './tokens.ts';

const DAYS = 'a number of days above 0, at most 3650';
const Name = z.string({ error: 'required' }).trim().min(1, 'required').max(200, 'at most 200');
const Sources = z.array(z.string().regex(/^(vcenter|proxmox|demo):.+$/, 'must be kind:id'))
  .max(1000).describe('agent tokens: the sources it may post for, as "kind:id"');

/** What a new token is: the API's JSON body; the page's form fields map onto it. */
export const CreateToken = z.object({
  name: Name,
  role: z.enum(ROLES, { error: `one of ${ROLES.join(', ')}` }),
  expiresAt: z.iso.datetime({ offset: true, error: 'a time like 2030-01-31T00:00:00Z' })
    .refine((v) => !(Date.parse(v) <= Date.now()), 'must be in the future').optional(),
  expiresInDays: z.number({ error: DAYS }).positive(DAYS).max(3650, DAYS).optional(),
  sources: Sources.optional(),
  scope: z.array(
    z.string().regex(SELECTOR, 'must be source:<id>, <kind>:<id> or tag:<key>=<value>'),
  ).min(1).max(1000).optional().describe(
    'viewer tokens: the only sources it sees (per-source visibility; docs/sign-in.md)',
  ),
}).refine((b) => !b.scope || b.role === 'viewer', {
  message: 'only viewer tokens are limited to sources (a scoped admin is not a thing)',
  path: ['scope'],
}).refine((b) => !(b.expiresAt && b.expiresInDays), {
  message: 'give expiresAt or expiresInDays, not both',
  path: ['expiresInDays'],
}).refine((b) => !b.sources || b.role === 'agent', {
  message: 'only agent tokens are bound to sources',
  path: ['sources'],
});
export type CreateToken = z.infer<typeof CreateToken>;

/** A created token: its value is in this answer only. */
export const CreatedToken = z.object({
  id: z.number().int(),
  token: z.string(),
  name: z.string(),
  role: z.enum(ROLES),
  expiresAt: z.string().nullable(),
  allowedSources: z.array(z.string()).nullable(),
  scope: z.array(z.string()).nullable(),
});
export type CreatedToken = z.infer<typeof CreatedToken>;

export const RevokedToken = z.object({
  id: z.number().int(),
  name: z.string(),
  revoked: z.literal(true),
});
export type RevokedToken = z.infer<typeof RevokedToken>;

/** Creates a token and audits it; the plain value is returned, never stored or logged. */
export async function createTokenAction(
  sql: Sql,
  input: CreateToken,
  actor: Actor,
): Promise<CreatedToken> {
  const { name, role } = input;
  const expiresAt = input.expiresAt
    ? new Date(input.expiresAt)
    : input.expiresInDays
    ? new Date(Date.now() + input.expiresInDays * 86400_000)
    : null;
  const allowedSources = input.sources ?? null;
  const { id, token } = await createToken(sql, {
    name,
    role,
    expiresAt,
    allowedSources,
    scope: input.scope ?? null,
    createdBy: actor.id,
  });
  const detail = {
    name,
    role,
    expiresAt: expiresAt?.toISOString() ?? null,
    allowedSources,
    ...(input.scope ? { scope: input.scope } : {}),
  };
  log.info('token created', { id, ...detail, by: actor.name });
  await auditAction(sql, actor, 'token.create', `token:${id}`, detail);
  return { id, token, ...detail, scope: input.scope ?? null };
}

/** Revokes a live token other than the actor's own (its page sessions end too), audited. */
export async function revokeTokenAction(sql: Sql, id: number, actor: Actor): Promise<RevokedToken> {
  if (id === actor.id) {
    throw new AppError('invalid_request', 'you cannot revoke the token you are using');
  }
  const revoked = await revokeToken(sql, id);
  if (!revoked) throw new AppError('not_found', `no live token ${id}`);
  log.info('token revoked', { id, name: revoked.name, by: actor.name });
  await auditAction(sql, actor, 'token.revoke', `token:${id}`, { name: revoked.name });
  return { id, name: revoked.name, revoked: true };
}
