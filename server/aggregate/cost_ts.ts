/**
 * Monthly costing in TypeScript: the twin of sql/routines/cost_month.sql and
 * cost_month_lines.sql (rules: docs/chargeback.md). Reads the month's daily rollups through
 * a cursor (unordered); quantities are exact integers (millionths, or 10⁻¹² after
 * a product), BigInt where a sum may pass 2^53; each component is rounded once, half up, to
 * cents. Lines are written in batches through the caller's transaction.
 */
import type { Sql } from '../db/connect.ts';
import { exact, formatScaled } from './numeric.ts';
import { addMonths, monthOf } from './period.ts';

const CURSOR_ROWS = 10_000;
const WRITE_BATCH = 5_000;

/** A refusal to cost a month (no default card, a day without a rate version). */
export class CostingError extends Error {}

type Prices = { vcpu: bigint; ram: bigint; disk: bigint; vm: bigint }; // scale 12
type Version = { id: number; from: string; base: Record<keyof Prices, bigint> }; // base at scale 6
type Rule = { field: string; match: string; pattern: string; tier: string; re: RegExp | null };

/** A cursor row, in select order: the day's exact sums (int8 as numbers). */
type DayValues = [
  key: string,
  dayIndex: number,
  n: number, // total_samples
  present: number, // samples_present
  on: number, // powered_on_samples
  secs: number, // day_seconds
  vcpu: number, // sum_vcpu
  ram: number, // sum_ram_mb
  diskMilli: number, // sum_disk_gb in thousandths
  pool: string | null, // day_pool: the pool the day is charged to (null: no samples)
  labels: string | null, // the VM's labels at its last sample of the day (tag rules only)
];

/** Sums of one line (a VM's days at one tier and version); micro units. */
type Acc = {
  vm: string;
  tier: string;
  version: number;
  days: number;
  present: number;
  disk: number;
  vcpuOn: number; // Σ vcpu_hours of fully powered-on days (ratio exactly 1)
  ramOn: number;
  vcpuPart: bigint; // Σ vcpu_hours × powered_on_ratio of other days, at scale 12
  ramPart: bigint;
};

export type CostLine = {
  vm_key: string;
  tier: string;
  version_id: number;
  days: number;
  present_days: string;
  vcpu_hours: string;
  ram_gb_hours: string;
  disk_gb_days: string;
  vcpu_cost: string;
  ram_cost: string;
  disk_cost: string;
  vm_cost: string;
  total: string;
};

const M = 1_000_000n;
const E22 = 10n ** 22n;
const E16 = 10n ** 16n;
/** a / b rounded half up, for a >= 0 and b > 0. */
const roundDiv = (a: bigint, b: bigint) => (2n * a + b) / (2n * b);

/**
 * n / d rounded half up to an integer, for integers n >= 0 and d > 0: floor((2n + d) / 2d),
 * in doubles while every value is exact (below 2^53), corrected for the division's rounding;
 * in BigInt past that.
 */
export function roundRatio(n: number, d: number): number {
  const x = 2 * n + d;
  const y = 2 * d;
  if (x > Number.MAX_SAFE_INTEGER || y > Number.MAX_SAFE_INTEGER) {
    return Number(roundDiv(BigInt(n), BigInt(d)));
  }
  let q = Math.floor(x / y);
  if (q * y > x) q--;
  else if ((q + 1) * y <= x) q++;
  return q;
}

/** a·b·k / d rounded half up (integers), exact when a·b·k passes 2^53 too. */
export function productRatio(a: number, b: number, k: number, d: number): number {
  const p = a * b * k;
  if (p <= Number.MAX_SAFE_INTEGER / 4) return roundRatio(p, d);
  return Number(roundDiv(BigInt(a) * BigInt(b) * BigInt(k), BigInt(d)));
}

/** A label's tag text as tag rules see it: its name, "category:name" for a vSphere tag. */
export function tagText(label: { category?: string | null; name?: string | null }): string | null {
  if (typeof label?.name !== 'string') return null;
  return (typeof label.category === 'string' ? `${label.category}:` : '') + label.name;
}

const matches = (r: Rule, s: string) =>
  r.match === 'exact'
    ? s === r.pattern
    : r.match === 'prefix'
    ? s.startsWith(r.pattern)
    : r.re!.test(s);

/**
 * The tier under ordered `rules` (first match) of a VM-day with `pool` (its day_pool; null:
 * none, no pool rule matches) and `tags`, else "unassigned". A pool rule matches the pool, a
 * tag rule any of the tags.
 */
export function tierOf(pool: string | null, tags: string[], rules: Rule[]): string {
  for (const r of rules) {
    if (
      r.field === 'pool' ? pool !== null && matches(r, pool) : tags.some((t) => matches(r, t))
    ) return r.tier;
  }
  return 'unassigned';
}

/** The tags of a labels jsonb text (null, or not an array: none). */
function tagsOf(labels: string | null): string[] {
  if (labels === null) return [];
  const list = JSON.parse(labels);
  if (!Array.isArray(list)) return [];
  const out: string[] = [];
  for (const l of list) {
    const t = tagText(l);
    if (t !== null) out.push(t);
  }
  return out;
}

/** Costs (sourceId, month) inside `tx`, `read` serving the cursor. Returns the new run's id. */
export async function costMonthTs(
  read: Sql,
  tx: Sql,
  sourceId: number,
  month: string,
): Promise<number> {
  const m0 = monthOf(month);
  const m1 = addMonths(m0, 1);
  const [card] = await tx`select id, name, currency from rate_cards where is_default`;
  if (!card) throw new CostingError('no default rate card');
  const versions: Version[] = (await tx`
    select id, effective_from::text as from, (vcpu_hour * 1000000)::int8 as vcpu,
           (ram_gb_hour * 1000000)::int8 as ram, (disk_gb_month * 1000000)::int8 as disk,
           (vm_month * 1000000)::int8 as vm
    from rate_card_versions where card_id = ${card.id} order by effective_from`).map((v) => ({
    id: Number(v.id),
    from: v.from,
    base: { vcpu: BigInt(v.vcpu), ram: BigInt(v.ram), disk: BigInt(v.disk), vm: BigInt(v.vm) },
  }));
  const [range] = await tx`
    select min(day)::text as first, (${m1}::date - ${m0}::date) as dim from vm_daily_rollup
    where source_id = ${sourceId} and day >= ${m0}::date and day < ${m1}::date`;
  const dim: number = range.dim;
  if (range.first !== null && (versions.length === 0 || range.first < versions[0].from)) {
    throw new CostingError(
      `rate card "${card.name}" has no version in effect on every day of ${m0.slice(0, 7)}`,
    );
  }
  // The version in effect on each day of the month (index into `versions`, -1 for none).
  const dayVersion: number[] = [];
  for (let i = 0, d = m0; i < dim; i++) {
    let v = -1;
    for (let j = 0; j < versions.length && versions[j].from <= d; j++) v = j;
    dayVersion.push(v);
    const next = new Date(`${d}T00:00:00Z`);
    next.setUTCDate(next.getUTCDate() + 1);
    d = next.toISOString().slice(0, 10);
  }
  const tierRows = await tx`
    select version_id, tier, (multiplier * 1000000)::int8 as mult, (vcpu_hour * 1000000)::int8 as vcpu,
           (ram_gb_hour * 1000000)::int8 as ram, (disk_gb_month * 1000000)::int8 as disk,
           (vm_month * 1000000)::int8 as vm
    from rate_card_tier_prices where version_id in ${tx(versions.map((v) => v.id).concat(0))}`;
  const tierPrice = new Map(tierRows.map((t) => [`${t.version_id}\0${t.tier}`, t]));
  const priceCache = new Map<string, Prices>();
  /** Effective prices of (version, tier), scale 12: a tier's own price, else base × multiplier. */
  const pricesOf = (v: Version, tier: string): Prices => {
    const k = `${v.id}\0${tier}`;
    let p = priceCache.get(k);
    if (!p) {
      const t = tierPrice.get(k);
      const mult = t ? BigInt(t.mult) : M;
      const one = (c: keyof Prices) => t && t[c] !== null ? BigInt(t[c]) * M : v.base[c] * mult;
      p = { vcpu: one('vcpu'), ram: one('ram'), disk: one('disk'), vm: one('vm') };
      priceCache.set(k, p);
    }
    return p;
  };
  const rules: Rule[] =
    (await tx`select field, match, pattern, tier from tier_rules order by position`)
      .map((r) => ({
        field: r.field,
        match: r.match,
        pattern: r.pattern,
        tier: r.tier,
        re: r.match === 'regex' ? new RegExp(r.pattern) : null,
      }));
  const byTags = rules.some((r) => r.field === 'tag');

  await tx`update cost_runs set superseded_at = now()
    where source_id = ${sourceId} and month = ${m0}::date and superseded_at is null`;
  const [run] = await tx`insert into cost_runs (source_id, month, engine, card_id, currency)
    values (${sourceId}, ${m0}::date, 'ts', ${card.id}, ${card.currency}) returning id`;
  const runId = Number(run.id);

  // Sums per line (VM, tier, version). The cursor is not ordered (no sort of the month's rows):
  // every line of the month is held until the end — about 200 bytes a line.
  const vms = new Map<string, { lines: Acc[]; pools: string | null; tier: string }>();
  /** Tier of a day by its day_pool (and labels text): a VM's rarely change, few distinct keys. */
  const tierByPools = new Map<string, string>();
  // The day's exact sums, not its 6-decimal columns: integers travel cheaply, and the
  // columns are re-derived below exactly as the daily aggregation derived them
  // (rollup_ratio, docs/aggregation.md), digit for digit.
  const query = read`
    select vm_key, (day - ${m0}::date)::int, total_samples, samples_present, powered_on_samples,
           day_seconds, sum_vcpu, sum_ram_mb, (sum_disk_gb * 1000)::int8, day_pool, ${
    byTags
      ? read`(select (h.config -> 'labels')::text from vm_config_history h
               where h.source_id = r.source_id and h.vm_key = r.vm_key
                 and h.valid_from <= r.last_sample_at
                 and (h.valid_to is null or h.valid_to > r.last_sample_at))`
      : read`null::text`
  }
    from vm_daily_rollup r
    where source_id = ${sourceId} and day >= ${m0}::date and day < ${m1}::date`;
  for await (const rows of query.values().cursor(CURSOR_ROWS)) {
    for (const r of rows as unknown as DayValues[]) {
      let vm = vms.get(r[0]);
      if (vm === undefined) vms.set(r[0], vm = { lines: [], pools: null, tier: '' });
      // A VM's pool rarely changes from day to day: its last day's tier is reused when it matches.
      // The key: the pool ("\0" for none: text holds no NUL), then the labels text.
      const pool = r[9] ?? '\0';
      const pools = byTags ? `${pool}\0${r[10]}` : pool;
      if (pools !== vm.pools) {
        let t = tierByPools.get(pools);
        if (t === undefined) {
          t = tierOf(r[9], tagsOf(r[10]), rules);
          if (tierByPools.size >= 100_000) tierByPools.clear();
          tierByPools.set(pools, t);
        }
        vm.pools = pools;
        vm.tier = t;
      }
      const tier = vm.tier;
      const version = dayVersion[r[1]];
      let a: Acc | undefined;
      for (const x of vm.lines) if (x.version === version && x.tier === tier) a = x;
      if (!a) {
        a = {
          vm: '',
          tier,
          version,
          days: 0,
          present: 0,
          disk: 0,
          vcpuOn: 0,
          ramOn: 0,
          vcpuPart: 0n,
          ramPart: 0n,
        };
        vm.lines.push(a);
      }
      // The daily columns in millionths, as vm_daily_rollup_rows() derives them:
      // presence = sp/n, powered_on_ratio = on/sp, avg_disk_gb = disk/n,
      // vcpu_hours = vcpu·secs/(3600·n) (×10⁶: vcpu·secs·2500 / 9n),
      // ram_gb_hours = ram·secs/(3600·1024·n) (×10⁶: ram·secs·625 / 2304n).
      const n = r[2];
      const sp = r[3];
      a.days++;
      a.present += roundRatio(sp * 1_000_000, n);
      a.disk += roundRatio(r[8] * 1000, n);
      const on = r[4] === sp ? 1_000_000 : roundRatio(r[4] * 1_000_000, sp);
      if (on !== 0) {
        const vcpuH = productRatio(r[6], r[5], 2500, 9 * n);
        const ramH = productRatio(r[7], r[5], 625, 2304 * n);
        if (on === 1_000_000) {
          a.vcpuOn += vcpuH;
          a.ramOn += ramH;
        } else {
          const o = BigInt(on);
          a.vcpuPart += BigInt(vcpuH) * o;
          a.ramPart += BigInt(ramH) * o;
        }
      }
    }
  }

  let totalCents = 0n;
  const dimBig = BigInt(dim);
  const line = (a: Acc): CostLine => {
    const v = versions[a.version];
    const p = pricesOf(v, a.tier);
    const vcpuQ = exact(a.vcpuOn, a.vm) * M + a.vcpuPart;
    const ramQ = exact(a.ramOn, a.vm) * M + a.ramPart;
    const present = exact(a.present, a.vm);
    const disk = exact(a.disk, a.vm);
    const vcpuCost = roundDiv(vcpuQ * p.vcpu, E22);
    const ramCost = roundDiv(ramQ * p.ram, E22);
    const diskCost = roundDiv(disk * p.disk, E16 * dimBig);
    const vmCost = roundDiv(present * p.vm, E16 * dimBig);
    const total = vcpuCost + ramCost + diskCost + vmCost;
    totalCents += total;
    return {
      vm_key: a.vm,
      tier: a.tier,
      version_id: v.id,
      days: a.days,
      present_days: formatScaled(present, 6),
      vcpu_hours: formatScaled(vcpuQ, 12),
      ram_gb_hours: formatScaled(ramQ, 12),
      disk_gb_days: formatScaled(disk, 6),
      vcpu_cost: formatScaled(vcpuCost, 2),
      ram_cost: formatScaled(ramCost, 2),
      disk_cost: formatScaled(diskCost, 2),
      vm_cost: formatScaled(vmCost, 2),
      total: formatScaled(total, 2),
    };
  };
  const write = async (rows: CostLine[]) => {
    await tx`
      insert into vm_cost_lines (run_id, vm_key, tier, version_id, days, present_days, vcpu_hours,
        ram_gb_hours, disk_gb_days, vcpu_cost, ram_cost, disk_cost, vm_cost, total)
      select ${runId}, r.vm_key, r.tier, r.version_id, r.days, r.present_days, r.vcpu_hours,
             r.ram_gb_hours, r.disk_gb_days, r.vcpu_cost, r.ram_cost, r.disk_cost, r.vm_cost, r.total
      from jsonb_to_recordset(${tx.json(rows)}) as r(vm_key text, tier text, version_id bigint,
        days integer, present_days numeric, vcpu_hours numeric, ram_gb_hours numeric,
        disk_gb_days numeric, vcpu_cost numeric, ram_cost numeric, disk_cost numeric,
        vm_cost numeric, total numeric)`;
  };
  // Batches written with at most one write in flight, so pricing overlaps writing.
  let batch: CostLine[] = [];
  let pending: Promise<void> = Promise.resolve();
  let lineCount = 0;
  for (const [key, vm] of vms) {
    for (const a of vm.lines) {
      a.vm = key;
      batch.push(line(a));
    }
    lineCount += vm.lines.length;
    if (batch.length >= WRITE_BATCH) {
      const rows = batch;
      batch = [];
      await pending;
      pending = write(rows);
    }
  }
  await pending;
  if (batch.length > 0) await write(batch);
  await tx`update cost_runs set line_count = ${lineCount}, total = ${
    formatScaled(totalCents, 2)
  }::numeric
    where id = ${runId}`;
  return runId;
}
