/**
 * docs/agent.md works as copied: every JSON config block in it is accepted by the agent's
 * real config loader, and the install steps it promises (service user, folders, units for
 * Node and Deno, binding with `check`'s identity output) are there with the same paths.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadAgentConfig } from '../../agent/config.ts';

const doc = readFileSync(
  fileURLToPath(new URL('../../docs/agent.md', import.meta.url)),
  'utf8',
);
const blocks = (lang: string) =>
  [...doc.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]);

const test = suite('docs/agent.md');

test('every config example loads with the real config loader', async () => {
  const configs = blocks('json');
  assert.ok(configs.length >= 1, 'a config example');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vml-docs-'));
  try {
    for (const [i, text] of configs.entries()) {
      const file = path.join(dir, `agent${i}.json`);
      writeFileSync(file, text);
      const config = await loadAgentConfig(file); // throws naming the field on any mistake
      assert.is(config.spoolDir, '/var/lib/vmledger/spool');
      assert.is((config.server as Record<string, unknown>).tokenFile, '/etc/vmledger/token');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('service user, folders, and units for Node and Deno use the same paths', () => {
  const shell = blocks('sh').join('\n');
  assert.match(shell, /useradd --system .* vmledger/);
  assert.match(shell, /install -d .*\/etc\/vmledger/);
  assert.match(shell, /install -d .* \/var\/lib\/vmledger\/spool/);
  const units = blocks('ini');
  assert.is(units.length, 2);
  assert.match(
    units[0],
    /^ExecStart=\/usr\/bin\/node .*\/opt\/vmledger\/vmledger-agent\.mjs run --config \/etc\/vmledger\/agent\.json$/m,
  );
  assert.match(
    units[1],
    /^ExecStart=\S*deno run -A \/opt\/vmledger\/vmledger-agent\.mjs run --config \/etc\/vmledger\/agent\.json$/m,
  );
  for (const unit of units) {
    assert.match(unit, /^User=vmledger$/m);
    assert.match(unit, /^ReadWritePaths=\/var\/lib\/vmledger$/m);
  }
});

test('binding uses the identity line check prints', () => {
  assert.match(doc, /source identity \(for token binding\): proxmox:pve-lab/);
  assert.match(
    doc,
    /npm run token -- create --role agent --name "site-a agent" --sources proxmox:pve-lab/,
  );
});

test.run();
