/**
 * Reading a request body with a bound: a declared Content-Length over the bound is refused
 * unread, and reading stops (cancelling the stream) as soon as more arrives than allowed, so
 * at most `maxBytes` are ever held. The API's body limits (http/body_limit.ts), JSON bodies
 * (http/validate.ts) and captures (ingest/read_body.ts) all read through it.
 */
import { Buffer } from 'node:buffer';

/** A body over the limit; each reader answers it with its own 413. */
export class BodyTooLarge extends Error {
  override name = 'BodyTooLarge';
  constructor(maxBytes: number) {
    super(`the request body is larger than ${maxBytes} bytes`);
  }
}

/** The body's bytes, at most `maxBytes` of them, or BodyTooLarge. */
export async function readLimited(
  req: Request,
  maxBytes: number,
): Promise<Buffer<ArrayBuffer>> {
  const declared = req.headers.get('content-length');
  if (declared !== null && /^\d+$/.test(declared.trim()) && Number(declared) > maxBytes) {
    throw new BodyTooLarge(maxBytes);
  }
  if (!req.body) return Buffer.alloc(0);
  const reader = req.body.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => {});
      throw new BodyTooLarge(maxBytes);
    }
    parts.push(value);
  }
  return Buffer.concat(parts, size);
}
