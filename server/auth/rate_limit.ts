/**
 * Failed-authentication limits. They slow down guesses and never block a valid credential:
 * a valid token or login always passes (it is checked first, every time), and only failing
 * attempts are answered 429 once over a limit:
 *   - per (client address, presented credential): the same wrong token sent again and
 *     again (a mistyped script) gets 429 after `perCredential` failures, without using up
 *     its address's budget;
 *   - per client address, for distinct unknown credentials: after `max` failures in the
 *     window, further failing attempts from it get 429 until the window passes.
 * The credential is keyed by a fingerprint (16 hex digits of its SHA-256), never kept.
 * Tokens are 256-bit random values, so guessing one is hopeless anyway; the limits keep
 * guessing, the audit log and the logs bounded.
 *
 * With a database (the server always passes one) failures are rows of `auth_failures`
 * (migration 0062), so the limits hold across server nodes behind one balancer: a guesser
 * spreading attempts over three nodes meets the same limit as against one. Without one
 * (unit use) they are kept in memory.
 */
import { createHash } from 'node:crypto';
import type { Sql } from '../db/connect.ts';

/** Where failures are counted: `count` gives the failures of `key` inside the window. */
type FailureStore = {
  /** Per key: failures in the window and the oldest one's time (ms since epoch). */
  recent(keys: string[]): Promise<Map<string, { n: number; first: number; now: number }>>;
  fail(keys: string[]): Promise<void>;
};

function memoryStore(windowMs: number, now: () => number): FailureStore {
  const failures = new Map<string, number[]>();
  function recent(key: string): number[] {
    const cutoff = now() - windowMs;
    const list = (failures.get(key) ?? []).filter((t) => t > cutoff);
    if (list.length) failures.set(key, list);
    else failures.delete(key);
    return list;
  }
  return {
    recent(keys) {
      const out = new Map<string, { n: number; first: number; now: number }>();
      for (const k of keys) {
        const list = recent(k);
        out.set(k, { n: list.length, first: list[0] ?? 0, now: now() });
      }
      return Promise.resolve(out);
    },
    fail(keys) {
      for (const k of keys) {
        const list = recent(k);
        list.push(now());
        failures.set(k, list);
        // Bound memory under a flood of distinct keys.
        if (failures.size > 100_000) failures.delete(failures.keys().next().value!);
      }
      return Promise.resolve();
    },
  };
}

function databaseStore(sql: Sql, scope: 'api' | 'login', windowMs: number): FailureStore {
  let lastSweep = 0;
  return {
    async recent(keys) {
      const rows = await sql`
        select k.key, count(f.key)::int as n,
               coalesce(extract(epoch from min(f.failed_at)) * 1000, 0)::float8 as first,
               (extract(epoch from clock_timestamp()) * 1000)::float8 as now
          from unnest(${keys}::text[]) as k(key)
          left join auth_failures f
            on f.scope = ${scope} and f.key = k.key
           and f.failed_at > clock_timestamp() - make_interval(secs => ${windowMs / 1000})
         group by k.key`;
      return new Map(
        rows.map((r) => [r.key as string, { n: r.n as number, first: r.first, now: r.now }]),
      );
    },
    async fail(keys) {
      await sql`insert into auth_failures (scope, key) select ${scope}, unnest(${keys}::text[])`;
      // Old rows go at most once a minute per node; the window is never longer than an hour.
      if (Date.now() - lastSweep > 60_000) {
        lastSweep = Date.now();
        await sql`delete from auth_failures where failed_at < clock_timestamp() - interval '1 hour'`;
      }
    },
  };
}

export type AuthLimiter = ReturnType<typeof createAuthLimiter>;

/** A short, non-reversible key for a presented credential. */
export function credentialFingerprint(credential: string): string {
  return createHash('sha256').update(credential, 'utf8').digest('hex').slice(0, 16);
}

/** The limits for one kind of authentication (API tokens, or page logins). */
export function createAuthLimiter(options: {
  /** Failures per address (distinct unknown credentials) in the window. */
  max: number;
  /**
   * Failures per (address, credential) in the window; default a quarter of `max`, at least
   * 5 and at most `max` (20 per address → 5; logins 10 → 5).
   */
  perCredential?: number;
  windowMs: number;
  now?: () => number;
  /** Count failures in this database (shared by every node), under `scope`; else in memory. */
  db?: { sql: Sql; scope: 'api' | 'login' };
}) {
  const perCredential = options.perCredential ??
    Math.min(options.max, Math.max(5, Math.ceil(options.max / 4)));
  const store = options.db
    ? databaseStore(options.db.sql, options.db.scope, options.windowMs)
    : memoryStore(options.windowMs, options.now ?? Date.now);

  async function wait(ip: string, credentialKey: string): Promise<number> {
    const counts = await store.recent([credentialKey, ip]);
    for (const [key, max] of [[credentialKey, perCredential], [ip, options.max]] as const) {
      const c = counts.get(key);
      if (c && c.n >= max) {
        return Math.max(1, Math.ceil((c.first + options.windowMs - c.now) / 1000));
      }
    }
    return 0;
  }

  return {
    /**
     * Seconds `credential` from `ip` must wait before it is even tried (0: go on); counts
     * nothing. For checks that cost something elsewhere (an LDAP bind: a directory may lock
     * the account after some failures).
     */
    blockedFor(ip: string, credential: string): Promise<number> {
      return wait(ip, `${ip} ${credentialFingerprint(credential)}`);
    },
    /**
     * Call after a credential failed: 0 when this failure is counted (answer 401, audit it),
     * else the seconds the client should wait (answer 429; not counted again).
     */
    async failure(ip: string, credential: string): Promise<number> {
      const key = `${ip} ${credentialFingerprint(credential)}`;
      const w = await wait(ip, key);
      if (w > 0) return w;
      await store.fail([key, ip]);
      return 0;
    },
  };
}
