/**
 * A capture body read as text (server/ingest/read_body.ts), gzip inflated while it arrives:
 * a body in many small chunks reads whole, a gzip bomb is cut off at the limit, and bad,
 * truncated or empty gzip is a 400, whichever chunk the trouble is in, and the compressed
 * bytes are read ahead of a reader still busy with what it was given.
 */
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { AppError } from '../../server/errors.ts';
import { bodyBuffers, readBodyText } from '../../server/ingest/read_body.ts';

const test = suite('ingest: reading a gzip body as it arrives');

/** A POST whose body arrives in chunks of `size` bytes, each on its own turn. */
function chunked(bytes: Uint8Array, size: number, encoding = 'gzip'): Request {
  let at = 0;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      await new Promise((resolve) => setImmediate(resolve));
      if (at >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(at, at += size));
    },
  });
  return new Request('http://localhost/api/v1/captures', {
    method: 'POST',
    body,
    headers: { 'content-encoding': encoding },
    duplex: 'half',
  } as RequestInit);
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    if (err instanceof AppError) return err.code;
    throw err;
  }
}

const text = JSON.stringify({
  vms: Array.from({ length: 20_000 }, (_, i) => ({ key: `vm-${i}` })),
});

test('a body in many small chunks inflates to the whole text', async () => {
  assert.is(await readBodyText(chunked(gzipSync('{"vms":[]}'), 1), 1 << 20), '{"vms":[]}');
  for (const size of [997, 64 * 1024]) {
    assert.is(
      await readBodyText(chunked(gzipSync(text), size), 1 << 20),
      text,
      `chunks of ${size}`,
    );
  }
  // Two gzip members in a row are one body, as gunzip reads them.
  const two = Buffer.concat([gzipSync('{"a":'), gzipSync('1}')]);
  assert.is(await readBodyText(chunked(two, 7), 1 << 20), '{"a":1}');
});

test('a gzip bomb is cut off at the limit while inflating; too many compressed bytes too', async () => {
  const bomb = gzipSync(Buffer.alloc(50 * 1024 * 1024, 0x20));
  assert.is(await codeOf(readBodyText(chunked(bomb, 4096), 1 << 20)), 'body_too_large');
  const gz = gzipSync(text);
  assert.is(await codeOf(readBodyText(chunked(gz, 1024), gz.length - 1)), 'body_too_large');
});

test('bad, truncated, trailing-garbage or empty gzip is invalid_gzip', async () => {
  const gz = gzipSync(text);
  const cases = [
    Buffer.from('not gzip at all'),
    gz.subarray(0, gz.length - 9),
    Buffer.concat([gz, Buffer.from('garbage')]),
    Buffer.alloc(0),
  ];
  for (const body of cases) {
    assert.is(await codeOf(readBodyText(chunked(body, 512), 1 << 20)), 'invalid_gzip');
  }
});

test('the compressed body is read ahead of a reader busy with what it was given', async () => {
  // ~1.6 MB of gzip: hex text inflates only ~2:1, so each 64 kB read is a small output.
  const gz = gzipSync(randomBytes(1_500_000).toString('hex'));
  let delivered = 0;
  let at = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (at >= gz.length) return controller.close();
      const chunk = gz.subarray(at, at += 64 * 1024);
      delivered += chunk.length;
      controller.enqueue(chunk);
    },
  });
  const req = new Request('http://localhost/api/v1/captures', {
    method: 'POST',
    body,
    headers: { 'content-encoding': 'gzip' },
    duplex: 'half',
  } as RequestInit);
  const chunks = bodyBuffers(req, 1 << 26);
  await chunks.next();
  // The reader works on its first chunk in promise callbacks alone, as the ingest does with
  // a capture's VMs, never yielding to the event loop. Meanwhile the receiving goes on;
  // waiting for the inflater to drain after each read, it stopped at two reads (128 kB).
  for (let i = 0; i < 10_000; i++) await null;
  assert.ok(delivered >= 1 << 20, `read ahead: ${delivered} bytes`);
  await chunks.return(undefined);
});

test.run();
