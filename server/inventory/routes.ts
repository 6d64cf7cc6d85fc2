/** HTTP routes for the live inventory: `GET /api/v1/vms`. */
import { Hono } from 'hono';
import { z } from 'zod';
import { describeIssues } from '../../agent/capture/schema.ts';
import type { AuthVariables } from '../auth/middleware.ts';
import { requireRole } from '../auth/middleware.ts';
import type { Sql } from '../db/connect.ts';
import { ApiError } from '../http/errors.ts';
import { decodeCursor, listVms } from './list_vms.ts';

export const VmListParams = z.object({
  q: z.string().max(200).optional(),
  source: z.coerce.number().int().positive().optional(),
  power: z.enum(['poweredOn', 'poweredOff', 'suspended']).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().max(2000).refine((c) => decodeCursor(c) !== null, 'not a cursor from this API').optional(),
});

/** Parses list query parameters, answering 400 with the bad parameter named. */
export function parseVmListParams(query: Record<string, string>) {
  const parsed = VmListParams.safeParse(Object.fromEntries(Object.entries(query).filter(([, v]) => v !== '')));
  if (!parsed.success) {
    const issues = describeIssues(parsed.error);
    throw new ApiError(400, 'invalid_query', `${issues[0].path}: ${issues[0].message}`, { issues });
  }
  const p = parsed.data;
  return { q: p.q?.trim() || undefined, sourceId: p.source, powerState: p.power, limit: p.limit, cursor: p.cursor };
}

export function inventoryRoutes(sql: Sql) {
  const app = new Hono<{ Variables: AuthVariables }>();
  app.get('/vms', requireRole('viewer'), async (c) => c.json(await listVms(sql, parseVmListParams(c.req.query()))));
  return app;
}
