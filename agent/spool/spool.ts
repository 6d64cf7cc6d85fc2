/**
 * The on-disk spool: every capture is written here (gzip, fsync, atomic rename) before it
 * is sent, and removed only when the server has acknowledged its capture id. Files are
 * named so that a plain sort is captured-at order: oldest is sent first.
 *
 *   <dir>/pending/<capturedAt ms, 15 digits>-<captureId>.json.gz
 *   <dir>/rejected/<same name> + <same name>.reason.json
 */
import { captureText } from '../capture/capture_text.ts';
import type { Capture } from '../capture/schema.ts';
import { CaptureStreamWriter, SpoolCapError, type StreamedCapture } from './capture_stream.ts';
import { gzip } from './gzip.ts';

export { gunzip, gzip } from './gzip.ts';
import type { Logger } from '../../shared/log.ts';
import {
  ensureDir,
  fileSize,
  listDir,
  moveFile,
  path,
  readBytes,
  removeFile,
  writeFileAtomic,
} from '../runtime/host.ts';

export type SpoolEntry = { name: string; file: string; captureId: string; capturedAt: Date };

export type SpoolStats = {
  pending: number;
  pendingBytes: number;
  rejected: number;
  /** Captures refused because the spool was at its size cap, since the agent started. */
  refusedAtCap: number;
  /** Captures refused because the spool's disk was full (ENOSPC, EDQUOT), since the agent started. */
  refusedDiskFull: number;
  /** The latest refusal (cap or full disk): when and why; null when none since the start. */
  lastRefusal: { at: string; reason: string } | null;
  maxBytes: number;
};

/** A write that failed because the disk (or the user's quota) is full. */
function isDiskFull(err: unknown): boolean {
  const code = (err as { code?: string })?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

const NAME = /^(\d{15})-([0-9a-f-]{36})\.json\.gz$/;

export class SpoolFullError extends Error {
  override name = 'SpoolFullError';
}

export type Spool = ReturnType<typeof openSpool> extends Promise<infer S> ? S : never;

/** Opens (creating if needed) the spool under `dir`. */
export async function openSpool(dir: string, options: { maxBytes: number; log: Logger }) {
  const pendingDir = path.join(dir, 'pending');
  const rejectedDir = path.join(dir, 'rejected');
  await ensureDir(pendingDir);
  await ensureDir(rejectedDir);
  // A temporary file left by a write the process did not live to finish (killed, power cut).
  for (const name of await listDir(pendingDir)) {
    if (name.includes('.tmp-')) await removeFile(path.join(pendingDir, name)).catch(() => {});
  }
  let refusedAtCap = 0;
  let refusedDiskFull = 0;
  let lastRefusal: SpoolStats['lastRefusal'] = null;
  const refused = (reason: string) => (lastRefusal = { at: new Date().toISOString(), reason });

  async function pendingBytes(): Promise<number> {
    let total = 0;
    for (const name of await listDir(pendingDir)) {
      if (NAME.test(name)) total += await fileSize(path.join(pendingDir, name)).catch(() => 0);
    }
    return total;
  }

  function fileFor(captureId: string, capturedAt: string): string {
    const at = new Date(capturedAt);
    return path.join(pendingDir, `${String(at.getTime()).padStart(15, '0')}-${captureId}.json.gz`);
  }

  return {
    dir,

    /**
     * A writer a streaming collector fills VM by VM (capture_stream.ts); `commit` makes the
     * capture durable, refusing it at the size cap as `put` does.
     */
    async stream(): Promise<
      Omit<CaptureStreamWriter, 'commit'> & { commit(): Promise<StreamedCapture> }
    > {
      const room = options.maxBytes - await pendingBytes();
      const writer = new CaptureStreamWriter(fileFor, room);
      const commit = writer.commit.bind(writer);
      const vm = writer.vm.bind(writer);
      const end = writer.end.bind(writer);
      // A full disk may show on any write of the capture (a VM, the end, the commit): the
      // capture is refused there, its temporary files removed, and the refusal counted.
      const diskFull = async (err: unknown): Promise<never> => {
        await writer.abort();
        refusedDiskFull++;
        refused(`disk full: ${(err as Error).message}`);
        options.log.error('spool disk is full: capture refused', {
          error: (err as Error).message,
          refusedDiskFull,
        });
        throw new SpoolFullError(`spool disk is full: ${(err as Error).message}`);
      };
      return Object.assign(writer, {
        vm: (input: Parameters<typeof vm>[0]) =>
          vm(input).catch((err) => isDiskFull(err) ? diskFull(err) : Promise.reject(err)),
        end: (rest: Parameters<typeof end>[0]) =>
          end(rest).catch((err) => isDiskFull(err) ? diskFull(err) : Promise.reject(err)),
        async commit(): Promise<StreamedCapture> {
          try {
            return await commit();
          } catch (err) {
            if (isDiskFull(err)) return await diskFull(err);
            if (!(err instanceof SpoolCapError)) throw err;
            refusedAtCap++;
            refused(err.message);
            options.log.error('spool is full: capture refused', {
              captureId: err.capture.captureId,
              spoolBytes: options.maxBytes - room,
              maxBytes: options.maxBytes,
              refusedAtCap,
            });
            throw new SpoolFullError(err.message);
          }
        },
      });
    },

    /**
     * Writes a capture durably. At the size cap the new capture is refused (older captures
     * are history that cannot be taken again; the refusal is logged and counted).
     */
    async put(capture: Capture): Promise<SpoolEntry> {
      const body = await gzip(captureText(capture));
      const used = await pendingBytes();
      if (used + body.byteLength > options.maxBytes) {
        refusedAtCap++;
        refused(`spool at its cap (${used} of ${options.maxBytes} bytes)`);
        options.log.error('spool is full: capture refused', {
          captureId: capture.captureId,
          source: capture.source.name,
          spoolBytes: used,
          maxBytes: options.maxBytes,
          refusedAtCap,
        });
        throw new SpoolFullError(
          `spool at its cap (${used} of ${options.maxBytes} bytes): capture ${capture.captureId} refused`,
        );
      }
      const at = new Date(capture.capturedAt);
      const name = `${String(at.getTime()).padStart(15, '0')}-${capture.captureId}.json.gz`;
      const file = path.join(pendingDir, name);
      try {
        await writeFileAtomic(file, body);
      } catch (err) {
        if (!isDiskFull(err)) throw err;
        // The disk filled up before the cap did: the new capture is refused like at the
        // cap (no partial file is left), older ones stay and are delivered as usual.
        refusedDiskFull++;
        refused(`disk full: ${(err as Error).message}`);
        options.log.error('spool disk is full: capture refused', {
          captureId: capture.captureId,
          source: capture.source.name,
          error: (err as Error).message,
          refusedDiskFull,
        });
        throw new SpoolFullError(
          `spool disk is full: capture ${capture.captureId} refused (${(err as Error).message})`,
        );
      }
      return { name, file, captureId: capture.captureId, capturedAt: at };
    },

    /** Pending captures, oldest captured first. */
    async list(): Promise<SpoolEntry[]> {
      return (await listDir(pendingDir))
        .filter((n) => NAME.test(n))
        .sort()
        .map((name) => {
          const m = NAME.exec(name)!;
          return {
            name,
            file: path.join(pendingDir, name),
            captureId: m[2],
            capturedAt: new Date(Number(m[1])),
          };
        });
    },

    /** The gzip bytes of a pending capture, as sent on the wire. */
    read(entry: SpoolEntry): Promise<Uint8Array> {
      return readBytes(entry.file);
    },

    /** The server has the capture: forget it. */
    async ack(entry: SpoolEntry): Promise<void> {
      await removeFile(entry.file);
    },

    /** The server refused the capture for good: keep it aside with the reason. */
    async reject(entry: SpoolEntry, reason: { status: number; body: string }): Promise<void> {
      const target = path.join(rejectedDir, entry.name);
      await writeFileAtomic(
        `${target}.reason.json`,
        JSON.stringify({ ...reason, rejectedAt: new Date().toISOString() }, null, 2),
      );
      await moveFile(entry.file, target);
    },

    async stats(): Promise<SpoolStats> {
      const pending = (await listDir(pendingDir)).filter((n) => NAME.test(n)).length;
      const rejected = (await listDir(rejectedDir)).filter((n) => NAME.test(n)).length;
      return {
        pending,
        pendingBytes: await pendingBytes(),
        rejected,
        refusedAtCap,
        refusedDiskFull,
        lastRefusal,
        maxBytes: options.maxBytes,
      };
    },
  };
}
