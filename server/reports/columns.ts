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

const DEFAULT_FORMAT: Record<ColumnType, string | undefined> = {
  text: undefined,
  int: '#,##0',
  decimal: '#,##0.00',
  ratio: '0.00%',
  date: 'yyyy-mm-dd',
  datetime: 'yyyy-mm-dd hh:mm:ss',
  bool: undefined,
};

const DEFAULT_WIDTH: Record<ColumnType, number> = {
  text: 18,
  int: 12,
  decimal: 14,
  ratio: 11,
  date: 12,
  datetime: 20,
  bool: 9,
};

/** The Excel number format of a column. */
export function numFmtOf(c: Column): string | undefined {
  return c.numFmt ?? DEFAULT_FORMAT[c.type];
}

/** The width of a column: at least its header, at most 60 characters. */
export function widthOf(c: Column): number {
  return Math.min(
    60,
    Math.max(c.width ?? DEFAULT_WIDTH[c.type], Math.ceil(c.header.length * 0.9) + 2),
  );
}

/** Columns of one type: key, header, and width and format where not the type's default. */
function of(type: ColumnType) {
  return (key: string, header: string, width?: number, numFmt?: string): Column => ({
    key,
    header,
    type,
    width,
    numFmt,
  });
}

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
