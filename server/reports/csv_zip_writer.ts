/**
 * CSV output: a zip with one CSV file per table (the RVTools "export all to CSV" shape),
 * by the server's one set of CSV rules (`server/csv.ts`): RFC 4180 quoting, CRLF line
 * ends, a UTF-8 byte order mark, times `YYYY-MM-DD HH:MM:SS` in UTC (the headers say so),
 * formula-looking text neutralised. Numbers are the exact database text, booleans
 * true/false, empty for null.
 */
import type { Writable } from 'node:stream';
import type { Column, ColumnType, Row } from './columns.ts';
import { breathe, readAhead, type ReportWriter, YIELD_EVERY } from './report_writer.ts';
import { ZipStream } from './zip_stream.ts';
import { CSV_BOM, csvQuote, csvTime, neutraliseFormula } from '../csv.ts';

/** One CSV field from a query value of the column's type. */
function csvField(type: ColumnType, v: unknown): string {
  if (v === null || v === undefined) return '';
  let s: string;
  if (type === 'date' || type === 'datetime') {
    s = csvTime(v instanceof Date ? v : new Date(String(v)), type === 'datetime');
  } else if (type === 'bool') s = v ? 'true' : 'false';
  else s = String(v);
  if (type === 'text') s = neutraliseFormula(s);
  return csvQuote(s);
}

/** One CSV line (with CRLF) of a row. */
function csvLine(columns: Column[], r: Row): string {
  let line = '';
  for (let i = 0; i < columns.length; i++) {
    line += (i ? ',' : '') + csvField(columns[i].type, r[columns[i].key]);
  }
  return line + '\r\n';
}

/** The first line of a file: the byte order mark and the headers. */
function header(headers: string[]): string {
  return CSV_BOM + headers.map((h) => csvField('text', h)).join(',') + '\r\n';
}

/** Writes a ReportWriter's output as a zip of CSV files to `out`. */
export function createCsvZipWriter(out: Writable): ReportWriter {
  const zip = new ZipStream(out);
  const writer: ReportWriter = {
    async summary(s) {
      let text = header(['Field', 'Value']);
      for (const f of s.fields) {
        text += `${csvField('text', f.label)},${csvField(f.type, f.value)}\r\n`;
      }
      await zip.add('summary.csv', [Buffer.from(text, 'utf8')]);
      for (const b of s.blocks) await writer.table(b.spec, [b.rows]);
    },

    async table(spec, batches) {
      let n = 0;
      await zip.add(
        `${spec.csv}.csv`,
        (async function* () {
          yield Buffer.from(header(spec.columns.map((c) => c.header)), 'utf8');
          for await (const batch of readAhead(batches)) {
            let text = '';
            for (const r of batch) {
              text += csvLine(spec.columns, r);
              if (++n % YIELD_EVERY === 0) {
                yield Buffer.from(text, 'utf8');
                text = '';
                await breathe(out);
              }
            }
            if (text) yield Buffer.from(text, 'utf8');
          }
        })(),
      );
      return n;
    },

    finish: () => zip.finish(),
  };
  return writer;
}
