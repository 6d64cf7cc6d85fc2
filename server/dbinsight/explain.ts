/**
 * EXPLAIN on demand (issue 24): a statement's plan, with sample parameters, inside a READ
 * ONLY transaction that is rolled back, under `statement_timeout`, as the insight role when
 * it may be taken — and never for a statement that writes (AppError invalid_request, 400).
 *
 * pg_stat_statements' texts hold $1, $2… in place of constants. The statement is PREPAREd
 * (PostgreSQL infers the parameters' types) and explained with `plan_cache_mode =
 * force_generic_plan`, so the plan is the generic one — the same on PostgreSQL 15 as on
 * 16+'s `EXPLAIN (GENERIC_PLAN)`. On demand (`explain`) each `$n` gets a sample value of the
 * column it is compared to (samples.ts), so ANALYZE runs it on real rows; the rules'
 * plans (rules.ts) use nulls.
 * Takes `sql` (a reserved connection of its own), knows no HTTP.
 */
import { z } from 'zod';
import type { Sql } from '../db/connect.ts';
import { AppError } from '../errors.ts';
import { argumentList, SampleParameter, sampleParameters } from './samples.ts';
import { INSIGHT_ROLE } from './stats.ts';

/** Words that make a statement write (or lock, or change the session) wherever they stand. */
const WRITING =
  /\b(insert|update|delete|merge|truncate|copy|create|alter|drop|grant|revoke|vacuum|analyze|cluster|reindex|refresh|lock|call|do|set|reset|listen|notify|prepare|execute|deallocate|discard|comment|nextval|setval|pg_advisory_lock|pg_advisory_xact_lock|lo_import|lo_export|dblink)\b|\bfor\s+(update|share|no\s+key\s+update|key\s+share)\b/i;

/** The statement without comments and string literals, lower-cased (for the checks). */
function bare(text: string): string {
  return text
    .replace(/\/\*[\s\S]*?\*\//g, ' ')
    .replace(/--[^\n]*/g, ' ')
    .replace(/'(?:[^']|'')*'/g, "''")
    .replace(/"(?:[^"]|"")*"/g, '"x"')
    .trim()
    .toLowerCase();
}

/**
 * Why `text` may not be explained (it writes, or is not one plain read), or null when it is
 * a single read: SELECT, WITH … SELECT, VALUES or TABLE without any writing word.
 */
export function refusal(text: string): string | null {
  const b = bare(text);
  if (b.replace(/;\s*$/, '').includes(';')) return 'more than one statement';
  if (!/^(select|with|values|table)\b/.test(b)) {
    return `only reads are explained (this statement starts with "${b.split(/\s/)[0]}")`;
  }
  const m = WRITING.exec(b);
  if (m) return `the statement may write or lock ("${m[0]}")`;
  return null;
}

export type PlanNode = {
  'Node Type': string;
  'Relation Name'?: string;
  'Alias'?: string;
  'Index Name'?: string;
  'Plan Rows': number;
  'Total Cost': number;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Filter'?: string;
  'Index Cond'?: string;
  'Hash Cond'?: string;
  'Join Filter'?: string;
  'Rows Removed by Filter'?: number;
  'Sort Method'?: string;
  'Sort Space Type'?: string;
  'Shared Read Blocks'?: number;
  'Shared Hit Blocks'?: number;
  'Parent Relationship'?: string;
  'Subplan Name'?: string;
  Plans?: PlanNode[];
  [key: string]: unknown;
};

export const Chip = z.object({
  kind: z.enum(['seq_scan', 'estimate_off', 'sort_spilled', 'buffers_read', 'subplan']),
  text: z.string(),
});
export type Chip = z.infer<typeof Chip>;

export type TreeNode = {
  node: string;
  relation: string | null;
  detail: string | null;
  estimatedRows: number;
  actualRows: number | null;
  cost: number;
  chips: Chip[];
  children: TreeNode[];
};
/**
 * A plan node as the API declares it. The children are plan nodes too; the schema says so in
 * words, not by recursion, which the OpenAPI document could not resolve.
 */
export const TreeNode = z.object({
  node: z.string(),
  relation: z.string().nullable(),
  detail: z.string().nullable(),
  estimatedRows: z.number(),
  actualRows: z.number().nullable(),
  cost: z.number(),
  chips: z.array(Chip),
  children: z.array(z.unknown()).describe('plan nodes of the same shape'),
}) as unknown as z.ZodType<TreeNode>;

export const Explained = z.object({
  query: z.string(),
  analyzed: z.boolean(),
  /** The parameters' types as PostgreSQL inferred them. */
  parameterTypes: z.array(z.string()),
  /**
   * The sample each `$n` was given (samples.ts): a real value of the column it is compared
   * to, or null when unknown (or when the samples did not fit the types: `samplesRefused`).
   */
  parameters: z.array(SampleParameter),
  /** Why the samples were dropped for nulls (a value the parameter's type refused), or null. */
  samplesRefused: z.string().nullable(),
  totalCost: z.number(),
  executionMs: z.number().nullable(),
  tree: TreeNode,
  /** The plan as PostgreSQL gives it (FORMAT JSON). */
  plan: z.unknown(),
});
export type Explained = z.infer<typeof Explained>;

/** The planner's tree as nodes with chips: seq scans on N rows, estimates off by ×N, spills, reads. */
export function planTree(p: PlanNode, relRows: Map<string, number> = new Map()): TreeNode {
  const chips: Chip[] = [];
  const loops = p['Actual Loops'] ?? 1;
  const actual = p['Actual Rows'] === undefined ? null : p['Actual Rows'] * loops;
  if (p['Node Type'] === 'Seq Scan' && p['Relation Name']) {
    const n = relRows.get(p['Relation Name']);
    chips.push({
      kind: 'seq_scan',
      text: `seq scan on ${fmtCount(n ?? p['Plan Rows'])} rows`,
    });
  }
  if (actual !== null) {
    const est = Math.max(1, p['Plan Rows'] * loops);
    const off = Math.max(est, Math.max(actual, 1)) / Math.min(est, Math.max(actual, 1));
    if (off >= 10) {
      chips.push({ kind: 'estimate_off', text: `row estimate off by ×${fmtCount(off)}` });
    }
  }
  if (p['Sort Space Type'] === 'Disk' || /external/i.test(p['Sort Method'] ?? '')) {
    chips.push({ kind: 'sort_spilled', text: 'sort spilled to disk' });
  }
  if ((p['Shared Read Blocks'] ?? 0) > 0) {
    chips.push({
      kind: 'buffers_read',
      text: `${fmtCount(p['Shared Read Blocks']!)} buffers read`,
    });
  }
  if (p['Parent Relationship'] === 'SubPlan') {
    chips.push({ kind: 'subplan', text: `correlated ${p['Subplan Name'] ?? 'subplan'}` });
  }
  const detail = p['Index Cond'] ?? p['Hash Cond'] ?? p['Filter'] ?? p['Join Filter'] ?? null;
  return {
    node: p['Node Type'],
    relation: p['Relation Name'] ?? null,
    detail: detail ?? (p['Index Name'] ? `using ${p['Index Name']}` : null),
    estimatedRows: p['Plan Rows'],
    actualRows: actual,
    cost: p['Total Cost'],
    chips,
    children: (p.Plans ?? []).map((c) => planTree(c, relRows)),
  };
}

export function fmtCount(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(n >= 1e7 ? 0 : 1)} M`;
  if (n >= 1e4) return `${Math.round(n / 1e3)} k`;
  return String(Math.round(n));
}

/** Every node of a plan, depth first. */
export function* planNodes(p: PlanNode): Generator<PlanNode> {
  yield p;
  for (const c of p.Plans ?? []) yield* planNodes(c);
}

type Reserved = Sql & { release(): void };
let counter = 0;

/**
 * The generic plan of `query` on one reserved connection: PREPARE, EXPLAIN EXECUTE with
 * nulls, DEALLOCATE, all in a READ ONLY transaction that is rolled back. Throws AppError
 * invalid_request for a write.
 */
export async function genericPlan(
  sql: Sql,
  query: string,
  options: {
    analyze?: boolean;
    role?: boolean;
    timeoutMs?: number;
    /** CREATE INDEX statements made hypothetical (hypopg) for this plan only. */
    hypothetical?: string[];
    /** Give each `$n` a sample value (samples.ts) instead of null. */
    samples?: boolean;
  } = {},
): Promise<{
  plan: PlanNode;
  types: string[];
  parameters: SampleParameter[];
  samplesRefused: string | null;
  executionMs: number | null;
  raw: unknown;
}> {
  const why = refusal(query);
  if (why) throw new AppError('invalid_request', `not explained: ${why}`, { query });
  const name = `vmledger_insight_${++counter}`;
  const c = (await sql.reserve()) as unknown as Reserved;
  let prepared = false;
  try {
    // One round trip for the set-up (constant text of ours: the simple protocol's several
    // statements); the statement itself goes alone, through the extended protocol.
    await c.unsafe(
      [
        'begin read only',
        `set local statement_timeout = ${Math.max(1, Math.round(options.timeoutMs ?? 5000))}`,
        'set local plan_cache_mode = force_generic_plan',
        // The samples are quoted by doubling quotes (samples.ts argumentList).
        'set local standard_conforming_strings = on',
        ...(options.role ? [`set local role ${INSIGHT_ROLE}`] : []),
      ].join('; '),
    );
    for (const ddl of options.hypothetical ?? []) {
      await c`select hypopg_create_index(${ddl})`;
    }
    const text = query.trim().replace(/;\s*$/, '');
    await c.unsafe(`prepare ${name} as ${text}`);
    prepared = true;
    const [{ types }] = await c<{ types: string[] }[]>`
      select parameter_types::text[] as types from pg_prepared_statements where name = ${name}`;
    let parameters: SampleParameter[] = types.map((type, i) => ({
      n: i + 1,
      type,
      value: null,
      column: null,
      source: null,
    }));
    if (options.samples && types.length) {
      // Finding the samples may fail (a value pg_stats holds that reads back oddly, a
      // table it may not read): then the statement is explained with nulls, as before.
      await c.unsafe('savepoint vmledger_sampling');
      try {
        parameters = await sampleParameters(c, text, types);
      } catch {
        await c.unsafe('rollback to savepoint vmledger_sampling');
      }
    }
    const nulls = argumentList(types.map(() => null));
    const opts = options.analyze ? 'analyze, buffers, format json' : 'format json';
    let samplesRefused: string | null = null;
    let row: unknown;
    if (parameters.some((p) => p.value !== null)) {
      // A sample the parameter's type refuses (22xxx, 42804): explained with nulls instead.
      await c.unsafe('savepoint vmledger_samples');
      try {
        [row] = await c.unsafe(
          `explain (${opts}) execute ${name}${argumentList(parameters.map((p) => p.value))}`,
        );
      } catch (err) {
        const e = err as { code?: string; message?: string };
        if (!e.code || !/^(22|42804)/.test(e.code)) throw err;
        await c.unsafe('rollback to savepoint vmledger_samples');
        samplesRefused = e.message ?? e.code;
        parameters = parameters.map((p) => ({ ...p, value: null, source: null }));
      }
    }
    if (row === undefined) [row] = await c.unsafe(`explain (${opts}) execute ${name}${nulls}`);
    const raw = (row as Record<string, unknown>)['QUERY PLAN'];
    const top = (Array.isArray(raw) ? raw[0] : raw) as {
      Plan: PlanNode;
      'Execution Time'?: number;
    };
    return {
      plan: top.Plan,
      types,
      parameters,
      samplesRefused,
      executionMs: top['Execution Time'] ?? null,
      raw,
    };
  } catch (err) {
    if (err instanceof AppError) throw err;
    const e = err as { code?: string; message?: string };
    // A write that the checks missed still cannot happen (the transaction is read only).
    if (e.code === '25006') {
      throw new AppError('invalid_request', `not explained: the statement writes`, { query });
    }
    if (e.code === '57014') {
      throw new AppError('invalid_request', 'not explained: statement_timeout reached', {
        query,
      });
    }
    if (e.code && /^(42|22)/.test(e.code)) {
      throw new AppError('invalid_request', `not explained: ${e.message}`, { query });
    }
    throw err;
  } finally {
    // Hypothetical indexes live in the session, not the transaction.
    const cleanup = [
      'rollback',
      ...(prepared ? [`deallocate ${name}`] : []),
      ...(options.hypothetical?.length ? ['select hypopg_reset()'] : []),
    ];
    await c.unsafe(cleanup.join('; ')).catch(async () => {
      for (const s of cleanup) await c.unsafe(s).catch(() => {});
    });
    c.release();
  }
}

/** EXPLAIN of a statement as the API and the page show it. */
export async function explain(
  sql: Sql,
  query: string,
  options: { analyze?: boolean; role?: boolean; timeoutMs?: number } = {},
): Promise<Explained> {
  const r = await genericPlan(sql, query, { ...options, samples: true });
  const rels = [...planNodes(r.plan)].map((n) => n['Relation Name']).filter((x): x is string =>
    !!x
  );
  const relRows = await relationRows(sql, rels);
  return {
    query,
    analyzed: !!options.analyze,
    parameterTypes: r.types,
    parameters: r.parameters,
    samplesRefused: r.samplesRefused,
    totalCost: r.plan['Total Cost'],
    executionMs: r.executionMs,
    tree: planTree(r.plan, relRows),
    plan: r.raw,
  };
}

/** The planner's row counts (reltuples) of relations named in plans. */
export async function relationRows(sql: Sql, names: string[]): Promise<Map<string, number>> {
  if (!names.length) return new Map();
  const rows = await sql<{ name: string; n: number }[]>`
    select /* vmledger:dbinsight */ c.relname as name, greatest(c.reltuples, 0)::float8 as n
      from pg_class c join pg_namespace ns on ns.oid = c.relnamespace
     where c.relname = any(${[...new Set(names)]}) and c.relkind in ('r', 'p', 'm')
       and pg_table_is_visible(c.oid)`;
  return new Map(rows.map((r) => [r.name, r.n]));
}
