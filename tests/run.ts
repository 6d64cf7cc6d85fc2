/**
 * The uvu runner for both runtimes. Imports every suite of the chosen groups, runs them
 * with uvu's own `exec`, and ends with the one line CI reads: `N passed, N failed`.
 *
 *   node tests/run.ts [--group unit,integration,system,drills] [files...]
 *   deno run -A tests/run.ts --group unit
 *
 * Groups are folders: tests/unit (pure, both runtimes), tests/integration (PostgreSQL),
 * tests/system (external processes: vcsim, Proxmox fake, Chromium, LibreOffice), tests/drills
 * (faults and scale on real processes: PostgreSQL stopped or restarted, several server nodes,
 * a streaming replica, backup and restore; mostly waiting).
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath, pathToFileURL } from 'node:url';

const GROUPS = ['unit', 'integration', 'system', 'drills'];
const root = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);

/** Reads the command line; anything it does not know stops the run (a typo must not widen it). */
function parseArgs(argv: string[]): { groups: string[]; files: string[] } {
  let groups = GROUPS;
  const files: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--group') {
      groups = (argv[++i] ?? '').split(',').filter(Boolean);
      const unknown = groups.filter((x) => !GROUPS.includes(x));
      if (!groups.length || unknown.length) {
        usage(`unknown group: ${unknown.join(',') || '(none)'}`);
      }
    } else if (a.startsWith('-')) usage(`unknown option: ${a}`);
    else files.push(a);
  }
  return { groups, files };
}

function usage(problem: string): never {
  console.error(`tests/run.ts: ${problem}`);
  console.error('usage: tests/run.ts [--group unit,integration,system,drills] [files...]');
  process.exit(2);
}

const { groups, files: explicit } = parseArgs(args);

function suitesIn(dir: string): string[] {
  let out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) out = out.concat(suitesIn(full));
    else if (name.endsWith('.test.ts')) out.push(full);
  }
  return out;
}

// A folder given on the command line stands for every suite under it.
const files = explicit.length
  ? explicit.flatMap((f) =>
    statSync(f).isDirectory() ? suitesIn(path.resolve(f)) : [path.resolve(f)]
  )
  : groups.flatMap((g) => {
    try {
      return suitesIn(path.join(root, g));
    } catch {
      return [];
    }
  });

// uvu's deferred mode: each imported file queues its suites; exec() runs them in order.
const uvuGlobals = globalThis as typeof globalThis & {
  UVU_DEFER: number;
  UVU_QUEUE: unknown[][];
  UVU_INDEX: number;
};
uvuGlobals.UVU_DEFER = 1;
uvuGlobals.UVU_QUEUE = [];
const uvu = await import('uvu');

// uvu prints its totals and returns nothing: keep a copy of what it writes to read them.
// uvu prints each file's path before its suites: when it does, the previous file ended. The
// slowest files are listed at the end (the suite's time is kept in check file by file).
let output = '';
const fileTimes: { file: string; started: number; seconds?: number }[] = [];
const FILE_LINE = /^\S+\.test\.ts$/m;
function noteFile(text: string) {
  const m = FILE_LINE.exec(
    text.replace(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g'), ''),
  );
  if (!m) return;
  const now = performance.now();
  const last = fileTimes.at(-1);
  if (last) last.seconds = (now - last.started) / 1000;
  fileTimes.push({ file: m[0], started: now });
}
const write = process.stdout.write;
process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
  const text = typeof chunk === 'string' ? chunk : new TextDecoder().decode(chunk);
  output += text;
  noteFile(text);
  return Reflect.apply(write, process.stdout, [chunk, ...rest]);
}) as typeof process.stdout.write;

let importFailures = 0;
for (const [i, file] of files.entries()) {
  uvuGlobals.UVU_INDEX = i;
  uvuGlobals.UVU_QUEUE.push([path.relative(process.cwd(), file)]);
  try {
    await import(pathToFileURL(file).href);
  } catch (err) {
    importFailures++;
    console.error(`could not load ${file}:`, err);
  }
}
await uvu.exec(false);
process.stdout.write = write;
const lastFile = fileTimes.at(-1);
if (lastFile && lastFile.seconds === undefined) {
  lastFile.seconds = (performance.now() - lastFile.started) / 1000;
}
if (fileTimes.length > 1) {
  const slowest = [...fileTimes].sort((a, b) => b.seconds! - a.seconds!).slice(0, 8);
  console.log(
    '\nslowest files: ' + slowest.map((f) => `${f.file} ${f.seconds!.toFixed(1)} s`).join(', '),
  );
}

// Colour codes (uvu colours its totals on a terminal) are ESC [ … m.
const plain = output.replace(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g'), '');
const total = Number(/Total:\s+(\d+)/.exec(plain)?.[1] ?? 0);
const passed = Number(/Passed:\s+(\d+)/.exec(plain)?.[1] ?? 0);
const skipped = Number(/Skipped:\s+(\d+)/.exec(plain)?.[1] ?? 0);
// uvu's total counts the tests that ran; skipped ones are not in it.
const failed = total - passed + importFailures;
// Suites skipped for a missing system part said so when they loaded; say it again here.
const { skipNotes } = await import('./support/parts.ts');
if (skipNotes.length) console.log('\n' + skipNotes.join('\n'));
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 ? 1 : 0);
