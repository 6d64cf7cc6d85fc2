/**
 * A capture written into the spool as it is collected: each VM as the collector hands it
 * over (validated on its own, turned into JSON text and gzipped at once), then, once the
 * collection ended, the head in front of them. Memory holds one page of VMs, not the
 * capture: the vCenter collector streams its SOAP pages through here
 * (collectors/vcenter/collector.ts `captureTo`).
 *
 * The text is our agents' layout (capture/capture_text.ts), which the server stores while it
 * still arrives (server/ingest/stream_capture.ts): the head, ending `"vms":[`, then the VMs,
 * each beginning `{"key":`, then `]}`. The head is only known at the end (usage, hosts,
 * completeness), so the VMs are written to a file of their own as one gzip member, and the
 * spooled file is the head's gzip member followed by the VMs' (gzip readers read members
 * in a row as one text). The checks are the schema's: each VM against `CaptureVm` and
 * `vmReferenceIssues`, keys unique, the rest against `CaptureHead`, usage only for VMs of
 * the capture. A check failing throws and the half-written files are removed, as an
 * invalid capture is never spooled.
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
import { captureHeadText } from '../capture/capture_text.ts';
import { gzip } from './gzip.ts';
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
  /** The spooled file while it is written, and the VMs' member while they are collected. */
  #tmp = '';
  #vmsTmp = '';
  readonly #maxBytes: number;
  #handle: Awaited<ReturnType<typeof open>> | null = null;
  #vmsHandle: Awaited<ReturnType<typeof open>> | null = null;
  #writer: WritableStreamDefaultWriter<BufferSource> | null = null;
  #pump: Promise<void> | null = null;
  #pending = '';
  #vmBytes = 0;
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
    const tag = crypto.randomUUID();
    this.#tmp = `${this.#file}.tmp-${tag}`;
    this.#vmsTmp = `${this.#file}.vms-${tag}`;
    this.#vmsHandle = await open(this.#vmsTmp, 'w+', 0o600);
    const gzip = new CompressionStream('gzip');
    this.#writer = gzip.writable.getWriter();
    const handle = this.#vmsHandle;
    const reader = gzip.readable.getReader();
    this.#pump = (async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        await handle.write(value);
        this.#vmBytes += value.byteLength;
      }
    })();
    // Keep the rejection for commit/abort to see; never unhandled. A pump that failed (the
    // disk is full) reads no more, so the gzip side would wait forever for room: it is
    // aborted with the pump's error, and the next VM's write throws it at once.
    this.#pump.catch((err) => this.#writer?.abort(err).catch(() => {}));
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
    await this.#write(']}', true);
    await this.#writer!.close();
    await this.#pump;
    // The spooled file: the head's member, then the VMs' member copied behind it.
    const headBytes = await gzip(captureHeadText(h));
    this.#handle = await open(this.#tmp, 'w', 0o600);
    await this.#handle.write(headBytes);
    const buffer = new Uint8Array(CHUNK);
    for (let at = 0; at < this.#vmBytes;) {
      const { bytesRead } = await this.#vmsHandle!.read(buffer, 0, buffer.length, at);
      if (bytesRead === 0) {
        throw new Error(`${this.#vmsTmp} ended at ${at} of ${this.#vmBytes} bytes`);
      }
      await this.#handle.write(buffer.subarray(0, bytesRead));
      at += bytesRead;
    }
    await this.#closeVms();
    this.#summary = {
      captureId: h.captureId,
      capturedAt: h.capturedAt,
      sourceId: h.source.id,
      vmCount: this.#keys.size,
      complete: h.complete,
      errors: h.errors,
      bytes: headBytes.byteLength + this.#vmBytes,
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
    await this.#closeVms();
    await this.#handle?.close().catch(() => {});
    this.#handle = null;
    if (this.#tmp) await removeFile(this.#tmp).catch(() => {});
  }

  async #closeVms(): Promise<void> {
    await this.#vmsHandle?.close().catch(() => {});
    this.#vmsHandle = null;
    if (this.#vmsTmp) await removeFile(this.#vmsTmp).catch(() => {});
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
