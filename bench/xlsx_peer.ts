/**
 * The bare exceljs peer of the workbook benchmarks: the same sheets, columns and rows
 * written with nothing but exceljs's streaming `WorkbookWriter`, the way its README shows
 * (column widths and number formats as column styles, a bold header row, `addRow(values)
 * .commit()` per row), to a file. A report benchmark runs it in the same run as the real
 * path and states its goal as a ratio to it (e.g. "monthly workbook ≤ 1.5× bare exceljs").
 *
 * Use it in-process (`writeBareXlsx`: time only; the process's peak RSS is whatever ran
 * before) or, to measure its peak RSS alone, in a fresh child (`bareXlsxInChild`): the
 * child imports a module of yours, calls one of its exports with your arguments to get
 * the sheets, writes them and reports time and peak RSS.
 *
 *   const r = await bareXlsxInChild(import.meta.url, 'peerSheets', { vms: 100000 });
 *   // r = { ms, cpuMs, maxRssMb, rows, bytes }
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ExcelJS from 'exceljs';
import { peakRssMb } from './harness.ts';

/** One column: header text, width in characters, Excel number format (none: General). */
export type PeerColumn = { header: string; width: number; numFmt?: string };

/** A final cell value: number, Date, text, boolean or null. */
export type PeerCell = ExcelJS.CellValue;

/** One sheet: its name, columns, and its rows as final cell values. */
export type PeerSheet = {
  name: string;
  columns: PeerColumn[];
  rows: () => Iterable<PeerCell[]> | AsyncIterable<PeerCell[]>;
};

/** Wall and CPU time of the write, peak RSS of the process, rows written (all sheets), file size. */
export type PeerResult = {
  ms: number;
  cpuMs: number;
  maxRssMb: number;
  rows: number;
  bytes: number;
};

/**
 * `sharedStyles`: give every cell of a column one shared style object instead of the
 * fresh one exceljs makes per cell (exceljs caches style ids by object identity) — not
 * what the README does, but exceljs at its fastest; off by default.
 */
export type PeerOptions = { sharedStyles?: boolean };

/** Rows between two yields to the event loop, so the zip compresses as rows come (as a real producer would). */
const YIELD_EVERY = 1000;

/** Writes `sheets` to `file` with a bare exceljs streaming writer; times it from the first byte of work to the file's close. */
export async function writeBareXlsx(
  file: string,
  sheets: PeerSheet[],
  o: PeerOptions = {},
): Promise<PeerResult> {
  const started = performance.now();
  const cpu = process.cpuUsage();
  const wb = new ExcelJS.stream.xlsx.WorkbookWriter({
    filename: file,
    useStyles: true,
    useSharedStrings: false,
  });
  let rows = 0;
  for (const s of sheets) {
    const ws = wb.addWorksheet(s.name, { views: [{ state: 'frozen', ySplit: 1, xSplit: 0 }] });
    ws.columns = s.columns.map((c) => ({
      width: c.width,
      style: c.numFmt ? { numFmt: c.numFmt } : {},
    }));
    const header = ws.addRow(s.columns.map((c) => c.header));
    header.font = { bold: true };
    header.commit();
    const styles = s.columns.map((c) => (c.numFmt ? { numFmt: c.numFmt } : {}));
    let n = 0;
    for await (const values of s.rows()) {
      const row = ws.addRow(values);
      if (o.sharedStyles) {
        for (let i = 0; i < styles.length; i++) row.getCell(i + 1).style = styles[i];
      }
      row.commit();
      if (++n % YIELD_EVERY === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    ws.autoFilter = { from: 'A1', to: { row: n + 1, column: s.columns.length } };
    ws.commit();
    rows += n;
  }
  await wb.commit();
  const used = process.cpuUsage(cpu);
  return {
    ms: performance.now() - started,
    cpuMs: (used.user + used.system) / 1000,
    maxRssMb: peakRssMb(),
    rows,
    bytes: statSync(file).size,
  };
}

const SELF = fileURLToPath(import.meta.url);

/**
 * Runs `writeBareXlsx` in a fresh Node process: `moduleUrl`'s export `exportName`, called
 * with `args` (JSON), gives the sheets. The file goes to a temporary directory, removed after.
 */
export function bareXlsxInChild(
  moduleUrl: string,
  exportName: string,
  args: unknown,
  o: PeerOptions = {},
): Promise<PeerResult> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vml-xlsx-peer-'));
  const file = path.join(dir, 'peer.xlsx');
  return new Promise<PeerResult>((resolve, reject) => {
    const p = spawn(
      process.execPath,
      [SELF, 'peer', moduleUrl, exportName, JSON.stringify(args), file, JSON.stringify(o)],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.on('error', reject);
    p.on('close', (code) => {
      if (code !== 0) return reject(new Error(`xlsx peer exited ${code}: ${out}`));
      resolve(JSON.parse(out.trim().split('\n').pop() ?? ''));
    });
  }).finally(() => rmSync(dir, { recursive: true, force: true }));
}

// Child mode: `node bench/xlsx_peer.ts peer <moduleUrl> <exportName> <argsJson> <file> [optionsJson]`. Not
// a top-level await: the module named usually imports this one, and importing it while this
// one is still evaluating would wait forever.
async function runChild([moduleUrl, exportName, argsJson, file, optionsJson]: string[]) {
  const mod = await import(
    moduleUrl.startsWith('file:') ? moduleUrl : pathToFileURL(path.resolve(moduleUrl)).href
  );
  const sheets = (await mod[exportName](JSON.parse(argsJson))) as PeerSheet[];
  const o = optionsJson ? (JSON.parse(optionsJson) as PeerOptions) : {};
  console.log(JSON.stringify(await writeBareXlsx(file, sheets, o)));
}
if (process.argv[1] && path.resolve(process.argv[1]) === SELF && process.argv[2] === 'peer') {
  runChild(process.argv.slice(3)).catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
