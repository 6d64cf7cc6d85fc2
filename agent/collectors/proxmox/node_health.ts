/**
 * Per-capture health of each node, and the gate every node-bound request passes through.
 *
 * PVE proxies `/nodes/{node}/…` to that node. When the node is down the API answers 595
 * (or nothing, until our timeout); when it is slow, each request costs a full timeout.
 * So the first such failure marks the node failed for the rest of the capture and later
 * requests to it are skipped: one slow node costs one timeout (times the concurrency),
 * not one per VM, and the capture names the node instead of hanging.
 */
import { CollectorError } from '../collector.ts';

/** Returned instead of a result when the node was already known to be failing. */
export const SKIPPED: unique symbol = Symbol('skipped: node failed earlier in this capture');
export type Skipped = typeof SKIPPED;

export type NodeGate = {
  /** Runs a request bound to `node`, unless the node already failed. Node-level failures are absorbed. */
  run<T>(node: string, fn: () => Promise<T>): Promise<T | Skipped>;
  /** Marks a node failed up front (e.g. `online: 0` in /cluster/status). */
  fail(node: string, reason: string): void;
  failed(node: string): boolean;
  /** node → reason, for the capture's `errors`. */
  readonly failures: ReadonlyMap<string, string>;
};

/** Errors that say "this node is unreachable or too slow", not "this one request failed". */
export function isNodeFailure(err: unknown): boolean {
  return err instanceof CollectorError &&
    ['timeout', 'node-unreachable', 'network', 'unreachable'].includes(err.code);
}

/** Creates the gate for one capture. Abort and auth errors always propagate. */
export function createNodeGate(signal: AbortSignal): NodeGate {
  const failures = new Map<string, string>();
  return {
    failures,
    fail(node, reason) {
      if (!failures.has(node)) failures.set(node, reason);
    },
    failed: (node) => failures.has(node),
    async run(node, fn) {
      if (failures.has(node)) return SKIPPED;
      try {
        return await fn();
      } catch (err) {
        if (signal.aborted) throw err;
        if (isNodeFailure(err)) {
          if (!failures.has(node)) failures.set(node, (err as Error).message);
          return SKIPPED;
        }
        throw err;
      }
    },
  };
}

/** Maps with at most `limit` calls in flight (keeps the API and the nodes unhurried). */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
