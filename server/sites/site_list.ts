/**
 * Lists of site objects (hosts, clusters, datastores, networks): read whole once per
 * inventory generation, then filtered, sorted and paged in memory.
 *
 * Why in memory: an estate has hundreds of hosts and a few thousand datastores, not a
 * hundred thousand, but each row carries figures summed over the VMs on it (vCPU on a host,
 * disks on a datastore), which cost one pass over the source's live inventory. That pass is
 * made once per stored capture of the source (its generation, see inventory/list_cache.ts),
 * and every question in between — any filter, sort or page — is answered from its result
 * without touching the database but for one tiny read of the generations.
 *
 * Keyset cursors as the VM list's: the sort value of the page's last row, then source and
 * key, so a page boundary stays put while rows are added before it.
 */
import { z } from 'zod';
import type { Sql } from '../db/connect.ts';
import { requestScope } from '../auth/scope.ts';
import { ColumnText, decodeCursor, encodeCursor, IntKey } from '../cursor.ts';
import type { Page } from '../inventory/list_query.ts';

/** A row of a site list: known by its source and key. */
export type Keyed = { sourceId: number; key: string };

/** A sort value: text compared case-insensitively, numbers; null sorts before everything. */
type SortValue = string | number | null;

/** Where the next page starts: the last row's sort value, source and key. */
export const SiteCursor = z.object({
  v: z.union([z.string().max(2000), z.number()]).nullable(),
  s: IntKey,
  k: ColumnText,
});
type SiteCursor = z.infer<typeof SiteCursor>;

/** One source's part of a list, as read at that source's generation. */
type Part = { generation: number; rows: Promise<unknown[]> };
const parts = new WeakMap<Sql, Map<string, Part>>();
/** The last whole list per name, with the generations it was made of. */
const wholes = new WeakMap<Sql, Map<string, { signature: string; rows: unknown[] }>>();

/**
 * Every row of the list `name`: each source's part read by `read(sourceId)` once per
 * generation of that source (every stored capture bumps it, in the ingest transaction), so a
 * capture of one source reads that source's part again and no other. Exact on every node: no
 * time-to-live. Concurrent callers share one read; a caller that saw an older generation than
 * the one kept (a capture committed in between) reads for itself and keeps nothing.
 */
export async function cachedRows<T>(
  sql: Sql,
  name: string,
  read: (sourceId: number) => Promise<T[]>,
): Promise<T[]> {
  const sources = await sql<{ id: number; generation: number }[]>`
    select id, generation::float8 as generation from sources order by id`;
  // A viewer limited to some sources (auth/scope.ts): read for them, keep nothing.
  if (requestScope()) return (await Promise.all(sources.map(({ id }) => read(id)))).flat();
  let cache = parts.get(sql);
  if (!cache) parts.set(sql, cache = new Map());
  const rows = await Promise.all(sources.map(({ id, generation }) => {
    const key = `${name}:${id}`;
    const kept = cache.get(key);
    if (kept && kept.generation === generation) return kept.rows as Promise<T[]>;
    if (kept && kept.generation > generation) return read(id);
    const part: Part = { generation, rows: read(id) };
    cache.set(key, part);
    part.rows.catch(() => {
      if (cache.get(key) === part) cache.delete(key);
    });
    return part.rows as Promise<T[]>;
  }));
  // The same array while no part changed: callers may key their own reuse on it (lists.ts).
  let kept = wholes.get(sql);
  if (!kept) wholes.set(sql, kept = new Map());
  const signature = sources.map((s) => `${s.id}:${s.generation}`).join(',');
  const whole = kept.get(name);
  if (whole?.signature === signature) return whole.rows as T[];
  const flat = rows.flat();
  kept.set(name, { signature, rows: flat });
  return flat;
}

function compare(a: SortValue, b: SortValue): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a) < String(b) ? -1 : 1;
}

function compareKeyed(a: [SortValue, number, string], b: [SortValue, number, string]): number {
  return compare(a[0], b[0]) || a[1] - b[1] || (a[2] < b[2] ? -1 : a[2] > b[2] ? 1 : 0);
}

/** Rows in a list's order, each with its sort key. */
export type Sorted<T> = { rows: { r: T; k: [SortValue, number, string] }[]; sign: 1 | -1 };

/** `rows` sorted by `value` (ties by source and key) in `order`. */
export function sortRows<T extends Keyed>(
  rows: readonly T[],
  value: (row: T) => SortValue,
  order: 'asc' | 'desc',
): Sorted<T> {
  const sign = order === 'desc' ? -1 : 1;
  const keyed = rows.map((r) => ({
    r,
    k: [value(r), r.sourceId, r.key] as [SortValue, number, string],
  }));
  return { rows: keyed.sort((a, b) => sign * compareKeyed(a.k, b.k)), sign };
}

/**
 * One page of sorted rows after `cursor` (binary search: the rows are in key order).
 * A cursor from another list or sort is refused by the route's schema, not here.
 */
export function pageSorted<T>(sorted: Sorted<T>, limit: number, cursor?: string | null): Page<T> {
  const { rows, sign } = sorted;
  const after = cursor ? decodeCursor(SiteCursor, cursor) : null;
  let start = 0;
  if (after) {
    const k: [SortValue, number, string] = [after.v, after.s, after.k];
    let hi = rows.length;
    while (start < hi) {
      const mid = (start + hi) >> 1;
      if (sign * compareKeyed(rows[mid].k, k) > 0) hi = mid;
      else start = mid + 1;
    }
  }
  const page = rows.slice(start, start + limit);
  const last = page.at(-1);
  return {
    items: page.map((x) => x.r),
    total: rows.length,
    next: start + limit < rows.length && last
      ? encodeCursor({ v: last.k[0], s: last.k[1], k: last.k[2] } satisfies SiteCursor)
      : null,
  };
}

/** One page of `rows` sorted by `value` in `order`, after `cursor`. */
export function pageRows<T extends Keyed>(rows: readonly T[], o: {
  value: (row: T) => SortValue;
  order: 'asc' | 'desc';
  limit: number;
  cursor?: string | null;
}): Page<T> {
  return pageSorted(sortRows(rows, o.value, o.order), o.limit, o.cursor);
}

/** Every row in order, for CSV: one page holding all. */
export function allRows<T extends Keyed>(
  rows: readonly T[],
  o: { value: (row: T) => SortValue; order: 'asc' | 'desc' },
): T[] {
  return pageRows(rows, { ...o, limit: rows.length || 1 }).items;
}

/** Whether `text` holds `q` (case-insensitive); an empty `q` matches everything. */
export function matches(q: string | undefined, ...texts: (string | null | undefined)[]): boolean {
  if (!q) return true;
  const needle = q.toLowerCase();
  return texts.some((t) => !!t && t.toLowerCase().includes(needle));
}

/** A number rounded to `digits` decimals (figures in answers stay readable and stable). */
export function round(v: number | null | undefined, digits = 2): number | null {
  if (v === null || v === undefined || !Number.isFinite(v)) return null;
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
