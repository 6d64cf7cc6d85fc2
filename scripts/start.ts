/**
 * `npm start`: the server (with its embedded PostgreSQL unless DATABASE_URL is set) and,
 * unless VMLEDGER_DEMO=0, a demo agent run as a separate process with its own agent
 * token, plus a one-time backfill of demo history so every page has data on first open.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { announce, configOrExit, onShutdown, startServer } from '../server/main.ts';
import { ensureToken, newTokenValue } from '../server/auth/tokens.ts';
import { log } from '../server/log.ts';
import { backfillDemoHistory, startDemoBenchmark } from './demo_backfill.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const config = configOrExit();
const running = await startServer(config);
announce(running);

let agent: ChildProcess | null = null;
if (config.demo) {
  const tokenFile = path.join(config.dataDir, 'demo-agent-token');
  const token = existsSync(tokenFile) ? readFileSync(tokenFile, 'utf8').trim() : newTokenValue();
  await ensureToken(running.db.sql, { name: 'demo agent', role: 'agent', value: token });
  writeFileSync(tokenFile, token + '\n', { mode: 0o600 });
  const agentConfig = {
    server: { url: running.url, tokenFile },
    spoolDir: path.join(config.dataDir, 'demo-spool'),
    heartbeatSeconds: 30,
    sources: [
      {
        name: 'demo-vcenter',
        kind: 'demo',
        flavor: 'vcenter',
        vms: 500,
        seed: 1,
        intervalSeconds: 60,
      },
      {
        name: 'demo-proxmox',
        kind: 'demo',
        flavor: 'proxmox',
        vms: 500,
        seed: 1,
        intervalSeconds: 60,
      },
    ],
  };
  const configFile = path.join(config.dataDir, 'demo-agent.json');
  writeFileSync(configFile, JSON.stringify(agentConfig, null, 2) + '\n', { mode: 0o600 });
  agent = spawn(process.execPath, [
    path.join(root, 'agent/cli.ts'),
    'run',
    '--config',
    configFile,
    '--log-level',
    'warn',
  ], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  agent.on('exit', (code, signal) => {
    if (code !== 0 && signal !== 'SIGTERM') log.warn('demo agent exited', { code, signal });
  });
  console.log(
    `demo agent: running (500 VMs in 2 sources, a capture a minute); VMLEDGER_DEMO=0 turns it off`,
  );
  if (config.demoBackfillDays > 0) {
    void backfillDemoHistory({
      url: running.url,
      token,
      sql: running.db.sql,
      days: config.demoBackfillDays,
    }).then(async (backfilled) => {
      // One benchmark after the first backfill, so the Benchmarks page is not empty.
      if (backfilled && running.jobs) {
        await startDemoBenchmark({ sql: running.db.sql, jobs: running.jobs, tz: config.reportTz });
      }
    }).catch((err) => log.error('demo backfill failed', { error: err as Error }));
  }
}

onShutdown(async () => {
  if (agent && agent.exitCode === null) {
    const exited = new Promise((resolve) => agent!.once('exit', resolve));
    agent.kill('SIGTERM');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
  }
  await running.stop();
});
