/**
 * A Writable that stores what is written to it as numbered ~1 MiB chunks of a report,
 * one INSERT per chunk, and computes the file's size and SHA-256 on the way. The write
 * callback waits for the INSERT, so a slow database slows the producer instead of
 * filling memory.
 */
import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import type { Sql } from '../db/connect.ts';
import { writeChunk } from './report_store.ts';

const CHUNK_BYTES = 1024 * 1024;

export class ChunkWriter extends Writable {
  sizeBytes = 0;
  chunkCount = 0;
  private readonly hash = createHash('sha256');
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private readonly sql: Sql;
  private readonly report: { id: string; attempt: string };

  /** `report`: the report and the attempt that claimed it (a superseded attempt's writes fail). */
  constructor(sql: Sql, report: { id: string; attempt: string }) {
    super({ highWaterMark: CHUNK_BYTES });
    this.sql = sql;
    this.report = report;
  }

  /** Hex SHA-256 of everything written (valid after 'finish'). */
  digest = '';

  private async flush(final: boolean) {
    while (this.pendingBytes >= CHUNK_BYTES || (final && this.pendingBytes > 0)) {
      const all = Buffer.concat(this.pending);
      const rest = all.subarray(CHUNK_BYTES);
      this.pending = rest.length ? [rest] : [];
      this.pendingBytes = rest.length;
      await writeChunk(this.sql, this.report, this.chunkCount++, all.subarray(0, CHUNK_BYTES));
    }
  }

  // Not in object mode: Writable hands _write a Buffer whatever was written.
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void) {
    this.hash.update(chunk);
    this.sizeBytes += chunk.length;
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes < CHUNK_BYTES) return cb();
    this.flush(false).then(() => cb(), cb);
  }

  override _final(cb: (err?: Error | null) => void) {
    this.flush(true).then(() => {
      this.digest = this.hash.digest('hex');
      cb();
    }, cb);
  }
}
