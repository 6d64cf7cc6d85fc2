/**
 * A capture written into the spool as it is collected: the head, then each VM as the
 * collector hands it over (validated on its own, turned into JSON text and gzipped at once),
 * then the rest. Memory holds one page of VMs, not the capture: the vCenter collector
 * streams its SOAP pages through here (collectors/vcenter/collector.ts `captureTo`).
 *
 * The text is the layout `JSON.stringify` of a validated capture gives, which the server
 * cuts without parsing the VMs (server/ingest/capture_text.ts): no whitespace, `"vms":[`,
 * VMs that begin `{"key":`, then `],"hosts":` and the schema's other keys in its order;
 * `complete` and `errors`, known only at the end, come last. The checks are the schema's:
 * each VM against `CaptureVm` and `vmReferenceIssues`, keys unique, the rest against
 * `CaptureHead`, usage only for VMs of the capture. A check failing throws and the
 * half-written file is removed, as an invalid capture is never spooled.
 */
import { open } from 'node:fs/promises';
import {
  CAPTURE_SCHEMA_VERSION,
  CaptureHead,
  CaptureSource,
  CaptureVm,
  type CaptureVmInput,
  MAX_VMS_PER_CAPTURE,
  vmReferenceIssues,
} from '../capture/schema.ts';
import { moveFile, path, removeFile, syncDir } from '../runtime/host.ts';
import type { CaptureEnd, CaptureSink, CaptureStart } from '../collectors/collector.ts';

/** What the scheduler learns of a streamed capture once it is in the spool. */
export type StreamedCapture = {
  captureId: string;
  capturedAt: string;
  sourceId: string;
  vmCount: number;
  complete: boolean;
  errors: string[];
  /** gzip bytes written. */
  bytes: number;
};

/** An invalid capture: the first issue, with its path (`vms.3.disks.0.datastore`). */
export class InvalidCaptureError extends Error {
  override name = 'InvalidCaptureError';
}

function firstIssue(
  prefix: (string | number)[],
  issues: { path: PropertyKey[]; message: string }[],
) {
  const i = issues[0];
  return new InvalidCaptureError(
    `collector produced an invalid capture: ${
      [...prefix, ...i.path.map(String)].join('.')
    }: ${i.message}`,
  );
}

/** Flush gzip input in pieces of this many characters: few writes, little held. */
const CHUNK = 256 * 1024;

/**
 * Streams one capture (gzip) into the file `fileFor` names once the capture's id is known,
 * through a temporary file renamed into place by `commit`; `abort` removes it. `maxBytes`
 * is the room the spool has left for it.
 */
export class CaptureStreamWriter implements CaptureSink {
  readonly #fileFor: (captureId: string, capturedAt: string) => string;
  #file = '';
  #tmp = '';
  readonly #maxBytes: number;
  #handle: Awaited<ReturnType<typeof open>> | null = null;
  #writer: WritableStreamDefaultWriter<BufferSource> | null = null;
  #pump: Promise<void> | null = null;
  #pending = '';
  #bytes = 0;
  #encoder = new TextEncoder();
  #keys = new Set<string>();
  #datastoreKeys = new Set<string>();
  #start: CaptureStart | null = null;
  #summary: StreamedCapture | null = null;

  constructor(fileFor: (captureId: string, capturedAt: string) => string, maxBytes: number) {
    this.#fileFor = fileFor;
    this.#maxBytes = maxBytes;
  }

  /** Where the capture lands once committed. */
  get file(): string {
    return this.#file;
  }

  async #write(text: string, flush = false): Promise<void> {
    this.#pending += text;
    if (this.#pending.length < CHUNK && !flush) return;
    const bytes = this.#encoder.encode(this.#pending);
    this.#pending = '';
    await this.#writer!.ready;
    await this.#writer!.write(bytes);
  }

  async start(head: CaptureStart): Promise<void> {
    const source = CaptureSource.safeParse(head.source);
    if (!source.success) throw firstIssue(['source'], source.error.issues);
    this.#start = head;
    for (const d of head.datastores) this.#datastoreKeys.add(d.key);
    this.#file = this.#fileFor(head.captureId, head.capturedAt);
    this.#tmp = `${this.#file}.tmp-${crypto.randomUUID()}`;
    this.#handle = await open(this.#tmp, 'w', 0o600);
    const gzip = new CompressionStream('gzip');
    this.#writer = gzip.writable.getWriter();
    const handle = this.#handle;
    const reader = gzip.readable.getReader();
    this.#pump = (async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        await handle.write(value);
        this.#bytes += value.byteLength;
      }
    })();
    // Keep the rejection for commit/abort to see; never unhandled.
    this.#pump.catch(() => {});
    await this.#write(
      `{"schemaVersion":${CAPTURE_SCHEMA_VERSION},"captureId":${
        JSON.stringify(head.captureId)
      },"source":${JSON.stringify(source.data)},"capturedAt":${
        JSON.stringify(head.capturedAt)
      },"vms":[`,
    );
  }

  async vm(input: CaptureVmInput): Promise<void> {
    const i = this.#keys.size;
    const parsed = CaptureVm.safeParse(input);
    if (!parsed.success) throw firstIssue(['vms', i], parsed.error.issues);
    const vm = parsed.data;
    if (this.#keys.has(vm.key)) {
      throw firstIssue(['vms', i, 'key'], [{ path: [], message: `duplicate VM key "${vm.key}"` }]);
    }
    const issues = vmReferenceIssues(vm, this.#datastoreKeys);
    if (issues.length) throw firstIssue(['vms', i], issues);
    if (i >= MAX_VMS_PER_CAPTURE) {
      throw firstIssue(['vms'], [{ path: [], message: 'too many VMs' }]);
    }
    this.#keys.add(vm.key);
    await this.#write(i === 0 ? JSON.stringify(vm) : `,${JSON.stringify(vm)}`);
  }

  async end(rest: CaptureEnd): Promise<void> {
    const start = this.#start!;
    const head = CaptureHead.safeParse({
      ...rest,
      ...start,
      schemaVersion: CAPTURE_SCHEMA_VERSION,
    });
    if (!head.success) throw firstIssue([], head.error.issues);
    const h = head.data;
    h.usage.forEach((u, i) => {
      if (!this.#keys.has(u.key)) {
        throw firstIssue(['usage', i, 'key'], [{
          path: [],
          message: `usage for "${u.key}", a VM not in the capture`,
        }]);
      }
    });
    // The keys after `vms` in the schema's order (the server finds `],"hosts":`), then the
    // two only known at the end.
    const after = {
      hosts: h.hosts,
      datastores: h.datastores,
      events: h.events,
      clusters: h.clusters,
      resourcePools: h.resourcePools,
      networks: h.networks,
      usage: h.usage,
      complete: h.complete,
      errors: h.errors,
    };
    await this.#write(`],${JSON.stringify(after).slice(1)}`, true);
    await this.#writer!.close();
    await this.#pump;
    this.#summary = {
      captureId: h.captureId,
      capturedAt: h.capturedAt,
      sourceId: h.source.id,
      vmCount: this.#keys.size,
      complete: h.complete,
      errors: h.errors,
      bytes: this.#bytes,
    };
  }

  /** Makes the capture durable and visible to delivery; throws at the spool's cap. */
  async commit(): Promise<StreamedCapture> {
    const summary = this.#summary;
    if (!summary) throw new Error('commit before end');
    if (summary.bytes > this.#maxBytes) {
      await this.abort();
      throw new SpoolCapError(summary, this.#maxBytes);
    }
    await this.#handle!.sync();
    await this.#handle!.close();
    this.#handle = null;
    await moveFile(this.#tmp, this.#file);
    await syncDir(path.dirname(this.#file));
    return summary;
  }

  /** Drops the half-written capture (a failed or aborted collection). */
  async abort(): Promise<void> {
    await this.#writer?.abort().catch(() => {});
    await this.#pump?.catch(() => {});
    await this.#handle?.close().catch(() => {});
    this.#handle = null;
    if (this.#tmp) await removeFile(this.#tmp).catch(() => {});
  }
}

/** The streamed capture did not fit in what the spool had left. */
export class SpoolCapError extends Error {
  override name = 'SpoolCapError';
  readonly capture: StreamedCapture;
  constructor(capture: StreamedCapture, room: number) {
    super(
      `spool at its cap: capture ${capture.captureId} (${capture.bytes} bytes) does not fit in the ${room} bytes left`,
    );
    this.capture = capture;
  }
}
