/**
 * `npm run bench [-- NAME ...]`: runs the benchmarks in bench/*.bench.ts (each default-exports
 * `async (args) => BenchReport | BenchReport[]`), writes bench/results/<name>.json and prints
 * a table. With names, only those run.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { printTable, REPO_ROOT, saveReport, type BenchReport } from '../bench/harness.ts';

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const files = readdirSync(path.join(REPO_ROOT, 'bench'))
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => wanted.length === 0 || wanted.includes(f.replace('.bench.ts', '')))
  .sort();

const reports: BenchReport[] = [];
let failures = 0;
for (const file of files) {
  console.log(`running bench/${file} ...`);
  try {
    const mod = await import(pathToFileURL(path.join(REPO_ROOT, 'bench', file)).href);
    const out = await mod.default(process.argv.slice(2));
    for (const r of Array.isArray(out) ? out : [out]) reports.push(saveReport(r));
  } catch (err) {
    failures++;
    console.error(`bench/${file} failed:`, err);
  }
}
printTable(reports);
console.log(`\n${reports.length} reports written to bench/results/${failures ? `; ${failures} benchmark(s) failed` : ''}`);
process.exit(failures ? 1 : 0);
