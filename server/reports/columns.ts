/**
 * A table column as both writers see it: the row key, the header (with its unit), the
 * value type, and how a spreadsheet should show it. Values come straight from the query
 * (numeric as exact text, bigint as number, timestamps as Date); each writer converts them
 * by type, so XLSX cells are numbers and dates while CSV keeps the exact database text.
 */

export type ColumnType = 'text' | 'int' | 'decimal' | 'ratio' | 'date' | 'datetime' | 'bool';

export type Column = {
  key: string;
  header: string;
  type: ColumnType;
  /** Width in characters; a default by type otherwise. */
  width?: number;
  /** Excel number format; a default by type otherwise. */
  numFmt?: string;
};

export type Row = Record<string, unknown>;

/** A table of a report: XLSX sheet name, CSV file name (without .csv), columns. */
export type TableSpec = { sheet: string; csv: string; columns: Column[] };

/** Width in characters and Excel number format of each type, where a column sets none. */
export const TYPE_DEFAULTS: Record<ColumnType, { width: number; numFmt?: string }> = {
  text: { width: 18 },
  int: { width: 12, numFmt: '#,##0' },
  decimal: { width: 14, numFmt: '#,##0.00' },
  ratio: { width: 11, numFmt: '0.00%' },
  date: { width: 12, numFmt: 'yyyy-mm-dd' },
  datetime: { width: 20, numFmt: 'yyyy-mm-dd hh:mm:ss' },
  bool: { width: 9 },
};

/** The Excel number format of a column. */
export function numFmtOf(c: Column): string | undefined {
  return c.numFmt ?? TYPE_DEFAULTS[c.type].numFmt;
}

/** The width of a column: at least its header, at most 60 characters. */
export function widthOf(c: Column): number {
  return Math.min(
    60,
    Math.max(c.width ?? TYPE_DEFAULTS[c.type].width, Math.ceil(c.header.length * 0.9) + 2),
  );
}

/** Columns of one type: key, header, and width and format where not the type's default. */
const of = (type: ColumnType) => (key: string, header: string, width?: number, numFmt?: string) =>
  ({ key, header, type, width, numFmt }) satisfies Column;

/** Short constructors keep the layouts readable. */
export const col = {
  text: of('text'),
  int: of('int'),
  dec: of('decimal'),
  ratio: of('ratio'),
  date: of('date'),
  time: of('datetime'),
  bool: of('bool'),
};
