/**
 * The thin runtime layer: serve a fetch handler on Node (@hono/node-server) or Deno
 * (Deno.serve). Everything else in the server uses web-standard APIs or node: modules
 * that both runtimes provide.
 */
import { serve as nodeServe } from '@hono/node-server';

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

/** Listens on host:port (port 0 picks a free one) and resolves once listening. */
export function listen(fetch: FetchHandler, host: string, port: number): Promise<RunningServer> {
  if (typeof Deno !== 'undefined') {
    return new Promise((resolve) => {
      const server = Deno!.serve({ hostname: host, port, onListen: () => {} }, fetch);
      resolve({ port: server.addr.port, close: () => server.shutdown() });
    });
  }
  return new Promise((resolve, reject) => {
    const server = nodeServe({ fetch, hostname: host, port }, (info) => {
      resolve({
        port: info.port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            (server as any).closeAllConnections?.();
          }),
      });
    });
    // Longer than agents' and load balancers' idle timeouts, so a pooled connection is
    // not closed by us just as a client sends a capture on it (ECONNRESET).
    (server as any).keepAliveTimeout = 65_000;
    server.on('error', reject);
  });
}
