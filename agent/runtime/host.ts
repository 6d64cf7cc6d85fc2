/**
 * The agent's thin runtime layer: files, environment, TLS-aware fetch. Everything here
 * works under Node and Deno through their node: compatibility; the rest of the agent
 * uses only web-standard APIs (fetch, Web Crypto, streams) and these functions.
 */
import { mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';

export function getEnv(name: string): string | undefined {
  return process.env[name];
}

export function readTextFile(file: string): Promise<string> {
  return readFile(file, 'utf8');
}

export function readBytes(file: string): Promise<Uint8Array> {
  return readFile(file);
}

export async function ensureDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
}

/** Writes a file durably: temp file, fsync, rename into place, fsync the folder. */
export async function writeFileAtomic(file: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${file}.tmp-${crypto.randomUUID()}`;
  const handle = await open(tmp, 'w', 0o600);
  try {
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, file);
  } catch (err) {
    // A full disk (ENOSPC) or any other failure leaves no partial file behind.
    await rm(tmp, { force: true }).catch(() => {});
    throw err;
  }
  await syncDir(path.dirname(file));
}

/** fsync a folder so a rename in it survives a power cut (a no-op where unsupported). */
export async function syncDir(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Some platforms cannot open folders for sync; the rename is still atomic there.
  }
}

export async function listDir(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

export async function fileSize(file: string): Promise<number> {
  return (await stat(file)).size;
}

export async function moveFile(from: string, to: string): Promise<void> {
  await rename(from, to);
  await syncDir(path.dirname(to));
}

export async function removeFile(file: string): Promise<void> {
  await rm(file, { force: true });
  await syncDir(path.dirname(file));
}

export { path, writeFile };
