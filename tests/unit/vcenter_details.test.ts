/**
 * Pure tests of the vCenter collector's v2 readers on vim25 XML as vCenter sends it:
 * disks of every provisioning and mode, NICs on standard and distributed port groups,
 * CD-ROM backings, snapshot trees, guest disks, hardware allocation, HA settings and
 * distributed port group VLANs. No network, no processes.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readDevices } from '../../agent/collectors/vcenter/devices.ts';
import {
  readGuest,
  readGuestDiskFree,
  readGuestNicIps,
  readHardware,
  readSettings,
  readSnapshots,
} from '../../agent/collectors/vcenter/vm_details.ts';
import { portgroupVlan, readHaSettings } from '../../agent/collectors/vcenter/inventory.ts';
import { parseXml, type XmlElement } from '../../agent/collectors/vcenter/xml.ts';
import { vmReferenceIssues } from '../../agent/capture/schema.ts';
import { VmSnapshot } from '../../agent/capture/details.ts';

const XSI = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"';
const val = (inner: string, type = 'ArrayOfVirtualDevice') =>
  parseXml(`<val ${XSI} xsi:type="${type}">${inner}</val>`);

const scsi =
  `<VirtualDevice xsi:type="ParaVirtualSCSIController"><key>1000</key><deviceInfo><label>SCSI controller 0</label></deviceInfo><busNumber>0</busNumber></VirtualDevice>`;
const disk = (key: number, unit: number, backing: string, capacity = '') =>
  `<VirtualDevice xsi:type="VirtualDisk"><key>${key}</key><deviceInfo><label>Hard disk ${
    unit + 1
  }</label></deviceInfo><backing xsi:type="${backing}"><fileName>[ds1] web/web_${unit}.vmdk</fileName><datastore type="Datastore">datastore-12</datastore>${capacity}</backing><controllerKey>1000</controllerKey><unitNumber>${unit}</unitNumber><capacityInKB>10485760</capacityInKB><capacityInBytes>10737418240</capacityInBytes></VirtualDevice>`;

const devices = val(
  scsi +
    disk(
      2000,
      0,
      'VirtualDiskFlatVer2BackingInfo',
      '<diskMode>persistent</diskMode><thinProvisioned>true</thinProvisioned>',
    ) +
    disk(
      2001,
      1,
      'VirtualDiskFlatVer2BackingInfo',
      '<diskMode>independent_persistent</diskMode><thinProvisioned>false</thinProvisioned><eagerlyScrub>true</eagerlyScrub>',
    ) +
    disk(
      2002,
      2,
      'VirtualDiskFlatVer2BackingInfo',
      '<diskMode>persistent</diskMode><thinProvisioned>false</thinProvisioned>',
    ) +
    disk(
      2003,
      3,
      'VirtualDiskRawDiskMappingVer1BackingInfo',
      '<compatibilityMode>physicalMode</compatibilityMode><diskMode>independent_persistent</diskMode>',
    ) +
    `<VirtualDevice xsi:type="VirtualVmxnet3"><key>4000</key><deviceInfo><label>Network adapter 1</label></deviceInfo><backing xsi:type="VirtualEthernetCardNetworkBackingInfo"><deviceName>VM Network</deviceName><network type="Network">network-7</network></backing><connectable><startConnected>true</startConnected><connected>true</connected></connectable><addressType>assigned</addressType><macAddress>00:50:56:AA:BB:01</macAddress></VirtualDevice>` +
    `<VirtualDevice xsi:type="VirtualE1000e"><key>4001</key><deviceInfo><label>Network adapter 2</label></deviceInfo><backing xsi:type="VirtualEthernetCardDistributedVirtualPortBackingInfo"><port><switchUuid>50 2a</switchUuid><portgroupKey>dvportgroup-21</portgroupKey><portKey>8</portKey></port></backing><connectable><startConnected>false</startConnected><connected>false</connected></connectable><addressType>generated</addressType><macAddress>00:50:56:aa:bb:02</macAddress></VirtualDevice>` +
    `<VirtualDevice xsi:type="VirtualE1000"><key>4002</key><deviceInfo><label>Network adapter 3</label></deviceInfo><addressType>generated</addressType></VirtualDevice>` +
    `<VirtualDevice xsi:type="VirtualCdrom"><key>3000</key><deviceInfo><label>CD/DVD drive 1</label></deviceInfo><backing xsi:type="VirtualCdromIsoBackingInfo"><fileName>[iso] ubuntu.iso</fileName></backing><connectable><startConnected>false</startConnected><connected>true</connected></connectable></VirtualDevice>` +
    `<VirtualDevice xsi:type="VirtualMachineVideoCard"><key>500</key><deviceInfo><label>Video card </label></deviceInfo><videoRamSizeInKB>8192</videoRamSizeInKB><numDisplays>2</numDisplays><useAutoDetect>false</useAutoDetect></VirtualDevice>` +
    `<VirtualDevice xsi:type="VirtualCdrom"><key>3001</key><deviceInfo><label>CD/DVD drive 2</label></deviceInfo><backing xsi:type="VirtualCdromRemotePassthroughBackingInfo"><deviceName></deviceName></backing></VirtualDevice>`,
);

const test = suite('vcenter v2 readers');

test('disks: provisioning, mode, controller, capacity, datastore and file', () => {
  const d = readDevices(devices).disks;
  assert.equal(
    d.map((x) => [x.label, x.provisioning, x.mode, x.inBackup, x.controller, x.unitNumber]),
    [
      ['Hard disk 1', 'thin', 'persistent', true, 'SCSI controller 0', 0],
      ['Hard disk 2', 'eagerZeroedThick', 'independent_persistent', false, 'SCSI controller 0', 1],
      ['Hard disk 3', 'thick', 'persistent', true, 'SCSI controller 0', 2],
      ['Hard disk 4', null, 'independent_persistent', false, 'SCSI controller 0', 3],
    ],
  );
  assert.is(d[0].capacityMib, 10240, 'capacityInBytes wins, in MiB');
  assert.is(d[0].datastoreRef, 'datastore-12');
  assert.is(d[2].file, '[ds1] web/web_2.vmdk');
});

test('NICs: standard and distributed backings, MAC lower-cased, no MAC is left out', () => {
  const n = readDevices(devices).nics;
  assert.equal(
    n.map((x) => [
      x.label,
      x.macAddress,
      x.adapterType,
      x.connected,
      x.startConnected,
      x.networkRef,
      x.networkName,
      x.portgroupKey,
    ]),
    [
      [
        'Network adapter 1',
        '00:50:56:aa:bb:01',
        'Vmxnet3',
        true,
        true,
        'network-7',
        'VM Network',
        null,
      ],
      [
        'Network adapter 2',
        '00:50:56:aa:bb:02',
        'E1000e',
        false,
        false,
        null,
        null,
        'dvportgroup-21',
      ],
    ],
  );
});

test('CD-ROMs: ISO file and client device', () => {
  assert.equal(readDevices(devices).cdroms, [
    {
      label: 'CD/DVD drive 1',
      connected: true,
      startConnected: false,
      deviceType: 'iso',
      file: '[iso] ubuntu.iso',
    },
    {
      label: 'CD/DVD drive 2',
      connected: null,
      startConnected: null,
      deviceType: 'client',
      file: null,
    },
  ]);
});

const node = (id: number, name: string, kids = '', state = 'poweredOff') =>
  `<rootSnapshotList><snapshot type="VirtualMachineSnapshot">snapshot-${id}</snapshot><vm type="VirtualMachine">vm-1</vm><name>${name}</name><description>about ${name}</description><id>${id}</id><createTime>2026-0${id}-01T10:00:00.5Z</createTime><state>${state}</state><quiesced>${
    id === 2
  }</quiesced>${kids}</rootSnapshotList>`;
// A child is a `childSnapshotList` element with the same shape as a root.
const kid = (id: number, name: string, kids = '', state = 'poweredOff') =>
  node(id, name, kids, state).replaceAll('rootSnapshotList', 'childSnapshotList');

test('snapshot trees flatten depth first with parents and the current one', () => {
  const info = val(
    `<currentSnapshot type="VirtualMachineSnapshot">snapshot-3</currentSnapshot>` +
      node(1, 'base', kid(2, 'a', kid(3, 'a1', '', 'poweredOn')) + kid(4, 'b')) +
      node(5, 'second root'),
    'VirtualMachineSnapshotInfo',
  );
  const snaps = readSnapshots(info);
  assert.equal(snaps.map((s) => [s.id, s.parentId, s.current]), [
    ['snapshot-1', null, false],
    ['snapshot-2', 'snapshot-1', false],
    ['snapshot-3', 'snapshot-2', true],
    ['snapshot-4', 'snapshot-1', false],
    ['snapshot-5', null, false],
  ]);
  assert.equal(snaps[2], {
    id: 'snapshot-3',
    name: 'a1',
    description: 'about a1',
    createdAt: '2026-03-01T10:00:00.500Z',
    parentId: 'snapshot-2',
    quiesced: false,
    powerState: 'poweredOn',
    sizeMib: null,
    current: true,
  });
  assert.is(snaps[1].quiesced, true);
  for (const s of snaps) assert.ok(VmSnapshot.safeParse(s).success);
  assert.equal(
    vmReferenceIssues({ disks: [], snapshots: snaps.map((s) => VmSnapshot.parse(s)) }, new Set()),
    [],
  );
  assert.equal(readSnapshots(undefined), []);
});

test('a 5,000-deep snapshot chain does not overflow the stack', () => {
  const open = (i: number, tag: string) =>
    `<${tag}><snapshot type="VirtualMachineSnapshot">snapshot-${i}</snapshot><name>s${i}</name>`;
  const parts: string[] = [open(1, 'rootSnapshotList')];
  for (let i = 2; i <= 5000; i++) parts.push(open(i, 'childSnapshotList'));
  for (let i = 5000; i >= 2; i--) parts.push('</childSnapshotList>');
  parts.push('</rootSnapshotList>');
  const snaps = readSnapshots(val(parts.join(''), 'VirtualMachineSnapshotInfo'));
  assert.is(snaps.length, 5000);
  assert.is(snaps[4999].parentId, 'snapshot-4999');
});

function props(entries: Record<string, string>): Map<string, XmlElement> {
  return new Map(Object.entries(entries).map(([k, v]) => [k, parseXml(`<val ${XSI}>${v}</val>`)]));
}

test('guest: host name, state, OS, disks in MiB, IPs per NIC by MAC', () => {
  const p = props({
    'guest.hostName': 'web01.example',
    'guest.guestState': 'running',
    'guest.guestFullName': 'Ubuntu Linux (64-bit)',
    'guest.ipAddress': '10.0.0.5',
    'guest.disk':
      '<GuestDiskInfo><diskPath>/</diskPath><capacity>21474836480</capacity><freeSpace>5368709120</freeSpace><filesystemType>ext4</filesystemType></GuestDiskInfo>',
  });
  assert.equal(readGuest(p), {
    hostName: 'web01.example',
    state: 'running',
    os: 'Ubuntu Linux (64-bit)',
    ipAddress: '10.0.0.5',
    disks: [{ path: '/', capacityMib: 20480, fileSystem: 'ext4' }],
  });
  // Free space moves at every capture: it travels in usage, not in the VM record.
  assert.equal(readGuestDiskFree(p), [{ path: '/', freeMib: 5120 }]);
  assert.is(readGuest(new Map()), null);
  const net = parseXml(
    `<val><GuestNicInfo><network>VM Network</network><ipAddress>10.0.0.5</ipAddress><ipAddress>fe80::1</ipAddress><macAddress>00:50:56:AA:BB:01</macAddress></GuestNicInfo></val>`,
  );
  assert.equal([...readGuestNicIps(net)], [['00:50:56:aa:bb:01', ['10.0.0.5', 'fe80::1']]]);
});

test('hardware: sockets from cores per socket, allocation with unlimited as -1', () => {
  const hw = readHardware(
    props({
      'config.version': 'vmx-19',
      'config.firmware': 'efi',
      'config.hardware.numCoresPerSocket': '4',
      'config.cpuHotAddEnabled': 'true',
      'config.cpuAllocation':
        '<reservation>500</reservation><limit>-1</limit><shares><shares>2000</shares><level>normal</level></shares>',
      'config.memoryAllocation':
        '<reservation>1024</reservation><limit>8192</limit><shares><shares>81920</shares><level>high</level></shares>',
    }),
    8,
  );
  assert.equal(hw, {
    version: 'vmx-19',
    firmware: 'efi',
    coresPerSocket: 4,
    sockets: 2,
    cpuHotAdd: true,
    memoryHotAdd: null,
    cpuReservationMhz: 500,
    cpuLimitMhz: -1,
    cpuShares: 2000,
    cpuSharesLevel: 'normal',
    memoryReservationMib: 1024,
    memoryLimitMib: 8192,
    memoryShares: 81920,
    memorySharesLevel: 'high',
  });
});

test('settings: boot options, upgrade, directories, video card, folder; null when none', () => {
  const video = readDevices(devices).video;
  assert.equal(video, { monitors: 2, videoRamKib: 8192 });
  const s = readSettings(
    props({
      configStatus: 'green',
      guestHeartbeatStatus: 'yellow',
      'config.changeVersion': '2026-11-30T10:00:00.123456Z',
      'config.changeTrackingEnabled': 'true',
      'config.latencySensitivity.level': 'normal',
      'config.bootOptions':
        '<bootDelay>5000</bootDelay><enterBIOSSetup>true</enterBIOSSetup><efiSecureBootEnabled>false</efiSecureBootEnabled><bootRetryEnabled>true</bootRetryEnabled><bootRetryDelay>10000</bootRetryDelay><networkBootProtocol>ipv4</networkBootProtocol>',
      'config.scheduledHardwareUpgradeInfo':
        '<upgradePolicy>onSoftPowerOff</upgradePolicy><versionKey>vmx-21</versionKey><scheduledHardwareUpgradeStatus>pending</scheduledHardwareUpgradeStatus>',
      'config.files.logDirectory': '[ds1] web/',
      'config.files.snapshotDirectory': '[ds2] web-snaps/',
      'config.files.suspendDirectory': '[ds1] web/',
      'runtime.minRequiredEVCModeKey': 'intel-broadwell',
      'runtime.faultToleranceState': 'notConfigured',
    }),
    video,
    'group-v3',
  );
  assert.equal(s, {
    configStatus: 'green',
    heartbeat: 'yellow',
    changeVersion: '2026-11-30T10:00:00.123456Z',
    changeTracking: true,
    latencySensitivity: 'normal',
    minRequiredEvcModeKey: 'intel-broadwell',
    faultToleranceState: 'notConfigured',
    monitors: 2,
    videoRamKib: 8192,
    folderId: 'group-v3',
    bootDelayMs: 5000,
    bootRetryDelayMs: 10000,
    bootRetryEnabled: true,
    enterBiosSetup: true,
    efiSecureBoot: false,
    hwUpgradeStatus: 'pending',
    hwUpgradePolicy: 'onSoftPowerOff',
    hwUpgradeTarget: 'vmx-21',
    logDirectory: '[ds1] web/',
    snapshotDirectory: '[ds2] web-snaps/',
    suspendDirectory: '[ds1] web/',
  });
  assert.is(readSettings(new Map(), null, null), null);
  assert.is(
    readSettings(props({ 'config.bootOptions': '<bootDelay>-1</bootDelay>' }), null, null),
    null,
  );
});

test('HA settings: cluster default and per-VM overrides; DVPG VLAN id, not trunks', () => {
  const cfg = parseXml(
    `<val ${XSI} xsi:type="ClusterConfigInfoEx"><dasConfig><enabled>true</enabled><defaultVmSettings><restartPriority>medium</restartPriority></defaultVmSettings></dasConfig>` +
      `<dasVmConfig><key type="VirtualMachine">vm-1</key><dasSettings><restartPriority>highest</restartPriority></dasSettings></dasVmConfig>` +
      `<dasVmConfig><key type="VirtualMachine">vm-2</key><restartPriority>disabled</restartPriority></dasVmConfig></val>`,
  );
  const ha = readHaSettings(cfg);
  assert.is(ha.default, 'medium');
  assert.equal([...ha.perVm], [['vm-1', 'highest'], ['vm-2', 'disabled']]);
  const vlan = (spec: string) =>
    portgroupVlan(parseXml(`<val ${XSI}><vlan xsi:type="${spec}</vlan></val>`));
  assert.is(vlan('VmwareDistributedVirtualSwitchVlanIdSpec"><vlanId>120</vlanId>'), 120);
  assert.is(
    vlan(
      'VmwareDistributedVirtualSwitchTrunkVlanSpec"><vlanId><start>0</start><end>4094</end></vlanId>',
    ),
    null,
  );
});

test.run();
