/**
 * Admin · Rates page: the same actions as `/api/v1/cost-tiers…`, `/tier-rules…` and
 * `/rate-cards…` (server/costs/actions.ts), through CSRF-protected forms; a refusal is shown
 * on the page naming the field, and changes nothing.
 */
import { type Context, Hono, type MiddlewareHandler } from 'hono';
import type { Sql } from '../db/connect.ts';
import type { AppError } from '../errors.ts';
import { actorOf, refusal } from '../http/actions.ts';
import { parseOr400 } from '../http/validate.ts';
import {
  createRateCardAction,
  createTierAction,
  createTierRuleAction,
  createVersionAction,
  deleteTierAction,
  deleteTierRuleAction,
  saveOwnerSettingAction,
  updateVersionAction,
} from '../costs/actions.ts';
import { OwnerSetting, ownerSetting } from '../costs/showback.ts';
import {
  listRateCards,
  listTierRules,
  listTiers,
  RateCardBody,
  TierBody,
  TierRuleBody,
  VersionBody,
} from '../costs/rates.ts';
import { type RatesFlash, ratesPage } from '../../web/pages/rates.ts';
import { type PageEnv, positiveInt, requireCsrf, viewerOf } from './guard.ts';

const text = (v: unknown) => (typeof v === 'string' ? v.trim() : '');
/** A whole-number form field as a number when it is one (else as sent, so the schema names it). */
const num = (v: unknown) => (/^\d{1,9}$/.test(text(v)) ? Number(text(v)) : text(v) || undefined);

/** A version body from the form: base prices, and a multiplier per tier (1 left out). */
function versionBody(form: Record<string, unknown>) {
  const tiers = Object.entries(form)
    .filter(([k]) => k.startsWith('mult:'))
    .map(([k, v]) => ({ tier: k.slice(5), multiplier: text(v) }))
    .filter((t) => t.multiplier !== '' && !/^1(\.0*)?$/.test(t.multiplier));
  return {
    effectiveFrom: text(form.effectiveFrom),
    vcpuHour: text(form.vcpuHour),
    ramGbHour: text(form.ramGbHour),
    diskGbMonth: text(form.diskGbMonth),
    vmMonth: text(form.vmMonth),
    tiers,
  };
}

export function ratePageRoutes(
  sql: Sql,
  auth: MiddlewareHandler<PageEnv>,
  admin: MiddlewareHandler<PageEnv>,
) {
  const app = new Hono<PageEnv>();

  const page = async (
    c: Context<PageEnv>,
    flash: RatesFlash = {},
    status: 200 | AppError['status'] = 200,
  ) => {
    const [tiers, rules, cards, owner] = await Promise.all([
      listTiers(sql),
      listTierRules(sql),
      listRateCards(sql),
      ownerSetting(sql),
    ]);
    return c.html(ratesPage(viewerOf(c), { tiers, rules, cards, owner, flash }), status);
  };
  const done = (c: Context<PageEnv>, message: string) =>
    c.redirect(`/admin/rates?done=${encodeURIComponent(message)}`, 303);
  /** Runs a form's action: done → redirect with `message`; refused → the page with the error. */
  const act = async (c: Context<PageEnv>, run: () => Promise<string>) => {
    try {
      return done(c, await run());
    } catch (err) {
      const e = refusal(err);
      return page(c, { error: e.message }, e.status);
    }
  };

  app.get('/admin/rates', auth, admin, (c) => {
    const message = c.req.query('done');
    return page(c, message ? { done: message.slice(0, 200) } : {});
  });

  app.post('/admin/rates/tiers', auth, admin, requireCsrf(), async (c) => {
    const form = await c.req.parseBody();
    return act(c, async () => {
      const b = parseOr400(
        TierBody,
        { name: text(form.name), position: num(form.position) },
        'invalid_body',
      );
      return `Tier ${(await createTierAction(sql, b, actorOf(c))).name} added.`;
    });
  });

  app.post('/admin/rates/tiers/delete', auth, admin, requireCsrf(), async (c) => {
    const form = await c.req.parseBody();
    return act(
      c,
      async () =>
        `Tier ${(await deleteTierAction(sql, text(form.name), actorOf(c))).name} deleted.`,
    );
  });

  app.post('/admin/rates/rules', auth, admin, requireCsrf(), async (c) => {
    const form = await c.req.parseBody();
    return act(c, async () => {
      const b = parseOr400(TierRuleBody, {
        position: num(form.position),
        field: text(form.field) || undefined,
        match: text(form.match),
        pattern: text(form.pattern),
        tier: text(form.tier),
      }, 'invalid_body');
      const r = await createTierRuleAction(sql, b, actorOf(c));
      return `Rule ${r.position} added.`;
    });
  });

  app.post('/admin/rates/rules/:id/delete', auth, admin, requireCsrf(), (c) =>
    act(c, async () => {
      const r = await deleteTierRuleAction(sql, positiveInt(c.req.param('id')) ?? 0, actorOf(c));
      return `Rule ${r.position} deleted.`;
    }));

  app.post('/admin/rates/cards', auth, admin, requireCsrf(), async (c) => {
    const form = await c.req.parseBody();
    return act(c, async () => {
      const b = parseOr400(RateCardBody, {
        name: text(form.name),
        currency: text(form.currency),
        isDefault: text(form.isDefault) === 'true',
      }, 'invalid_body');
      return `Rate card ${(await createRateCardAction(sql, b, actorOf(c))).name} added.`;
    });
  });

  app.post('/admin/rates/cards/:id/versions', auth, admin, requireCsrf(), async (c) => {
    const form = await c.req.parseBody();
    return act(c, async () => {
      const b = parseOr400(VersionBody, versionBody(form), 'invalid_body');
      const v = await createVersionAction(sql, positiveInt(c.req.param('id')) ?? 0, b, actorOf(c));
      return `Version from ${v.effectiveFrom} added.`;
    });
  });

  app.post('/admin/rates/cards/:id/versions/:versionId', auth, admin, requireCsrf(), async (c) => {
    const form = await c.req.parseBody();
    return act(c, async () => {
      const b = parseOr400(VersionBody, versionBody(form), 'invalid_body');
      const v = await updateVersionAction(
        sql,
        positiveInt(c.req.param('id')) ?? 0,
        positiveInt(c.req.param('versionId')) ?? 0,
        b,
        actorOf(c),
      );
      return `Version from ${v.effectiveFrom} saved.`;
    });
  });

  app.post('/admin/rates/owner', auth, admin, requireCsrf(), async (c) => {
    const form = await c.req.parseBody();
    return act(c, async () => {
      const b = parseOr400(OwnerSetting, {
        ownerFrom: text(form.ownerFrom),
        ownerName: text(form.ownerName),
      }, 'invalid_body');
      const s = await saveOwnerSettingAction(sql, b, actorOf(c));
      return `Owner read from ${
        s.ownerFrom === 'attribute' ? 'attribute' : 'tag category'
      } ${s.ownerName}.`;
    });
  });

  return app;
}
