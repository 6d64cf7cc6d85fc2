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
 * In memory, per server node. Tokens are 256-bit random values, so guessing one is
 * hopeless anyway; the limits keep guessing, the audit log and the logs bounded.
 */
import { createHash } from 'node:crypto';

/** Counts failures per key in a sliding window; `blockedFor` says how long a key must wait. */
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
      // Bound memory under a flood of distinct keys.
      if (failures.size > 100_000) failures.delete(failures.keys().next().value!);
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
}) {
  const byAddress = createFailureLimiter({
    max: options.max,
    windowMs: options.windowMs,
    now: options.now,
  });
  const byCredential = createFailureLimiter({
    max: options.perCredential ?? Math.min(options.max, Math.max(5, Math.ceil(options.max / 4))),
    windowMs: options.windowMs,
    now: options.now,
  });
  return {
    /**
     * Seconds `credential` from `ip` must wait before it is even tried (0: go on); counts
     * nothing. For checks that cost something elsewhere (an LDAP bind: a directory may lock
     * the account after some failures).
     */
    blockedFor(ip: string, credential: string): number {
      const key = `${ip} ${credentialFingerprint(credential)}`;
      return byCredential.blockedFor(key) || byAddress.blockedFor(ip);
    },
    /**
     * Call after a credential failed: 0 when this failure is counted (answer 401, audit it),
     * else the seconds the client should wait (answer 429; not counted again).
     */
    failure(ip: string, credential: string): number {
      const key = `${ip} ${credentialFingerprint(credential)}`;
      const wait = byCredential.blockedFor(key) || byAddress.blockedFor(ip);
      if (wait > 0) return wait;
      byCredential.fail(key);
      byAddress.fail(ip);
      return 0;
    },
  };
}
