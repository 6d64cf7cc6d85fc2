/**
 * Database insight, the rules (issue 24): findings with the DDL that would fix them, a
 * rationale and a confidence — a missing index for a selective filter on a large table, a
 * composite index for a filter on several columns, a redundant index (a prefix of another),
 * an unused index, a row estimate far from what the statement returns (ANALYZE, extended
 * statistics), a correlated subquery. With hypopg in the database each index proposal carries
 * the planner's cost before and after (a hypothetical index, never built). Takes `sql`.
 */
import { z } from 'zod';
import type { Sql } from '../db/connect.ts';
import { AppError } from '../errors.ts';
import { genericPlan, type PlanNode, planNodes, relationRows } from './explain.ts';
import {
  indexes,
  type IndexRow,
  type InsightStatus,
  insightStatus,
  type StatementRow,
  statements,
} from './stats.ts';

export const RULES = [
  'missing_index',
  'composite_index',
  'redundant_index',
  'unused_index',
  'estimate_skew',
  'correlated_subquery',
] as const;

export const Finding = z.object({
  /** Stable for the same finding: rule, object and statement. */
  id: z.string(),
  rule: z.enum(RULES),
  title: z.string(),
  table: z.string().nullable(),
  /** What to run (null: a rewrite of the statement, described in the rationale). */
  ddl: z.string().nullable(),
  rationale: z.string(),
  confidence: z.enum(['high', 'medium', 'low']),
  statementId: z.string().nullable(),
  /** The planner's cost of the statement without and with the proposed index (hypopg). */
  estimate: z.object({ before: z.number(), after: z.number() }).nullable(),
  /** Why there is no estimate (index proposals only). */
  estimateNote: z.string().nullable(),
});
export type Finding = z.infer<typeof Finding>;

export const Findings = z.object({
  status: z.object({ ready: z.boolean(), hypopg: z.boolean(), run: z.array(z.string()) }),
  statementsScanned: z.number().int(),
  statementsExplained: z.number().int(),
  ms: z.number(),
  items: z.array(Finding),
});
export type Findings = z.infer<typeof Findings>;

export type RuleOptions = {
  /** Tables with fewer rows (the planner's count) are never "large". Default 10,000. */
  minRows?: number;
  /** Statements scanned, top by total time. Default 100. */
  statements?: number;
  /** Indexes smaller than this are not reported unused. Default 1 MiB. */
  minUnusedIndexBytes?: number;
  /** statement_timeout of each EXPLAIN (default 5 s). */
  timeoutMs?: number;
  /** Read the snapshots' trend (false: a database without vmledger's tables). */
  trend?: boolean;
  /** Statements explained at once, each on its own connection. Default 4. */
  concurrency?: number;
};

/** Runs every rule: catalog rules, then each of the top statements' generic plans. */
export async function findings(sql: Sql, options: RuleOptions = {}): Promise<Findings> {
  const started = performance.now();
  const status = await insightStatus(sql);
  const idx = await indexes(sql);
  const items: Finding[] = [...redundantIndexes(idx)];
  const redundant = new Set(items.map((f) => f.table + '.' + f.id));
  items.push(...unusedIndexes(idx, options.minUnusedIndexBytes ?? 1 << 20, redundant));
  let scanned = 0;
  let explained = 0;
  if (status.ready) {
    const top = await statements(sql, {
      order: 'total',
      limit: options.statements ?? 100,
      role: status.role,
      trend: options.trend,
    });
    scanned = top.length;
    // Each statement's plan on a connection of its own, a few at a time: most of a plan's
    // time is round trips, which overlap.
    const found: Finding[][] = new Array(top.length);
    let next = 0;
    const worker = async () => {
      while (next < top.length) {
        const k = next++;
        const s = top[k];
        if (s.module === 'dbinsight') continue;
        let plan: PlanNode;
        try {
          plan = (await genericPlan(sql, s.query, {
            role: status.role,
            timeoutMs: options.timeoutMs,
          })).plan;
        } catch (err) {
          if (err instanceof AppError) continue;
          throw err;
        }
        explained++;
        found[k] = await statementFindings(
          sql,
          s,
          plan,
          status,
          options.minRows ?? 10_000,
          options,
        );
      }
    };
    await Promise.all(
      Array.from({ length: Math.min(options.concurrency ?? 4, top.length) }, worker),
    );
    for (const f of found) if (f) items.push(...f);
  }
  return {
    status: { ready: status.ready, hypopg: status.hypopg, run: status.run },
    statementsScanned: scanned,
    statementsExplained: explained,
    ms: Math.round(performance.now() - started),
    items: dedupe(items),
  };
}

function dedupe(items: Finding[]): Finding[] {
  const seen = new Map<string, Finding>();
  for (const f of items) if (!seen.has(f.id)) seen.set(f.id, f);
  const rank = { high: 0, medium: 1, low: 2 };
  return [...seen.values()].sort((a, b) =>
    rank[a.confidence] - rank[b.confidence] || a.rule.localeCompare(b.rule) ||
    a.id.localeCompare(b.id)
  );
}

/** An index whose key columns are a prefix of another's on the same table (btree, whole). */
export function redundantIndexes(idx: IndexRow[]): Finding[] {
  const out: Finding[] = [];
  const plain = (i: IndexRow) =>
    i.method === 'btree' && !i.partial && i.columns.every((c) => c !== '(expression)');
  for (const a of idx) {
    if (!plain(a) || a.constraint || a.unique) continue;
    for (const b of idx) {
      if (a === b || b.table !== a.table || !plain(b)) continue;
      if (b.columns.length < a.columns.length) continue;
      if (!a.columns.every((c, k) => b.columns[k] === c)) continue;
      // Two equal indexes: the one named first is reported, not both.
      if (b.columns.length === a.columns.length && !b.constraint && !b.unique && b.name < a.name) {
        continue;
      }
      out.push({
        id: `redundant_index:${a.name}`,
        rule: 'redundant_index',
        title: `Index ${a.name} is redundant with ${b.name}`,
        table: a.table,
        ddl: `drop index concurrently ${a.name};`,
        rationale: `${a.name} (${a.columns.join(', ')}) is a prefix of ${b.name} (${
          b.columns.join(', ')
        }), which serves the same lookups; it costs ${
          fmtBytes(a.bytes)
        } and a write on every insert and update.`,
        confidence: 'high',
        statementId: null,
        estimate: null,
        estimateNote: null,
      });
      break;
    }
  }
  return out;
}

/** An index never scanned since statistics were reset, that backs no constraint. */
export function unusedIndexes(idx: IndexRow[], minBytes: number, skip: Set<string>): Finding[] {
  return idx.filter((i) =>
    i.scans === 0 && !i.constraint && !i.unique && i.bytes >= minBytes &&
    !skip.has(i.table + '.redundant_index:' + i.name)
  ).map((i) => ({
    id: `unused_index:${i.name}`,
    rule: 'unused_index' as const,
    title: `Index ${i.name} is never used`,
    table: i.table,
    ddl: `drop index concurrently ${i.name};`,
    rationale: `No scan of ${i.name} (${fmtBytes(i.bytes)}) since the statistics were reset; ` +
      `check replicas and rare jobs (month ends) before dropping it.`,
    confidence: 'medium' as const,
    statementId: null,
    estimate: null,
    estimateNote: null,
  }));
}

/** Column names of relations, by relation name. */
async function columnsOf(sql: Sql, names: string[]): Promise<Map<string, Set<string>>> {
  if (!names.length) return new Map();
  const rows = await sql<{ rel: string; cols: string[] }[]>`
    select /* vmledger:dbinsight */ c.relname as rel, array_agg(a.attname::text) as cols
      from pg_class c join pg_attribute a on a.attrelid = c.oid
     where c.relname = any(${[...new Set(names)]}) and a.attnum > 0 and not a.attisdropped
       and pg_table_is_visible(c.oid)
     group by c.relname`;
  return new Map(rows.map((r) => [r.rel, new Set(r.cols)]));
}

/**
 * The relation's columns a filter names: equality ones first, in the order they appear.
 * `alias`: the scan's alias; a column qualified by another alias (an outer row's, in a
 * correlated subplan) is not the relation's.
 */
export function filterColumns(filter: string, columns: Set<string>, alias?: string): string[] {
  const eq: string[] = [];
  const other: string[] = [];
  const re =
    /(?:\b([a-z_][a-z0-9_]*)\.)?\b([a-z_][a-z0-9_]*)\)?(?:::[a-z ]+)?\)?\s*(=|<>|<=|>=|<|>|~~\*?|!~~|IS\b)?/g;
  for (const m of filter.matchAll(re)) {
    const [, qualifier, name, op] = m;
    if (qualifier && alias && qualifier !== alias) continue;
    if (!columns.has(name) || eq.includes(name) || other.includes(name)) continue;
    (op === '=' ? eq : other).push(name);
  }
  return [...eq, ...other];
}

async function statementFindings(
  sql: Sql,
  s: StatementRow,
  plan: PlanNode,
  status: InsightStatus,
  minRows: number,
  options: RuleOptions,
): Promise<Finding[]> {
  const nodes = [...planNodes(plan)];
  const rels = nodes.map((n) => n['Relation Name']).filter((x): x is string => !!x);
  const [relRows, cols] = await Promise.all([relationRows(sql, rels), columnsOf(sql, rels)]);
  const out: Finding[] = [];
  const short = s.query.replace(/\s+/g, ' ').slice(0, 80);

  // Seq scans with a selective filter on a large table: an index on the filter's columns.
  const scans: { node: PlanNode; rel: string; columns: string[]; inSubplan: boolean }[] = [];
  const walk = (p: PlanNode, inSubplan: boolean) => {
    const sub = inSubplan || p['Parent Relationship'] === 'SubPlan';
    if (p['Node Type'] === 'Seq Scan' && p['Relation Name'] && p.Filter) {
      const rel = p['Relation Name'];
      const n = relRows.get(rel) ?? 0;
      const selectivity = n > 0 ? p['Plan Rows'] / n : 1;
      if (n >= minRows && selectivity <= 0.05) {
        const c = filterColumns(p.Filter, cols.get(rel) ?? new Set(), p.Alias);
        if (c.length) scans.push({ node: p, rel, columns: c.slice(0, 3), inSubplan: sub });
      }
    }
    for (const c of p.Plans ?? []) walk(c, sub);
  };
  walk(plan, false);
  for (const sc of scans) {
    const n = relRows.get(sc.rel) ?? 0;
    const selectivity = sc.node['Plan Rows'] / Math.max(n, 1);
    const composite = sc.columns.length > 1;
    const ddl = `create index concurrently on ${sc.rel} (${sc.columns.join(', ')});`;
    const estimate = await indexEstimate(sql, s.query, ddl, status, {
      ...options,
      before: plan['Total Cost'],
    });
    out.push({
      id: `${composite ? 'composite_index' : 'missing_index'}:${sc.rel}(${sc.columns.join(',')})`,
      rule: composite ? 'composite_index' : 'missing_index',
      title: composite
        ? `Composite index on ${sc.rel} (${sc.columns.join(', ')})`
        : `Missing index on ${sc.rel} (${sc.columns[0]})`,
      table: sc.rel,
      ddl,
      rationale:
        `"${short}" reads all ${Math.round(n)} rows of ${sc.rel} to keep about ${
          Math.round(sc.node['Plan Rows'])
        } (${(selectivity * 100).toPrecision(2)} %) by ${sc.node.Filter}` +
        (composite ? '; the equality columns lead, so one index serves the whole filter.' : '.') +
        ` Called ${s.calls} times, ${s.totalMs.toFixed(0)} ms in all.`,
      confidence: n >= 100_000 && selectivity <= 0.01 ? 'high' : 'medium',
      statementId: s.id,
      estimate: estimate.value,
      estimateNote: estimate.note,
    });
  }

  // A subplan run for each outer row (correlated), unlike an InitPlan run once.
  for (const p of nodes) {
    if (p['Parent Relationship'] !== 'SubPlan') continue;
    const inner = scans.find((sc) => [...planNodes(p)].includes(sc.node));
    out.push({
      id: `correlated_subquery:${s.id}`,
      rule: 'correlated_subquery',
      title: `Correlated subquery in statement ${s.id}`,
      table: inner?.rel ?? p['Relation Name'] ?? null,
      ddl: inner
        ? `create index concurrently on ${inner.rel} (${inner.columns.join(', ')});`
        : null,
      rationale:
        `"${short}" runs ${
          p['Subplan Name'] ?? 'a subplan'
        } once per outer row; rewrite it as a join (or LATERAL / EXISTS) so the planner can hash or merge it` +
        (inner ? `, or at least index ${inner.rel} (${inner.columns.join(', ')}).` : '.'),
      confidence: inner ? 'high' : 'medium',
      statementId: s.id,
      estimate: null,
      estimateNote: null,
    });
    break;
  }

  // The planner expects far fewer (or more) rows than the statement returns on average.
  const returned = s.calls > 0 ? s.rows / s.calls : 0;
  const expected = Math.max(plan['Plan Rows'], 1);
  const off = Math.max(returned, 1) / expected;
  if (s.calls >= 3 && plan['Node Type'] !== 'Limit' && (off >= 10 || off <= 0.1)) {
    const multi = nodes.find((p) => {
      const rel = p['Relation Name'];
      const f = p.Filter ?? p['Index Cond'];
      return rel && f && filterColumns(f, cols.get(rel) ?? new Set(), p.Alias).length >= 2;
    });
    const rel = multi?.['Relation Name'] ?? rels[0] ?? null;
    const mc = multi && rel
      ? filterColumns(multi.Filter ?? multi['Index Cond']!, cols.get(rel)!, multi.Alias).slice(0, 4)
      : [];
    const factor = off >= 1 ? off : 1 / off;
    out.push({
      id: `estimate_skew:${s.id}`,
      rule: 'estimate_skew',
      title: `Row estimate off by ×${Math.round(factor)} in statement ${s.id}`,
      table: rel,
      ddl: rel
        ? mc.length >= 2
          ? `create statistics on ${mc.join(', ')} from ${rel}; analyze ${rel};`
          : `analyze ${rel};`
        : null,
      rationale:
        `The planner expects ${Math.round(expected)} rows; "${short}" returns ${
          Math.round(returned)
        } on average over ${s.calls} calls.` +
        (mc.length >= 2
          ? ` The filter on ${
            mc.join(', ')
          } multiplies their selectivities as if independent; extended statistics tell the planner they are correlated.`
          : ' Fresh statistics may fix it.'),
      confidence: factor >= 100 ? 'high' : 'medium',
      statementId: s.id,
      estimate: null,
      estimateNote: null,
    });
  }
  return out;
}

/**
 * The planner's cost of `query` (generic plan) without and with the index `ddl` only
 * imagined (hypopg: never built), or why there is no estimate.
 */
export async function indexEstimate(
  sql: Sql,
  query: string,
  ddl: string,
  status: InsightStatus,
  options: RuleOptions & { before?: number } = {},
): Promise<{ value: { before: number; after: number } | null; note: string | null }> {
  if (!status.hypopg) {
    return {
      value: null,
      note: 'estimate unavailable: hypopg is not installed in this database',
    };
  }
  const create = ddl.replace(' concurrently', '').replace(/;$/, '');
  try {
    const before = options.before ??
      (await genericPlan(sql, query, { role: status.role, timeoutMs: options.timeoutMs })).plan[
        'Total Cost'
      ];
    const r = await genericPlan(sql, query, {
      role: status.role,
      timeoutMs: options.timeoutMs,
      hypothetical: [create],
    });
    return { value: { before, after: r.plan['Total Cost'] }, note: null };
  } catch (err) {
    return { value: null, note: `estimate unavailable: ${(err as Error).message}` };
  }
}

function fmtBytes(n: number): string {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(1)} GiB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  return `${Math.round(n / 1024)} KiB`;
}
