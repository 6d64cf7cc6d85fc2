/**
 * vim25 SOAP transport: builds request envelopes, posts them to `/sdk` over the agent's
 * TLS-aware HTTP client with the session cookie, and turns responses into elements or
 * typed faults. Knows nothing about inventory; `session.ts` and `retrieve.ts` build on it.
 */
import type { HttpClient } from '../../runtime/http_client.ts';
import { CollectorError } from '../collector.ts';
import { child, childText, escapeXml, parseXml, type XmlElement } from './xml.ts';

/** A managed object reference, e.g. `{type: 'VirtualMachine', value: 'vm-42'}`. */
export type MoRef = { type: string; value: string };

/** A SOAP fault from vCenter; `faultType` is the vim25 fault, e.g. `InvalidLogin`. */
export class SoapFault extends Error {
  override name = 'SoapFault';
  readonly faultType: string | null;
  readonly method: string;
  constructor(method: string, faultType: string | null, message: string) {
    super(`${method}: ${faultType ? `${faultType}: ` : ''}${message}`);
    this.method = method;
    this.faultType = faultType;
  }
}

/** Wraps a method body in the SOAP 1.1 envelope vCenter expects. */
export function envelope(body: string): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>' +
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" ' +
    'xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">' +
    `<soapenv:Body>${body}</soapenv:Body></soapenv:Envelope>`
  );
}

/** A method call element: `<Method xmlns="urn:vim25"><_this type=…>…</_this>…</Method>`. */
export function methodBody(method: string, self: MoRef, inner = ''): string {
  return `<${method} xmlns="urn:vim25">${moRefXml('_this', self)}${inner}</${method}>`;
}

/** A managed object reference element. */
export function moRefXml(tag: string, ref: MoRef): string {
  return `<${tag} type="${escapeXml(ref.type)}">${escapeXml(ref.value)}</${tag}>`;
}

/** A simple element with escaped text. */
export function textXml(tag: string, value: string | number | boolean): string {
  return `<${tag}>${escapeXml(String(value))}</${tag}>`;
}

/** Reads a reference element (`<obj type="VirtualMachine">vm-1</obj>`). */
export function readMoRef(el: XmlElement | undefined): MoRef | null {
  if (!el) return null;
  const type = el.attrs?.type ?? el.xsiType;
  return type && el.text ? { type, value: el.text } : null;
}

/** Finds the Body's single response element, or the fault inside it. */
export function readResponse(method: string, xml: string): XmlElement {
  const root = parseXml(xml);
  const body = child(root, 'Body');
  if (!body) throw new SoapFault(method, null, 'response has no SOAP Body');
  const fault = child(body, 'Fault');
  if (fault) throw readFault(method, fault);
  const res = body.children[0];
  if (!res) throw new SoapFault(method, null, 'empty SOAP Body');
  return res;
}

/** Builds a SoapFault from a `<Fault>` element (faultstring plus the detail's fault type). */
export function readFault(method: string, fault: XmlElement): SoapFault {
  const message = childText(fault, 'faultstring')?.trim() || 'unknown fault';
  const detail = child(fault, 'detail');
  // The detail holds e.g. <InvalidLoginFault xsi:type="InvalidLogin"/>.
  const d = detail?.children[0];
  const faultType = d ? (d.xsiType ?? d.name.replace(/Fault$/, '')) : null;
  return new SoapFault(method, faultType, message);
}

export type SoapClientOptions = {
  http: HttpClient;
  /** The SDK endpoint, e.g. `https://vc.example/sdk`. */
  sdkUrl: string;
  /** Per-request time limit. */
  timeoutMs: number;
};

/** A vim25 SOAP client bound to one endpoint and (after login) one session cookie. */
export type SoapClient = {
  /** Calls `method` on `self`; returns the response element (`<MethodResponse>`). */
  call(method: string, self: MoRef, inner: string, signal: AbortSignal): Promise<XmlElement>;
  /** The SOAPAction version, set once the server's apiVersion is known. */
  setApiVersion(version: string): void;
  readonly sdkUrl: string;
};

/** Creates a SOAP client; the session cookie is kept from whatever response sets it. */
export function createSoapClient(options: SoapClientOptions): SoapClient {
  let cookie: string | null = null;
  let action = 'urn:vim25';
  const { http, sdkUrl, timeoutMs } = options;

  async function call(
    method: string,
    self: MoRef,
    inner: string,
    signal: AbortSignal,
  ): Promise<XmlElement> {
    const headers: Record<string, string> = {
      'Content-Type': 'text/xml; charset=utf-8',
      SOAPAction: action,
    };
    if (cookie) headers.Cookie = cookie;
    const res = await http.request(sdkUrl, {
      method: 'POST',
      headers,
      body: envelope(methodBody(method, self, inner)),
      signal,
      timeoutMs,
    });
    const setCookie = res.headers['set-cookie'];
    const first = Array.isArray(setCookie) ? setCookie[0] : setCookie;
    if (first) cookie = first.split(';')[0];
    const text = res.body.toString('utf8');
    // vCenter answers faults with 500 and a SOAP Fault body; anything else non-2xx is not SOAP.
    if (res.status >= 300 && !(res.status === 500 && text.includes('Fault>'))) {
      throw new CollectorError(
        res.status === 404 ? 'not_vcenter' : 'http',
        `${method}: HTTP ${res.status} from ${sdkUrl}${
          res.status === 404 ? ' (is this a vCenter /sdk endpoint?)' : ''
        }`,
      );
    }
    try {
      return readResponse(method, text);
    } catch (err) {
      if (err instanceof SoapFault) throw err;
      throw new CollectorError(
        'protocol',
        `${method}: unreadable response from ${sdkUrl}: ${(err as Error).message}`,
      );
    }
  }

  return {
    call,
    setApiVersion(version: string) {
      action = `urn:vim25/${version}`;
    },
    sdkUrl,
  };
}
