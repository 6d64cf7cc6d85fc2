/**
 * CSV over HTTP: whether a request asks for it, and the streamed response of a whole list,
 * written in the one format (server/csv.ts).
 */
import { CSV_BOM, type CsvColumn, csvHeader, csvRow } from '../csv.ts';

// Route modules declare their columns with these; re-exported so a list's CSV needs one import.
export { type CsvColumn, fieldColumns } from '../csv.ts';

/** Whether the client asked for CSV (`Accept: text/csv`). */
export function wantsCsv(accept: string | undefined): boolean {
  return !!accept && /\btext\/csv\b/i.test(accept);
}

/**
 * Every item of a keyset-paged list, a page at a time: `page(cursor)` reads one page
 * (`cursor` undefined for the first) and gives its items and the next cursor (null at the end).
 */
export async function* allPages<T, C>(
  page: (cursor: C | undefined) => Promise<{ items: T[]; next: C | null }>,
): AsyncGenerator<T[]> {
  let cursor: C | undefined;
  do {
    const p = await page(cursor);
    yield p.items;
    cursor = p.next ?? undefined;
  } while (cursor !== undefined);
}

/** One page holding all of `items` (short lists read whole). */
export async function* onePage<T>(items: Promise<T[]>): AsyncGenerator<T[]> {
  yield await items;
}

/**
 * A streamed CSV response: BOM and header at once, then each page as it is read. Pages are
 * read only as the client takes the text (pull), so memory holds one page whatever the size.
 */
export function csvResponse<T>(
  fileName: string,
  columns: readonly CsvColumn<T>[],
  pages: AsyncIterable<T[]>,
): Response {
  const encoder = new TextEncoder();
  const iterator = pages[Symbol.asyncIterator]();
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(encoder.encode(CSV_BOM + csvHeader(columns)));
    },
    async pull(controller) {
      try {
        for (;;) {
          const next = await iterator.next();
          if (next.done) return controller.close();
          if (!next.value.length) continue;
          let chunk = '';
          for (const row of next.value) chunk += csvRow(columns, row);
          controller.enqueue(encoder.encode(chunk));
          return;
        }
      } catch (err) {
        controller.error(err);
      }
    },
    async cancel() {
      await iterator.return?.(undefined);
    },
  }, { highWaterMark: 1 });
  return new Response(stream, {
    headers: {
      'content-type': 'text/csv; charset=utf-8',
      'content-disposition': `attachment; filename="${fileName}"`,
    },
  });
}
