/**
 * Ending sessions: one session (admin, from the session list) or every session of one
 * person (logout everywhere: the person themself, or an admin). The one action behind the
 * pages and `DELETE /api/v1/sessions/:id`, `DELETE /api/v1/principals/:id/sessions`;
 * audited `session.end` / `session.end_all`.
 */
import { z } from 'zod';
import { type Actor, auditAction } from '../audit/audit_log.ts';
import type { Sql } from '../db/connect.ts';
import { AppError } from '../errors.ts';
import { endSession, endSessionsOf } from './sessions.ts';

export const EndedSessions = z.object({ principalId: z.number().int(), ended: z.number().int() });
export type EndedSessions = z.infer<typeof EndedSessions>;

export async function endSessionAction(sql: Sql, sid: number, actor: Actor) {
  const r = await endSession(sql, sid);
  if (!r) throw new AppError('not_found', `no live session ${sid}`);
  await auditAction(sql, actor, 'session.end', `session:${sid}`, {
    principalId: r.principalId,
    name: r.name,
  });
  return { principalId: r.principalId, ended: 1 };
}

export async function endSessionsOfAction(sql: Sql, principalId: number, actor: Actor) {
  const ended = await endSessionsOf(sql, principalId);
  await auditAction(sql, actor, 'session.end_all', `principal:${principalId}`, { ended });
  return { principalId, ended };
}
