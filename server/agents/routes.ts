/** HTTP routes for agents: heartbeats, and an admin's "capture now" for a source. */
import { Hono } from 'hono';
import { Heartbeat } from '../../agent/capture/heartbeat.ts';
import { audit } from '../audit/audit_log.ts';
import type { AuthVariables } from '../auth/middleware.ts';
import type { Sql } from '../db/connect.ts';
import { type ApiDoc, intParam } from '../http/api_doc.ts';
import { AppError } from '../errors.ts';
import { jsonBody, parseOr400 } from '../http/validate.ts';
import { recordHeartbeat, requestCapture } from './heartbeats.ts';

export function agentRoutes(sql: Sql, doc: ApiDoc) {
  const app = new Hono<{ Variables: AuthVariables }>();

  doc.define(app, {
    method: 'post',
    path: '/heartbeats',
    operationId: 'postHeartbeat',
    tag: 'Ingest',
    roles: ['agent'],
    body: Heartbeat,
    bodyError: 'invalid_heartbeat',
    summary:
      "An agent's heartbeat: poll health per source, spool depth; answers with capture-now requests",
    responses: { 200: '`{"captureNow": [{"sourceId"}]}`' },
  }, async (c, { body: heartbeat }) => {
    const captureNow = await recordHeartbeat(sql, c.get('auth').id, heartbeat);
    return c.json({ captureNow });
  });

  doc.define(app, {
    method: 'post',
    path: '/sources/:id/capture',
    operationId: 'requestCapture',
    tag: 'Sources',
    roles: ['admin'],
    summary: "Ask the source's agent to capture now (delivered with its next heartbeat)",
    responses: { 202: 'Queued', 404: 'No such source' },
  }, async (c) => {
    const id = intParam(c, 'id');
    const req = await requestCapture(sql, id, c.get('auth').id);
    if (!req) throw new AppError('not_found', `no source ${id}`);
    await audit(sql, {
      action: 'capture.request',
      actorId: c.get('auth').id,
      actorName: c.get('auth').name,
      target: `source:${id}`,
    });
    return c.json({ requestId: req.id, sourceId: id, status: 'pending' }, 202);
  });

  return app;
}
