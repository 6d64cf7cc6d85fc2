/**
 * Reads a request body as text with a bound on its decompressed size: a gzip bomb is cut
 * off at the limit while inflating, never inflated in full.
 */
import { isAscii } from 'node:buffer';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { AppError } from '../errors.ts';
import { BodyTooLarge, readLimited } from '../read_limited.ts';

const gunzipAsync = promisify(gunzip);

/**
 * Each chunk of output is one trip to the thread pool: with zlib's default 16 kB, inflating
 * a 10,000-VM capture took ~25 ms of mostly hand-offs; with 1 MiB it takes ~4 ms.
 */
const INFLATE_CHUNK_BYTES = 1 << 20;

/**
 * Inflates on the thread pool (off the event loop); zlib stops with ERR_BUFFER_TOO_LARGE as
 * soon as the output passes `maxBytes`.
 */
async function inflate(bytes: Buffer, maxBytes: number): Promise<Buffer> {
  try {
    return await gunzipAsync(bytes, { maxOutputLength: maxBytes, chunkSize: INFLATE_CHUNK_BYTES });
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new AppError(
        'body_too_large',
        `decompressed body exceeds the limit of ${maxBytes} bytes`,
        { maxBytes },
      );
    }
    throw new AppError('invalid_gzip', `body could not be decompressed: ${(err as Error).message}`);
  }
}

/**
 * Reads the body as text; 413 past `maxBytes`, 400 for bad gzip, 415 for other encodings.
 * Parsing is the caller's: a capture is parsed in parts (ingest_capture.ts).
 */
export async function readBodyText(req: Request, maxBytes: number): Promise<string> {
  const encoding = (req.headers.get('content-encoding') ?? 'identity').trim().toLowerCase();
  if (!['identity', 'gzip', 'x-gzip'].includes(encoding)) {
    throw new AppError(
      'unsupported_encoding',
      `Content-Encoding ${encoding} is not supported; use gzip or none`,
    );
  }
  if (!req.body) throw new AppError('invalid_json', 'request body is empty');
  let bytes: Buffer;
  try {
    bytes = await readLimited(req, maxBytes);
  } catch (err) {
    if (!(err instanceof BodyTooLarge)) throw err;
    throw new AppError('body_too_large', `body exceeds the limit of ${maxBytes} bytes`, {
      maxBytes,
    });
  }
  if (encoding !== 'identity') bytes = await inflate(bytes, maxBytes);
  // Pure ASCII (what agents send unless a name has an accent) read as Latin-1 is the same
  // text, and Node then keeps a big body outside the JavaScript heap, where collections of
  // the young generation never copy it.
  return isAscii(bytes) ? bytes.toString('latin1') : bytes.toString('utf8');
}

/** `text` parsed as JSON; 400 if it is not. */
export function parseJsonText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new AppError('invalid_json', `body is not valid JSON: ${(err as Error).message}`);
  }
}
