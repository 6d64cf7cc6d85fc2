/**
 * What an admin can do with rates, the same from the Rates page or the API: add and delete
 * tiers, add, change and delete tier rules, add rate cards and their versions, change a
 * version, cost a month again, set where a VM's owner is read from. Each writes one audit
 * row (`cost_tier.*`, `tier_rule.*`, `rate_card.*`, `cost_run.create`, `cost_settings.update`).
 */
import { type Actor, auditAction } from '../audit/audit_log.ts';
import { isCostingRefusal, runCosting } from '../aggregate/cost_run.ts';
import type { Engine } from '../aggregate/run.ts';
import type { Sql } from '../db/connect.ts';
import { AppError } from '../errors.ts';
import {
  deleteTier,
  deleteTierRule,
  insertRateCard,
  insertTier,
  insertTierRule,
  insertVersion,
  type RateCardBody,
  type TierBody,
  type TierRuleBody,
  updateTierRule,
  updateVersion,
  type VersionBody,
} from './rates.ts';
import { type OwnerSetting, saveOwnerSetting } from './showback.ts';

export async function createTierAction(sql: Sql, b: TierBody, actor: Actor) {
  const t = await insertTier(sql, b);
  await auditAction(sql, actor, 'cost_tier.create', `cost_tier:${t.name}`, b);
  return t;
}

export async function deleteTierAction(sql: Sql, name: string, actor: Actor) {
  const t = await deleteTier(sql, name);
  await auditAction(sql, actor, 'cost_tier.delete', `cost_tier:${t.name}`);
  return t;
}

export async function createTierRuleAction(sql: Sql, b: TierRuleBody, actor: Actor) {
  const r = await insertTierRule(sql, b);
  await auditAction(sql, actor, 'tier_rule.create', `tier_rule:${r.id}`, b);
  return r;
}

export async function updateTierRuleAction(sql: Sql, id: number, b: TierRuleBody, actor: Actor) {
  const r = await updateTierRule(sql, id, b);
  await auditAction(sql, actor, 'tier_rule.update', `tier_rule:${id}`, b);
  return r;
}

export async function deleteTierRuleAction(sql: Sql, id: number, actor: Actor) {
  const r = await deleteTierRule(sql, id);
  await auditAction(sql, actor, 'tier_rule.delete', `tier_rule:${id}`, r);
  return r;
}

export async function createRateCardAction(sql: Sql, b: RateCardBody, actor: Actor) {
  const c = await insertRateCard(sql, b);
  await auditAction(sql, actor, 'rate_card.create', `rate_card:${c.id}`, b);
  return c;
}

export async function createVersionAction(sql: Sql, cardId: number, b: VersionBody, actor: Actor) {
  const v = await insertVersion(sql, cardId, b);
  await auditAction(sql, actor, 'rate_card.version_create', `rate_card:${cardId}`, {
    versionId: v.id,
    ...b,
  });
  return v;
}

export async function updateVersionAction(
  sql: Sql,
  cardId: number,
  versionId: number,
  b: VersionBody,
  actor: Actor,
) {
  const v = await updateVersion(sql, cardId, versionId, b);
  await auditAction(sql, actor, 'rate_card.version_update', `rate_card:${cardId}`, {
    versionId,
    ...b,
  });
  return v;
}

/**
 * Costs (or re-costs) one source and month now with `engine`: the month's current run is
 * superseded and kept. A month with a day before the default card's first version, or no
 * default card, is refused (400).
 */
export async function costMonthAction(
  sql: Sql,
  target: { sourceId: number; month: string; engine: Engine },
  actor: Actor,
) {
  const [s] = await sql`select 1 from sources where id = ${target.sourceId}`;
  if (!s) throw new AppError('not_found', `no source ${target.sourceId}`);
  let r;
  try {
    r = await runCosting(sql, target.engine, target);
  } catch (err) {
    if (isCostingRefusal(err)) {
      throw new AppError('invalid_request', (err as Error).message);
    }
    throw err;
  }
  await auditAction(sql, actor, 'cost_run.create', `cost_run:${r.runId}`, target);
  return r;
}

/** Sets where the showback reads a VM's owner from (a custom attribute or a tag category). */
export async function saveOwnerSettingAction(sql: Sql, b: OwnerSetting, actor: Actor) {
  const s = await saveOwnerSetting(sql, b);
  await auditAction(sql, actor, 'cost_settings.update', 'cost_settings', b);
  return s;
}
