/**
 * A minimal streaming ZIP writer (deflate, data descriptors, UTF-8 names) on node:zlib, so
 * CSV reports need no new dependency. Entries are written one after the other straight to
 * `out`, honouring its backpressure; nothing is buffered beyond zlib's window. No ZIP64:
 * an entry or archive past 4 GiB is refused rather than written corrupt.
 */
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { crc32, createDeflateRaw } from 'node:zlib';
import { drained } from './report_writer.ts';

const LIMIT = 0xffffffff;

type Entry = { name: Buffer; crc: number; compressed: number; size: number; offset: number };

function dosTime(d: Date): { time: number; date: number } {
  return {
    time: (d.getUTCHours() << 11) | (d.getUTCMinutes() << 5) | Math.floor(d.getUTCSeconds() / 2),
    date: ((d.getUTCFullYear() - 1980) << 9) | ((d.getUTCMonth() + 1) << 5) | d.getUTCDate(),
  };
}

export class ZipStream {
  private readonly out: Writable;
  private readonly entries: Entry[] = [];
  private offset = 0;
  /** Every entry is stamped with the time the archive was started. */
  private readonly stamp = dosTime(new Date());

  constructor(out: Writable) {
    this.out = out;
  }

  private async write(buf: Buffer) {
    this.offset += buf.length;
    if (this.offset > LIMIT) throw new Error('zip archive over 4 GiB (no ZIP64 support)');
    if (!this.out.write(buf)) await drained(this.out);
  }

  /** Adds one file whose content is the chunks of `source`, deflated as they come. */
  async add(name: string, source: AsyncIterable<Buffer> | Iterable<Buffer>): Promise<void> {
    const nameBuf = Buffer.from(name, 'utf8');
    const e: Entry = { name: nameBuf, crc: 0, compressed: 0, size: 0, offset: this.offset };
    const head = Buffer.alloc(30);
    head.writeUInt32LE(0x04034b50, 0);
    head.writeUInt16LE(20, 4); // version needed: 2.0 (deflate)
    head.writeUInt16LE(0x0808, 6); // bit 3: sizes in the data descriptor; bit 11: UTF-8 name
    head.writeUInt16LE(8, 8); // deflate
    head.writeUInt16LE(this.stamp.time, 10);
    head.writeUInt16LE(this.stamp.date, 12);
    head.writeUInt16LE(nameBuf.length, 26);
    await this.write(Buffer.concat([head, nameBuf]));

    const deflate = createDeflateRaw({ level: 6 });
    const pump = (async () => {
      for await (const chunk of deflate as AsyncIterable<Buffer>) {
        e.compressed += chunk.length;
        await this.write(chunk);
      }
    })();
    // Awaited below; until then a failed output (the pump's write) must not be an
    // unhandled rejection, and it ends the loop through the race.
    pump.catch(() => {});
    try {
      for await (const chunk of source) {
        e.crc = crc32(chunk, e.crc);
        e.size += chunk.length;
        if (e.size > LIMIT) throw new Error(`zip entry ${name} over 4 GiB (no ZIP64 support)`);
        if (!deflate.write(chunk)) await Promise.race([once(deflate, 'drain'), pump]);
      }
      deflate.end();
    } catch (err) {
      deflate.destroy(err as Error);
      await pump.catch(() => {});
      throw err;
    }
    await pump;

    const desc = Buffer.alloc(16);
    desc.writeUInt32LE(0x08074b50, 0);
    desc.writeUInt32LE(e.crc >>> 0, 4);
    desc.writeUInt32LE(e.compressed, 8);
    desc.writeUInt32LE(e.size, 12);
    await this.write(desc);
    this.entries.push(e);
  }

  /** Writes the central directory and ends `out`. */
  async finish(): Promise<void> {
    const start = this.offset;
    for (const e of this.entries) {
      const h = Buffer.alloc(46);
      h.writeUInt32LE(0x02014b50, 0);
      h.writeUInt16LE(0x031e, 4); // made by: Unix, spec 3.0
      h.writeUInt16LE(20, 6);
      h.writeUInt16LE(0x0808, 8);
      h.writeUInt16LE(8, 10);
      h.writeUInt16LE(this.stamp.time, 12);
      h.writeUInt16LE(this.stamp.date, 14);
      h.writeUInt32LE(e.crc >>> 0, 16);
      h.writeUInt32LE(e.compressed, 20);
      h.writeUInt32LE(e.size, 24);
      h.writeUInt16LE(e.name.length, 28);
      h.writeUInt32LE((0o100644 << 16) >>> 0, 38); // external attributes: a regular file, rw-r--r--
      h.writeUInt32LE(e.offset, 42);
      await this.write(Buffer.concat([h, e.name]));
    }
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    end.writeUInt16LE(this.entries.length, 8);
    end.writeUInt16LE(this.entries.length, 10);
    end.writeUInt32LE(this.offset - start, 12);
    end.writeUInt32LE(start, 16);
    await this.write(end);
    const finished = drained(this.out, this.out, 'finish');
    this.out.end();
    await finished;
  }
}
