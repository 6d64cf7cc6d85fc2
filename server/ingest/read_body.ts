/**
 * Reads a request body as text with a bound on its decompressed size: a gzip bomb is cut
 * off at the limit while inflating, never inflated in full.
 */
import { isAscii } from 'node:buffer';
import { once } from 'node:events';
import type { TransformOptions } from 'node:stream';
import { createGunzip, type Gunzip, type ZlibOptions } from 'node:zlib';
import { AppError } from '../errors.ts';
import { BodyTooLarge, readLimited } from '../read_limited.ts';

/**
 * Each chunk of output is one trip to the thread pool: with zlib's default 16 kB, inflating
 * a 10,000-VM capture took ~25 ms of mostly hand-offs; with 1 MiB it takes ~4 ms. Chunks are
 * cut from one output buffer until it is full: 4 MiB is a fresh allocation every ~6 writes
 * of 64 kB rather than every ~1.5 (at 1 MiB, ~3 ms of a 27 MB capture's ingest went to
 * allocating them).
 */
const INFLATE_CHUNK_BYTES = 4 << 20;

/**
 * Compressed bytes taken from the socket ahead of the inflater. With zlib's default 16 kB,
 * each 64 kB read waited for the inflater to drain before the next was read, and between
 * two reads the inflater waited for the event loop, busy with the VMs: the thread pool
 * inflated at the main thread's pace, not beside it (the last bytes of a 2.4 MB body were
 * read 113 ms into a 118 ms COPY of its facts). The bytes waiting are at most this much per
 * ingest, and ingests at once are few (admission.ts).
 */
const INFLATE_READ_AHEAD_BYTES = 4 << 20;

function tooLarge(maxBytes: number, what = 'body'): AppError {
  return new AppError('body_too_large', `${what} exceeds the limit of ${maxBytes} bytes`, {
    maxBytes,
  });
}

function badGzip(err: unknown): AppError {
  return new AppError('invalid_gzip', `body could not be decompressed: ${(err as Error).message}`);
}

/**
 * The body inflated as it arrives, in chunks of up to 4 MiB: each compressed chunk is handed
 * to zlib (on the thread pool) as soon as it is read, so inflating overlaps receiving the rest
 * instead of starting after the last byte, and the caller can use each inflated chunk while
 * the next is inflated. At most `maxBytes` are read and at most `maxBytes` inflated: a gzip
 * bomb is cut off at the limit while inflating, never inflated in full.
 */
async function* inflated(req: Request, maxBytes: number): AsyncGenerator<Buffer> {
  const declared = req.headers.get('content-length');
  if (declared !== null && /^\d+$/.test(declared.trim()) && Number(declared) > maxBytes) {
    throw tooLarge(maxBytes);
  }
  // zlib's streams take a Transform's options too (its types do not say so).
  const options: ZlibOptions & TransformOptions = {
    chunkSize: INFLATE_CHUNK_BYTES,
    writableHighWaterMark: INFLATE_READ_AHEAD_BYTES,
  };
  const inflater: Gunzip = createGunzip(options);
  const ready: Buffer[] = [];
  let size = 0;
  let ended = false;
  let failure: AppError | null = null;
  let wake: (() => void) | null = null;
  const signal = () => {
    wake?.();
    wake = null;
  };
  const fail = (err: AppError) => {
    failure ??= err;
    inflater.destroy();
    signal();
  };
  inflater.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > maxBytes) fail(tooLarge(maxBytes, 'decompressed body'));
    else ready.push(chunk);
    signal();
  });
  inflater.on('error', (err) => fail(badGzip(err)));
  inflater.on('end', () => {
    ended = true;
    signal();
  });
  const closed = new Promise((resolve) => inflater.once('close', resolve));
  const reader = req.body!.getReader();
  // Receiving runs on its own; what it inflates is given out chunk by chunk as it comes.
  const receiving = (async () => {
    let read = 0;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        read += value.byteLength;
        if (read > maxBytes) fail(tooLarge(maxBytes));
        if (failure) break;
        if (!inflater.write(value)) await Promise.race([once(inflater, 'drain'), closed]);
        if (failure) break;
      }
      if (!failure) inflater.end();
    } catch (err) {
      fail(badGzip(err));
    } finally {
      if (failure) await reader.cancel().catch(() => {});
    }
  })();
  try {
    for (;;) {
      if (failure) throw failure;
      const chunk = ready.shift();
      if (chunk) {
        yield chunk;
        continue;
      }
      if (ended) break;
      await new Promise<void>((resolve) => (wake = resolve));
    }
    await receiving;
    if (failure) throw failure;
    if (!inflater.writableFinished || !inflater.readableEnded) {
      throw badGzip(new Error('unexpected end of file'));
    }
  } finally {
    // A caller that stops early (a capture refused before its end) stops the receiving too.
    if (!ended && !failure) fail(new AppError('invalid_json', 'the body was not read to its end'));
    await receiving;
  }
}

/**
 * The body's bytes in chunks: inflated as they arrive, or as sent (identity); 413 past
 * `maxBytes`, 400 for bad gzip, 415 for other encodings. Each chunk is given out as soon as
 * it is inflated (stream_capture.ts reads a capture while the rest still arrives). Chunks are
 * never written to again: a reader may keep them (vm_text_memo.ts).
 */
export async function* bodyBuffers(req: Request, maxBytes: number): AsyncGenerator<Buffer> {
  const encoding = (req.headers.get('content-encoding') ?? 'identity').trim().toLowerCase();
  if (!['identity', 'gzip', 'x-gzip'].includes(encoding)) {
    throw new AppError(
      'unsupported_encoding',
      `Content-Encoding ${encoding} is not supported; use gzip or none`,
    );
  }
  if (!req.body) throw new AppError('invalid_json', 'request body is empty');
  if (encoding !== 'identity') {
    yield* inflated(req, maxBytes);
    return;
  }
  try {
    yield await readLimited(req, maxBytes);
  } catch (err) {
    if (!(err instanceof BodyTooLarge)) throw err;
    throw tooLarge(maxBytes);
  }
}

/**
 * Pure ASCII (what agents send unless a name has an accent) read as Latin-1 is the same
 * text, and Node then keeps a big body outside the JavaScript heap, where collections of
 * the young generation never copy it.
 */
export function decoded(bytes: Buffer): string {
  return isAscii(bytes) ? bytes.toString('latin1') : bytes.toString('utf8');
}

/**
 * Reads the body as text; 413 past `maxBytes`, 400 for bad gzip, 415 for other encodings.
 * Parsing is the caller's: a capture is parsed in parts (ingest_capture.ts).
 */
export async function readBodyText(req: Request, maxBytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of bodyBuffers(req, maxBytes)) {
    chunks.push(chunk);
    size += chunk.length;
  }
  return decoded(Buffer.concat(chunks, size));
}

/** `text` parsed as JSON; 400 if it is not. */
export function parseJsonText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new AppError('invalid_json', `body is not valid JSON: ${(err as Error).message}`);
  }
}
