/**
 * A PostgreSQL primary and a real streaming replica of it, for read-replica tests: Debian's
 * PostgreSQL 15 binaries, a primary initialised in a temp folder (wal_level replica), and
 * `pg_basebackup -R` of it into a second folder started on another port. Run as the
 * `postgres` system user when the test runs as root (initdb refuses root). Never touches the
 * shared cluster on 5432.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../scripts/free_port.ts';

export const PG_BIN = '/usr/lib/postgresql/15/bin';

export type ReplicaPair = {
  primaryUrl: string;
  replicaUrl: string;
  stopReplica(): void;
  startReplica(): void;
  close(): void;
};

export function hasPostgresBinaries(): boolean {
  return existsSync(path.join(PG_BIN, 'pg_basebackup')) && existsSync(path.join(PG_BIN, 'initdb'));
}

export async function startReplicaPair(): Promise<ReplicaPair> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vml-replica-'));
  const asRoot = process.getuid?.() === 0;
  const ids = asRoot
    ? {
      uid: Number(execFileSync('id', ['-u', 'postgres']).toString().trim()),
      gid: Number(execFileSync('id', ['-g', 'postgres']).toString().trim()),
    }
    : {};
  if (asRoot) chownSync(dir, ids.uid!, ids.gid!);
  const run = (bin: string, args: string[]) => {
    const r = spawnSync(path.join(PG_BIN, bin), args, { ...ids, cwd: dir, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${bin} ${args.join(' ')}: ${r.stderr}${r.stdout}`);
  };
  const primaryDir = path.join(dir, 'primary');
  const replicaDir = path.join(dir, 'replica');
  const [pPort, rPort] = [await freePort(), await freePort()];
  const opts = (port: number) =>
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c shared_buffers=32MB`;
  run('initdb', ['-D', primaryDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  run('pg_ctl', [
    '-D',
    primaryDir,
    '-o',
    `${opts(pPort)} -c wal_level=replica`,
    '-l',
    path.join(dir, 'primary.log'),
    '-w',
    'start',
  ]);
  const started: string[] = [primaryDir];
  const startReplica = () => {
    run('pg_ctl', [
      '-D',
      replicaDir,
      '-o',
      opts(rPort),
      '-l',
      path.join(dir, 'replica.log'),
      '-w',
      'start',
    ]);
    if (!started.includes(replicaDir)) started.push(replicaDir);
  };
  try {
    run('pg_basebackup', [
      '-h',
      '127.0.0.1',
      '-p',
      String(pPort),
      '-U',
      'postgres',
      '-D',
      replicaDir,
      '-R',
      '-X',
      'stream',
    ]);
    startReplica();
  } catch (err) {
    for (const d of started) {
      spawnSync(path.join(PG_BIN, 'pg_ctl'), ['-D', d, '-m', 'immediate', 'stop'], ids);
    }
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    primaryUrl: `postgres://postgres@127.0.0.1:${pPort}/postgres`,
    replicaUrl: `postgres://postgres@127.0.0.1:${rPort}/postgres`,
    stopReplica: () => run('pg_ctl', ['-D', replicaDir, '-m', 'immediate', '-w', 'stop']),
    startReplica,
    close() {
      for (const d of started) {
        spawnSync(path.join(PG_BIN, 'pg_ctl'), ['-D', d, '-m', 'immediate', '-w', 'stop'], ids);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
