/**
 * Pure tests of the vCenter collector's XML reader, SOAP envelopes and response readers,
 * on strings and on real vcsim responses saved in tests/fixtures/vcenter/. No network,
 * no processes: runs under Node and Deno.
 */
import { readFileSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Capture } from '../../agent/capture/schema.ts';
import {
  assignKeys,
  sdkUrlFor,
  toCaptureEvents,
} from '../../agent/collectors/vcenter/collector.ts';
import {
  creationTimes,
  eventFilterXml,
  readVmEvent,
} from '../../agent/collectors/vcenter/events.ts';
import { decodeEntityName, Inventory } from '../../agent/collectors/vcenter/inventory.ts';
import {
  type ObjectContent,
  readObjectContent,
  readRetrieveResult,
  viewFilterSpecXml,
} from '../../agent/collectors/vcenter/retrieve.ts';
import { readServiceContent } from '../../agent/collectors/vcenter/session.ts';
import {
  envelope,
  methodBody,
  readMoRef,
  readResponse,
  SoapFault,
  textXml,
} from '../../agent/collectors/vcenter/soap.ts';
import {
  plausibleCreateDate,
  type RawVm,
  readRawVm,
  toCaptureVm,
} from '../../agent/collectors/vcenter/vms.ts';
import {
  child,
  childText,
  decodeEntities,
  escapeXml,
  parseXml,
  type XmlElement,
  XmlError,
} from '../../agent/collectors/vcenter/xml.ts';

const fixture = (name: string) =>
  readFileSync(new URL(`../fixtures/vcenter/${name}`, import.meta.url), 'utf8');

const xml = suite('vcenter xml reader');

xml('drops prefixes, keeps attributes, reads xsi:type under any prefix', () => {
  const root = parseXml(
    '<?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="x" xmlns:xsi="y"><soapenv:Body>' +
      '<obj type="VirtualMachine">vm-1</obj>' +
      '<val xmlns:XMLSchema-instance="y" XMLSchema-instance:type="xsd:int">4</val>' +
      '<e xsi:type="VmCreatedEvent"/>' +
      '</soapenv:Body></soapenv:Envelope>',
  );
  assert.is(root.name, 'Envelope');
  const body = child(root, 'Body')!;
  assert.equal(body.children.map((c) => c.name), ['obj', 'val', 'e']);
  assert.equal(body.children[0].attrs, { type: 'VirtualMachine' });
  assert.is(body.children[0].text, 'vm-1');
  assert.is(body.children[1].xsiType, 'int');
  assert.is(body.children[1].attrs, null, 'namespace declarations are not attributes');
  assert.is(body.children[2].xsiType, 'VmCreatedEvent');
  assert.equal(body.children[2].children, []);
  assert.equal(readMoRef(body.children[0]), { type: 'VirtualMachine', value: 'vm-1' });
});

xml('decodes entities, CDATA, and skips comments and processing instructions', () => {
  const root = parseXml(
    `<a n="x &amp; &quot;y&quot;"><!-- c --><b>1 &lt; 2 &amp;&amp; &#233;&#x20AC; &apos;q&apos;</b><?pi x?><c><![CDATA[<raw> & ]]></c><d>&unknown;</d></a>`,
  );
  assert.is(root.attrs!.n, 'x & "y"');
  assert.is(childText(root, 'b'), "1 < 2 && é€ 'q'");
  assert.is(childText(root, 'c'), '<raw> & ');
  assert.is(childText(root, 'd'), '&unknown;', 'unknown entities are left alone');
});

xml('whitespace and attribute spacing are tolerated', () => {
  const root = parseXml(`<a\n  x = 'single'  >\n  <b  />\n  <c>t</c >\n</a>`);
  assert.is(root.attrs!.x, 'single');
  assert.equal(root.children.map((c) => c.name), ['b', 'c']);
  assert.is(childText(root, 'c'), 't');
});

xml('malformed documents raise XmlError with an offset', () => {
  for (
    const bad of [
      '<a><b></a>',
      '<a>',
      '',
      'text only',
      '<a x=1/>',
      '<a></a><b/>',
      '<a x="1></a>',
      '<a><!-- x</a>',
    ]
  ) {
    assert.throws(
      () => parseXml(bad),
      (e: unknown) => e instanceof XmlError && /offset \d+/.test((e as Error).message),
      bad,
    );
  }
});

xml('escapeXml and decodeEntities round-trip any text', () => {
  const s = `p<a>s"s'w&rd ${'\u00e9'}`;
  assert.is(decodeEntities(escapeXml(s)), s);
  assert.is(escapeXml('<&>"\''), '&lt;&amp;&gt;&quot;&apos;');
});

xml('a large page of 10k VMs is read whole, every object with its properties', () => {
  const obj = (i: number) =>
    `<objects><obj type="VirtualMachine">vm-${i}</obj><propSet><name>name</name><val xsi:type="xsd:string">vm ${i} &amp; co</val></propSet>` +
    `<propSet><name>config.hardware.numCPU</name><val xsi:type="xsd:int">${i % 8}</val></propSet>` +
    `<propSet><name>summary.storage</name><val xsi:type="VirtualMachineStorageSummary"><committed>1</committed><uncommitted>2</uncommitted></val></propSet></objects>`;
  const doc = `<Envelope><Body><R><returnval><token>t</token>${
    Array.from({ length: 10_000 }, (_, i) => obj(i)).join('')
  }</returnval></R></Body></Envelope>`;
  const res = readResponse('RetrievePropertiesEx', doc);
  let n = 0;
  const r = readRetrieveResult(res, (o) => {
    n++;
    assert.ok(o.props.size === 3);
  });
  assert.is(n, 10_000);
  assert.is(r.token, 't');
  // No time bound here (speed targets live in benchmarks, never in timed tests): how fast a
  // whole vCenter capture is read is `npm run bench -- vcenter_capture`, against govmomi.
});

xml.run();

const soap = suite('vcenter soap envelopes and responses');

soap('envelopes are well-formed and escape values (passwords with markup survive)', () => {
  const password = `p<a>&"s'`;
  const doc = envelope(
    methodBody(
      'Login',
      { type: 'SessionManager', value: 'SessionManager' },
      textXml('userName', 'u@x') + textXml('password', password),
    ),
  );
  const login = child(child(parseXml(doc), 'Body'), 'Login')!;
  assert.is(login.attrs, null);
  assert.equal(readMoRef(child(login, '_this')), {
    type: 'SessionManager',
    value: 'SessionManager',
  });
  assert.is(childText(login, 'password'), password);
});

soap('a login fault becomes a SoapFault with its vim25 type', () => {
  try {
    readResponse('Login', fixture('login_fault.xml'));
    assert.unreachable();
  } catch (err) {
    assert.instance(err, SoapFault);
    assert.is((err as SoapFault).faultType, 'InvalidLogin');
    assert.match((err as Error).message, /Login: InvalidLogin: Login failure/);
  }
});

soap('ServiceContent: managers and about', () => {
  const rv = child(
    readResponse('RetrieveServiceContent', fixture('service_content.xml')),
    'returnval',
  )!;
  const sc = readServiceContent(rv);
  assert.equal(sc.rootFolder, { type: 'Folder', value: 'group-d1' });
  assert.is(sc.propertyCollector.type, 'PropertyCollector');
  assert.is(sc.viewManager.type, 'ViewManager');
  assert.is(sc.eventManager?.type, 'EventManager');
  assert.is(sc.customFieldsManager?.type, 'CustomFieldsManager');
  assert.is(sc.about.apiType, 'VirtualCenter');
  assert.is(sc.about.apiVersion, '6.5');
  assert.is(sc.about.fullName, 'VMware vCenter Server 6.5.0 build-5973321');
  assert.match(sc.about.instanceUuid ?? '', /^[0-9a-f-]{36}$/);
});

soap('RetrievePropertiesEx pages: token on the first, none on the last', () => {
  const seen: ObjectContent[] = [];
  const p1 = readRetrieveResult(
    readResponse('RetrievePropertiesEx', fixture('retrieve_vms_page1.xml')),
    (o) => seen.push(o),
  );
  assert.is(p1.count, 1);
  assert.ok(p1.token);
  const p2 = readRetrieveResult(
    readResponse('ContinueRetrievePropertiesEx', fixture('retrieve_vms_page2.xml')),
    (o) => seen.push(o),
  );
  assert.is(p2.count, 1);
  assert.is(p2.token, null);
  assert.is(seen.length, 2);
  const vm = readRawVm(seen[0]);
  assert.match(vm.moref, /^vm-\d+$/);
  assert.match(vm.name, /^DC0_C0_RP0_VM\d$/);
  assert.is(vm.vcpu, 1);
  assert.is(vm.memoryMib, 32);
  assert.is(vm.powerState, 'poweredOn');
  assert.is(vm.isTemplate, false);
  assert.match(vm.instanceUuid ?? '', /^[0-9a-f-]{36}$/);
  assert.match(vm.hostKey ?? '', /^HostSystem:host-\d+$/);
  assert.match(vm.poolKey ?? '', /^ResourcePool:resgroup-\d+$/);
  assert.match(vm.parentKey ?? '', /^Folder:folder-\d+$/);
  assert.is(vm.guestOs, 'otherGuest');
  assert.equal([vm.committedBytes, vm.uncommittedBytes], [0, 0]);
});

soap('an empty result (no returnval) is zero objects, no token', () => {
  const res = parseXml(
    '<RetrievePropertiesExResponse xmlns="urn:vim25"></RetrievePropertiesExResponse>',
  );
  assert.equal(readRetrieveResult(res, () => assert.unreachable()), { token: null, count: 0 });
});

soap('missingSet entries are reported per object', () => {
  const o = readObjectContent(parseXml(
    '<objects><obj type="VirtualMachine">vm-9</obj><propSet><name>name</name><val>x</val></propSet>' +
      '<missingSet><path>config.annotation</path><fault><fault xsi:type="NoPermission"/><localizedMessage/></fault></missingSet></objects>',
  ))!;
  assert.equal(o.missing, [{ path: 'config.annotation', fault: 'NoPermission' }]);
  assert.equal(readRawVm(o).missing, ['config.annotation (NoPermission)']);
});

soap('filter specs parse back with the expected structure and element order', () => {
  const spec = parseXml(
    viewFilterSpecXml({ type: 'ContainerView', value: 'session[1]view-1' }, [{
      type: 'VirtualMachine',
      paths: ['name', 'config.template'],
    }]),
  );
  const propSet = child(spec, 'propSet')!;
  assert.equal(propSet.children.map((c) => c.text), ['VirtualMachine', 'name', 'config.template']);
  const sel = child(child(spec, 'objectSet'), 'selectSet')!;
  assert.is(sel.xsiType, 'TraversalSpec');
  assert.is(childText(sel, 'path'), 'view');

  const filter = parseXml(
    eventFilterXml({ type: 'Folder', value: 'group-d1' }, new Date('2026-01-02T03:04:05Z')),
  );
  const order = filter.children.map((c) => c.name);
  // vim25's EventFilterSpec is an xsd:sequence: entity, time, …, disableFullMessage, …, eventTypeId.
  assert.equal([...new Set(order)], ['entity', 'time', 'disableFullMessage', 'eventTypeId']);
  assert.is(childText(child(filter, 'time'), 'beginTime'), '2026-01-02T03:04:05.000Z');
  assert.not.ok(eventFilterXml({ type: 'Folder', value: 'group-d1' }, null).includes('<time>'));
});

soap.run();

const events = suite('vcenter events');

events('VmCreatedEvent from vcsim reads into a lifecycle event', () => {
  const res = readResponse('ReadNextEvents', fixture('read_next_events.xml'));
  const list = res.children.map((e: XmlElement) => readVmEvent(e)).filter((e) => e !== null);
  assert.is(list.length, 2);
  const e = list[0]!;
  assert.is(e.kind, 'created');
  assert.is(e.eventType, 'VmCreatedEvent');
  assert.is(e.isOrigin, true);
  assert.match(e.vmMoref ?? '', /^vm-\d+$/);
  assert.match(e.vmName ?? '', /^DC0_C0_RP0_VM/);
  assert.match(
    e.at,
    /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/,
    'nanoseconds normalised to ISO ms',
  );
  assert.is(e.userName, null);
});

events('registration is a created event but not a creation time; removal is deleted', () => {
  const ev = (type: string, key: number, at: string, vm: string) =>
    readVmEvent(
      parseXml(
        `<returnval xsi:type="${type}"><key>${key}</key><createdTime>${at}</createdTime><userName>admin</userName><vm><name>n</name><vm type="VirtualMachine">${vm}</vm></vm></returnval>`,
      ),
    )!;
  const list = [
    ev('VmRegisteredEvent', 1, '2026-01-01T00:00:00Z', 'vm-1'),
    ev('VmClonedEvent', 2, '2026-01-02T00:00:00Z', 'vm-2'),
    ev('VmDeployedEvent', 3, '2026-01-03T00:00:00Z', 'vm-3'),
    ev('VmCreatedEvent', 4, '2026-01-05T00:00:00Z', 'vm-2'),
    ev('VmRemovedEvent', 5, '2026-01-06T00:00:00Z', 'vm-4'),
  ];
  assert.equal(list.map((e) => e.kind), ['created', 'created', 'created', 'created', 'deleted']);
  assert.is(
    readVmEvent(
      parseXml(
        '<returnval xsi:type="VmPoweredOffEvent"><key>9</key><createdTime>2026-01-01T00:00:00Z</createdTime></returnval>',
      ),
    ),
    null,
  );
  const times = creationTimes(list);
  assert.equal([...times.entries()].sort(), [['vm-2', '2026-01-02T00:00:00.000Z'], [
    'vm-3',
    '2026-01-03T00:00:00.000Z',
  ]]);
  const capEvents = toCaptureEvents(list, new Map([['vm-2', 'vc:uuid-2']]));
  assert.is(capEvents[1].vmKey, 'vc:uuid-2');
  assert.is(capEvents[4].vmKey, null);
  assert.is(capEvents[4].sourceVmId, 'vm-4');
  assert.is(capEvents[1].detail, 'VmClonedEvent by admin (event 2)');
});

events.run();

const model = suite('vcenter inventory and VM records');

function entity(
  type: string,
  value: string,
  name: string,
  parent?: [string, string],
): ObjectContent {
  const props = new Map<string, XmlElement>();
  props.set('name', parseXml(`<val>${name}</val>`));
  if (parent) props.set('parent', parseXml(`<val type="${parent[0]}">${parent[1]}</val>`));
  return { obj: { type, value }, props, missing: [] };
}

function sampleInventory(): Inventory {
  const inv = new Inventory();
  inv.entities.set('Folder:group-d1', {
    type: 'Folder',
    value: 'group-d1',
    name: 'Datacenters',
    parent: null,
  });
  for (
    const o of [
      entity('Folder', 'f-eu', 'EU', ['Folder', 'group-d1']),
      entity('Datacenter', 'dc-1', 'Paris', ['Folder', 'f-eu']),
      entity('Folder', 'group-v1', 'vm', ['Datacenter', 'dc-1']),
      entity('Folder', 'f-web', 'Web%2fFront', ['Folder', 'group-v1']),
      entity('Folder', 'group-h1', 'host', ['Datacenter', 'dc-1']),
      entity('ClusterComputeResource', 'c-1', 'Prod', ['Folder', 'group-h1']),
      entity('HostSystem', 'host-1', 'esx1', ['ClusterComputeResource', 'c-1']),
      entity('ComputeResource', 'cr-2', 'esx2', ['Folder', 'group-h1']),
      entity('HostSystem', 'host-2', 'esx2', ['ComputeResource', 'cr-2']),
      entity('ResourcePool', 'rp-root', 'Resources', ['ClusterComputeResource', 'c-1']),
      entity('ResourcePool', 'rp-gold', 'Gold', ['ResourcePool', 'rp-root']),
      entity('VirtualApp', 'va-1', 'Shop', ['ResourcePool', 'rp-root']),
    ]
  ) inv.add(o);
  return inv;
}

function raw(over: Partial<RawVm> = {}): RawVm {
  return {
    moref: 'vm-10',
    name: 'web%2f01',
    biosUuid: 'b',
    instanceUuid: 'i-10',
    isTemplate: false,
    vcpu: 2,
    memoryMib: 2048,
    createDate: null,
    guestOs: 'Ubuntu',
    annotation: null,
    powerState: 'poweredOn',
    hostKey: 'HostSystem:host-1',
    poolKey: 'ResourcePool:rp-gold',
    parentKey: 'Folder:f-web',
    committedBytes: 10 * 1024 ** 3,
    uncommittedBytes: 5 * 1024 ** 3,
    ips: ['10.0.0.1'],
    customValues: [{ key: '7', value: 'team-a' }],
    disks: [],
    nics: [],
    cdroms: [],
    snapshots: [],
    tools: null,
    guest: null,
    hardware: null,
    settings: null,
    configFile: '[ds1] web01/web01.vmx',
    connectionState: 'connected',
    bootTime: null,
    consolidationNeeded: false,
    vAppKey: null,
    cpuUsageMhz: 120,
    guestMemoryMib: 512,
    hostMemoryMib: 1024,
    guestDiskFree: [],
    missing: [],
    ...over,
  };
}

model('locations resolve by walking parents in memory', () => {
  const inv = sampleInventory();
  assert.is(inv.pathOf('Folder:f-web'), '/EU/Paris/vm/Web%2fFront', 'paths keep escaped names');
  assert.is(inv.datacenterOf('Folder:f-web'), 'Paris');
  assert.equal(inv.hostPlacement('HostSystem:host-1'), { host: 'esx1', cluster: 'Prod' });
  assert.equal(inv.hostPlacement('HostSystem:host-2'), { host: 'esx2', cluster: null });
  assert.equal(inv.hostPlacement('HostSystem:nope'), { host: null, cluster: null });
  assert.is(inv.pathOf('Folder:unknown'), null);
  assert.is(decodeEntityName('a%2fb%5cc%25d'), 'a/b\\c%d');
});

model('a raw VM plus the inventory becomes a valid CaptureVm', () => {
  const now = new Date('2026-06-01T00:00:00Z');
  const vm = toCaptureVm(raw({ createDate: '2025-03-04T05:06:07.123456Z' }), 'vc:i-10', {
    inventory: sampleInventory(),
    prefix: 'vc',
    labels: new Map([['vm-10', [{ category: 'Env', name: 'Prod' }]]]),
    fieldNames: new Map([['7', 'owner']]),
    createdFromEvents: new Map([['vm-10', '2025-01-01T00:00:00.000Z']]),
    now,
  });
  assert.equal(
    { ...vm },
    {
      key: 'vc:i-10',
      sourceVmId: 'vm-10',
      biosUuid: 'b',
      instanceUuid: 'i-10',
      name: 'web/01',
      powerState: 'poweredOn',
      isTemplate: false,
      vcpu: 2,
      memoryMib: 2048,
      provisionedDiskGib: 15,
      usedDiskGib: 10,
      datacenter: 'Paris',
      cluster: 'Prod',
      host: 'esx1',
      resourcePool: 'Gold',
      folder: '/EU/Paris/vm/Web%2fFront',
      guestOs: 'Ubuntu',
      ipAddresses: ['10.0.0.1'],
      tags: ['owner=team-a'],
      annotation: null,
      createdAt: '2025-03-04T05:06:07.123Z',
      disks: [],
      nics: [],
      cdroms: [],
      snapshots: [],
      tools: null,
      guest: null,
      hardware: null,
      labels: [{ category: 'Env', name: 'Prod' }],
      attributes: [{ name: 'owner', value: 'team-a' }],
      haRestartPriority: null,
      vApp: null,
      configFile: '[ds1] web01/web01.vmx',
      connectionState: 'connected',
      bootTime: null,
      consolidationNeeded: false,
      settings: null,
    },
  );
  // A vApp member has no folder; its datacenter comes through its pool.
  const inApp = toCaptureVm(raw({ parentKey: null, poolKey: 'VirtualApp:va-1' }), 'k', {
    inventory: sampleInventory(),
    prefix: 'vc',
    labels: new Map(),
    fieldNames: new Map(),
    createdFromEvents: new Map(),
    now,
  });
  assert.equal([inApp.datacenter, inApp.folder, inApp.resourcePool], ['Paris', null, 'Shop']);
  // Without an inventory (its retrieval failed) locations are null, never guessed.
  const bare = toCaptureVm(raw(), 'k', {
    inventory: null,
    prefix: 'vc',
    labels: new Map(),
    fieldNames: new Map(),
    createdFromEvents: new Map(),
    now,
  });
  assert.equal([bare.datacenter, bare.cluster, bare.host, bare.folder, bare.tags], [
    null,
    null,
    null,
    null,
    ['7=team-a'],
  ]);
  const cap = Capture.safeParse({
    captureId: crypto.randomUUID(),
    source: { kind: 'vcenter', id: 'vc', name: 'n', endpoint: null, version: null },
    capturedAt: now.toISOString(),
    complete: true,
    vms: [vm, { ...inApp, key: 'k2' }],
  });
  assert.ok(cap.success);
});

model('createDate is used only when plausible, else the event time, else null', () => {
  const now = new Date('2026-06-01T00:00:00Z');
  assert.is(plausibleCreateDate('1970-01-01T00:00:00Z', now), null, 'the pre-6.7 placeholder');
  assert.is(plausibleCreateDate('0001-01-01T00:00:00Z', now), null);
  assert.is(plausibleCreateDate('2027-01-01T00:00:00Z', now), null, 'future');
  assert.is(plausibleCreateDate('garbage', now), null);
  assert.is(plausibleCreateDate('2024-02-03T04:05:06Z', now), '2024-02-03T04:05:06.000Z');
  const ctx = { inventory: null, prefix: 'vc', labels: new Map(), fieldNames: new Map(), now };
  assert.is(
    toCaptureVm(raw({ createDate: '1970-01-01T00:00:00Z' }), 'k', {
      ...ctx,
      createdFromEvents: new Map([['vm-10', '2025-01-01T00:00:00.000Z']]),
    }).createdAt,
    '2025-01-01T00:00:00.000Z',
  );
  assert.is(
    toCaptureVm(raw({ createDate: '1970-01-01T00:00:00Z' }), 'k', {
      ...ctx,
      createdFromEvents: new Map(),
    }).createdAt,
    null,
  );
});

model('keys: instance uuid, moref fallback, deterministic on duplicates', () => {
  const keys = assignKeys('VC', [
    raw({ moref: 'vm-30', instanceUuid: 'dup' }),
    raw({ moref: 'vm-4', instanceUuid: 'dup' }),
    raw({ moref: 'vm-5', instanceUuid: null }),
    raw({ moref: 'vm-6', instanceUuid: 'u6' }),
  ]);
  assert.equal(keys, ['VC:moref:vm-30', 'VC:dup', 'VC:moref:vm-5', 'VC:u6']);
});

model('sdk URL: bare host means /sdk, credentials are stripped', () => {
  assert.is(sdkUrlFor('https://vc.example.com'), 'https://vc.example.com/sdk');
  assert.is(sdkUrlFor('https://u:p@vc.example.com:8443/'), 'https://vc.example.com:8443/sdk');
  assert.is(sdkUrlFor('http://127.0.0.1:1234/sdk'), 'http://127.0.0.1:1234/sdk');
});

model.run();
