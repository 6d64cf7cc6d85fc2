/**
 * What every collector (vcenter, proxmox, demo) implements. A collector knows how to talk
 * to one site system; scheduling, spooling and delivery are not its business.
 */
import type { CaptureInput } from '../capture/schema.ts';

export type CaptureOptions = {
  /** Aborted when the source's timeout passes or the agent stops. */
  signal: AbortSignal;
  /** When the previous successful capture of this source was taken (events since then); null on the first. */
  since: Date | null;
  /** Capture time to stamp; defaults to now. The demo collector also generates the fleet as of this time. */
  at?: Date;
};

export type CheckResult = {
  ok: boolean;
  /** One line for a person: what was reached, as whom, or what is wrong. */
  message: string;
  /** E.g. number of VMs visible, product version. */
  details?: Record<string, unknown>;
  /**
   * Not ok, but captures still run: they are marked incomplete until it is fixed (a
   * Proxmox token that sees only part of the cluster).
   */
  warning?: boolean;
  /** The source's id in captures: what a server token is bound to as `kind:id`. */
  identity?: { kind: 'vcenter' | 'proxmox' | 'demo'; id: string };
};

export interface Collector {
  /** Connects and authenticates, and says whether the credentials can see the inventory. */
  check(signal: AbortSignal): Promise<CheckResult>;
  /**
   * Captures the full inventory. Partial failures do not throw: they return a capture with
   * `complete: false` and `errors` saying what failed. It throws only when nothing usable
   * could be collected (unreachable, bad credentials), which is a failed poll.
   */
  capture(options: CaptureOptions): Promise<CaptureInput>;
}

/** A collector failure worth a clear message (bad credentials, unreachable, TLS). */
export class CollectorError extends Error {
  override name = 'CollectorError';
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}
