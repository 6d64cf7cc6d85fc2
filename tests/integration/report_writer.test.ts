/**
 * The report writers' speed-ups keep their promises: `readAhead` over a real postgres.js
 * cursor yields every batch in order, and stopped early it closes the cursor so the
 * transaction's connection goes on answering (a cursor closed while its next fetch is
 * under way never settles); the XLSX writer's shared per-column styles give every cell its
 * column's number format and only "All sources" rows their bold font; a writer whose
 * output fails (the chunk store) fails too, instead of waiting forever for a zip that
 * stopped (exceljs's commit never settles then).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Writable } from 'node:stream';
import ExcelJS from 'exceljs';
import type { Sql } from '../../server/db/connect.ts';
import { col, numFmtOf, type Row, type TableSpec } from '../../server/reports/columns.ts';
import { readAhead } from '../../server/reports/report_writer.ts';
import { createXlsxWriter } from '../../server/reports/xlsx_writer.ts';
import { createCsvZipWriter } from '../../server/reports/csv_zip_writer.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';

const test = suite('report writers: read-ahead cursor, shared XLSX styles');
let db: TestDatabase;

test.before(async () => {
  db = await createTestDatabase('report_writer', { migrate: false });
});
test.after(() => db.drop());

/** `p`, or a rejection after `ms` saying what did not finish. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish in ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

const numbers = (sql: Sql, n: number) =>
  sql`select i from generate_series(1, ${n}::int) i order by i`.cursor(100);

test('readAhead yields every cursor batch, in order', async () => {
  await db.sql.begin(async (tx) => {
    const seen: number[] = [];
    let batches = 0;
    for await (const batch of readAhead(numbers(tx as unknown as Sql, 1050))) {
      batches++;
      for (const r of batch) seen.push(r.i as number);
    }
    assert.is(batches, 11);
    assert.equal(seen, Array.from({ length: 1050 }, (_, i) => i + 1));
  });
});

test('readAhead stopped early closes the cursor; the transaction goes on', async () => {
  const after = await within(
    db.sql.begin(async (tx) => {
      let first = 0;
      for await (const batch of readAhead(numbers(tx as unknown as Sql, 10_000))) {
        first = batch.length;
        break; // the next batch is already asked for
      }
      assert.is(first, 100);
      const [r] = await tx`select 42 as answer`;
      return r.answer as number;
    }),
    10_000,
    'a query after an early stop',
  );
  assert.is(after, 42);
});

test('readAhead stopped by an error closes the cursor and passes the error on', async () => {
  const err = await within(
    db.sql.begin(async (tx) => {
      for await (const _ of readAhead(numbers(tx as unknown as Sql, 10_000))) {
        throw new Error('writer failed');
      }
    }).catch((e: Error) => e),
    10_000,
    'a transaction after an error mid-read',
  );
  assert.instance(err, Error);
  assert.is((err as Error).message, 'writer failed');
  const [r] = await db.sql`select 1 as one`;
  assert.is(r.one, 1);
});

const SPEC: TableSpec = {
  sheet: 'T',
  csv: 't',
  columns: [
    col.text('source', 'Source'),
    col.int('n', 'Count'),
    col.dec('x', 'Amount'),
    { ...col.dec('y', 'Precise'), numFmt: '#,##0.000' },
    col.ratio('r', 'Share'),
    col.date('d', 'Day'),
    col.time('t', 'At (UTC)'),
    col.bool('b', 'Flag'),
  ],
};

test('XLSX cells carry their column number format; only "All sources" rows are bold', async () => {
  const chunks: Buffer[] = [];
  const out = new Writable({
    write(c, _e, cb) {
      chunks.push(c);
      cb();
    },
  });
  const w = createXlsxWriter(out);
  const rows: Row[] = Array.from({ length: 2500 }, (_, i) => ({
    source: i % 7 === 3 ? 'All sources' : `src-${i}`,
    n: i,
    x: `${i}.25`,
    y: `${i}.125`,
    r: '0.5',
    d: new Date(Date.UTC(2026, 9, 1 + (i % 28))),
    t: new Date(Date.UTC(2026, 9, 1, i % 24)),
    b: i % 2 === 0,
  }));
  const batches = [rows.slice(0, 1200), rows.slice(1200)];
  assert.is(await w.table(SPEC, batches), 2500);
  await w.finish();

  const wb = new ExcelJS.Workbook();
  await wb.xlsx.load(Buffer.concat(chunks) as unknown as ArrayBuffer);
  const ws = wb.getWorksheet('T')!;
  assert.is(ws.rowCount, 2501);
  for (let i = 0; i < rows.length; i++) {
    const row = ws.getRow(i + 2);
    const bold = rows[i].source === 'All sources';
    SPEC.columns.forEach((c, j) => {
      const cell = row.getCell(j + 1);
      assert.is(cell.numFmt, numFmtOf(c), `row ${i + 2} ${c.header} format`);
      assert.is(Boolean(cell.font?.bold), bold, `row ${i + 2} ${c.header} bold`);
    });
  }
  assert.is(ws.getRow(2).getCell(3).value, 0.25);
  assert.is(ws.getRow(5).getCell(1).value, 'All sources');
});

for (
  const [format, create] of [['XLSX', createXlsxWriter], ['CSV zip', createCsvZipWriter]] as const
) {
  test(`${format} writer whose output fails mid-way rejects instead of waiting forever`, async () => {
    let written = 0;
    const out = new Writable({
      highWaterMark: 64 * 1024,
      write(c, _e, cb) {
        written += c.length;
        // Slow, then failing: the zip falls behind the rows, then its output is gone.
        if (written > 256 * 1024) return cb(new Error('chunk store failed'));
        setTimeout(cb, 5);
      },
    });
    out.on('error', () => {});
    const w = create(out);
    function* batches() {
      for (let b = 0; b < 200; b++) {
        yield Array.from({ length: 1000 }, (_, i) => ({
          source: `source-${b}-${i}`.repeat(8),
          n: i,
          x: `${i}.5`,
          y: `${i}.25`,
          r: '0.5',
          d: new Date(Date.UTC(2026, 9, 1)),
          t: new Date(Date.UTC(2026, 9, 1, i % 24)),
          b: true,
        }));
      }
    }
    const outcome = await within(
      (async () => {
        await w.table(SPEC, batches());
        await w.finish();
      })().then(() => 'finished', (e: Error) => e.message),
      60_000,
      `a ${format} write to a failed output`,
    );
    assert.is(outcome, 'chunk store failed');
  });
}

test.run();
