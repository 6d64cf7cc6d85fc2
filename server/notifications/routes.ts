/**
 * HTTP routes of notifications, mounted under /api/v1 (reads: admin; secrets never returned):
 *   GET/POST /channels, GET/PUT/DELETE /channels/:id, POST /channels/:id/test
 *   GET/POST /notification-routes, PUT/DELETE /notification-routes/:id
 *   GET /notifications (deliveries with state), POST /notifications/:id/retry (a dead one)
 */
import { Hono } from 'hono';
import { z } from 'zod';
import type { AuthVariables } from '../auth/middleware.ts';
import type { Sql } from '../db/connect.ts';
import { actorOf } from '../http/actions.ts';
import { type ApiDoc, IdParams } from '../http/api_doc.ts';
import type { Jobs } from '../jobs/boss.ts';
import {
  createChannelAction,
  createRouteAction,
  deleteChannelAction,
  deleteRouteAction,
  retryDelivery,
  testChannel,
  TestResult,
  updateChannelAction,
  updateRouteAction,
} from './actions.ts';
import {
  ChannelCreate,
  ChannelUpdate,
  ChannelView,
  channelView,
  listChannels,
} from './channels.ts';
import { DeliveryQuery, DeliveryView, listDeliveries } from './deliveries.ts';
import { listRoutes, RouteBody, RouteView } from './route_store.ts';

const DeliveryParams = z.object({ id: z.uuid() });
const TAG = 'Notifications';

export function notificationRoutes(sql: Sql, doc: ApiDoc, jobs?: Jobs) {
  const app = new Hono<{ Variables: AuthVariables }>();
  const channel = { description: 'The channel (secrets never shown)', schema: ChannelView };

  doc.define(app, {
    method: 'get',
    path: '/channels',
    operationId: 'listChannels',
    tag: TAG,
    roles: ['admin'],
    summary: 'Notification channels (webhook, Slack, Teams, e-mail); secrets are never returned',
    responses: {
      200: { description: 'The channels', schema: z.object({ items: z.array(ChannelView) }) },
    },
  }, async (c) => c.json({ items: await listChannels(sql) }));

  doc.define(app, {
    method: 'post',
    path: '/channels',
    operationId: 'createChannel',
    tag: TAG,
    roles: ['admin'],
    body: ChannelCreate,
    summary: 'Add a channel',
    responses: { 201: channel, 400: 'Bad field (named in `issues`)' },
  }, async (c, { body }) => c.json(await createChannelAction(sql, body, actorOf(c)), 201));

  doc.define(app, {
    method: 'get',
    path: '/channels/:id',
    operationId: 'getChannel',
    tag: TAG,
    roles: ['admin'],
    params: IdParams,
    summary: 'One channel',
    responses: { 200: channel, 404: 'No such channel' },
  }, async (c, { params }) => c.json(await channelView(sql, params.id)));

  doc.define(
    app,
    {
      method: 'put',
      path: '/channels/:id',
      operationId: 'updateChannel',
      tag: TAG,
      roles: ['admin'],
      params: IdParams,
      body: ChannelUpdate,
      summary: 'Change a channel; a secret left out keeps the stored one',
      responses: { 200: channel, 400: 'Bad field', 404: 'No such channel' },
    },
    async (c, { params, body }) =>
      c.json(await updateChannelAction(sql, params.id, body, actorOf(c))),
  );

  doc.define(app, {
    method: 'delete',
    path: '/channels/:id',
    operationId: 'deleteChannel',
    tag: TAG,
    roles: ['admin'],
    params: IdParams,
    summary: 'Delete a channel with its routes and deliveries',
    responses: { 200: channel, 404: 'No such channel' },
  }, async (c, { params }) => c.json(await deleteChannelAction(sql, params.id, actorOf(c))));

  doc.define(app, {
    method: 'post',
    path: '/channels/:id/test',
    operationId: 'testChannel',
    tag: TAG,
    roles: ['admin'],
    params: IdParams,
    summary: 'Send a test message now (one attempt); the outcome is a delivery of kind `test`',
    responses: {
      200: { description: 'Sent or not, and why', schema: TestResult },
      404: 'No such channel',
    },
  }, async (c, { params }) => c.json(await testChannel(sql, params.id, actorOf(c))));

  doc.define(app, {
    method: 'get',
    path: '/notification-routes',
    operationId: 'listNotificationRoutes',
    tag: TAG,
    roles: ['admin'],
    summary: 'Which rules and severities go to which channel',
    responses: {
      200: { description: 'The routes', schema: z.object({ items: z.array(RouteView) }) },
    },
  }, async (c) => c.json({ items: await listRoutes(sql) }));

  doc.define(app, {
    method: 'post',
    path: '/notification-routes',
    operationId: 'createNotificationRoute',
    tag: TAG,
    roles: ['admin'],
    body: RouteBody,
    summary: 'Add a route',
    responses: { 201: { description: 'The route', schema: RouteView }, 400: 'Bad field' },
  }, async (c, { body }) => c.json(await createRouteAction(sql, body, actorOf(c)), 201));

  doc.define(
    app,
    {
      method: 'put',
      path: '/notification-routes/:id',
      operationId: 'updateNotificationRoute',
      tag: TAG,
      roles: ['admin'],
      params: IdParams,
      body: RouteBody,
      summary: 'Change a route',
      responses: {
        200: { description: 'The route', schema: RouteView },
        400: 'Bad field',
        404: 'No such route',
      },
    },
    async (c, { params, body }) =>
      c.json(await updateRouteAction(sql, params.id, body, actorOf(c))),
  );

  doc.define(app, {
    method: 'delete',
    path: '/notification-routes/:id',
    operationId: 'deleteNotificationRoute',
    tag: TAG,
    roles: ['admin'],
    params: IdParams,
    summary: 'Delete a route',
    responses: {
      200: { description: 'The route deleted', schema: RouteView },
      404: 'No such route',
    },
  }, async (c, { params }) => c.json(await deleteRouteAction(sql, params.id, actorOf(c))));

  doc.define(app, {
    method: 'get',
    path: '/notifications',
    operationId: 'listNotifications',
    tag: TAG,
    roles: ['admin'],
    query: DeliveryQuery,
    summary: 'Deliveries, newest first, with state (pending, retrying, delivered, dead)',
    responses: {
      200: { description: 'The deliveries', schema: z.object({ items: z.array(DeliveryView) }) },
    },
  }, async (c, { query }) => c.json({ items: await listDeliveries(sql, query) }));

  doc.define(app, {
    method: 'post',
    path: '/notifications/:id/retry',
    operationId: 'retryNotification',
    tag: TAG,
    roles: ['admin'],
    params: DeliveryParams,
    summary: 'Retry a dead delivery (attempts start again)',
    responses: {
      200: { description: 'Queued again', schema: DeliveryView },
      404: 'No such delivery',
      409: 'Not dead',
      503: 'Jobs not running',
    },
  }, async (c, { params }) => c.json(await retryDelivery(sql, jobs, params.id, actorOf(c))));

  return app;
}
