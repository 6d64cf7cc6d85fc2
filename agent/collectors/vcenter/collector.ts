/**
 * The vCenter collector: one session per capture, the VM retrieval and the bulk inventory,
 * datastores, custom attribute names and lifecycle events fetched concurrently on that
 * session, then joined in memory into a capture.
 *
 * Only the VM retrieval is essential: if it fails the capture throws (a failed poll).
 * Any other part failing still yields a capture, marked `complete: false` with the
 * reason in `errors`, so the server never infers deletions from it.
 */
import type { CaptureEvent, CaptureInput } from '../../capture/schema.ts';
import type { VmUsage } from '../../capture/details.ts';
import { resolveSecret, type VcenterSourceConfig } from '../../config.ts';
import type { Logger } from '../../../shared/log.ts';
import { createHttpClient, type HttpClient } from '../../runtime/http_client.ts';
import {
  type CaptureOptions,
  type CaptureSink,
  type CheckResult,
  type Collector,
  CollectorError,
  MemorySink,
} from '../collector.ts';
import { creationTimes, readVmEvents, type VmEvent } from './events.ts';
import { type Inventory, loadInventory } from './inventory.ts';
import { createContainerView, destroyView, retrieveObject, retrieveView } from './retrieve.ts';
import { createSoapClient, type SoapClient, SoapFault } from './soap.ts';
import { login, logout, retrieveServiceContent, type ServiceContent } from './session.ts';
import { type RawVm, readRawVm, toCaptureVm, toUsage, VM_SPEC, type VmContext } from './vms.ts';
import {
  clusterRows,
  datastoreRows,
  hostRows,
  networkRows,
  resourcePoolRows,
} from './inventory_rows.ts';
import { openTagReader, type TagReader } from './tags.ts';
import { childText } from './xml.ts';

/** The SDK endpoint for a configured URL: `https://vc` and `https://vc/` mean `https://vc/sdk`. */
export function sdkUrlFor(url: string): string {
  const u = new URL(url);
  if (u.pathname === '' || u.pathname === '/') u.pathname = '/sdk';
  u.username = '';
  u.password = '';
  return u.toString();
}

/**
 * VMs per page whatever `pageSize` asks (real vCenters cap pages near 100 anyway): a VM with
 * the v2 properties is ~10 KB of XML, and the page (text and tree) is most of what the agent
 * holds while streaming. Measured at 10,000 vcsim VMs, streamed into the spool, no V8 flags:
 * 1,000 per page peaked at 680 MB (whole capture held) / 383 MB (streamed), 250 at 480 /
 * 383 MB, 100 at 312 MB streamed, and smaller pages were not slower.
 */
export const VM_PAGE_MAX = 100;

type Session = {
  soap: SoapClient;
  http: HttpClient;
  content: ServiceContent;
  password: string;
};

/** Turns anything thrown into a one-line reason for `errors` / CheckResult. */
function reason(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Assigns VM keys per DESIGN.md: `<vc uuid>:<config.instanceUuid>`, or `<vc uuid>:moref:<vm-id>`
 * without one. If two VMs share an instanceUuid (vCenter should prevent it, but copies of
 * .vmx files happen), the lowest moref keeps the uuid key and the others fall back to their
 * moref, deterministically, so keys do not flap between captures.
 */
export function assignKeys(vcUuid: string, vms: readonly RawVm[]): string[] {
  const owners = keyOwners(vms);
  return vms.map((vm) => keyFor(vcUuid, vm, owners));
}

/** The VM (moref) that keeps each instanceUuid: the lowest moref number, then the lowest text. */
export function keyOwners(
  vms: readonly { moref: string; instanceUuid: string | null }[],
): Map<string, string> {
  const owner = new Map<string, string>();
  const morefOrder = (m: string) => Number(/(\d+)$/.exec(m)?.[1] ?? Number.MAX_SAFE_INTEGER);
  for (const vm of vms) {
    if (!vm.instanceUuid) continue;
    const prev = owner.get(vm.instanceUuid);
    if (
      prev === undefined || morefOrder(vm.moref) < morefOrder(prev) ||
      (morefOrder(vm.moref) === morefOrder(prev) && vm.moref < prev)
    ) {
      owner.set(vm.instanceUuid, vm.moref);
    }
  }
  return owner;
}

/**
 * A VM's key given the owners: its uuid key when it owns its instanceUuid (or, created since
 * the owners were read, nobody does), else its moref key.
 */
export function keyFor(
  vcUuid: string,
  vm: { moref: string; instanceUuid: string | null },
  owners: ReadonlyMap<string, string>,
): string {
  if (!vm.instanceUuid) return `${vcUuid}:moref:${vm.moref}`;
  const owner = owners.get(vm.instanceUuid);
  return owner === undefined || owner === vm.moref
    ? `${vcUuid}:${vm.instanceUuid}`
    : `${vcUuid}:moref:${vm.moref}`;
}

/** Maps lifecycle events to capture events, resolving keys of VMs still present. */
export function toCaptureEvents(
  events: readonly VmEvent[],
  keyByMoref: Map<string, string>,
): CaptureEvent[] {
  return events.map((e) => ({
    type: e.kind,
    at: e.at,
    vmKey: e.vmMoref ? (keyByMoref.get(e.vmMoref) ?? null) : null,
    sourceVmId: e.vmMoref,
    vmName: e.vmName,
    detail: `${e.eventType}${e.userName ? ` by ${e.userName}` : ''} (event ${e.key})`.slice(
      0,
      1024,
    ),
  }));
}

/** Creates the collector for one configured vCenter source. */
export function createVcenterCollector(config: VcenterSourceConfig, log: Logger): Collector {
  const sdkUrl = sdkUrlFor(config.url);
  const where = `sources.${config.name}`;
  const timeoutMs = config.timeoutSeconds * 1000;

  async function open(signal: AbortSignal): Promise<Session> {
    // Resolved per session so a rotated password file is picked up without a restart.
    let password: string;
    try {
      password =
        (await resolveSecret(config as unknown as Record<string, unknown>, 'password', where))!;
    } catch (err) {
      throw new CollectorError('config', reason(err));
    }
    const http = createHttpClient(
      { insecure: config.insecure, caFile: config.caFile, thumbprint: config.thumbprint },
      (msg) => log.warn(msg, { source: config.name }),
    );
    const soap = createSoapClient({ http, sdkUrl, timeoutMs });
    try {
      const content = await retrieveServiceContent(soap, signal);
      await login(soap, content, config.username, password, signal);
      return { soap, http, content, password };
    } catch (err) {
      http.close();
      throw asCollectorError(err);
    }
  }

  async function close(s: Session, signal: AbortSignal): Promise<void> {
    // Log out even when the capture was aborted: a fresh short signal, not the dead one.
    await logout(s.soap, s.content, signal.aborted ? AbortSignal.timeout(5000) : signal);
    s.http.close();
  }

  /**
   * Which VM owns each instanceUuid (assignKeys' rule), from one light pass over the VMs
   * (`config.instanceUuid` only), so keys are decided before the VM pages stream out.
   */
  async function uuidOwners(s: Session, signal: AbortSignal): Promise<Map<string, string>> {
    const vms: { moref: string; instanceUuid: string | null }[] = [];
    const view = await createContainerView(s.soap, s.content.viewManager, s.content.rootFolder, [
      'VirtualMachine',
    ], signal);
    try {
      await retrieveView(
        s.soap,
        s.content.propertyCollector,
        view,
        [{ type: 'VirtualMachine', paths: ['config.instanceUuid'] }],
        Math.max(config.pageSize, 1000),
        signal,
        (o) => {
          vms.push({
            moref: o.obj.value,
            instanceUuid: o.props.get('config.instanceUuid')?.text || null,
          });
        },
      );
    } finally {
      await destroyView(s.soap, view, signal);
    }
    return keyOwners(vms);
  }

  async function customFieldNames(s: Session, signal: AbortSignal): Promise<Map<string, string>> {
    const names = new Map<string, string>();
    if (!s.content.customFieldsManager) return names;
    const o = await retrieveObject(
      s.soap,
      s.content.propertyCollector,
      s.content.customFieldsManager,
      ['field'],
      signal,
    );
    for (const def of o?.props.get('field')?.children ?? []) {
      const key = childText(def, 'key');
      const name = childText(def, 'name');
      if (key && name) names.set(key, name);
    }
    return names;
  }

  async function captureTo(options: CaptureOptions, sink: CaptureSink): Promise<void> {
    const { signal } = options;
    const at = options.at ?? new Date();
    const t0 = performance.now();
    const s = await open(signal);
    let tags: TagReader | null = null;
    try {
      const about = s.content.about;
      const vcUuid = about.instanceUuid ?? new URL(sdkUrl).host;
      // Everything the VMs are joined with, concurrently on one session, before the VM pages
      // are asked for: each page is then written out as it arrives.
      const [ownersR, invR, fieldsR, eventsR, tagsR] = await Promise.allSettled([
        uuidOwners(s, signal),
        loadInventory(s.soap, s.content, Math.max(config.pageSize, 1000), signal),
        customFieldNames(s, signal),
        readVmEvents(s.soap, s.content, options.since, signal),
        openTagReader(
          { http: s.http, sdkUrl, username: config.username, password: s.password, timeoutMs },
          signal,
        ),
      ]);
      if (tagsR.status === 'fulfilled') tags = tagsR.value;
      if (ownersR.status === 'rejected') {
        throw asCollectorError(ownersR.reason, 'retrieving the VM inventory failed');
      }
      const owners = ownersR.value;
      const errors: string[] = [];
      let inventory: Inventory | null = null;
      if (invR.status === 'fulfilled') inventory = invR.value.inventory;
      else {errors.push(
          `inventory (hosts, clusters, pools, folders, datastores): ${reason(invR.reason)}`,
        );}
      let fieldNames = new Map<string, string>();
      if (fieldsR.status === 'fulfilled') fieldNames = fieldsR.value;
      else errors.push(`custom attribute names: ${reason(fieldsR.reason)}`);
      let events: VmEvent[] = [];
      if (eventsR.status === 'fulfilled') {
        events = eventsR.value.events;
        if (eventsR.value.truncated) {
          errors.push(
            `events: more than ${events.length} lifecycle events since the last capture; the rest were not read`,
          );
        }
      } else errors.push(`events: ${reason(eventsR.reason)}`);
      const tagError = (err: unknown) => {
        if (signal.aborted) throw asCollectorError(err);
        errors.push(`vSphere tags (tagging service): ${reason(err)}; VMs captured without tags`);
      };
      if (tagsR.status === 'rejected') tagError(tagsR.reason);

      const ctx: VmContext = {
        inventory,
        prefix: vcUuid,
        labels: new Map(),
        fieldNames,
        createdFromEvents: creationTimes(events),
        now: at,
      };
      await sink.start({
        captureId: crypto.randomUUID(),
        source: {
          kind: 'vcenter',
          id: vcUuid,
          name: config.name,
          endpoint: sdkUrl,
          version: about.fullName,
        },
        capturedAt: at.toISOString(),
        datastores: inventory ? datastoreRows(inventory, vcUuid) : [],
      });

      const usage: VmUsage[] = [];
      const keyByMoref = new Map<string, string>();
      let missingProps = 0;
      let missingExample: string[] | undefined;
      let page: RawVm[] = [];
      // One page: its tags in one batch call, then each VM built, checked and written.
      const writePage = async () => {
        const raws = page;
        page = [];
        if (tags && raws.length) {
          try {
            ctx.labels = await tags.forVms(raws.map((vm) => vm.moref));
          } catch (err) {
            tagError(err);
            ctx.labels = new Map();
            await tags.close();
            tags = null;
          }
        }
        for (const raw of raws) {
          const key = keyFor(vcUuid, raw, owners);
          keyByMoref.set(raw.moref, key);
          const use = toUsage(raw, key);
          if (use) usage.push(use);
          if (raw.missing.length) {
            missingProps++;
            missingExample ??= raw.missing;
          }
          await sink.vm(toCaptureVm(raw, key, ctx));
        }
      };
      let pages = 0;
      try {
        const view = await createContainerView(
          s.soap,
          s.content.viewManager,
          s.content.rootFolder,
          ['VirtualMachine'],
          signal,
        );
        try {
          const stats = await retrieveView(
            s.soap,
            s.content.propertyCollector,
            view,
            [VM_SPEC],
            Math.min(config.pageSize, VM_PAGE_MAX),
            signal,
            (o) => {
              page.push(readRawVm(o));
            },
            writePage,
          );
          pages = stats.pages;
        } finally {
          await destroyView(s.soap, view, signal);
        }
      } catch (err) {
        // The sink refusing a VM (the contract) is the sink's message, not a retrieval failure.
        if (err instanceof Error && err.name === 'InvalidCaptureError') throw err;
        throw asCollectorError(err, 'retrieving the VM inventory failed');
      }
      if (missingProps) {
        log.warn('some VM properties were not readable (permissions?)', {
          source: config.name,
          vms: missingProps,
          example: missingExample,
        });
      }
      await sink.end({
        complete: errors.length === 0,
        errors,
        hosts: inventory ? hostRows(inventory, vcUuid) : [],
        events: toCaptureEvents(events, keyByMoref),
        clusters: inventory ? clusterRows(inventory, vcUuid) : [],
        resourcePools: inventory ? resourcePoolRows(inventory, vcUuid) : [],
        networks: inventory ? networkRows(inventory, vcUuid) : [],
        usage,
      });
      log.info('vcenter capture', {
        source: config.name,
        vms: keyByMoref.size,
        vmPages: pages,
        hosts: inventory?.hostObjects.length ?? null,
        events: events.length,
        ms: Math.round(performance.now() - t0),
        complete: errors.length === 0,
      });
    } finally {
      await tags?.close();
      await close(s, signal);
    }
  }

  async function capture(options: CaptureOptions): Promise<CaptureInput> {
    const sink = new MemorySink();
    await captureTo(options, sink);
    return sink.capture!;
  }

  async function check(signal: AbortSignal): Promise<CheckResult> {
    let s: Session;
    try {
      s = await open(signal);
    } catch (err) {
      return { ok: false, message: reason(err) };
    }
    try {
      const about = s.content.about;
      const view = await createContainerView(s.soap, s.content.viewManager, s.content.rootFolder, [
        'VirtualMachine',
      ], signal);
      let vms = 0;
      try {
        await retrieveView(
          s.soap,
          s.content.propertyCollector,
          view,
          [{ type: 'VirtualMachine', paths: [] }],
          10_000,
          signal,
          () => {
            vms++;
          },
        );
      } finally {
        await destroyView(s.soap, view, signal);
      }
      const who = `${about.fullName ?? 'vCenter'} at ${sdkUrl} as ${config.username}`;
      return {
        ok: true,
        message: vms > 0
          ? `${who}: ${vms} VMs visible`
          : `${who}: 0 VMs visible (does this account have read access to the inventory?)`,
        details: {
          vms,
          version: about.fullName,
          apiVersion: about.apiVersion,
          instanceUuid: about.instanceUuid,
          apiType: about.apiType,
        },
        // The id captures carry (collector.ts: instanceUuid, else the SDK host).
        identity: { kind: 'vcenter', id: about.instanceUuid ?? new URL(sdkUrl).host },
      };
    } catch (err) {
      return { ok: false, message: reason(asCollectorError(err)) };
    } finally {
      await close(s, signal);
    }
  }

  return { check, capture, captureTo };
}

/** Keeps CollectorErrors as they are; wraps SOAP faults and the rest with context. */
function asCollectorError(err: unknown, context?: string): CollectorError {
  if (err instanceof CollectorError) {
    return context ? new CollectorError(err.code, `${context}: ${err.message}`) : err;
  }
  if (err instanceof SoapFault) {
    const code = err.faultType === 'NotAuthenticated' ? 'auth' : 'vcenter_fault';
    return new CollectorError(code, context ? `${context}: ${err.message}` : err.message);
  }
  const e = err as Error & { name?: string };
  if (e?.name === 'AbortError' || e?.name === 'TimeoutError') {
    return new CollectorError('aborted', `capture aborted: ${e.message}`);
  }
  return new CollectorError('vcenter', `${context ? `${context}: ` : ''}${reason(err)}`);
}
