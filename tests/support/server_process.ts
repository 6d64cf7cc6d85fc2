/**
 * Runs the real server program (server/main.ts) as a child process on a given database and
 * port, under Node (the default) or Deno (`deno run -A`, the project's Deno from node_modules).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SERVER_V8_FLAGS } from '../../server/runtime.ts';

const DENO = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../node_modules/.bin/deno',
);

export type ServerProcess = {
  child: ChildProcess;
  url: string;
  output(): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
};

export async function startServerProcess(
  options: {
    databaseUrl: string;
    port: number;
    dataDir: string;
    adminToken: string;
    runtime?: 'node' | 'deno';
    /** More environment for the server (e.g. DATABASE_READ_URL). */
    env?: Record<string, string>;
  },
): Promise<ServerProcess> {
  const [cmd, args] = options.runtime === 'deno'
    ? [DENO, ['run', `--v8-flags=${SERVER_V8_FLAGS.join(',')}`, '-A', 'server/main.ts']]
    : [process.execPath, [...SERVER_V8_FLAGS, 'server/main.ts']];
  const child = spawn(cmd, args, {
    env: {
      ...process.env,
      DATABASE_URL: options.databaseUrl,
      PORT: String(options.port),
      VMLEDGER_DATA_DIR: options.dataDir,
      VMLEDGER_ADMIN_TOKEN: options.adminToken,
      VMLEDGER_LOG_LEVEL: 'warn',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // A fresh database is migrated before the server listens: on a loaded 2-core machine that
  // took over 30 s (a fresh clone's suite run beside benchmarks).
  const end = Date.now() + 90_000;
  while (!out.includes('vmledger listening on')) {
    if (child.exitCode !== null) throw new Error(`server exited: ${out}`);
    if (Date.now() > end) {
      child.kill('SIGKILL'); // not left running behind a failed suite
      await exited;
      throw new Error(`server did not start: ${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    child,
    url: `http://127.0.0.1:${options.port}`,
    output: () => out,
    async kill(signal = 'SIGKILL') {
      if (child.exitCode === null) child.kill(signal);
      await exited;
    },
  };
}
