/**
 * vCenter session lifecycle: read the ServiceContent (where every manager lives, and the
 * `about` block that names the product and the instance), log in through the
 * SessionManager, log out. A wrong password becomes a CollectorError with code `auth`,
 * which the scheduler reports as a failed poll.
 */
import { CollectorError } from '../collector.ts';
import { type MoRef, readMoRef, type SoapClient, SoapFault, textXml } from './soap.ts';
import { child, childText, type XmlElement } from './xml.ts';

export type About = {
  name: string | null;
  fullName: string | null;
  version: string | null;
  apiVersion: string | null;
  /** `VirtualCenter` for vCenter, `HostAgent` for a single ESXi host. */
  apiType: string | null;
  instanceUuid: string | null;
};

export type ServiceContent = {
  rootFolder: MoRef;
  propertyCollector: MoRef;
  viewManager: MoRef;
  sessionManager: MoRef;
  eventManager: MoRef | null;
  customFieldsManager: MoRef | null;
  about: About;
};

const SERVICE_INSTANCE: MoRef = { type: 'ServiceInstance', value: 'ServiceInstance' };

function required(rv: XmlElement, name: string): MoRef {
  const ref = readMoRef(child(rv, name));
  if (!ref) {
    throw new CollectorError('protocol', `ServiceContent has no ${name}: is this a vCenter?`);
  }
  return ref;
}

/** Parses a RetrieveServiceContent response's `returnval`. */
export function readServiceContent(rv: XmlElement): ServiceContent {
  const about = child(rv, 'about');
  const text = (name: string) => childText(about, name)?.trim() || null;
  return {
    rootFolder: required(rv, 'rootFolder'),
    propertyCollector: required(rv, 'propertyCollector'),
    viewManager: required(rv, 'viewManager'),
    sessionManager: required(rv, 'sessionManager'),
    eventManager: readMoRef(child(rv, 'eventManager')),
    customFieldsManager: readMoRef(child(rv, 'customFieldsManager')),
    about: {
      name: text('name'),
      fullName: text('fullName'),
      version: text('version'),
      apiVersion: text('apiVersion'),
      apiType: text('apiType'),
      instanceUuid: text('instanceUuid'),
    },
  };
}

/** Reads the ServiceContent (allowed before login) and pins the SOAPAction to its apiVersion. */
export async function retrieveServiceContent(
  soap: SoapClient,
  signal: AbortSignal,
): Promise<ServiceContent> {
  const res = await soap.call('RetrieveServiceContent', SERVICE_INSTANCE, '', signal);
  const rv = child(res, 'returnval');
  if (!rv) {
    throw new CollectorError(
      'protocol',
      `RetrieveServiceContent: no returnval from ${soap.sdkUrl}`,
    );
  }
  const content = readServiceContent(rv);
  if (content.about.apiVersion) soap.setApiVersion(content.about.apiVersion);
  return content;
}

/** Logs in; the SOAP client keeps the session cookie. Bad credentials throw CollectorError('auth'). */
export async function login(
  soap: SoapClient,
  content: ServiceContent,
  username: string,
  password: string,
  signal: AbortSignal,
): Promise<void> {
  try {
    await soap.call(
      'Login',
      content.sessionManager,
      textXml('userName', username) + textXml('password', password),
      signal,
    );
  } catch (err) {
    if (
      err instanceof SoapFault &&
      (err.faultType === 'InvalidLogin' || err.faultType === 'NoPermission')
    ) {
      // Never echo the password; the user name helps the admin see which account is wrong.
      throw new CollectorError(
        'auth',
        `vCenter at ${soap.sdkUrl} rejected the login for user "${username}": incorrect user name or password (${err.faultType})`,
      );
    }
    throw err;
  }
}

/** Logs out, ignoring failures: a capture that already has its data must not fail here. */
export async function logout(
  soap: SoapClient,
  content: ServiceContent,
  signal: AbortSignal,
): Promise<void> {
  try {
    await soap.call('Logout', content.sessionManager, '', signal);
  } catch {
    // The session expires on its own on the vCenter side.
  }
}
