/**
 * What every collector (vcenter, proxmox, demo) implements. A collector knows how to talk
 * to one site system; scheduling, spooling and delivery are not its business.
 */
import {
  CAPTURE_SCHEMA_VERSION,
  type CaptureInput,
  type CaptureVmInput,
} from '../capture/schema.ts';

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
  /**
   * The same capture, handed to `sink` VM by VM as the source is read, so that memory holds
   * a page of VMs and not the capture (the agent's scheduler streams it into the spool).
   * Optional: collectors without it are captured whole.
   */
  captureTo?(options: CaptureOptions, sink: CaptureSink): Promise<void>;
}

/** What a collector hands over first: the capture's identity and the datastores disks may name. */
export type CaptureStart = Pick<CaptureInput, 'captureId' | 'source' | 'capturedAt'> & {
  datastores: NonNullable<CaptureInput['datastores']>;
};
/** What a collector hands over last. */
export type CaptureEnd = Omit<
  CaptureInput,
  'schemaVersion' | 'captureId' | 'source' | 'capturedAt' | 'vms' | 'datastores'
>;

/** Where a streaming collector writes a capture (CaptureStreamWriter, or memory for tests). */
export interface CaptureSink {
  start(head: CaptureStart): Promise<void>;
  vm(vm: CaptureVmInput): Promise<void>;
  end(rest: CaptureEnd): Promise<void>;
}

/** A sink that keeps the capture in memory (the collector's `capture()` and tests). */
export class MemorySink implements CaptureSink {
  capture: CaptureInput | null = null;
  #vms: CaptureVmInput[] = [];
  #start: CaptureStart | null = null;

  start(head: CaptureStart): Promise<void> {
    this.#start = head;
    return Promise.resolve();
  }

  vm(vm: CaptureVmInput): Promise<void> {
    this.#vms.push(vm);
    return Promise.resolve();
  }

  end(rest: CaptureEnd): Promise<void> {
    const s = this.#start!;
    this.capture = {
      schemaVersion: CAPTURE_SCHEMA_VERSION,
      captureId: s.captureId,
      source: s.source,
      capturedAt: s.capturedAt,
      ...rest,
      vms: this.#vms,
      datastores: s.datastores,
    };
    return Promise.resolve();
  }
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

type GuestDiskFree = { path: string; freeMib: number | null };

/**
 * Takes the free space of a VM's guest disks out of its record (a copy of its `guest` without
 * it replaces the old) and returns it by path, for the VM's `usage` row: free space moves at
 * every capture, and in the record it would make an unchanged VM look changed.
 */
export function takeGuestDiskFree(
  vm: { guest?: { disks?: readonly { path: string }[] } | null },
): GuestDiskFree[] {
  const disks = vm.guest?.disks;
  if (!disks?.length) return [];
  const free = disks.map((d) => ({
    path: d.path,
    freeMib: (d as { freeMib?: number | null }).freeMib ?? null,
  }));
  vm.guest = {
    ...vm.guest,
    disks: disks.map((d) => {
      const { freeMib: _, ...disk } = d as { path: string; freeMib?: number | null };
      return disk;
    }),
  };
  return free;
}
