/**
 * XLSX output with exceljs's streaming WorkbookWriter: every sheet has a bold frozen
 * header row, an autofilter, column widths and number formats; numbers are numbers and
 * times are real dates (UTC). Sheets are committed one after the other because the zip
 * inside exceljs takes its entries in order: rows of a later sheet written while an
 * earlier one is open would wait in memory.
 */
import type { Writable } from 'node:stream';
import ExcelJS from 'exceljs';
import { type Column, type ColumnType, numFmtOf, TYPE_DEFAULTS, widthOf } from './columns.ts';
import { breathe, drained, readAhead, type ReportWriter, YIELD_EVERY } from './report_writer.ts';

type Sheet = ExcelJS.Worksheet & { commit(): void };
/** exceljs's Row has a style object of its own, absent from its typings. */
type StyledRow = ExcelJS.Row & { style: Partial<ExcelJS.Style> };

/** A cell value for exceljs from a query value of the column's type. */
function xlsxValue(type: ColumnType, v: unknown): ExcelJS.CellValue {
  if (v === null || v === undefined) return null;
  if (type === 'date' || type === 'datetime') return v instanceof Date ? v : new Date(String(v));
  if (type === 'bool') return Boolean(v);
  return type === 'text' ? String(v) : Number(v);
}

/**
 * exceljs hands a sheet's XML to its zip without waiting for it to be taken (its StreamBuf
 * writes into the zip entry's PassThrough and ignores the answer), so rows made faster
 * than they are deflated pile up as Buffers outside the worker's bounded heap: 130 MB of
 * them at 100,000 VMs. `zipCatchUp` waits while more than this is queued in that
 * PassThrough (reached through exceljs internals; if they change, it simply stops waiting).
 */
const ZIP_BACKLOG_BYTES = 4 * 1024 * 1024;

type ZipEntryInternals = {
  stream?: { pipes?: Array<{ _writableState?: { length?: number } } & NodeJS.EventEmitter> };
};

/** Waits until exceljs's zip has taken all but ZIP_BACKLOG_BYTES of a sheet's XML. */
async function zipCatchUp(ws: Sheet, out: Writable): Promise<void> {
  const entry = (ws as unknown as ZipEntryInternals).stream?.pipes?.[0];
  while (entry && (entry._writableState?.length ?? 0) > ZIP_BACKLOG_BYTES) {
    await drained(out, entry, 'drain');
  }
}

const BOLD = { bold: true };
const HEADER_FILL: ExcelJS.Fill = {
  type: 'pattern',
  pattern: 'solid',
  fgColor: { argb: 'FFE8EEF4' },
};

/** Writes a ReportWriter's output as an XLSX workbook to `out`. */
export function createXlsxWriter(out: Writable): ReportWriter {
  const wb = new ExcelJS.stream.xlsx.WorkbookWriter({
    stream: out,
    useStyles: true,
    useSharedStrings: false,
  });
  wb.creator = 'vmledger';
  wb.created = new Date();

  function headerRow(ws: Sheet, columns: Column[]) {
    const row = ws.addRow(columns.map((c) => c.header));
    row.font = BOLD;
    row.eachCell((cell) => {
      cell.fill = HEADER_FILL;
      cell.numFmt = '@';
      cell.alignment = { wrapText: true, vertical: 'top' };
    });
    row.commit();
  }

  return {
    summary(s) {
      // Two leading columns for the fields; blocks below reuse the sheet's grid, so the
      // widest block sets the widths.
      const widest = s.blocks.reduce(
        (a, b) => (b.spec.columns.length > a.length ? b.spec.columns : a),
        [] as Column[],
      );
      const ws = wb.addWorksheet('Summary', { views: [{ state: 'normal' }] }) as Sheet;
      ws.columns = widest.map((c, i) => ({
        width: Math.max(widthOf(c), i === 0 ? 30 : i === 1 ? 24 : 0),
      }));
      const title = ws.addRow([s.title]);
      title.font = { bold: true, size: 14 };
      title.commit();
      ws.addRow([]).commit();
      for (const f of s.fields) {
        const row = ws.addRow([f.label, xlsxValue(f.type, f.value)]);
        row.getCell(1).font = BOLD;
        const fmt = TYPE_DEFAULTS[f.type].numFmt;
        if (fmt) row.getCell(2).numFmt = fmt;
        row.getCell(2).alignment = { horizontal: 'left' };
        row.commit();
      }
      for (const b of s.blocks) {
        ws.addRow([]).commit();
        const t = ws.addRow([b.title]);
        t.font = { bold: true, size: 12 };
        t.commit();
        if (b.note) ws.addRow([b.note]).commit();
        headerRow(ws, b.spec.columns);
        for (const r of b.rows) {
          const row = ws.addRow(b.spec.columns.map((c) => xlsxValue(c.type, r[c.key])));
          b.spec.columns.forEach((c, i) => {
            const fmt = numFmtOf(c);
            if (fmt) row.getCell(i + 1).numFmt = fmt;
          });
          if (r.source === 'All sources') row.font = BOLD;
          row.commit();
        }
      }
      ws.commit();
    },

    async table(spec, batches) {
      const cols = spec.columns;
      const ws = wb.addWorksheet(spec.sheet, {
        views: [{ state: 'frozen', ySplit: 1, xSplit: 0 }],
      }) as Sheet;
      ws.columns = cols.map((c) => ({
        key: c.key,
        width: widthOf(c),
        style: numFmtOf(c) ? { numFmt: numFmtOf(c) } : {},
      }));
      headerRow(ws, cols);
      // One style object per column (and per column of a bold row), shared by its cells:
      // exceljs caches a style's id by object identity, and renders to XML and looks up
      // every style object it has not seen — a fresh one per cell, as exceljs gives each
      // new cell, was over half of the write. The objects hold what the fresh ones would.
      const plain = cols.map((c) => (numFmtOf(c) ? { numFmt: numFmtOf(c) } : {}));
      const bold = plain.map((st) => ({ ...st, font: BOLD }));
      const plainRow: Partial<ExcelJS.Style> = {};
      const boldRow: Partial<ExcelJS.Style> = { font: BOLD };
      let n = 0;
      for await (const batch of readAhead(batches)) {
        for (const r of batch) {
          const values = new Array(cols.length);
          for (let i = 0; i < cols.length; i++) values[i] = xlsxValue(cols[i].type, r[cols[i].key]);
          const row = ws.addRow(values) as StyledRow;
          const isBold = r.source === 'All sources';
          const styles = isBold ? bold : plain;
          row.style = isBold ? boldRow : plainRow;
          for (let i = 0; i < cols.length; i++) row.getCell(i + 1).style = styles[i];
          row.commit();
          if (++n % YIELD_EVERY === 0) {
            await breathe(out);
            await zipCatchUp(ws, out);
          }
        }
      }
      ws.autoFilter = { from: 'A1', to: { row: n + 1, column: cols.length } };
      ws.commit();
      await breathe(out);
      return n;
    },

    async finish() {
      // exceljs's commit never settles once its output has failed: wait for whichever
      // comes first, the output finishing or failing.
      if (out.destroyed) throw out.errored ?? new Error('report output closed early');
      const ended = drained(out, out, 'finish');
      ended.catch(() => {}); // awaited below; a failure before then is not unhandled
      await Promise.race([wb.commit(), ended]);
      await ended;
    },
  };
}
