/** gzip and gunzip of capture text, in Node and Deno alike. */
import { promisify } from 'node:util';
import { gunzip as gunzipCallback } from 'node:zlib';

/** gzip with the web-standard CompressionStream (Node and Deno). */
export async function gzip(text: string): Promise<Uint8Array> {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/**
 * gunzip counterpart, for reading spool files (tests, tools). node:zlib (in Node and Deno), not
 * DecompressionStream: a streamed capture is two gzip members (capture_stream.ts), and
 * Deno's DecompressionStream reads only the first.
 */
export async function gunzip(bytes: Uint8Array): Promise<string> {
  return (await gunzipAsync(bytes)).toString('utf8');
}

const gunzipAsync = promisify(gunzipCallback);
