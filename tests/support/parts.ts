/**
 * Suites that need a system part (Chromium, LibreOffice, Go + govmomi, a system
 * PostgreSQL) are declared with `suiteNeeding` instead of uvu's `suite`. The part is
 * provisioned when the suite loads (scripts/provision.ts installs it when it can). When it
 * is not there, the suite's tests are skipped — counted as skipped, never passed — with one
 * line naming the part and the command that installs it; under CI=true the suite instead
 * gets one failing test saying the same, so a CI machine cannot go green without the part.
 */
import process from 'node:process';
import { type Callback, suite, type Test } from 'uvu';
import {
  installCommand,
  type PartName,
  type PartStatus,
  provision,
} from '../../scripts/provision.ts';

type Provisioner = (part: PartName, neededBy: string) => PartStatus;

/** Lines about skipped suites, repeated by tests/run.ts next to its closing line. */
export const skipNotes: string[] = [];

export function suiteNeeding<T extends Record<string, unknown> = Record<string, unknown>>(
  title: string,
  parts: PartName[],
  options: { context?: T; provisioner?: Provisioner; ci?: boolean } = {},
): Test<T> {
  const real = suite<T>(title, options.context);
  const provisioner = options.provisioner ?? provision;
  const missing = parts.map((p) => provisioner(p, `the suite "${title}"`)).filter(
    (s): s is Extract<PartStatus, { ok: false }> => !s.ok,
  );
  if (missing.length === 0) return real;

  const ci = options.ci ?? isCi();
  for (const m of missing) {
    const line = `${ci ? 'FAIL' : 'skip'}: "${title}" needs ${m.part}: ${m.reason}; install: ${
      installCommand(m.part)
    }`;
    skipNotes.push(line);
    console.log(line);
    if (ci) {
      real(`${m.part} is available (CI=true: a missing part fails)`, () => {
        throw new Error(`${m.reason}; install: ${installCommand(m.part)}`);
      });
    }
  }
  return standIn(real);
}

export function isCi(): boolean {
  const v = (process.env.CI ?? '').toLowerCase();
  return v !== '' && v !== '0' && v !== 'false';
}

/** A suite whose tests are all counted as skipped and whose hooks never run. */
function standIn<T>(real: Test<T>): Test<T> {
  const skip = (name?: string, _fn?: Callback<T>) => real.skip(name);
  const noHook = Object.assign((_fn: Callback<T>) => {}, { each: (_fn: Callback<T>) => {} });
  return Object.assign(skip, {
    only: skip,
    skip,
    before: noHook,
    after: noHook,
    run: () => real.run(),
  });
}
