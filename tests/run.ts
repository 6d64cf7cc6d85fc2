/**
 * The uvu runner for both runtimes. Imports every suite of the chosen groups, runs them
 * with uvu's own `exec`, and ends with the one line CI reads: `N passed, N failed`.
 *
 *   node tests/run.ts [--group unit,integration,system] [files...]
 *   deno run -A tests/run.ts --group unit
 *
 * Groups are folders: tests/unit (pure, both runtimes), tests/integration (PostgreSQL),
 * tests/system (external processes: vcsim, Proxmox fake, Chromium, LibreOffice).
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const groupArg = args.indexOf('--group');
const groups = groupArg >= 0 ? args[groupArg + 1].split(',') : ['unit', 'integration', 'system'];
const explicit = args.filter((a, i) => !a.startsWith('--') && (groupArg < 0 || i !== groupArg + 1));

function suitesIn(dir: string): string[] {
  let out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) out = out.concat(suitesIn(full));
    else if (name.endsWith('.test.ts')) out.push(full);
  }
  return out;
}

const files = explicit.length ? explicit.map((f) => path.resolve(f)) : groups.flatMap((g) => {
  try {
    return suitesIn(path.join(root, g));
  } catch {
    return [];
  }
});

// uvu's deferred mode: each imported file queues its suites; exec() runs them in order.
const g = globalThis as any;
g.UVU_DEFER = 1;
g.UVU_QUEUE = [];
const uvu = await import('uvu');

let output = '';
const write = process.stdout.write.bind(process.stdout);
(process.stdout as any).write = (chunk: any, ...rest: any[]) => {
  output += String(chunk);
  return write(chunk, ...rest);
};

let importFailures = 0;
for (const [i, file] of files.entries()) {
  g.UVU_INDEX = i;
  g.UVU_QUEUE.push([path.relative(process.cwd(), file)]);
  try {
    await import(pathToFileURL(file).href);
  } catch (err) {
    importFailures++;
    console.error(`could not load ${file}:`, err);
  }
}
await uvu.exec(false);
(process.stdout as any).write = write;

const plain = output.replace(/\x1b\[[0-9;]*m/g, '');
const total = Number(/Total:\s+(\d+)/.exec(plain)?.[1] ?? 0);
const passed = Number(/Passed:\s+(\d+)/.exec(plain)?.[1] ?? 0);
const skipped = Number(/Skipped:\s+(\d+)/.exec(plain)?.[1] ?? 0);
const failed = total - passed - skipped + importFailures;
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 ? 1 : 0);
