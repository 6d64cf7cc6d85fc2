/**
 * `npm run build:agent`: bundles the agent into one ESM file, dist/vmledger-agent.mjs, that
 * runs with `node` (20+) and `deno run -A` without node_modules. @deno/dnt is JSR-only and
 * unreachable here; esbuild gives the same single-file result. `npm pack` of dist/ makes
 * the npm package (dist/package.json).
 */
import { build } from 'esbuild';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AGENT_VERSION } from '../agent/version.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'dist', 'vmledger-agent.mjs');
mkdirSync(path.dirname(out), { recursive: true });

const result = await build({
  entryPoints: [path.join(root, 'agent', 'cli.ts')],
  outfile: out,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: ['node20', 'deno2'],
  minify: false,
  sourcemap: false,
  legalComments: 'none',
  // Collectors are loaded lazily (await import) but must be inside the one file.
  splitting: false,
  // agent/cli.ts starts with a #!/usr/bin/env node line, which esbuild keeps first.
  banner: {
    js: '// vmledger-agent ' + AGENT_VERSION +
      ' — single-file bundle (esbuild); runs with node or deno run -A',
  },
  metafile: true,
});
writeFileSync(
  path.join(root, 'dist', 'package.json'),
  JSON.stringify(
    {
      name: 'vmledger-agent',
      version: AGENT_VERSION,
      description:
        'vmledger site agent: captures vCenter / Proxmox VM inventory and delivers it to a vmledger server',
      type: 'module',
      bin: { 'vmledger-agent': 'vmledger-agent.mjs' },
      files: ['vmledger-agent.mjs'],
      engines: { node: '>=20' },
      license: 'Apache-2.0',
    },
    null,
    2,
  ) + '\n',
);
const bytes = Object.values(result.metafile.outputs)[0].bytes;
console.log(`wrote ${path.relative(root, out)} (${Math.round(bytes / 1024)} KiB)`);
