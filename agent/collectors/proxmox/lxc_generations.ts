/**
 * LXC generations. A container config has no creation time, so the generation (and
 * `createdAt`) is the start time of its latest successful `vzcreate` task, else 0.
 *
 * Keys must not flap, so a generation once found is kept for the vmid until a
 * `vzdestroy` of that vmid is seen or the vmid disappears. Lookup order: that memory;
 * the capture's task list; a one-off scan of every node's log
 * (`/nodes/{node}/tasks?typefilter=vzcreate`), because `/cluster/tasks` holds only recent
 * tasks. "Not found" (generation 0) is remembered only after a scan that read every node —
 * with a node down, its log might still hold the vzcreate.
 *
 * Limit: the memory is in-process. An agent restarted after the task log rotated a
 * container's vzcreate out would key it `…:0` where it was `…:<time>` before.
 */
import type { ProxmoxApi } from './api.ts';
import type { TaskEntry } from './api_shapes.ts';
import { mapLimit, type NodeGate, SKIPPED } from './node_health.ts';
import { lxcCreationTimes } from './tasks.ts';

export type LxcGenerations = {
  /**
   * Prepares lookups for one capture: `tasks` is the capture's task list, `unresolved`
   * the LXC vmids that may need the node scan. Returns the lookup for this capture.
   */
  prepare(
    ctx: {
      api: ProxmoxApi;
      gate: NodeGate;
      signal: AbortSignal;
      onlineNodes: string[];
      concurrency: number;
    },
    tasks: readonly TaskEntry[],
    lxcVmids: readonly number[],
  ): Promise<(vmid: number) => number>;
  forget(vmid: number): void;
  vmids(): number[];
};

/** Creates the (in-memory) generation memory of one collector. */
export function createLxcGenerations(): LxcGenerations {
  const known = new Map<number, number>();
  /** vmid → latest vzcreate time from a scan that read every node; null until one did. */
  let history: Map<number, number> | null = null;

  async function scan(ctx: Parameters<LxcGenerations['prepare']>[0]): Promise<Map<number, number>> {
    const found: TaskEntry[] = [];
    let complete = ctx.gate.failures.size === 0;
    await mapLimit(ctx.onlineNodes, ctx.concurrency, async (node) => {
      const list = await ctx.gate.run(
        node,
        () =>
          ctx.api.get<TaskEntry[]>(`/nodes/${encodeURIComponent(node)}/tasks`, {
            query: { typefilter: 'vzcreate', limit: 100_000 },
            signal: ctx.signal,
          }),
      );
      if (list === SKIPPED) complete = false;
      else found.push(...list);
    });
    const times = lxcCreationTimes(found);
    if (complete) history = times;
    return times;
  }

  return {
    async prepare(ctx, tasks, lxcVmids) {
      const fromTasks = lxcCreationTimes(tasks);
      const needScan = lxcVmids.some((vmid) => !known.has(vmid) && !fromTasks.has(vmid));
      const scanned = needScan ? (history ?? (await scan(ctx))) : null;
      return (vmid) => {
        const cached = known.get(vmid);
        if (cached !== undefined) return cached;
        const found = fromTasks.get(vmid) ?? scanned?.get(vmid);
        if (found !== undefined || history) known.set(vmid, found ?? 0);
        return found ?? 0;
      };
    },
    forget: (vmid) => void known.delete(vmid),
    vmids: () => [...known.keys()],
  };
}
