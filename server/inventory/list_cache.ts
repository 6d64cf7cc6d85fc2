/**
 * Reuse of VM-list answers while the inventory they were read from is still the current one.
 *
 * Dashboards, scripts and people paging through the same list ask the same questions many
 * times between two captures (minutes to hours apart). Each stored capture bumps its
 * source's `generation` inside the ingest transaction, so the sum over sources names one
 * committed state of the inventory, lifecycle and source names. An answer computed at that
 * generation is exact for as long as the sum is unchanged, on every server node: there is
 * no time-to-live and no stale window. Reading the generation is one tiny query.
 *
 * Concurrent identical questions share one database query (the first caller's), so the
 * burst of requests after a capture does not run the same search fifty times.
 */
import { requestScope } from '../auth/scope.ts';
import type { Sql } from '../db/connect.ts';

/** The inventory's current generation: grows by one with every stored capture. */
export async function inventoryGeneration(sql: Sql): Promise<number> {
  const [row] = await sql`select coalesce(sum(generation), 0)::float8 as generation from sources`;
  return row.generation as number;
}

type Entry = { value: Promise<unknown>; weight: number };

/** Answers of one generation, least recently used first out, bounded by total weight. */
export class GenerationCache {
  hits = 0;
  misses = 0;
  private generation = -1;
  private entries = new Map<string, Entry>();
  private weight = 0;
  private readonly maxWeight: number;

  /** `maxWeight`: the sum of entry weights kept (the list weighs entries by their rows). */
  constructor(maxWeight: number) {
    this.maxWeight = maxWeight;
  }

  /**
   * The answer for `key` at `generation`, computing it when this cache has none. A caller
   * that read an older generation than the cache holds (an ingest committed in between) is
   * answered directly and its result is not kept.
   */
  get<T>(
    generation: number,
    key: string,
    compute: () => Promise<T>,
    weigh: (value: T) => number,
  ): Promise<T> {
    // A viewer limited to some sources (auth/scope.ts) sees other answers: never shared.
    if (requestScope()) {
      this.misses++;
      return compute();
    }
    if (generation < this.generation) {
      this.misses++;
      return compute();
    }
    if (generation > this.generation) {
      this.entries.clear();
      this.weight = 0;
      this.generation = generation;
    }
    const hit = this.entries.get(key);
    if (hit) {
      this.hits++;
      // Map order is insertion order: re-inserting marks the entry most recently used.
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit.value as Promise<T>;
    }
    this.misses++;
    const entry: Entry = { value: compute(), weight: 1 };
    this.entries.set(key, entry);
    this.weight += entry.weight;
    (entry.value as Promise<T>).then(
      (value) => {
        if (this.entries.get(key) !== entry) return;
        const weight = Math.max(1, weigh(value));
        this.weight += weight - entry.weight;
        entry.weight = weight;
        this.evict();
      },
      () => this.forget(key, entry),
    );
    this.evict();
    return entry.value as Promise<T>;
  }

  /** Whether an answer (of any generation) is kept for `key`. */
  has(key: string): boolean {
    return this.entries.has(key);
  }

  /**
   * Keeps `value`, read at `generation` in one statement with that generation (no earlier
   * check of it): a read of the database however it ends. Not kept for a scoped viewer, nor
   * when the cache already holds a newer generation or an answer for `key`.
   */
  put<T>(generation: number | undefined, key: string, value: T, weight: number): void {
    this.misses++;
    if (generation === undefined || requestScope() || generation < this.generation) return;
    if (generation > this.generation) {
      this.entries.clear();
      this.weight = 0;
      this.generation = generation;
    }
    if (this.entries.has(key)) return;
    const entry: Entry = { value: Promise.resolve(value), weight: Math.max(1, weight) };
    this.entries.set(key, entry);
    this.weight += entry.weight;
    this.evict();
  }

  private forget(key: string, entry: Entry) {
    if (this.entries.get(key) !== entry) return;
    this.entries.delete(key);
    this.weight -= entry.weight;
  }

  private evict() {
    for (const [key, entry] of this.entries) {
      if (this.weight <= this.maxWeight) break;
      this.forget(key, entry);
    }
  }
}
