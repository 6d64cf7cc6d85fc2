/** HTTP routes for agents: heartbeats, and an admin's "capture now" for a source. */
import { Hono } from 'hono';
import { describeIssues } from '../../agent/capture/schema.ts';
import { Heartbeat } from '../../agent/capture/heartbeat.ts';
import type { AuthVariables } from '../auth/middleware.ts';
import { requireRole } from '../auth/middleware.ts';
import type { Sql } from '../db/connect.ts';
import { ApiError } from '../http/errors.ts';
import { recordHeartbeat, requestCapture } from './heartbeats.ts';

export function agentRoutes(sql: Sql) {
  const app = new Hono<{ Variables: AuthVariables }>();

  app.post('/heartbeats', requireRole('agent'), async (c) => {
    const body = await c.req.json().catch(() => {
      throw new ApiError(400, 'invalid_json', 'body is not valid JSON');
    });
    const parsed = Heartbeat.safeParse(body);
    if (!parsed.success) {
      const issues = describeIssues(parsed.error);
      throw new ApiError(400, 'invalid_heartbeat', `heartbeat is invalid: ${issues[0].path}: ${issues[0].message}`, { issues });
    }
    const captureNow = await recordHeartbeat(sql, c.get('auth').id, parsed.data);
    return c.json({ captureNow });
  });

  app.post('/sources/:id/capture', requireRole('admin'), async (c) => {
    const id = Number(c.req.param('id'));
    if (!Number.isInteger(id) || id <= 0) throw new ApiError(400, 'invalid_id', 'source id must be a positive integer');
    const req = await requestCapture(sql, id, c.get('auth').id);
    if (!req) throw new ApiError(404, 'not_found', `no source ${id}`);
    return c.json({ requestId: req.id, sourceId: id, status: 'pending' }, 202);
  });

  return app;
}
