import autocannon from 'autocannon';

/**
 * Brings a freshly started server to the state it is in after running a while, before a load
 * is measured: each of its pooled database connections has planned the load's statements
 * (a connection's first calls of a statement cost several times a later one: catalog caches,
 * then a custom plan each time for five calls) and V8 has compiled the request path. Asked by
 * 50 clients for `seconds`, as the load will be, with `next()` paths of the same kind that
 * the measured load never asks (so no answer it will read is left in a cache).
 */
export async function warmUp(
  url: string,
  token: string,
  next: () => string,
  seconds = 3,
): Promise<void> {
  const result = await autocannon({
    url,
    connections: 50,
    duration: seconds,
    headers: { authorization: `Bearer ${token}` },
    requests: [{ setupRequest: (req: Record<string, unknown>) => ({ ...req, path: next() }) }],
  });
  if (result.non2xx || result.errors) {
    throw new Error(`warm-up: ${result.non2xx} answers not 2xx, ${result.errors} errors`);
  }
  // autocannon stops with its 50 requests still in the server, which answers them to closed
  // sockets: a load begun at once began behind them (its first requests' latency up to
  // ~270 ms where the load's own p99 was ~120 ms, bench/history_probe.ts). A second is ample
  // for them to finish.
  await new Promise((resolve) => setTimeout(resolve, 1000));
}
