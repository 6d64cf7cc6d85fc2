/**
 * What a report builder writes to, whatever the format: one Summary (fields and small
 * blocks) and any number of streamed tables. `xlsx_writer.ts` makes sheets of them,
 * `csv_zip_writer.ts` one CSV file each inside a zip.
 */
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import type { ColumnType, Row, TableSpec } from './columns.ts';

export type SummaryField = { label: string; value: unknown; type: ColumnType };

export type SummaryBlock = { title: string; spec: TableSpec; rows: Row[]; note?: string };

export type Summary = { title: string; fields: SummaryField[]; blocks: SummaryBlock[] };

export interface ReportWriter {
  /** May finish at once (XLSX adds a sheet) or later (CSV writes a zip entry). */
  summary(s: Summary): void | Promise<void>;
  /** Writes a table from row batches (a postgres.js cursor, or rows at hand); returns the row count. */
  table(spec: TableSpec, batches: AsyncIterable<Row[]> | Iterable<Row[]>): Promise<number>;
  /** Completes the file; `out` has ended when this resolves. */
  finish(): Promise<void>;
}

/**
 * Lets the event loop run and waits while `out` is over its buffer: exceljs and our CSV
 * path produce bytes faster than the database takes chunks, and exceljs ignores
 * backpressure, so without this pause memory would grow with the row count.
 */
export async function breathe(out: Writable): Promise<void> {
  await new Promise<void>((resolve) => setImmediate(resolve));
  while (out.writableNeedDrain && !out.destroyed) await drained(out);
}

/** Why `out` can take no more: its error, or that it closed before finishing. */
function brokenOutput(out: Writable): Error {
  return out.errored ?? new Error('report output closed before the file was complete');
}

/**
 * Waits for `emitter`'s `event` (by default `out`'s 'drain'); rejects if `out` fails or
 * closes first, where waiting for the event alone would wait forever.
 */
export async function drained(
  out: Writable,
  emitter: NodeJS.EventEmitter = out,
  event = 'drain',
): Promise<void> {
  if (out.destroyed) throw brokenOutput(out);
  const ac = new AbortController();
  try {
    await Promise.race([
      once(emitter, event, { signal: ac.signal }),
      once(out, 'close', { signal: ac.signal }).then(() => {
        throw brokenOutput(out);
      }),
    ]);
  } finally {
    ac.abort(); // removes the listener that lost
  }
}

/** Rows between two `breathe` calls. */
export const YIELD_EVERY = 1000;

/**
 * The items of `source`, asking for the next one while the caller works on the current: a
 * postgres.js cursor fetches its next 1,000 rows only when asked, so without this the
 * database and the writer take turns instead of working at the same time. Stopped early
 * (an error while writing), it waits for the batch asked for and then closes the cursor:
 * a cursor closed while a fetch is under way would leave its connection waiting.
 */
export async function* readAhead<T>(source: AsyncIterable<T> | Iterable<T>): AsyncGenerator<T> {
  const it: AsyncIterator<T> | Iterator<T> = Symbol.asyncIterator in source
    ? source[Symbol.asyncIterator]()
    : source[Symbol.iterator]();
  let next = Promise.resolve(it.next());
  let done = false;
  try {
    while (true) {
      const r = await next;
      if (r.done) {
        done = true;
        return;
      }
      next = Promise.resolve(it.next());
      yield r.value;
    }
  } finally {
    if (!done) {
      const r = await next.catch(() => ({ done: true }) as IteratorResult<T>);
      if (!r.done) await it.return?.();
    }
  }
}
