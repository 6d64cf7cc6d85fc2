/**
 * `npm run bench [-- NAME ...]`: runs the benchmarks in bench/*.bench.ts (each default-exports
 * `async (args) => BenchReport | BenchReport[]`), writes bench/results/<name>.json and prints
 * a table. With names, only those run.
 *
 * Each benchmark runs in a fresh process, after the previous one's writes are flushed to
 * disk (`sync`): run in one process, a benchmark inherited the heap its predecessors grew
 * (the ingest benchmark came after 6.5 M aggregated facts and 100,000 listed VMs) and its
 * commits waited behind their write-back.
 */
import { fork, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type BenchReport, printTable, REPO_ROOT, saveReport } from '../bench/harness.ts';

const CHILD_FLAG = '--bench-file';

/** In the child: runs one benchmark file and sends its reports to the parent. */
async function runChild(file: string, args: string[]): Promise<void> {
  const mod = await import(pathToFileURL(path.join(REPO_ROOT, 'bench', file)).href);
  const out = await mod.default(args);
  process.send!(Array.isArray(out) ? out : [out]);
}

/** In the parent: runs `file` in a child process; its reports, or null if it failed. */
function runInChild(file: string, args: string[]): Promise<BenchReport[] | null> {
  return new Promise((resolve) => {
    let reports: BenchReport[] | null = null;
    const child = fork(fileURLToPath(import.meta.url), [CHILD_FLAG, file, ...args], {
      stdio: 'inherit',
    });
    child.on('message', (m) => (reports = m as BenchReport[]));
    child.on('exit', (code) => resolve(code === 0 ? reports : null));
  });
}

const childAt = process.argv.indexOf(CHILD_FLAG);
if (childAt >= 0) {
  const file = process.argv[childAt + 1];
  try {
    await runChild(file, process.argv.slice(childAt + 2));
    process.exit(0);
  } catch (err) {
    console.error(`bench/${file} failed:`, err);
    process.exit(1);
  }
}

const args = process.argv.slice(2);
const wanted = args.filter((a) => !a.startsWith('--'));
const files = readdirSync(path.join(REPO_ROOT, 'bench'))
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => wanted.length === 0 || wanted.includes(f.replace('.bench.ts', '')))
  .sort();

const reports: BenchReport[] = [];
let failures = 0;
for (const file of files) {
  console.log(`running bench/${file} ...`);
  spawnSync('sync');
  const out = await runInChild(file, args);
  if (out) { for (const r of out) reports.push(saveReport(r)); }
  else failures++;
}
printTable(reports);
console.log(
  `\n${reports.length} reports written to bench/results/${
    failures ? `; ${failures} benchmark(s) failed` : ''
  }`,
);
process.exit(failures ? 1 : 0);
