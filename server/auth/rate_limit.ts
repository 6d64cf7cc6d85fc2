/**
 * Failed-authentication limiter: after `max` failures from one client address within
 * `windowMs`, further attempts from it are refused with 429 until the window passes.
 * In memory, per server node: enough to make guessing tokens impractical.
 */
export type FailureLimiter = ReturnType<typeof createFailureLimiter>;

export function createFailureLimiter(
  options: { max: number; windowMs: number; now?: () => number },
) {
  const now = options.now ?? Date.now;
  const failures = new Map<string, number[]>();

  function recent(key: string): number[] {
    const cutoff = now() - options.windowMs;
    const list = (failures.get(key) ?? []).filter((t) => t > cutoff);
    if (list.length) failures.set(key, list);
    else failures.delete(key);
    return list;
  }

  return {
    /** Seconds to wait when `key` is over the limit, else 0. */
    blockedFor(key: string): number {
      const list = recent(key);
      if (list.length < options.max) return 0;
      return Math.max(1, Math.ceil((list[0] + options.windowMs - now()) / 1000));
    },
    fail(key: string) {
      const list = recent(key);
      list.push(now());
      failures.set(key, list);
      // Bound memory under a flood of distinct addresses.
      if (failures.size > 100_000) failures.delete(failures.keys().next().value!);
    },
    succeed(key: string) {
      failures.delete(key);
    },
  };
}
