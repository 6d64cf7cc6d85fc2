/**
 * What an admin can do with notifications, the same whether it comes from the Channels page
 * or the API: add, change and delete channels and routes, send a test, retry a dead
 * delivery. Each writes one audit row (`channel.*`, `notification_route.*`,
 * `notification.retry`); secrets never reach the audit detail.
 */
import { z } from 'zod';
import { type Actor, auditAction } from '../audit/audit_log.ts';
import type { Sql } from '../db/connect.ts';
import { AppError } from '../errors.ts';
import { assertJobs, type Jobs } from '../jobs/boss.ts';
import {
  type ChannelCreate,
  type ChannelUpdate,
  type ChannelView,
  channelView,
  deleteChannel,
  insertChannel,
  updateChannel,
} from './channels.ts';
import { deliverNotification } from './deliver.ts';
import { deliveryById, DeliveryView } from './deliveries.ts';
import { queueDelivery } from './grouping.ts';
import {
  deleteRoute,
  insertRoute,
  type RouteBody,
  type RouteView,
  updateRoute,
} from './route_store.ts';

const shown = (c: ChannelView) => ({ name: c.name, kind: c.kind, target: c.target });

/** Adds a channel. */
export async function createChannelAction(
  sql: Sql,
  b: ChannelCreate,
  actor: Actor,
): Promise<ChannelView> {
  const c = await insertChannel(sql, b, actor.name);
  await auditAction(sql, actor, 'channel.create', `channel:${c.id}`, shown(c));
  return c;
}

/** Changes a channel (a missing secret keeps the stored one). */
export async function updateChannelAction(
  sql: Sql,
  id: number,
  b: ChannelUpdate,
  actor: Actor,
): Promise<ChannelView> {
  const c = await updateChannel(sql, id, b, actor.name);
  await auditAction(sql, actor, 'channel.update', `channel:${c.id}`, {
    ...shown(c),
    secretChanged: b.kind === 'webhook' ? !!b.secret : b.kind === 'email' ? !!b.password : !!b.url,
  });
  return c;
}

/** Deletes a channel, its routes and its deliveries. */
export async function deleteChannelAction(sql: Sql, id: number, actor: Actor) {
  const c = await deleteChannel(sql, id);
  await auditAction(sql, actor, 'channel.delete', `channel:${c.id}`, shown(c));
  return c;
}

export const TestResult = z.object({
  delivered: z.boolean(),
  error: z.string().nullable(),
  delivery: DeliveryView,
});
export type TestResult = z.infer<typeof TestResult>;

/**
 * "Send test": one test message on the channel now (enabled or not), one attempt, the outcome
 * stored as a delivery of kind `test` and answered.
 */
export async function testChannel(sql: Sql, id: number, actor: Actor): Promise<TestResult> {
  const c = await channelView(sql, id);
  const [n] = await sql`insert into notifications (channel_id, kind) values (${c.id}, 'test')
    returning id::text`;
  // A test goes out even on a disabled channel: it is how a channel is tried before it is
  // enabled. A failure is answered with the error as stored (deliver.ts: no URLs).
  await deliverNotification(sql, n.id, 1, { evenDisabled: true }).catch(() => {});
  const delivery = (await deliveryById(sql, n.id))!;
  const error = delivery.state === 'delivered' ? null : delivery.lastError;
  await auditAction(sql, actor, 'channel.test', `channel:${c.id}`, {
    delivery: n.id,
    delivered: delivery.state === 'delivered',
  });
  return { delivered: delivery.state === 'delivered', error, delivery };
}

/** Retries a dead delivery: attempts start again, a job is queued. */
export async function retryDelivery(
  sql: Sql,
  jobs: Jobs | undefined,
  id: string,
  actor: Actor,
): Promise<DeliveryView> {
  assertJobs(jobs);
  const d = await deliveryById(sql, id);
  if (!d) throw new AppError('not_found', `no delivery ${id}`);
  if (d.state !== 'dead') {
    throw new AppError('not_failed', `delivery ${id} is ${d.state}; only dead ones can be retried`);
  }
  if (d.kind === 'test') {
    throw new AppError('invalid_request', 'a test is not retried: send another test');
  }
  await sql`update notifications set state = 'retrying', attempts = 0 where id = ${id}::uuid`;
  await queueDelivery(jobs.boss, id);
  await auditAction(sql, actor, 'notification.retry', `notification:${id}`);
  return (await deliveryById(sql, id))!;
}

/** Adds a route. */
export async function createRouteAction(sql: Sql, b: RouteBody, actor: Actor): Promise<RouteView> {
  const r = await insertRoute(sql, b);
  await auditAction(sql, actor, 'notification_route.create', `notification_route:${r.id}`, b);
  return r;
}

/** Changes a route. */
export async function updateRouteAction(
  sql: Sql,
  id: number,
  b: RouteBody,
  actor: Actor,
): Promise<RouteView> {
  const r = await updateRoute(sql, id, b);
  await auditAction(sql, actor, 'notification_route.update', `notification_route:${r.id}`, b);
  return r;
}

/** Deletes a route. */
export async function deleteRouteAction(sql: Sql, id: number, actor: Actor): Promise<RouteView> {
  const r = await deleteRoute(sql, id);
  await auditAction(sql, actor, 'notification_route.delete', `notification_route:${r.id}`);
  return r;
}
