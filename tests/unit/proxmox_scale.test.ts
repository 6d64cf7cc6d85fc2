/**
 * The request budget at scale, against the Proxmox VE fake: a first capture reads each
 * config once and asks snapshots and guest agents only where they can exist; an unchanged
 * cluster then costs the same ten requests whatever its size. Counts, not timings.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Capture } from '../../agent/capture/schema.ts';
import { createProxmoxCollector } from '../../agent/collectors/proxmox/collector.ts';
import { ProxmoxSourceConfig } from '../../agent/config.ts';
import { createLogger } from '../../shared/log.ts';
import {
  type FakeCluster,
  type FakeGuest,
  loadFixtureCluster,
  startProxmoxFake,
} from '../support/proxmox_fake/index.ts';

const T0 = 1_700_100_000;
const GOOD = { id: 'vmledger@pve!collector', secret: '5b0e3c9e-3f9e-4a55-9d8b-2f6f1a7b9c01' };

/** `count` QEMU guests: every 10th with two snapshots, every 2nd running with an agent. */
export function addGuests(model: FakeCluster, count: number): void {
  const nodes = model.nodes.map((n) => n.name);
  for (let i = 0; i < count; i++) {
    const vmid = 1000 + i;
    const mac = `BC:24:11:${
      [(i >> 16) & 255, (i >> 8) & 255, i & 255].map((b) =>
        b.toString(16).padStart(2, '0').toUpperCase()
      ).join(':')
    }`;
    const running = i % 2 === 0;
    const g: FakeGuest = {
      vmid,
      type: 'qemu',
      node: nodes[i % nodes.length],
      status: running ? 'running' : 'stopped',
      uptime: running ? 10_000 + i : undefined,
      cpu: running ? 0.05 : undefined,
      config: {
        name: `vm-${vmid}`,
        cores: 2,
        memory: 4096,
        agent: running ? '1' : '0',
        scsihw: 'virtio-scsi-single',
        scsi0: `ceph-rbd:vm-${vmid}-disk-0,size=32G`,
        scsi1: `ceph-rbd:vm-${vmid}-disk-1,size=100G`,
        net0: `virtio=${mac},bridge=vmbr0`,
        meta: `creation-qemu=8.1.2,ctime=${1690000000 + i}`,
      },
    };
    if (running) {
      g.agent = {
        running: true,
        interfaces: [{
          name: 'eth0',
          'hardware-address': mac.toLowerCase(),
          'ip-addresses': [{
            'ip-address': `10.${(i >> 8) & 255}.${i & 255}.10`,
            'ip-address-type': 'ipv4',
            prefix: 16,
          }],
        }],
      };
    }
    if (i % 10 === 0) {
      g.snapshots = [{ name: 'a', snaptime: T0 - 1000 }, {
        name: 'b',
        snaptime: T0 - 500,
        parent: 'a',
      }];
      g.config.parent = 'b';
    }
    model.guests.push(g);
  }
}

const test = suite('proxmox collector at scale');

test('2,000 guests: each config once, snapshots and agents only where they exist; then ten requests', async () => {
  const N = 2000;
  const model = loadFixtureCluster();
  addGuests(model, N);
  const fake = await startProxmoxFake(model);
  try {
    const collector = createProxmoxCollector(
      ProxmoxSourceConfig.parse({
        kind: 'proxmox',
        name: 'lab',
        url: fake.url,
        tokenId: GOOD.id,
        tokenSecret: GOOD.secret,
        timeoutSeconds: 60,
      }),
      createLogger({ level: 'silent' }),
      { requestTimeoutMs: 10_000 },
    );
    const at = (sec: number, since: number | null) =>
      collector.capture({
        signal: new AbortController().signal,
        since: since == null ? null : new Date(since * 1000),
        at: new Date(sec * 1000),
      }).then((raw) => Capture.parse(raw));
    const first = await at(T0, null);
    assert.is(first.complete, true, first.errors.join('; '));
    assert.is(first.vms.length, N + 8);
    const count = (re: RegExp) => fake.requests.filter((r) => re.test(r.path)).length;
    assert.is(count(/\/config$/), N + 8, 'each config once');
    assert.is(count(/\/snapshot$/), N / 10 + 2, 'only guests whose config names a parent');
    // Running guests with an agent: five reads each (interfaces, fsinfo, osinfo, host name,
    // info); the fixture's own: 100 and 104 answer (5 each), 102 does not (1).
    assert.is(count(/\/agent\//), (N / 2) * 5 + 11);
    const withSnapshots = first.vms.filter((v) => v.snapshots.length === 2).length;
    assert.is(withSnapshots, N / 10 + 1);

    fake.resetRequests();
    const second = await at(T0 + 60, T0);
    assert.is(second.complete, true, second.errors.join('; '));
    assert.is(fake.requests.length, 10, fake.requests.map((r) => r.path).join(' '));
    assert.equal(JSON.stringify(second.vms), JSON.stringify(first.vms), 'same VM texts');
  } finally {
    await fake.close();
  }
});

test.run();
