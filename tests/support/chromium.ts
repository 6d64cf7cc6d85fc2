/**
 * Headless Chromium (Debian's, provisioned by scripts/provision.ts) driven by
 * playwright-core, for the browser suite and the UI benchmark: a fresh profile per launch,
 * and the flags that keep it off the network this machine does not have (without
 * --disable-background-networking it opens many refused connections at every start).
 */
import { type BrowserContext, chromium } from 'playwright-core';
import { CHROMIUM_PATH } from '../../scripts/provision.ts';

const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Launches Chromium with `profile` as its --user-data-dir. */
export function launchChromium(
  profile: string,
  options: { viewport?: { width: number; height: number } } = {},
): Promise<BrowserContext> {
  return chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    ...options,
    args: FLAGS,
  });
}
