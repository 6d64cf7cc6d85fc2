import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  listDisks,
  parseCtime,
  parseGuestConfig,
  parsePropertyString,
  parseSize,
  splitTags,
} from '../../agent/collectors/proxmox/config_parse.ts';

const GiB = 1024 ** 3;
const test = suite('proxmox config parsing');

test('sizes: K/M/G/T are binary units, bare numbers are bytes', () => {
  assert.is(parseSize('32G'), 32 * GiB);
  assert.is(parseSize('528K'), 528 * 1024);
  assert.is(parseSize('4M'), 4 * 1024 ** 2);
  assert.is(parseSize('1.5T'), 1.5 * 1024 ** 4);
  assert.is(parseSize('1048576'), 1048576);
  assert.is(parseSize('8g'), 8 * GiB);
  assert.is(parseSize('lots'), null);
  assert.is(parseSize(undefined), null);
});

test('property strings: leading value is the volume', () => {
  assert.equal(parsePropertyString('local-lvm:vm-100-disk-0,size=32G,ssd=1'), {
    file: 'local-lvm:vm-100-disk-0',
    size: '32G',
    ssd: '1',
  });
  assert.equal(parsePropertyString('file=ceph:vm-1-disk-0,size=1T'), {
    file: 'ceph:vm-1-disk-0',
    size: '1T',
  });
});

test('qemu: all disks summed, cdrom and unused left out, efidisk and tpmstate counted', () => {
  const config = {
    digest: 'abc',
    name: 'db01',
    cores: 4,
    sockets: 2,
    memory: '16384',
    scsi0: 'local-lvm:vm-100-disk-0,iothread=1,size=32G',
    scsi1: 'ceph:vm-100-disk-1,size=1T',
    virtio2: 'local-lvm:vm-100-disk-2,size=512M',
    sata0: 'local-lvm:vm-100-disk-3,size=10G',
    ide2: 'local:iso/debian-12.iso,media=cdrom,size=628M',
    ide0: 'none,media=cdrom',
    efidisk0: 'local-lvm:vm-100-disk-4,efitype=4m,pre-enrolled-keys=1,size=4M',
    tpmstate0: 'local-lvm:vm-100-disk-5,size=4M,version=v2.0',
    unused0: 'local-lvm:vm-100-disk-9',
    scsihw: 'virtio-scsi-single',
    net0: 'virtio=BC:24:11:00:00:01,bridge=vmbr0',
    meta: 'creation-qemu=8.1.2,ctime=1700000000',
    smbios1: 'uuid=8f1c2a1e-5b8c-4a47-9a43-0d1e7f0a1b2c',
    ostype: 'l26',
    agent: 'enabled=1,fstrim_cloned_disks=1',
    tags: 'prod;db',
    description: 'primary database',
  };
  const parsed = parseGuestConfig('qemu', config);
  assert.equal(parsed.disks.map((d) => d.key), [
    'efidisk0',
    'sata0',
    'scsi0',
    'scsi1',
    'tpmstate0',
    'virtio2',
  ]);
  assert.is(parsed.provisionedBytes, 32 * GiB + 1024 * GiB + 0.5 * GiB + 10 * GiB + 8 * 1024 ** 2);
  assert.is(parsed.vcpu, 8);
  assert.is(parsed.memoryMib, 16384);
  assert.is(parsed.ctime, 1700000000);
  assert.is(parsed.biosUuid, '8f1c2a1e-5b8c-4a47-9a43-0d1e7f0a1b2c');
  assert.is(parsed.agentEnabled, true);
  assert.equal(parsed.tags, ['prod', 'db']);
  assert.is(parsed.digest, 'abc');
  assert.is(parsed.name, 'db01');
  assert.is(parsed.description, 'primary database');
});

test('qemu defaults: 1 core, 1 socket, 512 MB, no meta, agent off', () => {
  const parsed = parseGuestConfig('qemu', { scsi0: 'local:vm-1-disk-0,size=8G', agent: '0' });
  assert.is(parsed.vcpu, 1);
  assert.is(parsed.memoryMib, 512);
  assert.is(parsed.ctime, null);
  assert.is(parsed.agentEnabled, false);
});

test('qemu memory as PVE 8.1 property string', () => {
  assert.is(parseGuestConfig('qemu', { memory: 'current=2048' }).memoryMib, 2048);
});

test('lxc: rootfs and sized mount points, bind mounts excluded, no ctime', () => {
  const config = {
    hostname: 'web01',
    cores: 2,
    memory: 2048,
    swap: 512,
    rootfs: 'local-lvm:vm-200-disk-0,size=8G',
    mp0: 'local-lvm:vm-200-disk-1,mp=/var/lib/data,backup=1,size=20G',
    mp1: '/mnt/host/share,mp=/share',
    ostype: 'debian',
    meta: 'ctime=1',
  };
  const parsed = parseGuestConfig('lxc', config);
  assert.equal(parsed.disks.map((d) => d.key), ['mp0', 'rootfs']);
  assert.is(parsed.provisionedBytes, 28 * GiB);
  assert.is(parsed.vcpu, 2);
  assert.is(parsed.memoryMib, 2048);
  assert.is(parsed.ctime, null, 'LXC has no creation time in its config');
  assert.is(parsed.name, 'web01');
  assert.is(parsed.agentEnabled, false);
});

test('lxc without cores means unlimited (vcpu null)', () => {
  assert.is(parseGuestConfig('lxc', { rootfs: 'x:y,size=1G' }).vcpu, null);
});

test('ctime and tags edge cases', () => {
  assert.is(parseCtime('creation-qemu=6.2.0,ctime=1650000000'), 1650000000);
  assert.is(parseCtime('creation-qemu=6.2.0'), null);
  assert.is(parseCtime(undefined), null);
  assert.equal(splitTags('a;b;a'), ['a', 'b']);
  assert.equal(splitTags('a,b c'), ['a', 'b', 'c']);
  assert.equal(splitTags(''), []);
});

test('disks: file= form and unsized passthrough', () => {
  const disks = listDisks('qemu', {
    scsi0: 'file=ceph:vm-1-disk-0,size=2G',
    scsi1: '/dev/disk/by-id/ata-X',
  });
  assert.equal(disks, [{ key: 'scsi0', volume: 'ceph:vm-1-disk-0', sizeBytes: 2 * GiB }]);
});

test.run();
