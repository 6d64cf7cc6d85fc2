/**
 * Admin · Channels page: the same actions as `/api/v1/channels…`, `/notification-routes…` and
 * `/notifications/:id/retry` (server/notifications/actions.ts), through CSRF-protected forms;
 * a refusal is shown on the page with the form as it was sent (secrets never re-filled).
 */
import { type Context, Hono, type MiddlewareHandler } from 'hono';
import type { Sql } from '../db/connect.ts';
import type { AppError } from '../errors.ts';
import { actorOf, refusal } from '../http/actions.ts';
import { parseOr400 } from '../http/validate.ts';
import type { Jobs } from '../jobs/boss.ts';
import {
  createChannelAction,
  createRouteAction,
  deleteChannelAction,
  deleteRouteAction,
  retryDelivery,
  testChannel,
  updateChannelAction,
} from '../notifications/actions.ts';
import {
  ChannelCreate,
  ChannelUpdate,
  channelView,
  listChannels,
} from '../notifications/channels.ts';
import { DELIVERY_STATES, listDeliveries } from '../notifications/deliveries.ts';
import { listRoutes, RouteBody } from '../notifications/route_store.ts';
import {
  channelEditPage,
  type ChannelFormValues,
  type ChannelsFlash,
  channelsPage,
  channelValues,
  testOutcome,
} from '../../web/pages/channels.ts';
import { notFound, type PageEnv, positiveInt, requireCsrf, viewerOf } from './guard.ts';

const text = (v: unknown) => (typeof v === 'string' ? v.trim() : '');

/** The form's fields as strings (what the page shows again), secrets left out. */
function formValues(form: Record<string, unknown>): ChannelFormValues {
  const keys = ['name', 'kind', 'enabled', 'url', 'host', 'port', 'tls', 'user', 'from', 'to'];
  return Object.fromEntries(keys.map((k) => [k, text(form[k]) || undefined]));
}

/** The channel body of a form: only the fields its kind reads; empty secrets left out. */
function channelBody(form: Record<string, unknown>): Record<string, unknown> {
  const v = formValues(form);
  const base = { kind: v.kind, name: v.name ?? '', enabled: v.enabled !== 'false' };
  const opt = (k: string, value: string) => (value ? { [k]: value } : {});
  switch (v.kind) {
    case 'webhook':
      return { ...base, url: v.url ?? '', ...opt('secret', text(form.secret)) };
    case 'slack':
    case 'teams':
      return { ...base, ...opt('url', v.url ?? '') };
    case 'email':
      return {
        ...base,
        host: v.host ?? '',
        port: v.port && /^\d{1,5}$/.test(v.port) ? Number(v.port) : v.port,
        tls: v.tls ?? 'starttls',
        ...opt('user', v.user ?? ''),
        ...opt('password', text(form.password)),
        from: v.from ?? '',
        to: (v.to ?? '').split(',').map((s) => s.trim()).filter(Boolean),
      };
    default:
      return base;
  }
}

/** A numeric form field as a number when it is one (else as sent, so the schema names it). */
const num = (v: unknown) => (/^\d{1,9}$/.test(text(v)) ? Number(text(v)) : text(v) || undefined);

export function channelPageRoutes(
  sql: Sql,
  auth: MiddlewareHandler<PageEnv>,
  admin: MiddlewareHandler<PageEnv>,
  jobs?: Jobs,
) {
  const app = new Hono<PageEnv>();

  const page = async (
    c: Context<PageEnv>,
    extra: {
      flash?: ChannelsFlash;
      form?: { values: ChannelFormValues; error?: string };
      routeError?: string;
    } = {},
    status: 200 | AppError['status'] = 200,
  ) => {
    const state = DELIVERY_STATES.find((s) => s === c.req.query('state')) ?? null;
    const [channels, routes, deliveries] = await Promise.all([
      listChannels(sql),
      listRoutes(sql),
      listDeliveries(sql, { state: state ?? undefined, limit: 100 }),
    ]);
    return c.html(
      channelsPage(viewerOf(c), {
        channels,
        routes,
        deliveries,
        state,
        canRetry: !!jobs,
        flash: extra.flash ?? {},
        form: extra.form,
        routeError: extra.routeError,
      }),
      status,
    );
  };
  const done = (c: Context<PageEnv>, message: string) =>
    c.redirect(`/admin/channels?done=${encodeURIComponent(message)}`, 303);

  app.get('/admin/channels', auth, admin, (c) => {
    const message = c.req.query('done');
    return page(c, { flash: message ? { done: message.slice(0, 200) } : {} });
  });

  app.post('/admin/channels', auth, admin, requireCsrf(), async (c) => {
    const form = await c.req.parseBody();
    try {
      const b = parseOr400(ChannelCreate, channelBody(form), 'invalid_body');
      const ch = await createChannelAction(sql, b, actorOf(c));
      return done(c, `Channel ${ch.name} added.`);
    } catch (err) {
      const e = refusal(err);
      return page(c, { form: { values: formValues(form), error: e.message } }, e.status);
    }
  });

  app.get('/admin/channels/:id', auth, admin, async (c) => {
    const id = positiveInt(c.req.param('id'));
    const ch = id ? await channelView(sql, id).catch(() => null) : null;
    if (!ch) {
      return notFound(c, {
        title: 'Channel not found',
        message: 'No channel with that id.',
        back: { href: '/admin/channels', label: 'Channels' },
      });
    }
    return c.html(channelEditPage(viewerOf(c), { channel: ch, values: channelValues(ch) }));
  });

  app.post('/admin/channels/:id', auth, admin, requireCsrf(), async (c) => {
    const form = await c.req.parseBody();
    const id = positiveInt(c.req.param('id')) ?? 0;
    try {
      const b = parseOr400(ChannelUpdate, channelBody(form), 'invalid_body');
      const ch = await updateChannelAction(sql, id, b, actorOf(c));
      return done(c, `Channel ${ch.name} saved.`);
    } catch (err) {
      const e = refusal(err);
      const ch = await channelView(sql, id).catch(() => null);
      if (!ch) return page(c, { flash: { error: e.message } }, e.status);
      return c.html(
        channelEditPage(viewerOf(c), { channel: ch, values: formValues(form), error: e.message }),
        e.status,
      );
    }
  });

  app.post('/admin/channels/:id/delete', auth, admin, requireCsrf(), async (c) => {
    try {
      const ch = await deleteChannelAction(sql, positiveInt(c.req.param('id')) ?? 0, actorOf(c));
      return done(c, `Channel ${ch.name} deleted.`);
    } catch (err) {
      const e = refusal(err);
      return page(c, { flash: { error: e.message } }, e.status);
    }
  });

  // Send test: htmx swaps the outcome into the row; without htmx the page shows it.
  app.post('/admin/channels/:id/test', auth, admin, requireCsrf(), async (c) => {
    try {
      const r = await testChannel(sql, positiveInt(c.req.param('id')) ?? 0, actorOf(c));
      if (c.req.header('hx-request')) return c.html(testOutcome(r));
      return r.delivered
        ? done(c, 'Test delivered.')
        : page(c, { flash: { error: `Test failed: ${r.error ?? 'unknown error'}` } });
    } catch (err) {
      const e = refusal(err);
      if (c.req.header('hx-request')) {
        return c.html(testOutcome({ delivered: false, error: e.message }), e.status);
      }
      return page(c, { flash: { error: e.message } }, e.status);
    }
  });

  app.post('/admin/notification-routes', auth, admin, requireCsrf(), async (c) => {
    const form = await c.req.parseBody();
    try {
      const b = parseOr400(RouteBody, {
        channelId: num(form.channelId),
        ruleId: text(form.ruleId) || null,
        minSeverity: text(form.minSeverity) || undefined,
        groupWaitSeconds: num(form.groupWaitSeconds),
        repeatSeconds: num(form.repeatSeconds),
      }, 'invalid_body');
      await createRouteAction(sql, b, actorOf(c));
      return done(c, 'Route added.');
    } catch (err) {
      const e = refusal(err);
      return page(c, { routeError: e.message }, e.status);
    }
  });

  app.post('/admin/notification-routes/:id/delete', auth, admin, requireCsrf(), async (c) => {
    try {
      await deleteRouteAction(sql, positiveInt(c.req.param('id')) ?? 0, actorOf(c));
      return done(c, 'Route deleted.');
    } catch (err) {
      const e = refusal(err);
      return page(c, { routeError: e.message }, e.status);
    }
  });

  app.post('/admin/notifications/:id/retry', auth, admin, requireCsrf(), async (c) => {
    try {
      const d = await retryDelivery(sql, jobs, c.req.param('id'), actorOf(c));
      return done(c, `Delivery ${d.id} queued again.`);
    } catch (err) {
      const e = refusal(err);
      return page(c, { flash: { error: e.message } }, e.status);
    }
  });

  return app;
}
