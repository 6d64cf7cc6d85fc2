/**
 * HTTP routes of chargeback rates, mounted under /api/v1 (reads: viewer; changes: admin):
 *   GET/POST /cost-tiers, DELETE /cost-tiers/:name
 *   GET/POST /tier-rules, PUT/DELETE /tier-rules/:id
 *   GET/POST /rate-cards, GET /rate-cards/:id, POST /rate-cards/:id/versions,
 *   PUT /rate-cards/:id/versions/:versionId
 *   POST /cost-runs (cost a month now), GET /cost-runs?month= (with superseded runs)
 *   GET /costs?month=&group_by= (the showback; format=csv or Accept: text/csv: CSV)
 *   GET/PUT /cost-settings (where a VM's owner is read from)
 * A bad rate card or rule answers 400 with `issues` naming the field, and changes nothing.
 */
import { Hono } from 'hono';
import { z } from 'zod';
import type { AuthVariables } from '../auth/middleware.ts';
import type { Sql } from '../db/connect.ts';
import { actorOf } from '../http/actions.ts';
import { type ApiDoc, IdParams, IntId } from '../http/api_doc.ts';
import {
  costMonthAction,
  createRateCardAction,
  createTierAction,
  createTierRuleAction,
  createVersionAction,
  deleteTierAction,
  deleteTierRuleAction,
  saveOwnerSettingAction,
  updateTierRuleAction,
  updateVersionAction,
} from './actions.ts';
import { costRuns, CostRunView } from './costs.ts';
import { allPages, csvResponse, wantsCsv } from '../http/csv.ts';
import {
  OwnerSetting,
  ownerSetting,
  Showback,
  showback,
  SHOWBACK_CSV,
  SHOWBACK_GROUPS,
  SHOWBACK_PAGE,
  showbackCsvRows,
  ShowbackCursor,
} from './showback.ts';
import { cursorParam } from '../cursor.ts';
import {
  listRateCards,
  listTierRules,
  listTiers,
  rateCard,
  RateCardBody,
  RateCardView,
  TierBody,
  TierRuleBody,
  TierRuleView,
  TierView,
  VersionBody,
  VersionView,
} from './rates.ts';

const TAG = 'Chargeback';
const Month = z.string().regex(/^\d{4}-(0[1-9]|1[0-2])(-01)?$/, 'YYYY-MM');
const monthStart = (m: string) => `${m.slice(0, 7)}-01`;
const VersionParams = z.object({ id: IntId, versionId: IntId });
const TierParams = z.object({ name: z.string().min(1).max(40) });
const CostRunBody = z.strictObject({
  sourceId: IntId,
  month: Month,
  engine: z.enum(['sql', 'ts']).default('sql'),
});

/** The showback's query (API and Costs page): month, grouping, an optional drill-down filter. */
export const ShowbackParams = z.object({
  month: Month,
  group_by: z.enum(SHOWBACK_GROUPS).default('tier'),
  filter_by: z.enum(SHOWBACK_GROUPS).optional().describe('drill-down: only the lines of one group'),
  filter: z.string().min(1).max(4096).optional().describe("that group's key"),
  format: z.enum(['json', 'csv']).default('json'),
  limit: z.coerce.number().int().min(1).max(SHOWBACK_PAGE).default(SHOWBACK_PAGE)
    .describe('groups a page (the CSV has them all)'),
  cursor: cursorParam(ShowbackCursor).optional(),
}).superRefine((q, ctx) => {
  if ((q.filter_by === undefined) !== (q.filter === undefined)) {
    const path = q.filter_by === undefined ? 'filter_by' : 'filter';
    ctx.addIssue({ code: 'custom', path: [path], message: 'filter and filter_by go together' });
  }
});
export type ShowbackParams = z.output<typeof ShowbackParams>;

/** The data module's query from the validated parameters. */
export function showbackQuery(q: ShowbackParams) {
  return {
    month: monthStart(q.month),
    groupBy: q.group_by,
    filter: q.filter_by && q.filter !== undefined ? { by: q.filter_by, key: q.filter } : undefined,
    limit: q.limit,
    cursor: q.cursor,
  };
}

/** Every group of a showback as CSV rows, a page at a time (from the first, whatever `cursor` says). */
export function showbackCsvPages(sql: Sql, q: ReturnType<typeof showbackQuery>) {
  return allPages(async (cursor: string | undefined) => {
    const s = await showback(sql, { ...q, limit: SHOWBACK_PAGE, cursor });
    return { items: showbackCsvRows(s), next: s.next };
  });
}

export function costRoutes(sql: Sql, doc: ApiDoc) {
  const app = new Hono<{ Variables: AuthVariables }>();
  const bad = 'Bad field (named in `issues`); nothing changed';

  doc.define(app, {
    method: 'get',
    path: '/cost-tiers',
    operationId: 'listCostTiers',
    tag: TAG,
    roles: ['viewer'],
    summary: 'Service tiers; "unassigned" is built in (VMs no rule maps)',
    responses: {
      200: { description: 'The tiers', schema: z.object({ items: z.array(TierView) }) },
    },
  }, async (c) => c.json({ items: await listTiers(sql) }));

  doc.define(app, {
    method: 'post',
    path: '/cost-tiers',
    operationId: 'createCostTier',
    tag: TAG,
    roles: ['admin'],
    body: TierBody,
    summary: 'Add a tier',
    responses: { 201: { description: 'The tier', schema: TierView }, 400: bad },
  }, async (c, { body }) => c.json(await createTierAction(sql, body, actorOf(c)), 201));

  doc.define(app, {
    method: 'delete',
    path: '/cost-tiers/:name',
    operationId: 'deleteCostTier',
    tag: TAG,
    roles: ['admin'],
    params: TierParams,
    summary: 'Delete a tier no rule or rate card uses',
    responses: {
      200: { description: 'The tier', schema: TierView },
      400: bad,
      404: 'No such tier',
    },
  }, async (c, { params }) => c.json(await deleteTierAction(sql, params.name, actorOf(c))));

  doc.define(app, {
    method: 'get',
    path: '/tier-rules',
    operationId: 'listTierRules',
    tag: TAG,
    roles: ['viewer'],
    summary: 'Tier mapping rules in order (first match on the resource pool wins)',
    responses: {
      200: { description: 'The rules', schema: z.object({ items: z.array(TierRuleView) }) },
    },
  }, async (c) => c.json({ items: await listTierRules(sql) }));

  doc.define(app, {
    method: 'post',
    path: '/tier-rules',
    operationId: 'createTierRule',
    tag: TAG,
    roles: ['admin'],
    body: TierRuleBody,
    summary: 'Add a tier rule (exact, prefix or regex on the pool name)',
    responses: { 201: { description: 'The rule', schema: TierRuleView }, 400: bad },
  }, async (c, { body }) => c.json(await createTierRuleAction(sql, body, actorOf(c)), 201));

  doc.define(
    app,
    {
      method: 'put',
      path: '/tier-rules/:id',
      operationId: 'updateTierRule',
      tag: TAG,
      roles: ['admin'],
      params: IdParams,
      body: TierRuleBody,
      summary: 'Change a tier rule',
      responses: {
        200: { description: 'The rule', schema: TierRuleView },
        400: bad,
        404: 'No such rule',
      },
    },
    async (c, { params, body }) =>
      c.json(await updateTierRuleAction(sql, params.id, body, actorOf(c))),
  );

  doc.define(app, {
    method: 'delete',
    path: '/tier-rules/:id',
    operationId: 'deleteTierRule',
    tag: TAG,
    roles: ['admin'],
    params: IdParams,
    summary: 'Delete a tier rule',
    responses: { 200: { description: 'The rule', schema: TierRuleView }, 404: 'No such rule' },
  }, async (c, { params }) => c.json(await deleteTierRuleAction(sql, params.id, actorOf(c))));

  doc.define(app, {
    method: 'get',
    path: '/rate-cards',
    operationId: 'listRateCards',
    tag: TAG,
    roles: ['viewer'],
    summary: 'Rate cards with their effective-dated versions and tier prices',
    responses: {
      200: { description: 'The cards', schema: z.object({ items: z.array(RateCardView) }) },
    },
  }, async (c) => c.json({ items: await listRateCards(sql) }));

  doc.define(app, {
    method: 'post',
    path: '/rate-cards',
    operationId: 'createRateCard',
    tag: TAG,
    roles: ['admin'],
    body: RateCardBody,
    summary: 'Add a rate card (isDefault: the card costing uses)',
    responses: { 201: { description: 'The card', schema: RateCardView }, 400: bad },
  }, async (c, { body }) => c.json(await createRateCardAction(sql, body, actorOf(c)), 201));

  doc.define(app, {
    method: 'get',
    path: '/rate-cards/:id',
    operationId: 'getRateCard',
    tag: TAG,
    roles: ['viewer'],
    params: IdParams,
    summary: 'One rate card',
    responses: { 200: { description: 'The card', schema: RateCardView }, 404: 'No such card' },
  }, async (c, { params }) => c.json(await rateCard(sql, params.id)));

  doc.define(
    app,
    {
      method: 'post',
      path: '/rate-cards/:id/versions',
      operationId: 'createRateCardVersion',
      tag: TAG,
      roles: ['admin'],
      params: IdParams,
      body: VersionBody,
      summary: 'Add a version: prices from effectiveFrom until the next version starts',
      responses: {
        201: { description: 'The version', schema: VersionView },
        400: bad,
        404: 'No such card',
      },
    },
    async (c, { params, body }) =>
      c.json(await createVersionAction(sql, params.id, body, actorOf(c)), 201),
  );

  doc.define(
    app,
    {
      method: 'put',
      path: '/rate-cards/:id/versions/:versionId',
      operationId: 'updateRateCardVersion',
      tag: TAG,
      roles: ['admin'],
      params: VersionParams,
      body: VersionBody,
      summary: 'Change a version (costed months keep their figures until costed again)',
      responses: {
        200: { description: 'The version', schema: VersionView },
        400: bad,
        404: 'No such card or version',
      },
    },
    async (c, { params, body }) =>
      c.json(await updateVersionAction(sql, params.id, params.versionId, body, actorOf(c))),
  );

  doc.define(app, {
    method: 'post',
    path: '/cost-runs',
    operationId: 'createCostRun',
    tag: TAG,
    roles: ['admin'],
    body: CostRunBody,
    summary: 'Cost one source and month now; the current run is superseded and kept as history',
    responses: {
      201: {
        description: 'The run',
        schema: z.object({ runId: z.number(), lines: z.number(), ms: z.number() }),
      },
      400: 'Bad field, or no rate-card version for a day of the month',
      404: 'No such source',
    },
  }, async (c, { body }) =>
    c.json(
      await costMonthAction(sql, { ...body, month: monthStart(body.month) }, actorOf(c)),
      201,
    ));

  doc.define(
    app,
    {
      method: 'get',
      path: '/cost-runs',
      operationId: 'listCostRuns',
      tag: TAG,
      roles: ['viewer'],
      query: z.object({ month: Month, source: IntId.optional() }),
      summary: "A month's cost runs, newest first, superseded ones included",
      responses: {
        200: { description: 'The runs', schema: z.object({ items: z.array(CostRunView) }) },
        400: 'Bad query',
      },
    },
    async (c, { query }) =>
      c.json({ items: await costRuns(sql, monthStart(query.month), query.source) }),
  );

  doc.define(app, {
    method: 'get',
    path: '/costs',
    operationId: 'getCosts',
    tag: TAG,
    roles: ['viewer'],
    query: ShowbackParams,
    summary:
      "A month's costs by tier, source, cluster, folder, tag, owner or VM, with the previous month's total per group and the grand total (format=csv or Accept: text/csv: the groups as CSV)",
    responses: {
      200: { description: 'The showback, or CSV', schema: Showback, produces: ['text/csv'] },
      400: 'Bad query (named in `issues`)',
    },
  }, async (c, { query }) => {
    const q = showbackQuery(query);
    if (query.format === 'csv' || wantsCsv(c.req.header('accept'))) {
      return csvResponse(
        `vmledger-costs-${q.month.slice(0, 7)}-${q.groupBy}.csv`,
        SHOWBACK_CSV,
        showbackCsvPages(sql, q),
      );
    }
    return c.json(await showback(sql, q));
  });

  doc.define(app, {
    method: 'get',
    path: '/cost-settings',
    operationId: 'getCostSettings',
    tag: TAG,
    roles: ['viewer'],
    summary: "Where the showback reads a VM's owner from",
    responses: { 200: { description: 'The setting', schema: OwnerSetting } },
  }, async (c) => c.json(await ownerSetting(sql)));

  doc.define(app, {
    method: 'put',
    path: '/cost-settings',
    operationId: 'setCostSettings',
    tag: TAG,
    roles: ['admin'],
    body: OwnerSetting,
    summary:
      "Set where the showback reads a VM's owner from (a custom attribute or a tag category)",
    responses: { 200: { description: 'The setting', schema: OwnerSetting }, 400: bad },
  }, async (c, { body }) => c.json(await saveOwnerSettingAction(sql, body, actorOf(c))));

  return app;
}
