/**
 * Reads a request body as JSON with a bound on its decompressed size, enforced while
 * streaming: a gzip bomb is cut off at the limit, never inflated in full.
 */
import { ApiError } from '../http/errors.ts';

/** Reads and parses the body; 413 past `maxBytes`, 400 for bad gzip or JSON, 415 for other encodings. */
export async function readJsonBody(req: Request, maxBytes: number): Promise<unknown> {
  const encoding = (req.headers.get('content-encoding') ?? 'identity').trim().toLowerCase();
  if (!['identity', 'gzip', 'x-gzip'].includes(encoding)) {
    throw new ApiError(415, 'unsupported_encoding', `Content-Encoding ${encoding} is not supported; use gzip or none`);
  }
  const declared = Number(req.headers.get('content-length') ?? NaN);
  if (encoding === 'identity' && declared > maxBytes) {
    throw new ApiError(413, 'body_too_large', `body of ${declared} bytes exceeds the limit of ${maxBytes} bytes`);
  }
  if (!req.body) throw new ApiError(400, 'invalid_json', 'request body is empty');
  let stream: ReadableStream<Uint8Array> = req.body;
  if (encoding !== 'identity') stream = stream.pipeThrough(new DecompressionStream('gzip') as any);

  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        await reader.cancel().catch(() => {});
        throw new ApiError(413, 'body_too_large', `decompressed body exceeds the limit of ${maxBytes} bytes`);
      }
      chunks.push(value);
    }
  } catch (err) {
    if (err instanceof ApiError) throw err;
    throw new ApiError(400, 'invalid_gzip', `body could not be decompressed: ${(err as Error).message}`);
  }
  const text = new TextDecoder().decode(Buffer.concat(chunks));
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ApiError(400, 'invalid_json', `body is not valid JSON: ${(err as Error).message}`);
  }
}
