/** Runs the real server program (server/main.ts) as a child process on a given database and port. */
import { type ChildProcess, spawn } from 'node:child_process';

export type ServerProcess = {
  child: ChildProcess;
  url: string;
  output(): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
};

export async function startServerProcess(
  options: { databaseUrl: string; port: number; dataDir: string; adminToken: string },
): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['server/main.ts'], {
    env: {
      ...process.env,
      DATABASE_URL: options.databaseUrl,
      PORT: String(options.port),
      VMLEDGER_DATA_DIR: options.dataDir,
      VMLEDGER_ADMIN_TOKEN: options.adminToken,
      VMLEDGER_LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const end = Date.now() + 30_000;
  while (!out.includes('vmledger listening on')) {
    if (child.exitCode !== null) throw new Error(`server exited: ${out}`);
    if (Date.now() > end) throw new Error(`server did not start: ${out}`);
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
