// Headless Debian Chromium driven by playwright-core, for the dashboard's browser tests and screenshot script.
// playwright's own browser download cannot work on this network: scripts/setup-emulators.mjs installs Debian's
// `chromium` package instead. Playwright starts it with a fresh temporary profile (its own --user-data-dir).
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run \`node scripts/setup-emulators.mjs\` (installs Debian's chromium)`);
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: 30_000,
    // No background traffic: this machine's network is closed and Chromium would retry Google's hosts.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}
