// Local AWS emulators for tests, benchmarks and the demo (SPEC §4). Everything listens on free
// 127.0.0.1 ports, keeps its data in memory and is stopped by stop()/stopAll() or, at the latest,
// when this process exits (children are SIGKILLed synchronously from an exit hook, and on Linux they
// also get a parent-death signal so they die even when this process is SIGKILLed).
//
//  - kinesis-local  (kinesis-mock for Node): child `node main.js`; faithful (ARNs, ChildShards, fan-out).
//  - kinesalite     in process; fast, but no ARNs / ChildShards / fan-out.
//  - dynalite       in process.
//  - dynamodb-local child `java -jar DynamoDBLocal.jar -inMemory`; fetched by scripts/setup-emulators.mjs.
//
// Clients talking to these need the HTTP/1.1 NodeHttpHandler (the SDK's HTTP/2 default breaks them).
import { spawn, spawnSync, execFile } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Server } from 'node:http';
import { createServer, connect } from 'node:net';
import type { AddressInfo, Server as NetServer, Socket } from 'node:net';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import kinesalite from 'kinesalite';
import dynalite from 'dynalite';

export const TEST_REGION = 'us-east-1';
/** Dummy credentials: the emulators accept any signature. Never real ones. */
export const TEST_CREDENTIALS: { readonly accessKeyId: string; readonly secretAccessKey: string } = {
  accessKeyId: 'AKIDLOCALTEST',
  secretAccessKey: 'local-test-secret',
};

export type KinesisEmulatorKind = 'kinesis-local' | 'kinesalite';
export type DynamoEmulatorKind = 'dynalite' | 'dynamodb-local';

export interface Emulator {
  readonly kind: KinesisEmulatorKind | DynamoEmulatorKind;
  /** http://127.0.0.1:PORT */
  readonly endpoint: string;
  /** OS process id of the emulator, for the ones that run as a child process (kinesis-local, dynamodb-local). */
  readonly pid?: number;
  /** Stops the emulator and waits until its process is gone and its port(s) are free. Idempotent. */
  stop(): Promise<void>;
}

export interface KinesisLocalEmulator extends Emulator {
  readonly kind: 'kinesis-local';
  /** https://127.0.0.1:TLSPORT (HTTP/2 capable, self-signed certificate). */
  readonly tlsEndpoint: string;
}

export interface KinesisLocalOptions {
  /** Duration of every transitional state (CREATING, DELETING, UPDATING, consumer registration...). Default 10. */
  durationsMillis?: number;
  /** kinesis-mock LOG_LEVEL (ERROR, WARN, INFO, DEBUG, TRACE). Default WARN. */
  logLevel?: string;
}

export interface KinesaliteOptions {
  shardLimit?: number;
  createStreamMs?: number;
  deleteStreamMs?: number;
  updateStreamMs?: number;
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const require = createRequire(import.meta.url);
const DYNAMODB_LOCAL_DIR = join(ROOT, '.emulators', 'dynamodb-local');
const SETUP_SCRIPT = join(ROOT, 'scripts', 'setup-emulators.mjs');

const KINESIS_LOCAL_START_TIMEOUT_MS = 30_000;
const DYNAMODB_LOCAL_START_TIMEOUT_MS = 60_000;
/** Grace period between SIGTERM and SIGKILL. */
const SIGKILL_AFTER_MS = 2_000;
/**
 * kinesis-mock does not exit on SIGTERM while any client connection is open (e.g. an SDK client's
 * idle keep-alive socket), and it has nothing on disk to flush, so it gets a much shorter grace.
 */
const KINESIS_LOCAL_SIGKILL_AFTER_MS = 300;
const PORT_FREE_TIMEOUT_MS = 5_000;
const OUTPUT_TAIL_BYTES = 20_000;
const FAST_STATE_MS = 5;

/** Every kinesis-mock transitional-state duration; all set to the same small value. */
const KINESIS_LOCAL_DURATION_VARIABLES = [
  'CREATE_STREAM_DURATION',
  'DELETE_STREAM_DURATION',
  'REGISTER_STREAM_CONSUMER_DURATION',
  'DEREGISTER_STREAM_CONSUMER_DURATION',
  'START_STREAM_ENCRYPTION_DURATION',
  'STOP_STREAM_ENCRYPTION_DURATION',
  'MERGE_SHARDS_DURATION',
  'SPLIT_SHARD_DURATION',
  'UPDATE_SHARD_COUNT_DURATION',
  'UPDATE_STREAM_MODE_DURATION',
] as const;

// ---------------------------------------------------------------------------------------------
// Bookkeeping and process-exit cleanup

const liveEmulators = new Set<Emulator>();
const liveChildren = new Set<ManagedChild>();
let hooksInstalled = false;

function removeDirSync(dir: string): void {
  try {
    // Retries: a child that was just SIGKILLed may still be finishing a write into it.
    rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 20 });
  } catch {
    // best effort
  }
}

function killChildrenSync(): void {
  for (const managed of liveChildren) {
    if (!managed.exited) {
      try {
        managed.child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  for (const managed of liveChildren) removeDirSync(managed.workDir);
  liveChildren.clear();
}

const WORK_DIR_PREFIX = 'ts-kcl-emulator-';
let staleSwept = false;

/**
 * Scratch directories are named ts-kcl-emulator-<kind>-<owner pid>-XXXXXX. Removes those whose owner
 * process is gone (it was SIGKILLed, so its exit hook could not clean up).
 */
function sweepStaleWorkDirs(): void {
  if (staleSwept) return;
  staleSwept = true;
  let entries: string[];
  try {
    entries = readdirSync(tmpdir());
  } catch {
    return;
  }
  for (const entry of entries) {
    const match = /^ts-kcl-emulator-[a-z-]+-(\d+)-[A-Za-z0-9]{6}$/.exec(entry);
    if (!match) continue;
    const owner = Number(match[1]);
    if (owner === process.pid) continue;
    try {
      process.kill(owner, 0);
      continue; // owner alive (or pid reused): leave it
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') continue;
    }
    removeDirSync(join(tmpdir(), entry));
  }
}

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', killChildrenSync);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      killChildrenSync();
      process.removeListener(signal, onSignal);
      // Nobody else handles it: restore the default behaviour (terminate with this signal).
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

// ---------------------------------------------------------------------------------------------
// Small helpers

export function uniqueName(prefix: string): string {
  // Valid as a Kinesis stream name ([a-zA-Z0-9_.-]{1,128}) and a DynamoDB table name ([a-zA-Z0-9_.-]{3,255}).
  const clean = prefix.replace(/[^a-zA-Z0-9_.-]/g, '-').slice(0, 100) || 'x';
  return `${clean}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Ports the OS considers free right now (all held open together so they differ, then released). */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () =>
      new Promise<NetServer>((resolve, reject) => {
        const server = createServer();
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve(server));
      }),
    ),
  );
  const ports = servers.map((server) => (server.address() as AddressInfo).port);
  await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  return ports;
}

/** Resolves true when something accepts TCP connections on 127.0.0.1:port. */
function isListening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket: Socket = connect({ host: '127.0.0.1', port });
    const done = (result: boolean): void => {
      socket.removeAllListeners();
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

async function waitPortsFree(ports: readonly number[]): Promise<void> {
  const deadline = Date.now() + PORT_FREE_TIMEOUT_MS;
  for (const port of ports) {
    while (await isListening(port)) {
      if (Date.now() > deadline) throw new Error(`port ${port} still accepts connections after stop()`);
      await sleep(25);
    }
  }
}

/**
 * POSTs `{}` with the given JSON-1.x target and a syntactically valid but dummy SigV4 header
 * (the emulators parse it, none of them verifies it). Resolves with the HTTP status.
 */
function probe(
  port: number,
  service: 'kinesis' | 'dynamodb',
  target: string,
  contentType: string,
  tls = false,
): Promise<number> {
  const amzDate = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const day = amzDate.slice(0, 8);
  const body = '{}';
  return new Promise((resolve, reject) => {
    // agent: false = `Connection: close`; a lingering connection would delay kinesis-local's shutdown.
    const req = (tls ? httpsRequest : httpRequest)(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/',
        agent: false,
        rejectUnauthorized: false, // kinesis-local's self-signed certificate
        timeout: 2_000,
        headers: {
          'content-type': contentType,
          'content-length': Buffer.byteLength(body),
          'x-amz-target': target,
          'x-amz-date': amzDate,
          authorization:
            `AWS4-HMAC-SHA256 Credential=${TEST_CREDENTIALS.accessKeyId}/${day}/${TEST_REGION}/${service}/aws4_request, ` +
            'SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=0000000000000000000000000000000000000000000000000000000000000000',
        },
      },
      (res) => {
        res.resume();
        res.once('end', () => resolve(res.statusCode ?? 0));
        res.once('error', reject);
      },
    );
    req.once('timeout', () => req.destroy(new Error('probe timed out')));
    req.once('error', reject);
    req.end(body);
  });
}

/** Keeps the last `limit` bytes written by a child, for error messages. */
class OutputTail {
  private chunks: Buffer[] = [];
  private size = 0;

  constructor(private readonly limit: number) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.chunks.length > 1 && this.size - this.chunks[0]!.length >= this.limit) {
      this.size -= this.chunks.shift()!.length;
    }
  }

  text(): string {
    const all = Buffer.concat(this.chunks);
    return all.subarray(Math.max(0, all.length - this.limit)).toString('utf8');
  }
}

// ---------------------------------------------------------------------------------------------
// Child processes

interface ManagedChild {
  readonly child: ChildProcess;
  readonly output: OutputTail;
  /** Scratch directory (cwd, temp files); removed when the child is stopped. */
  readonly workDir: string;
  readonly killAfterMs: number;
  exited: boolean;
  readonly exit: Promise<void>;
}

let pdeathsigWrapper: string | null | undefined;

/** `setpriv --pdeathsig KILL` when it works here (Linux, util-linux): the child dies with us even on SIGKILL. */
function parentDeathWrapper(): string | null {
  if (pdeathsigWrapper === undefined) {
    pdeathsigWrapper = null;
    if (process.platform === 'linux') {
      for (const candidate of ['/usr/bin/setpriv', '/bin/setpriv']) {
        if (!existsSync(candidate)) continue;
        const result = spawnSync(candidate, ['--pdeathsig', 'KILL', '--', process.execPath, '-e', ''], { stdio: 'ignore', timeout: 10_000 });
        if (result.status === 0) {
          pdeathsigWrapper = candidate;
          break;
        }
      }
    }
  }
  return pdeathsigWrapper;
}

/** The parent's environment minus anything that could leak credentials or loaders into an emulator. */
function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^AWS_/.test(key) || key === 'NODE_OPTIONS' || key.startsWith('NODE_TEST')) continue;
    env[key] = value;
  }
  return { ...env, ...extra };
}

function spawnManaged(
  workDir: string,
  killAfterMs: number,
  command: string,
  args: readonly string[],
  env: Record<string, string>,
): ManagedChild {
  installExitHooks();
  const wrapper = parentDeathWrapper();
  const [file, argv] = wrapper ? [wrapper, ['--pdeathsig', 'KILL', '--', command, ...args]] : [command, [...args]];
  const child = spawn(file, argv, {
    cwd: workDir,
    env: childEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: false,
    shell: false,
    windowsHide: true,
  });
  const output = new OutputTail(OUTPUT_TAIL_BYTES);
  child.stdout?.on('data', (chunk: Buffer) => output.push(chunk));
  child.stderr?.on('data', (chunk: Buffer) => output.push(chunk));
  let resolveExit!: () => void;
  const exit = new Promise<void>((resolve) => {
    resolveExit = resolve;
  });
  const managed: ManagedChild = { child, output, workDir, killAfterMs, exited: false, exit };
  const onGone = (): void => {
    managed.exited = true;
    resolveExit();
  };
  child.once('exit', onGone);
  child.once('error', (error) => {
    output.push(Buffer.from(`\n[spawn error] ${error.message}\n`));
    onGone();
  });
  liveChildren.add(managed);
  // A forgotten emulator must not keep the test process alive; the exit hook kills it.
  child.unref();
  (child.stdout as Socket | null)?.unref();
  (child.stderr as Socket | null)?.unref();
  return managed;
}

async function stopManaged(managed: ManagedChild): Promise<void> {
  if (!managed.exited) {
    managed.child.ref(); // keep the event loop alive until the exit event arrives
    managed.child.kill('SIGTERM');
    const timer = setTimeout(() => {
      if (!managed.exited) managed.child.kill('SIGKILL');
    }, managed.killAfterMs);
    await managed.exit;
    clearTimeout(timer);
  }
  liveChildren.delete(managed);
  removeDirSync(managed.workDir);
}

function launchIn(workDir: string, start: () => ManagedChild): ManagedChild {
  try {
    return start();
  } catch (error) {
    removeDirSync(workDir);
    throw error;
  }
}

const PORT_CONFLICT = /EADDRINUSE|address already in use|BindException/i;

/**
 * Starts a child (up to 3 attempts when it loses a race for its port) and waits until `ready` says so.
 * On failure the child is killed and the error carries the tail of its output.
 */
async function startChild(
  kind: string,
  timeoutMs: number,
  killAfterMs: number,
  launch: (ports: number[], workDir: string) => { command: string; args: string[]; env: Record<string, string> },
  portCount: number,
  ready: (ports: number[]) => Promise<boolean>,
): Promise<{ managed: ManagedChild; ports: number[] }> {
  for (let attempt = 1; ; attempt++) {
    const ports = await freePorts(portCount);
    sweepStaleWorkDirs();
    const workDir = mkdtempSync(join(tmpdir(), `${WORK_DIR_PREFIX}${kind}-${process.pid}-`));
    const managed = launchIn(workDir, () => {
      const { command, args, env } = launch(ports, workDir);
      return spawnManaged(workDir, killAfterMs, command, args, env);
    });
    const deadline = Date.now() + timeoutMs;
    let lastError = '';
    while (!managed.exited && Date.now() < deadline) {
      try {
        if (await ready(ports)) return { managed, ports };
      } catch (error) {
        lastError = error instanceof Error ? error.message : String(error);
      }
      await sleep(50);
    }
    const exitedEarly = managed.exited;
    await stopManaged(managed);
    const output = managed.output.text();
    if (exitedEarly && attempt < 3 && PORT_CONFLICT.test(output)) continue;
    const why = exitedEarly
      ? `exited during start-up (code ${String(managed.child.exitCode)}, signal ${String(managed.child.signalCode)})`
      : `did not answer within ${timeoutMs} ms${lastError ? ` (last probe error: ${lastError})` : ''}`;
    throw new Error(`${kind} ${why}. Its output (last ${OUTPUT_TAIL_BYTES} bytes):\n${output}`);
  }
}

function register<T extends Emulator>(emulator: T): T {
  liveEmulators.add(emulator);
  return emulator;
}

function onceOnly(fn: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  return () => (running ??= fn());
}

// ---------------------------------------------------------------------------------------------
// kinesis-local

export async function startKinesisLocal(options: KinesisLocalOptions = {}): Promise<KinesisLocalEmulator> {
  const mainJs = require.resolve('kinesis-local/main.js');
  const certPath = join(dirname(mainJs), 'server.json');
  const duration = `${Math.max(0, Math.round(options.durationsMillis ?? 10))}ms`;
  const { managed, ports } = await startChild(
    'kinesis-local',
    KINESIS_LOCAL_START_TIMEOUT_MS,
    KINESIS_LOCAL_SIGKILL_AFTER_MS,
    ([plainPort, tlsPort]) => {
      const env: Record<string, string> = {
        KINESIS_MOCK_CERT_PATH: certPath,
        KINESIS_MOCK_PLAIN_PORT: String(plainPort),
        KINESIS_MOCK_TLS_PORT: String(tlsPort),
        LOG_LEVEL: options.logLevel ?? 'WARN',
        ROOT_LOG_LEVEL: 'ERROR',
        AWS_ACCOUNT_ID: '000000000000',
        AWS_REGION: TEST_REGION,
        // In memory only: never load or write kinesis-data.json (cwd is a scratch dir anyway).
        SHOULD_PERSIST_DATA: 'false',
        LOAD_DATA_IF_EXISTS: 'false',
      };
      for (const name of KINESIS_LOCAL_DURATION_VARIABLES) env[name] = duration;
      return { command: process.execPath, args: [mainJs], env };
    },
    2,
    async ([plainPort, tlsPort]) =>
      (await probe(plainPort!, 'kinesis', 'Kinesis_20131202.ListStreams', 'application/x-amz-json-1.1')) === 200 &&
      (await probe(tlsPort!, 'kinesis', 'Kinesis_20131202.ListStreams', 'application/x-amz-json-1.1', true)) === 200,
  );
  const [plainPort, tlsPort] = ports as [number, number];
  const emulator: KinesisLocalEmulator = {
    kind: 'kinesis-local',
    endpoint: `http://127.0.0.1:${plainPort}`,
    tlsEndpoint: `https://127.0.0.1:${tlsPort}`,
    pid: managed.child.pid!,
    stop: onceOnly(async () => {
      await stopManaged(managed);
      await waitPortsFree([plainPort, tlsPort]);
      liveEmulators.delete(emulator);
    }),
  };
  return register(emulator);
}

// ---------------------------------------------------------------------------------------------
// DynamoDB Local

let dynamoDbLocalInstall: Promise<void> | undefined;

function ensureDynamoDbLocalInstalled(): Promise<void> {
  if (existsSync(join(DYNAMODB_LOCAL_DIR, 'DynamoDBLocal.jar')) && existsSync(join(DYNAMODB_LOCAL_DIR, 'DynamoDBLocal_lib'))) {
    return Promise.resolve();
  }
  dynamoDbLocalInstall ??= new Promise<void>((resolve, reject) => {
    execFile(process.execPath, [SETUP_SCRIPT], { cwd: ROOT, timeout: 600_000, maxBuffer: 10 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) {
        dynamoDbLocalInstall = undefined;
        reject(new Error(`scripts/setup-emulators.mjs failed: ${error.message}\n${stdout}\n${stderr}`));
      } else {
        resolve();
      }
    });
  });
  return dynamoDbLocalInstall;
}

function javaCommand(): string {
  const javaHome = process.env.JAVA_HOME;
  if (javaHome) {
    const candidate = join(javaHome, 'bin', process.platform === 'win32' ? 'java.exe' : 'java');
    if (existsSync(candidate)) return candidate;
  }
  return 'java';
}

export async function startDynamoDbLocal(): Promise<Emulator> {
  await ensureDynamoDbLocalInstalled();
  const jar = join(DYNAMODB_LOCAL_DIR, 'DynamoDBLocal.jar');
  const lib = join(DYNAMODB_LOCAL_DIR, 'DynamoDBLocal_lib');
  const { managed, ports } = await startChild(
    'dynamodb-local',
    DYNAMODB_LOCAL_START_TIMEOUT_MS,
    SIGKILL_AFTER_MS,
    ([port], workDir) => ({
      command: javaCommand(),
      // java.io.tmpdir: sqlite4java unpacks its native library there; the work dir is removed on stop.
      // -XX:-UsePerfData: no /tmp/hsperfdata_<user>/<pid> file left behind after a SIGKILL.
      args: [
        '-XX:-UsePerfData',
        `-Djava.io.tmpdir=${workDir}`,
        `-Djava.library.path=${lib}`,
        '-jar',
        jar,
        '-inMemory',
        '-sharedDb',
        '-disableTelemetry',
        '-port',
        String(port),
      ],
      env: { DDB_LOCAL_TELEMETRY: '0' },
    }),
    1,
    async ([port]) => (await probe(port!, 'dynamodb', 'DynamoDB_20120810.ListTables', 'application/x-amz-json-1.0')) === 200,
  );
  const [port] = ports as [number];
  const emulator: Emulator = {
    kind: 'dynamodb-local',
    endpoint: `http://127.0.0.1:${port}`,
    pid: managed.child.pid!,
    stop: onceOnly(async () => {
      await stopManaged(managed);
      await waitPortsFree([port]);
      liveEmulators.delete(emulator);
    }),
  };
  return register(emulator);
}

// ---------------------------------------------------------------------------------------------
// In-process emulators

async function listenInProcess<K extends 'kinesalite' | 'dynalite'>(kind: K, server: Server): Promise<Emulator & { kind: K }> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  // A forgotten emulator must not keep the test process alive.
  server.unref();
  const { port } = server.address() as AddressInfo;
  const emulator: Emulator & { kind: K } = {
    kind,
    endpoint: `http://127.0.0.1:${port}`,
    stop: onceOnly(async () => {
      await new Promise<void>((resolve, reject) => {
        // Idle keep-alive sockets go now, busy ones after a short grace period.
        const force = setTimeout(() => server.closeAllConnections(), 1_000);
        server.close((error) => {
          clearTimeout(force);
          if (error && (error as NodeJS.ErrnoException).code !== 'ERR_SERVER_NOT_RUNNING') reject(error);
          else resolve();
        });
        server.closeIdleConnections();
      });
      await waitPortsFree([port]);
      liveEmulators.delete(emulator);
    }),
  };
  return register(emulator);
}

export async function startKinesalite(options: KinesaliteOptions = {}): Promise<Emulator> {
  return listenInProcess(
    'kinesalite',
    kinesalite({
      createStreamMs: options.createStreamMs ?? FAST_STATE_MS,
      deleteStreamMs: options.deleteStreamMs ?? FAST_STATE_MS,
      updateStreamMs: options.updateStreamMs ?? FAST_STATE_MS,
      ...(options.shardLimit !== undefined ? { shardLimit: options.shardLimit } : {}),
    }),
  );
}

export async function startDynalite(): Promise<Emulator> {
  return listenInProcess(
    'dynalite',
    dynalite({ createTableMs: FAST_STATE_MS, deleteTableMs: FAST_STATE_MS, updateTableMs: FAST_STATE_MS }),
  );
}

// ---------------------------------------------------------------------------------------------
// By kind, and global stop

export function startKinesis(kind: KinesisEmulatorKind): Promise<Emulator> {
  switch (kind) {
    case 'kinesis-local':
      return startKinesisLocal();
    case 'kinesalite':
      return startKinesalite();
  }
}

export function startDynamo(kind: DynamoEmulatorKind): Promise<Emulator> {
  switch (kind) {
    case 'dynalite':
      return startDynalite();
    case 'dynamodb-local':
      return startDynamoDbLocal();
  }
}

/** Stops every emulator this process started (and not yet stopped). */
export async function stopAll(): Promise<void> {
  const results = await Promise.allSettled([...liveEmulators].map((emulator) => emulator.stop()));
  const failure = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failure) throw failure.reason instanceof Error ? failure.reason : new Error(String(failure.reason));
}
