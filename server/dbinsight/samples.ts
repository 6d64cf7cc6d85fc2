/**
 * Sample parameters for EXPLAIN on demand (issue 24): for each `$n` of a normalised statement,
 * the column it is compared to (`col = $1`, `col > $2`, `col in ($3, $4)`, `col like $5`,
 * `col = any($6)`, `col between $7 and $8`, `$9 = col`) and a real value of that column —
 * the most common value or the middle histogram bound from pg_stats, else one row's value
 * (`select col from table … limit 1`, in the caller's read-only transaction) — or a small
 * number for `limit $n` / 0 for `offset $n`. Null only when nothing is known. Takes the
 * caller's connection (the one that will EXPLAIN), knows no HTTP.
 */
import { z } from 'zod';
import type { Sql } from '../db/connect.ts';
import { quoteIdent } from './stats.ts';

export const SampleParameter = z.object({
  /** The parameter's number: 1 for $1. */
  n: z.number().int(),
  /** Its type as PostgreSQL inferred it. */
  type: z.string(),
  /** The sample (as text; an array parameter as an array literal), or null: unknown. */
  value: z.string().nullable(),
  /** `table.column` the parameter is compared to, when found. */
  column: z.string().nullable(),
  source: z.enum(['most_common_value', 'histogram', 'table_row', 'limit', 'offset']).nullable(),
});
export type SampleParameter = z.infer<typeof SampleParameter>;

type Use = { n: number; column: string | null; range: boolean; kind?: 'limit' | 'offset' };

const IDENT = '[a-z_][a-z0-9_$]*';
/** A column reference, alone (not the end of a longer name or of a `$1`). */
const COL = `(?<![a-z0-9_.$"])((?:${IDENT}\\.)?${IDENT})`;
const PARAM = '\\$(\\d+)';
const NOT_ALIAS = new Set(
  'where join on left right inner outer full cross natural lateral using group order limit offset union except intersect having window for as and or not set values returning fetch tablesample'
    .split(' '),
);

/** The statement without comments and string literals, lower-cased. */
function bare(text: string): string {
  return text
    .replace(/\/\*[\s\S]*?\*\//g, ' ')
    .replace(/--[^\n]*/g, ' ')
    .replace(/'(?:[^']|'')*'/g, "''")
    .replace(/"((?:[^"]|"")*)"/g, (_, n: string) => n.replace(/""/g, '"'))
    .toLowerCase();
}

/** Relations the statement reads (`from x [as] a`, `join x [as] a`), alias → relation name. */
export function relationsOf(text: string): Map<string, string> {
  const rels = new Map<string, string>();
  const re = new RegExp(
    `\\b(?:from|join)\\s+(?:only\\s+)?((?:${IDENT}\\.)?${IDENT})(?:\\s+(?:as\\s+)?(${IDENT}))?`,
    'g',
  );
  for (const m of bare(text).matchAll(re)) {
    const name = m[1].split('.').pop()!;
    rels.set(name, name);
    if (m[2] && !NOT_ALIAS.has(m[2])) rels.set(m[2], name);
  }
  return rels;
}

/** Where each `$n` is used: the column it is compared to (as written), or limit/offset. */
export function parameterUses(text: string): Use[] {
  const b = bare(text);
  const uses: Use[] = [];
  const add = (n: string, column: string | null, range: boolean, kind?: Use['kind']) => {
    const i = Number(n);
    if (!uses.some((u) => u.n === i)) uses.push({ n: i, column, range, kind });
  };
  const each = (re: string, fn: (m: RegExpMatchArray) => void) => {
    for (const m of b.matchAll(new RegExp(re, 'g'))) fn(m);
  };
  each(`\\blimit\\s+${PARAM}`, (m) => add(m[1], null, false, 'limit'));
  each(`\\boffset\\s+${PARAM}`, (m) => add(m[1], null, false, 'offset'));
  each(`${COL}\\s+between\\s+${PARAM}\\s+and\\s+${PARAM}`, (m) => {
    add(m[2], m[1], true);
    add(m[3], m[1], true);
  });
  each(`${COL}\\s*(=|<>|!=|<=|>=|<|>)\\s*(?:any\\s*\\(\\s*)?${PARAM}`, (m) => {
    add(m[3], m[1], m[2] !== '=' && m[2] !== '<>' && m[2] !== '!=');
  });
  each(`${PARAM}(?:::${IDENT})?\\s*(=|<>|!=|<=|>=|<|>)\\s*${COL}`, (m) => {
    add(m[1], m[3], m[2] !== '=' && m[2] !== '<>' && m[2] !== '!=');
  });
  each(`${COL}\\s+(?:not\\s+)?i?like\\s+${PARAM}`, (m) => add(m[2], m[1], false));
  each(`${COL}\\s+(?:not\\s+)?in\\s*\\(([^()]*)\\)`, (m) => {
    for (const p of m[2].matchAll(/\$(\d+)/g)) add(p[1], m[1], false);
  });
  return uses.filter((u) => !(u.column && NOT_ALIAS.has(u.column)));
}

/**
 * Type categories whose values read back from pg_stats' text as one array element each:
 * booleans, dates and times, enums, numbers, strings, intervals, network addresses, bit
 * strings (not arrays, composites, geometry, JSON and other user types).
 */
const SCALAR_CATEGORIES = ['B', 'D', 'E', 'N', 'S', 'T', 'I', 'V'];

/** An array literal of one element (for `col = any($n)`). */
function arrayOf(v: string): string {
  return `{"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"}`;
}

/**
 * The samples for a prepared statement's parameters (`types`, as pg_prepared_statements
 * gives them), read on `c` — the caller's read-only transaction.
 */
export async function sampleParameters(
  c: Sql,
  text: string,
  types: string[],
): Promise<SampleParameter[]> {
  const out: SampleParameter[] = types.map((type, i) => ({
    n: i + 1,
    type,
    value: null,
    column: null,
    source: null,
  }));
  if (!types.length) return out;
  const uses = parameterUses(text);
  const rels = relationsOf(text);
  const tables = [...new Set(rels.values())];
  const cols = tables.length
    ? await c<
      { rel: string; schema: string; col: string; mcv: string | null; hist: string | null }[]
    >`
      select /* vmledger:dbinsight */ c.relname as rel, n.nspname as schema, a.attname as col,
             case when ty.typcategory::text = any(${SCALAR_CATEGORIES}) then (s.most_common_vals::text::text[])[1] end as mcv,
             case when ty.typcategory::text = any(${SCALAR_CATEGORIES}) then (s.histogram_bounds::text::text[])[
               array_length(s.histogram_bounds::text::text[], 1) / 2 + 1] end as hist
        from pg_class c
        join pg_namespace n on n.oid = c.relnamespace
        join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
        join pg_type ty on ty.oid = a.atttypid
        left join pg_stats s
          on s.schemaname = n.nspname and s.tablename = c.relname and s.attname = a.attname
       where c.relname = any(${tables}) and c.relkind in ('r', 'p', 'm', 'v')
         and pg_table_is_visible(c.oid)`
    : [];
  for (const u of uses) {
    const p = out[u.n - 1];
    if (!p) continue;
    if (u.kind) {
      p.value = u.kind === 'limit' ? '50' : '0';
      p.source = u.kind;
      continue;
    }
    if (!u.column) continue;
    const [qual, name] = u.column.includes('.') ? u.column.split('.') : [null, u.column];
    const rel = qual ? rels.get(qual) : undefined;
    const col = cols.find((x) => x.col === name && (qual ? x.rel === rel : rels.has(x.rel)));
    if (!col) continue;
    p.column = `${col.rel}.${col.col}`;
    const first = u.range ? col.hist ?? col.mcv : col.mcv ?? col.hist;
    let value: string | null = first;
    let source: SampleParameter['source'] = first === null
      ? null
      : first === col.mcv && !(u.range && col.hist)
      ? 'most_common_value'
      : 'histogram';
    if (value === null) {
      // No statistics (never analyzed): one row's value, read in the same read-only
      // transaction. The names are the catalogue's, quoted.
      const [row] = await c.unsafe<{ v: string }[]>(
        `select ${quoteIdent(col.col)}::text as v from ${quoteIdent(col.schema)}.${
          quoteIdent(col.rel)
        } where ${quoteIdent(col.col)} is not null limit 1`,
      );
      value = row?.v ?? null;
      source = value === null ? null : 'table_row';
    }
    if (value !== null && p.type.endsWith('[]') && !value.startsWith('{')) value = arrayOf(value);
    p.value = value;
    p.source = source;
  }
  return out;
}

/** `$n` values as EXPLAIN EXECUTE's argument list: quoted literals, or null. */
export function argumentList(samples: (string | null)[]): string {
  if (!samples.length) return '';
  return `(${samples.map((v) => (v === null ? 'null' : `'${v.replace(/'/g, "''")}'`)).join(', ')})`;
}
