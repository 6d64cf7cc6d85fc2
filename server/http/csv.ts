/** CSV for API responses (RFC 4180): fields quoted when they need it, CRLF line ends. */

/** A plain decimal number ("-1", "2.5", "-3e-7"): a spreadsheet reads it as a number, not a formula. */
const PLAIN_NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * The one rule for every CSV this server writes (API, pages, reports): text that a
 * spreadsheet would run as a formula — starting with = + - @, a tab or a carriage return —
 * gets a leading apostrophe, so it stays text. Plain numbers (a negative one included)
 * are left as they are. VM names and annotations come from remote sites.
 */
export function neutraliseFormula(s: string): string {
  return /^[=+\-@\t\r]/.test(s) && !PLAIN_NUMBER.test(s) ? `'${s}` : s;
}

/** One CSV field: null → empty, objects → JSON, text neutralised, quoted when needed. */
export function csvValue(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'object'
    ? JSON.stringify(v)
    : typeof v === 'string'
    ? neutraliseFormula(v)
    : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One CSV line. */
export function csvLine(values: unknown[]): string {
  return values.map(csvValue).join(',') + '\r\n';
}

/** Whether the client asked for CSV (`Accept: text/csv`). */
export function wantsCsv(accept: string | undefined): boolean {
  return !!accept && /\btext\/csv\b/i.test(accept);
}

/** A streamed CSV response from pages of objects; the header comes from the first item's keys. */
export function csvResponse(
  fileName: string,
  pages: AsyncIterable<Record<string, unknown>[]>,
): Response {
  const encoder = new TextEncoder();
  let columns: string[] | null = null;
  const stream = new ReadableStream<Uint8Array>({
    async start(controller) {
      try {
        for await (const items of pages) {
          let chunk = '';
          for (const item of items) {
            if (!columns) {
              columns = Object.keys(item);
              chunk += csvLine(columns);
            }
            chunk += csvLine(columns.map((k) => item[k]));
          }
          if (chunk) controller.enqueue(encoder.encode(chunk));
        }
        controller.close();
      } catch (err) {
        controller.error(err);
      }
    },
  });
  return new Response(stream, {
    headers: {
      'content-type': 'text/csv; charset=utf-8',
      'content-disposition': `attachment; filename="${fileName}"`,
    },
  });
}
