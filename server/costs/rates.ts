/**
 * Rate cards, tiers and tier rules: the zod schemas of what a client sends and gets back,
 * the checks that keep a bad rate card out (each refusal names its field: 400
 * `invalid_body` with `issues`), and the rows. Data access only: takes `sql`, knows no HTTP.
 * Every change runs in one transaction and checks before it writes, so a refused change
 * changes nothing. Rules: docs/chargeback.md.
 */
import { z } from 'zod';
import type { Sql } from '../db/connect.ts';
import type postgres from 'postgres';

/** The transaction the checks and writes run in. */
type Tx = postgres.TransactionSql;
import { AppError } from '../errors.ts';

/** Exact decimal text, non-negative, at most 6 decimals (a JSON number is read as its text). */
export const Price = z.coerce.string().regex(
  /^\d{1,12}(\.\d{1,6})?$/,
  'a non-negative decimal with at most 6 decimals',
);
const OptionalPrice = Price.nullable().optional();
const TierName = z.string().trim().regex(
  /^[A-Za-z0-9][A-Za-z0-9 _.-]{0,39}$/,
  '1–40 letters, digits, space, _ . - (starting with a letter or digit)',
);
const Day = z.iso.date();

export const UNASSIGNED = 'unassigned';

export const TierBody = z.strictObject({
  name: TierName,
  position: z.number().int().min(0).max(1_000_000).default(0),
});
export type TierBody = z.infer<typeof TierBody>;
export const TierView = z.object({ name: z.string(), position: z.number(), builtIn: z.boolean() });
export type TierView = z.infer<typeof TierView>;

export const TierRuleBody = z.strictObject({
  position: z.number().int().min(0).max(1_000_000),
  field: z.enum(['pool', 'tag']).default('pool').describe(
    "pool: the VM's resource pool; tag: any of the VM's tags that day (Proxmox tags; vSphere tags as category:name)",
  ),
  match: z.enum(['exact', 'prefix', 'regex']),
  pattern: z.string().min(1).max(200),
  tier: TierName,
});
export type TierRuleBody = z.infer<typeof TierRuleBody>;
export const TierRuleView = TierRuleBody.extend({ id: z.number() });
export type TierRuleView = z.infer<typeof TierRuleView>;

const TierPriceBody = z.strictObject({
  tier: TierName,
  multiplier: z.coerce.string().regex(/^\d{1,6}(\.\d{1,6})?$/, 'a non-negative decimal')
    .default('1'),
  vcpuHour: OptionalPrice,
  ramGbHour: OptionalPrice,
  diskGbMonth: OptionalPrice,
  vmMonth: OptionalPrice,
});

export const VersionBody = z.strictObject({
  effectiveFrom: Day.describe('first day the version applies; it applies until the next version'),
  vcpuHour: Price.describe('per vCPU-hour powered on'),
  ramGbHour: Price.describe('per GB of RAM-hour powered on'),
  diskGbMonth: Price.describe('per GB-month of provisioned disk'),
  usedDiskGbMonth: OptionalPrice.describe('per GB-month of used disk (stored, not applied yet)'),
  vmMonth: Price.describe('flat fee per VM-month, prorated by presence'),
  tiers: z.array(TierPriceBody).max(100).default([])
    .describe('per-tier multiplier of the base prices, or prices of its own'),
});
export type VersionBody = z.infer<typeof VersionBody>;

export const RateCardBody = z.strictObject({
  name: z.string().trim().min(1).max(80),
  currency: z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 code such as USD'),
  isDefault: z.boolean().default(false),
});
export type RateCardBody = z.infer<typeof RateCardBody>;

const TierPriceView = z.object({
  tier: z.string(),
  multiplier: z.string(),
  vcpuHour: z.string().nullable(),
  ramGbHour: z.string().nullable(),
  diskGbMonth: z.string().nullable(),
  vmMonth: z.string().nullable(),
});
export const VersionView = z.object({
  id: z.number(),
  effectiveFrom: z.string(),
  effectiveUntil: z.string().nullable().describe("the next version's first day (exclusive)"),
  vcpuHour: z.string(),
  ramGbHour: z.string(),
  diskGbMonth: z.string(),
  usedDiskGbMonth: z.string().nullable(),
  vmMonth: z.string(),
  tiers: z.array(TierPriceView),
});
export type VersionView = z.infer<typeof VersionView>;
export const RateCardView = z.object({
  id: z.number(),
  name: z.string(),
  currency: z.string(),
  isDefault: z.boolean(),
  versions: z.array(VersionView),
});
export type RateCardView = z.infer<typeof RateCardView>;

/** A refused field: 400 `invalid_body` naming it. */
export function badField(path: string, message: string): AppError {
  return new AppError('invalid_body', `${path}: ${message}`, { issues: [{ path, message }] });
}

// ---- tiers -------------------------------------------------------------------------------

export async function listTiers(sql: Sql): Promise<TierView[]> {
  const rows = await sql`select name, position from cost_tiers order by position, name`;
  return rows.map((r) => ({ name: r.name, position: r.position, builtIn: r.name === UNASSIGNED }));
}

export async function insertTier(sql: Sql, b: TierBody): Promise<TierView> {
  const [r] = await sql`insert into cost_tiers (name, position) values (${b.name}, ${b.position})
    on conflict (name) do nothing returning name, position`;
  if (!r) throw badField('name', `tier "${b.name}" exists`);
  return { name: r.name, position: r.position, builtIn: false };
}

/** Deletes a tier that no rule or rate card uses; "unassigned" is built in. */
export async function deleteTier(sql: Sql, name: string): Promise<TierView> {
  if (name === UNASSIGNED) throw badField('name', 'the unassigned tier is built in');
  return await sql.begin(async (tx) => {
    const [used] = await tx`
      select (select count(*) from tier_rules where tier = ${name})::int as rules,
             (select count(*) from rate_card_tier_prices where tier = ${name})::int as prices`;
    if (used.rules > 0 || used.prices > 0) {
      throw badField(
        'name',
        `tier "${name}" is used by ${used.rules} rule(s) and ${used.prices} price(s)`,
      );
    }
    const [r] = await tx`delete from cost_tiers where name = ${name} returning name, position`;
    if (!r) throw new AppError('not_found', `no tier "${name}"`);
    return { name: r.name, position: r.position, builtIn: false };
  }) as TierView;
}

// ---- tier rules --------------------------------------------------------------------------

export async function listTierRules(sql: Sql): Promise<TierRuleView[]> {
  const rows =
    await sql`select id::int, position, field, match, pattern, tier from tier_rules order by position`;
  return rows.map((r) => ({
    id: r.id,
    position: r.position,
    field: r.field,
    match: r.match,
    pattern: r.pattern,
    tier: r.tier,
  }));
}

/** Refuses an unknown tier, a taken position or a regex either engine cannot run. */
async function checkRule(tx: Tx, b: TierRuleBody, id: number | null) {
  const [t] = await tx`select 1 from cost_tiers where name = ${b.tier}`;
  if (!t) throw badField('tier', `unknown tier "${b.tier}"`);
  const [p] = await tx`select id from tier_rules where position = ${b.position}
    and id is distinct from ${id}`;
  if (p) throw badField('position', `position ${b.position} is taken by rule ${p.id}`);
  if (b.match === 'regex') {
    // Both engines evaluate the pattern: JavaScript's RegExp and PostgreSQL's `~`.
    try {
      new RegExp(b.pattern);
    } catch (err) {
      throw badField('pattern', `not a valid regular expression: ${(err as Error).message}`);
    }
    try {
      await tx`select '' ~ ${b.pattern} as ok`;
    } catch (err) {
      throw badField(
        'pattern',
        `not a valid PostgreSQL regular expression: ${(err as Error).message}`,
      );
    }
  }
}

export async function insertTierRule(sql: Sql, b: TierRuleBody): Promise<TierRuleView> {
  return await sql.begin(async (tx) => {
    await tx`lock table tier_rules in share row exclusive mode`;
    await checkRule(tx, b, null);
    const [r] = await tx`insert into tier_rules (position, field, match, pattern, tier)
      values (${b.position}, ${b.field}, ${b.match}, ${b.pattern}, ${b.tier}) returning id::int`;
    return { id: r.id, ...b };
  }) as TierRuleView;
}

export async function updateTierRule(sql: Sql, id: number, b: TierRuleBody): Promise<TierRuleView> {
  return await sql.begin(async (tx) => {
    await tx`lock table tier_rules in share row exclusive mode`;
    const [e] = await tx`select 1 from tier_rules where id = ${id}`;
    if (!e) throw new AppError('not_found', `no tier rule ${id}`);
    await checkRule(tx, b, id);
    await tx`update tier_rules set position = ${b.position}, field = ${b.field}, match = ${b.match},
      pattern = ${b.pattern}, tier = ${b.tier} where id = ${id}`;
    return { id, ...b };
  }) as TierRuleView;
}

export async function deleteTierRule(sql: Sql, id: number): Promise<TierRuleView> {
  const [r] = await sql`delete from tier_rules where id = ${id}
    returning id::int, position, field, match, pattern, tier`;
  if (!r) throw new AppError('not_found', `no tier rule ${id}`);
  return {
    id: r.id,
    position: r.position,
    field: r.field,
    match: r.match,
    pattern: r.pattern,
    tier: r.tier,
  };
}

// ---- rate cards --------------------------------------------------------------------------

/** Every rate card with its versions (oldest first) and their tier prices. */
export async function listRateCards(sql: Sql, id?: number): Promise<RateCardView[]> {
  const cards = await sql`select id::int, name, currency, is_default from rate_cards
    where ${id === undefined ? sql`true` : sql`id = ${id}`} order by name`;
  if (cards.length === 0) return [];
  const versions = await sql`
    select id::int, card_id::int, effective_from::text,
           lead(effective_from) over (partition by card_id order by effective_from)::text as until,
           vcpu_hour::text, ram_gb_hour::text, disk_gb_month::text, used_disk_gb_month::text, vm_month::text
    from rate_card_versions where card_id in ${sql(cards.map((c) => c.id))}
    order by card_id, effective_from`;
  const tiers = versions.length === 0 ? [] : await sql`
    select version_id::int, tier, multiplier::text, vcpu_hour::text, ram_gb_hour::text,
           disk_gb_month::text, vm_month::text
    from rate_card_tier_prices where version_id in ${sql(versions.map((v) => v.id))}
    order by version_id, tier`;
  return cards.map((c) => ({
    id: c.id,
    name: c.name,
    currency: c.currency,
    isDefault: c.is_default,
    versions: versions.filter((v) => v.card_id === c.id).map((v) => ({
      id: v.id,
      effectiveFrom: v.effective_from,
      effectiveUntil: v.until,
      vcpuHour: v.vcpu_hour,
      ramGbHour: v.ram_gb_hour,
      diskGbMonth: v.disk_gb_month,
      usedDiskGbMonth: v.used_disk_gb_month,
      vmMonth: v.vm_month,
      tiers: tiers.filter((t) => t.version_id === v.id).map((t) => ({
        tier: t.tier,
        multiplier: t.multiplier,
        vcpuHour: t.vcpu_hour,
        ramGbHour: t.ram_gb_hour,
        diskGbMonth: t.disk_gb_month,
        vmMonth: t.vm_month,
      })),
    })),
  }));
}

export async function rateCard(sql: Sql, id: number): Promise<RateCardView> {
  const [c] = await listRateCards(sql, id);
  if (!c) throw new AppError('not_found', `no rate card ${id}`);
  return c;
}

/** Adds a card; `isDefault` makes it the one costing uses (the previous default stops being it). */
export async function insertRateCard(sql: Sql, b: RateCardBody): Promise<RateCardView> {
  const id = await sql.begin(async (tx) => {
    await tx`lock table rate_cards in share row exclusive mode`;
    const [dup] = await tx`select id from rate_cards where name = ${b.name}`;
    if (dup) throw badField('name', `rate card "${b.name}" exists`);
    if (b.isDefault) await tx`update rate_cards set is_default = false where is_default`;
    const [r] = await tx`insert into rate_cards (name, currency, is_default)
      values (${b.name}, ${b.currency}, ${b.isDefault}) returning id::int`;
    return r.id as number;
  }) as number;
  return await rateCard(sql, id);
}

/** Refuses an overlapping version or an unknown or repeated tier. */
async function checkVersion(tx: Tx, cardId: number, b: VersionBody, versionId: number | null) {
  const [same] = await tx`select id::int from rate_card_versions
    where card_id = ${cardId} and effective_from = ${b.effectiveFrom}::date and id is distinct from ${versionId}`;
  if (same) {
    throw badField(
      'effectiveFrom',
      `overlaps version ${same.id}, which also starts on ${b.effectiveFrom} (a version applies until the next one starts)`,
    );
  }
  const known = new Set((await tx`select name from cost_tiers`).map((r) => r.name as string));
  const seen = new Set<string>();
  for (const [i, t] of b.tiers.entries()) {
    if (!known.has(t.tier)) throw badField(`tiers.${i}.tier`, `unknown tier "${t.tier}"`);
    if (seen.has(t.tier)) throw badField(`tiers.${i}.tier`, `tier "${t.tier}" given twice`);
    seen.add(t.tier);
  }
}

async function writeTierPrices(tx: Tx, versionId: number, b: VersionBody) {
  await tx`delete from rate_card_tier_prices where version_id = ${versionId}`;
  for (const t of b.tiers) {
    await tx`insert into rate_card_tier_prices (version_id, tier, multiplier, vcpu_hour, ram_gb_hour,
        disk_gb_month, vm_month)
      values (${versionId}, ${t.tier}, ${t.multiplier}::numeric, ${t.vcpuHour ?? null}::numeric,
        ${t.ramGbHour ?? null}::numeric, ${t.diskGbMonth ?? null}::numeric, ${
      t.vmMonth ?? null
    }::numeric)`;
  }
}

/** Adds a version to card `cardId`. */
export async function insertVersion(
  sql: Sql,
  cardId: number,
  b: VersionBody,
): Promise<VersionView> {
  const id = await sql.begin(async (tx) => {
    const [card] = await tx`select id from rate_cards where id = ${cardId} for update`;
    if (!card) throw new AppError('not_found', `no rate card ${cardId}`);
    await checkVersion(tx, cardId, b, null);
    const [v] =
      await tx`insert into rate_card_versions (card_id, effective_from, vcpu_hour, ram_gb_hour,
        disk_gb_month, used_disk_gb_month, vm_month)
      values (${cardId}, ${b.effectiveFrom}::date, ${b.vcpuHour}::numeric, ${b.ramGbHour}::numeric,
        ${b.diskGbMonth}::numeric, ${b.usedDiskGbMonth ?? null}::numeric, ${b.vmMonth}::numeric)
      returning id::int`;
    await writeTierPrices(tx, v.id, b);
    return v.id as number;
  }) as number;
  return versionOf(await rateCard(sql, cardId), id);
}

/**
 * Replaces a version's prices (and start day). Months already costed keep their figures
 * until they are costed again (the rerun reprices them; the earlier run stays as history).
 */
export async function updateVersion(
  sql: Sql,
  cardId: number,
  versionId: number,
  b: VersionBody,
): Promise<VersionView> {
  await sql.begin(async (tx) => {
    const [card] = await tx`select id from rate_cards where id = ${cardId} for update`;
    const [v] =
      await tx`select id from rate_card_versions where id = ${versionId} and card_id = ${cardId}`;
    if (!card || !v) {
      throw new AppError('not_found', `no version ${versionId} of rate card ${cardId}`);
    }
    await checkVersion(tx, cardId, b, versionId);
    await tx`update rate_card_versions set effective_from = ${b.effectiveFrom}::date,
        vcpu_hour = ${b.vcpuHour}::numeric, ram_gb_hour = ${b.ramGbHour}::numeric,
        disk_gb_month = ${b.diskGbMonth}::numeric, used_disk_gb_month = ${
      b.usedDiskGbMonth ?? null
    }::numeric,
        vm_month = ${b.vmMonth}::numeric
      where id = ${versionId}`;
    await writeTierPrices(tx, versionId, b);
  });
  return versionOf(await rateCard(sql, cardId), versionId);
}

function versionOf(card: RateCardView, id: number): VersionView {
  const v = card.versions.find((x) => x.id === id);
  if (!v) throw new AppError('not_found', `no version ${id}`);
  return v;
}
