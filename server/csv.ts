/**
 * The one CSV format of the server: every API list (`Accept: text/csv`, server/http/csv.ts),
 * the pages' exports and the reports' zip of CSVs write by these rules.
 *
 * - RFC 4180: fields quoted when they need it, CRLF line ends.
 * - A UTF-8 byte order mark opens every file, so Excel reads accents right.
 * - The header row is always written, also when there are no rows; a list declares its
 *   columns once (`CsvColumn[]`).
 * - Times are UTC, `YYYY-MM-DD HH:MM:SS` (ISO 8601 date and time with the space separator
 *   RFC 3339 allows, which spreadsheets read as a date-time); dates stay `YYYY-MM-DD`.
 * - Text a spreadsheet would run as a formula is neutralised (`neutraliseFormula`).
 * - Numbers as numbers, booleans `true`/`false`, null empty, lists of text joined by a space,
 *   other objects as JSON.
 */

/** Every CSV file starts with this: UTF-8's byte order mark. */
export const CSV_BOM = '\ufeff';

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

const pad = (n: number) => String(n).padStart(2, '0');

/** A time in the one CSV format: UTC `YYYY-MM-DD HH:MM:SS`; `withTime: false` gives the day. */
export function csvTime(v: Date | string | number, withTime = true): string {
  const d = v instanceof Date ? v : new Date(v);
  const day = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
  return withTime
    ? `${day} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`
    : day;
}

/** Quotes a field when it holds a quote, a comma or a line end. */
export function csvQuote(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One CSV field: null → empty, Date → time, text neutralised, objects → JSON, quoted when needed. */
function csvValue(v: unknown): string {
  if (v === null || v === undefined) return '';
  let s: string;
  if (typeof v === 'string') s = neutraliseFormula(v);
  else if (v instanceof Date) s = csvTime(v);
  else if (Array.isArray(v) && v.every((x) => typeof x === 'string')) {
    s = neutraliseFormula(v.join(' '));
  } else if (typeof v === 'object') s = neutraliseFormula(JSON.stringify(v));
  else s = String(v);
  return csvQuote(s);
}

/** One column of a list's CSV: its header and how a row gives its value. */
export type CsvColumn<T> = {
  header: string;
  value: (row: T) => unknown;
  /** `time`: the value (ISO text or Date) is written in the one time format. */
  type?: 'time';
};

/** A column per listed field, its header the field's name; `times` are written as times. */
export function fieldColumns<T>(
  fields: readonly (keyof T & string)[],
  times: readonly (keyof T & string)[] = [],
): CsvColumn<T>[] {
  return fields.map((f) => ({
    header: f,
    value: (row: T) => row[f],
    ...(times.includes(f) ? { type: 'time' as const } : {}),
  }));
}

/** The header line (with CRLF) of `columns`. */
export function csvHeader<T>(columns: readonly CsvColumn<T>[]): string {
  return columns.map((c) => csvQuote(neutraliseFormula(c.header))).join(',') + '\r\n';
}

/** One CSV line (with CRLF) of `row`. */
export function csvRow<T>(columns: readonly CsvColumn<T>[], row: T): string {
  let line = '';
  for (let i = 0; i < columns.length; i++) {
    const c = columns[i];
    const v = c.value(row);
    line += (i ? ',' : '') +
      (c.type === 'time' && v !== null && v !== undefined
        ? csvTime(v as string | Date)
        : csvValue(v));
  }
  return line + '\r\n';
}
