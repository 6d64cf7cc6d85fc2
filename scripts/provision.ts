/**
 * The one place the project installs system parts (Debian packages) that some suites and
 * benchmarks need: Chromium, LibreOffice, Go with govmomi (to build vcsim), a system
 * PostgreSQL, OpenLDAP's slapd (the sign-in tests' directory). A suite asks for a part when it loads; the part is installed on first use
 * when this machine can (root, Debian's package archive reachable), with one line saying
 * what and why. When it cannot, the answer says why and which command installs it, and
 * the caller decides: tests skip (or fail under CI=true), benchmarks stop.
 *
 *   node scripts/provision.ts [part ...]        install parts (default: all); exit 1 if one could not be
 *   node scripts/provision.ts --postgres-url    also start Debian's PostgreSQL cluster; print its URL
 *
 * VMLEDGER_SKIP_PARTS=chromium,libreoffice treats those parts as missing and never
 * installs them (a developer box without a browser; the tests of this logic).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

export const PART_NAMES = ['chromium', 'libreoffice', 'govmomi', 'postgres', 'slapd'] as const;
export type PartName = (typeof PART_NAMES)[number];

export type PartSpec = {
  /** What a person reads in a message. */
  label: string;
  /** Debian packages that provide it. */
  packages: string[];
  present(): boolean;
};

export const CHROMIUM_PATH = '/usr/bin/chromium';
/** Debian's OpenLDAP server; the sign-in tests start their own on loopback (never the system one). */
export const SLAPD_PATH = '/usr/sbin/slapd';
const GOVMOMI_SOURCE = '/usr/share/gocode/src/github.com/vmware/govmomi';

function onPath(command: string): boolean {
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  return dirs.some((dir) => existsSync(path.join(dir, command)));
}

function systemPostgresBinary(): string | null {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return null;
  const versions = readdirSync(base).filter((v) => /^\d+$/.test(v)).sort((a, b) => +b - +a);
  const found = versions.find((v) => existsSync(path.join(base, v, 'bin', 'postgres')));
  return found ? path.join(base, found, 'bin', 'postgres') : null;
}

const PARTS: Record<PartName, PartSpec> = {
  chromium: {
    label: `Chromium (${CHROMIUM_PATH})`,
    packages: ['chromium'],
    present: () => existsSync(CHROMIUM_PATH),
  },
  libreoffice: {
    label: 'LibreOffice Calc (soffice)',
    packages: ['libreoffice-calc-nogui'],
    present: () => onPath('soffice'),
  },
  govmomi: {
    label: 'Go with govmomi sources (to build vcsim)',
    packages: ['golang-go', 'golang-github-vmware-govmomi-dev'],
    present: () => onPath('go') && existsSync(GOVMOMI_SOURCE),
  },
  postgres: {
    label: 'PostgreSQL server (Debian) with hypopg',
    // hypopg: hypothetical indexes, which the Database page's index proposals are costed
    // with (server/dbinsight/rules.ts). Debian 12's PostgreSQL is 15.
    packages: ['postgresql', 'postgresql-15-hypopg'],
    present: () => {
      const bin = systemPostgresBinary();
      if (!bin) return false;
      const version = path.basename(path.dirname(path.dirname(bin)));
      return existsSync(`/usr/share/postgresql/${version}/extension/hypopg.control`);
    },
  },
  slapd: {
    label: 'OpenLDAP server (slapd) with the ldap-utils',
    packages: ['slapd', 'ldap-utils'],
    present: () => existsSync(SLAPD_PATH) && onPath('slappasswd'),
  },
};

export type PartStatus =
  | { part: PartName; ok: true; installed: boolean }
  | { part: PartName; ok: false; reason: string; install: string };

/** How this machine can install packages, decided once: root with apt-get, or why not. */
export type Installer = {
  can: boolean;
  why?: string;
  install(packages: string[]): { ok: true } | { ok: false; error: string };
};

/** The command a person runs to install a part by hand. */
export function installCommand(part: PartName): string {
  return `sudo node_modules/.bin/node scripts/provision.ts ${part}`;
}

function skippedByEnv(part: PartName): boolean {
  return (process.env.VMLEDGER_SKIP_PARTS ?? '').split(',').map((s) => s.trim()).includes(part);
}

let aptUpdated = false;

/** Debian's apt-get, as root. Waits for another apt run's lock instead of failing. */
export function aptInstaller(): Installer {
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!root) {
    return { can: false, why: 'not root', install: () => ({ ok: false, error: 'not root' }) };
  }
  if (!onPath('apt-get')) {
    return { can: false, why: 'no apt-get', install: () => ({ ok: false, error: 'no apt-get' }) };
  }
  const apt = (args: string[]) =>
    spawnSync('apt-get', ['-o', 'DPkg::Lock::Timeout=600', ...args], {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      encoding: 'utf8',
      stdio: ['ignore', 'ignore', 'pipe'],
    });
  return {
    can: true,
    install(packages) {
      if (!aptUpdated) {
        const update = apt(['update', '-qq']);
        if (update.status !== 0) {
          return { ok: false, error: lastLine(update.stderr, 'apt-get update failed') };
        }
        aptUpdated = true;
      }
      const r = apt(['install', '-y', '-qq', '--no-install-recommends', ...packages]);
      return r.status === 0
        ? { ok: true }
        : { ok: false, error: lastLine(r.stderr, 'apt-get install failed') };
    },
  };
}

function lastLine(text: string | null, fallback: string): string {
  const lines = (text ?? '').split('\n').map((l) => l.trim()).filter(Boolean);
  return lines[lines.length - 1] ?? fallback;
}

const settled = new Map<PartName, PartStatus>();

/**
 * Makes `part` present if it can: already there → ok; else installs it (one line on stderr
 * saying what and for whom) → ok; else not ok with the reason and the install command.
 * `neededBy` names the suite or benchmark in that line. Answers are remembered per process.
 */
export function provision(part: PartName, neededBy: string): PartStatus {
  const known = settled.get(part);
  if (known) return known;
  const status = provisionWith(part, neededBy, aptInstaller(), PARTS[part]);
  settled.set(part, status);
  return status;
}

/** `provision` with the installer, the part's description and the output given (tests give fakes). */
export function provisionWith(
  part: PartName,
  neededBy: string,
  installer: Installer,
  spec: PartSpec,
  say: (line: string) => void = console.error,
): PartStatus {
  const install = installCommand(part);
  if (skippedByEnv(part)) {
    return { part, ok: false, reason: `${spec.label}: skipped by VMLEDGER_SKIP_PARTS`, install };
  }
  if (spec.present()) return { part, ok: true, installed: false };
  if (!installer.can) {
    return {
      part,
      ok: false,
      reason: `${spec.label} is missing and cannot be installed here (${installer.why})`,
      install,
    };
  }
  const started = Date.now();
  say(
    `provision: installing ${spec.label} (Debian: ${spec.packages.join(' ')}) for ${neededBy}`,
  );
  const r = installer.install(spec.packages);
  if (!r.ok) {
    return { part, ok: false, reason: `${spec.label}: install failed: ${r.error}`, install };
  }
  if (!spec.present()) {
    return {
      part,
      ok: false,
      reason: `${spec.label}: installed ${spec.packages.join(' ')} but it is still missing`,
      install,
    };
  }
  say(
    `provision: ${spec.label} ready in ${((Date.now() - started) / 1000).toFixed(0)} s`,
  );
  return { part, ok: true, installed: true };
}

/**
 * Starts Debian's PostgreSQL cluster (creating it when there is none) on 127.0.0.1 and
 * returns a postgres:// URL with a password set for the postgres user.
 */
export function startSystemPostgres(): string {
  const bin = systemPostgresBinary();
  if (!bin) throw new Error(`PostgreSQL server is missing: ${installCommand('postgres')}`);
  const version = path.basename(path.dirname(path.dirname(bin)));
  const clusters = () =>
    execFileSync('pg_lsclusters', ['-h'], { encoding: 'utf8' }).split('\n').map((l) =>
      l.trim().split(/\s+/)
    )
      .filter((f) => f[0] === version);
  let cluster = clusters()[0];
  if (!cluster) {
    execFileSync('pg_createcluster', [version, 'main'], { stdio: 'ignore' });
    cluster = clusters()[0];
  }
  const [, name, port] = cluster;
  spawnSync('pg_ctlcluster', [version, name, 'start'], { stdio: 'ignore' });
  // pg_stat_statements (the Database page, server/dbinsight/) is loaded only at start:
  // set once, then the cluster restarts once.
  const preload = execFileSync('su', [
    'postgres',
    '-c',
    `psql -qAt -p ${port} -c "show shared_preload_libraries"`,
  ], { encoding: 'utf8' }).trim();
  if (!preload.split(',').map((l) => l.trim()).includes('pg_stat_statements')) {
    const libs = [...preload.split(',').map((l) => l.trim()).filter(Boolean), 'pg_stat_statements'];
    execFileSync('su', [
      'postgres',
      '-c',
      `psql -q -p ${port} -c "alter system set shared_preload_libraries = '${libs.join(',')}'"`,
    ], { stdio: 'ignore' });
    spawnSync('pg_ctlcluster', [version, name, 'restart'], { stdio: 'ignore' });
  }
  const password = 'vmledger-ci';
  execFileSync('su', [
    'postgres',
    '-c',
    `psql -q -p ${port} -c "alter user postgres password '${password}'"`,
  ], {
    stdio: 'ignore',
  });
  return `postgres://postgres:${password}@127.0.0.1:${port}/postgres`;
}

function main(argv: string[]) {
  const wantUrl = argv.includes('--postgres-url');
  const asked = argv.filter((a) => !a.startsWith('--'));
  const unknown = asked.filter((a) => !(PART_NAMES as readonly string[]).includes(a));
  if (unknown.length) {
    console.error(`unknown part: ${unknown.join(', ')} (parts: ${PART_NAMES.join(', ')})`);
    process.exit(2);
  }
  const parts = (asked.length ? asked : wantUrl ? ['postgres'] : [...PART_NAMES]) as PartName[];
  let failed = 0;
  for (const part of parts) {
    const status = provision(part, 'scripts/provision.ts');
    if (!status.ok) {
      failed++;
      console.error(`provision: ${status.reason}`);
    }
  }
  if (failed) process.exit(1);
  if (wantUrl) console.log(startSystemPostgres());
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2));
}
