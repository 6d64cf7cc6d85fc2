/**
 * Boot times derived from uptimes, steady across captures: `now − uptime` moves by a second
 * or two between polls (and by the capture's own clock), which would rewrite a record that
 * did not change. The first value is kept until the derived time moves by more than
 * `slackSec` — a reboot.
 */
export function createBootClock(slackSec = 120) {
  const known = new Map<string, number>();
  return {
    /** The boot time (epoch seconds) for `id`; null when it does not run. */
    at(id: string, nowSec: number, uptimeSec: number | undefined): number | null {
      if (!uptimeSec || uptimeSec <= 0) {
        known.delete(id);
        return null;
      }
      const derived = Math.floor(nowSec - uptimeSec);
      const prev = known.get(id);
      if (prev !== undefined && Math.abs(derived - prev) <= slackSec) return prev;
      known.set(id, derived);
      return derived;
    },
    retain(ids: ReadonlySet<string>) {
      for (const id of known.keys()) if (!ids.has(id)) known.delete(id);
    },
  };
}
