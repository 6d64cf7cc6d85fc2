/**
 * Guest config details (config_details.ts) and snapshot lists (snapshots.ts): pure parsing.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { vmReferenceIssues } from '../../agent/capture/schema.ts';
import { parseGuestDetails, parseNic } from '../../agent/collectors/proxmox/config_details.ts';
import { toSnapshots } from '../../agent/collectors/proxmox/snapshots.ts';

const test = suite('proxmox config details');

test('QEMU NICs: model=MAC or model=/macaddr=, bridge, tag, firewall, link_down; no MAC kept as null', () => {
  assert.equal(
    parseNic('qemu', 'net0', 'virtio=BC:24:11:00:00:01,bridge=vmbr0,tag=20,firewall=1,link_down=1'),
    {
      label: 'net0',
      model: 'virtio',
      mac: 'BC:24:11:00:00:01',
      bridge: 'vmbr0',
      tag: 20,
      firewall: true,
      linkDown: true,
    },
  );
  assert.equal(
    parseNic('qemu', 'net1', 'model=vmxnet3,macaddr=BC:24:11:00:00:02,bridge=vmbr1'),
    {
      label: 'net1',
      model: 'vmxnet3',
      mac: 'BC:24:11:00:00:02',
      bridge: 'vmbr1',
      tag: null,
      firewall: false,
      linkDown: false,
    },
  );
  const bare = parseNic('qemu', 'net2', 'e1000,bridge=vmbr0');
  assert.equal([bare.model, bare.mac], ['e1000', null], 'hand-written: PVE randomises the MAC');
});

test('LXC NICs: name, hwaddr, bridge, tag, firewall, type', () => {
  assert.equal(
    parseNic(
      'lxc',
      'net0',
      'name=eth0,bridge=vmbr0,hwaddr=BC:24:11:5E:00:C8,ip=10.0.0.2/24,tag=30,firewall=1,type=veth',
    ),
    {
      label: 'net0',
      model: 'veth',
      mac: 'BC:24:11:5E:00:C8',
      bridge: 'vmbr0',
      tag: 30,
      firewall: true,
      linkDown: false,
    },
  );
});

test('QEMU drives: controllers with scsihw, passthrough disk without datastore, cd-roms, unused left out', () => {
  const d = parseGuestDetails('qemu', {
    scsihw: 'lsi',
    scsi0: 'local:100/vm-100-disk-0.qcow2,size=10G',
    virtio1: 'local-zfs:vm-100-disk-1,size=1T,backup=0',
    sata2: '/dev/disk/by-id/ata-WDC_WD40-123,size=3907018584K',
    ide0: 'none,media=cdrom',
    ide2: 'local:iso/x.iso,media=cdrom',
    ide3: 'cdrom,media=cdrom',
    unused0: 'local-zfs:vm-100-disk-9',
    net0: 'virtio=BC:24:11:00:00:01,bridge=vmbr0',
    machine: 'q35,viommu=virtio',
    bios: 'ovmf',
    hotplug: '0',
    parent: 'snap1',
  });
  assert.equal(
    d.disks.map((x) => [x.label, x.storage, x.controller, x.unitNumber, x.format, x.inBackup]),
    [
      ['sata2', null, 'sata', 2, null, true],
      ['scsi0', 'local', 'scsi (lsi)', 0, 'qcow2', true],
      ['virtio1', 'local-zfs', 'virtio', 1, null, false],
    ],
  );
  assert.is(d.disks[0].capacityMib, Math.round((3907018584 / 1024) * 1000) / 1000);
  assert.equal(d.cdroms, [
    { label: 'ide0', deviceType: 'none', file: null },
    { label: 'ide2', deviceType: 'iso', file: 'local:iso/x.iso' },
    { label: 'ide3', deviceType: 'host', file: null },
  ]);
  assert.equal(
    [d.hardware.machine, d.hardware.firmware, d.hardware.cpuHotAdd, d.hardware.memoryHotAdd],
    ['q35', 'efi', false, false],
  );
  assert.is(d.hasSnapshots, true);
});

test('QEMU defaults: machine pc, bios, 1 × 1, hotplug network/disk/usb (no cpu, no memory), unlimited cpu', () => {
  const h = parseGuestDetails('qemu', {}).hardware;
  assert.equal(h, {
    machine: 'pc',
    firmware: 'bios',
    cores: 1,
    sockets: 1,
    cpuHotAdd: false,
    memoryHotAdd: false,
    cpuLimitCores: 0,
    cpuUnits: null,
    balloonMib: null,
    memoryShares: null,
  });
});

test('LXC volumes: rootfs always backed up, mount points only with backup=1, bind and device mounts are not disks', () => {
  const d = parseGuestDetails('lxc', {
    rootfs: 'local-lvm:vm-200-disk-0,size=8G',
    mp0: 'local-lvm:vm-200-disk-1,mp=/data,size=20G',
    mp1: 'ceph:vm-200-disk-2,mp=/db,size=5G,backup=1',
    mp2: '/mnt/pve/shared,mp=/shared',
    mp3: '/dev/sdb1,mp=/raw',
    cores: 2,
    cpulimit: '1.5',
    cpuunits: 512,
  });
  assert.equal(d.disks.map((x) => [x.label, x.storage, x.unitNumber, x.inBackup, x.capacityMib]), [
    ['mp0', 'local-lvm', 0, false, 20480],
    ['mp1', 'ceph', 1, true, 5120],
    ['rootfs', 'local-lvm', null, true, 8192],
  ]);
  assert.equal(
    [d.hardware.cores, d.hardware.sockets, d.hardware.cpuLimitCores, d.hardware.cpuUnits],
    [2, null, 1.5, 512],
  );
  assert.is(d.hasSnapshots, false);
});

test('snapshot lists: the current pseudo-entry marks the current snapshot and is left out', () => {
  const snaps = toSnapshots([
    { name: 'a', snaptime: 1700000000, description: 'first\n' },
    { name: 'b', snaptime: 1700000100, parent: 'a', vmstate: 1 },
    { name: 'current', parent: 'a', description: 'You are here!' },
  ]);
  assert.equal(snaps.map((s) => [s.id, s.parentId, s.current, s.powerState, s.description]), [
    ['a', null, true, 'poweredOff', 'first'],
    ['b', 'a', false, 'poweredOn', null],
  ]);
});

test('snapshot lists: whatever the API says, the capture contract accepts the tree', () => {
  const snaps = toSnapshots([
    { name: 'x', parent: 'y' },
    { name: 'y', parent: 'x' },
    { name: 'x', parent: 'gone' },
    { name: 'z', parent: 'missing' },
    { name: 'z2', parent: 'z' },
    { name: 'current' },
  ]);
  assert.equal(snaps.map((s) => s.id), ['x', 'y', 'z', 'z2'], 'one record per name');
  assert.equal(snaps.find((s) => s.id === 'z')!.parentId, null, 'unknown parent dropped');
  assert.is(snaps.find((s) => s.id === 'z2')!.parentId, 'z');
  assert.equal(vmReferenceIssues({ disks: [], snapshots: snaps }, new Set()), [], 'cycle cut');
  assert.equal(toSnapshots([]), []);
});

test.run();
