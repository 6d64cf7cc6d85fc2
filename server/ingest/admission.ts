/**
 * Admission of captures on one node: at most `maxActive` ingests run at once, up to
 * `maxWaiting` more wait their turn in arrival order, and a capture beyond those (or one that
 * waited `maxWaitMs`) is answered 503 `ingest_busy` with Retry-After; agents keep it in their
 * spool and send it again then.
 *
 * A waiting capture's body is not read: it stays in the socket, and TCP holds the rest back at
 * the agent, so what a node holds in memory for captures is bounded by `maxActive` bodies,
 * not by how many agents post at once. Running fewer ingests at once also keeps the pool's
 * connections for readers (an ingest holds one from its head to its commit, while its body
 * arrives) and costs no throughput: 2 cores were saturated by 2-3 ingests per node.
 * Measured in the load drill (bench/load.bench.ts, docs/SCALE.md).
 */
import { AppError } from '../errors.ts';

export type IngestGateOptions = { maxActive: number; maxWaiting: number; maxWaitMs: number };

export const DEFAULT_INGEST_GATE: IngestGateOptions = {
  maxActive: 2,
  maxWaiting: 64,
  // Under node:http's requestTimeout (300 s to receive a whole request), which would cut a
  // waiting capture's connection instead: a 503 with Retry-After is the cleaner answer.
  maxWaitMs: 240_000,
};

/** Seconds an agent refused for a full queue waits before sending again. */
const RETRY_AFTER_SECONDS = 10;

type Waiter = { admit: () => void; timer: ReturnType<typeof setTimeout> };

export class IngestGate {
  readonly #options: IngestGateOptions;
  #active = 0;
  readonly #waiting: Waiter[] = [];

  constructor(options: Partial<IngestGateOptions> = {}) {
    this.#options = { ...DEFAULT_INGEST_GATE, ...options };
  }

  get active(): number {
    return this.#active;
  }

  get waiting(): number {
    return this.#waiting.length;
  }

  /** Runs `ingest` once admitted; throws AppError `ingest_busy` (503) when it cannot be. */
  async run<T>(ingest: () => Promise<T>): Promise<T> {
    await this.#enter();
    try {
      return await ingest();
    } finally {
      this.#leave();
    }
  }

  #enter(): Promise<void> {
    const o = this.#options;
    if (this.#active < o.maxActive && this.#waiting.length === 0) {
      this.#active++;
      return Promise.resolve();
    }
    if (this.#waiting.length >= o.maxWaiting) {
      return Promise.reject(busy(`${this.#waiting.length} captures are already waiting`));
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        admit: () => {
          clearTimeout(waiter.timer);
          this.#active++;
          resolve();
        },
        timer: setTimeout(() => {
          const at = this.#waiting.indexOf(waiter);
          if (at >= 0) this.#waiting.splice(at, 1);
          reject(busy(`waited ${Math.round(o.maxWaitMs / 1000)} s for a turn`));
        }, o.maxWaitMs),
      };
      this.#waiting.push(waiter);
    });
  }

  #leave(): void {
    this.#active--;
    this.#waiting.shift()?.admit();
  }
}

function busy(why: string): AppError {
  return new AppError(
    'ingest_busy',
    `this server is ingesting other captures (${why}); send it again after Retry-After seconds`,
    {},
    { 'retry-after': String(RETRY_AFTER_SECONDS) },
  );
}
