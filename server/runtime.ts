/**
 * The thin runtime layer: serve a fetch handler on Node (@hono/node-server) or Deno
 * (Deno.serve). Everything else in the server uses web-standard APIs or node: modules
 * that both runtimes provide.
 */
import { serve as nodeServe } from '@hono/node-server';
import type { Server as HttpServer } from 'node:http';

type FetchHandler = (req: Request) => Response | Promise<Response>;
export type RunningServer = { port: number; close(): Promise<void> };

declare const Deno: {
  serve(
    options: { hostname: string; port: number; onListen?: (addr: { port: number }) => void },
    handler: FetchHandler,
  ): {
    shutdown(): Promise<void>;
    addr: { port: number };
  };
} | undefined;

/**
 * Which runtime runs this process. Besides `listen`, only the event-loop lag meter needs to
 * know (server/metrics/process.ts: Deno's monitorEventLoopDelay does not see a blocked loop).
 */
export const RUNTIME: 'node' | 'deno' = typeof Deno !== 'undefined' ? 'deno' : 'node';

/**
 * V8 settings the server is started with: `npm start` (package.json), `deno task server`
 * (deno.json), the tests' and benchmarks' server processes (tests/support/server_process.ts);
 * docs/operations.md gives them for a service (a unit test keeps these places in step).
 *
 * A young generation of at most 16 MB per semi-space. Node 24's default lets it grow far
 * larger, and with 50 requests in flight much of it survives each scavenge: the pauses grew
 * to 40-65 ms (perf_hooks 'gc' entries; the event loop held 55 ms at its 99th percentile) and
 * were the tail of every list under load. Bounded, the pauses stay under 20 ms: deleted
 * search at 50 clients, p99 112-123 -> 86-97 ms and event-loop delay p99 54-56 -> 29-34 ms,
 * the same throughput (bench/history_probe.ts, interleaved runs).
 */
export const SERVER_V8_FLAGS = ['--max-semi-space-size=16'] as const;

/** Listens on host:port (port 0 picks a free one) and resolves once listening. */
export function listen(fetch: FetchHandler, host: string, port: number): Promise<RunningServer> {
  if (typeof Deno !== 'undefined') {
    return new Promise((resolve) => {
      // Deno's shutdown() lets every response finish, and an event stream (the dashboard's
      // /events) never does: a stop with a dashboard open would wait for the browser to go
      // away. close() ends event streams cleanly (cancelling the source is what Hono's
      // streamSSE sees when a client leaves); other responses still finish. (On Node,
      // close() cuts every connection: closeAllConnections below.)
      const streams = new Set<ReadableStreamDefaultReader<Uint8Array>>();
      const handler = async (req: Request) => {
        const res = await fetch(req);
        if (!res.body || !res.headers.get('content-type')?.startsWith('text/event-stream')) {
          return res;
        }
        const reader = res.body.getReader();
        streams.add(reader);
        const body = new ReadableStream<Uint8Array>({
          async pull(controller) {
            const { done, value } = await reader.read();
            if (!done) return controller.enqueue(value);
            streams.delete(reader);
            controller.close();
          },
          cancel(reason) {
            streams.delete(reader);
            return reader.cancel(reason);
          },
        });
        return new Response(body, res); // res's status, status text and headers
      };
      const server = Deno!.serve({ hostname: host, port, onListen: () => {} }, handler);
      resolve({
        port: server.addr.port,
        close: () => {
          const done = server.shutdown();
          // A cancelled reader's pending read resolves as done: the response ends.
          for (const reader of streams) void reader.cancel();
          return done;
        },
      });
    });
  }
  return new Promise((resolve, reject) => {
    // Without a `createServer` option @hono/node-server serves with node:http.
    const server = nodeServe({ fetch, hostname: host, port }, (info) => {
      resolve({
        port: info.port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            (server as HttpServer).closeAllConnections?.();
          }),
      });
    });
    // Longer than agents' and load balancers' idle timeouts, so a pooled connection is
    // not closed by us just as a client sends a capture on it (ECONNRESET).
    (server as HttpServer).keepAliveTimeout = 65_000;
    server.on('error', reject);
  });
}
