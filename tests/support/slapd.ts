/**
 * A real OpenLDAP server for the sign-in tests: Debian's slapd (scripts/provision.ts part
 * `slapd`), configured from a generated slapd.conf in a temp folder, its directory loaded
 * with slapadd, listening on 127.0.0.1 with StartTLS (a self-signed certificate made here)
 * and the ppolicy overlay (pwdAccountLockedTime).
 *
 * The directory (dc=example,dc=test):
 *   alice  in team-ops, which is in vmledger-admins   → admin (nested)
 *   bob    in vmledger-viewers                        → viewer
 *   carol  in unrelated only                          → no mapped group
 *   dave   in vmledger-viewers, pwdAccountLockedTime  → locked
 * Every user's password is `<name>-pass`; the service account is cn=vmledger-svc.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { SLAPD_PATH } from '../../scripts/provision.ts';
import { freePort } from '../../scripts/free_port.ts';

export const BASE = 'dc=example,dc=test';
export const SERVICE_DN = `cn=vmledger-svc,${BASE}`;
export const SERVICE_PASSWORD = 'svc-secret';
export const ADMINS = `cn=vmledger-admins,ou=groups,${BASE}`;
export const VIEWERS = `cn=vmledger-viewers,ou=groups,${BASE}`;

const person = (uid: string, extra = '') =>
  `dn: uid=${uid},ou=people,${BASE}
objectClass: inetOrgPerson
uid: ${uid}
cn: ${uid[0].toUpperCase()}${uid.slice(1)} Example
sn: Example
userPassword: ${uid}-pass
${extra}`;

const group = (cn: string, members: string[]) =>
  `dn: cn=${cn},ou=groups,${BASE}
objectClass: groupOfNames
cn: ${cn}
${members.map((m) => `member: ${m}`).join('\n')}
`;

const user = (uid: string) => `uid=${uid},ou=people,${BASE}`;

const LDIF = [
  `dn: ${BASE}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n`,
  `dn: ${SERVICE_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: vmledger-svc\nuserPassword: ${SERVICE_PASSWORD}\n`,
  `dn: ou=people,${BASE}\nobjectClass: organizationalUnit\nou: people\n`,
  `dn: ou=groups,${BASE}\nobjectClass: organizationalUnit\nou: groups\n`,
  person('alice'),
  person('bob'),
  person('carol'),
  person('dave', 'pwdAccountLockedTime: 000001010000Z\n'),
  group('team-ops', [user('alice')]),
  group('vmledger-admins', [`cn=team-ops,ou=groups,${BASE}`]),
  group('vmledger-viewers', [user('bob'), user('dave')]),
  group('unrelated', [user('carol')]),
].join('\n');

export type Slapd = { url: string; ca: string; stop(): Promise<void> };

function waitForPort(port: number, child: ChildProcess, log: () => string): Promise<void> {
  const until = Date.now() + 15_000;
  return new Promise((resolve, reject) => {
    const tryOnce = () => {
      if (child.exitCode !== null) {
        return reject(new Error(`slapd exited (${child.exitCode}): ${log()}`));
      }
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve();
      });
      s.once('error', () => {
        s.destroy();
        if (Date.now() > until) reject(new Error(`slapd did not listen: ${log()}`));
        else setTimeout(tryOnce, 100);
      });
    };
    tryOnce();
  });
}

export async function startSlapd(): Promise<Slapd> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vmledger-slapd-'));
  mkdirSync(path.join(dir, 'db'));
  execFileSync('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-subj',
    '/CN=127.0.0.1',
    '-addext',
    'subjectAltName=IP:127.0.0.1',
    '-keyout',
    path.join(dir, 'key.pem'),
    '-out',
    path.join(dir, 'cert.pem'),
  ], { stdio: 'ignore' });
  const conf = path.join(dir, 'slapd.conf');
  writeFileSync(
    conf,
    `include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload ppolicy
pidfile ${dir}/slapd.pid
TLSCertificateFile ${dir}/cert.pem
TLSCertificateKeyFile ${dir}/key.pem
database mdb
maxsize 16777216
suffix "${BASE}"
rootdn "cn=admin,${BASE}"
rootpw admin-secret
directory ${dir}/db
overlay ppolicy
access to attrs=userPassword by anonymous auth by * none
access to * by dn.exact="${SERVICE_DN}" read by * none
`,
  );
  writeFileSync(path.join(dir, 'data.ldif'), LDIF);
  execFileSync('/usr/sbin/slapadd', ['-f', conf, '-l', path.join(dir, 'data.ldif')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const port = await freePort();
  let output = '';
  const child = spawn(SLAPD_PATH, ['-f', conf, '-h', `ldap://127.0.0.1:${port}/`, '-d', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  await waitForPort(port, child, () => output.slice(-2000));
  return {
    url: `ldap://127.0.0.1:${port}`,
    ca: readFileSync(path.join(dir, 'cert.pem'), 'utf8'),
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
