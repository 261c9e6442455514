// The ts-kcl demo: `npm run demo` (tsx scripts/demo.ts [options]).
//
// Starts local emulators (kinesalite + dynalite in this process; --faithful: kinesis-local + DynamoDB Local),
// creates a stream, produces records with unique ids at a steady rate, runs several workers as separate
// processes (scripts/demo-worker.ts), shows a live view of the lease table and the counters, SIGKILLs one
// worker midway to show failover, waits until everything produced was consumed, stops the other workers
// gracefully and verifies: every produced id consumed at least once. Exit code 0 only if nothing is missing.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createDynamoDbClient, createKinesisClient } from '../src/aws/clients.js';
import { DynamoDbApi } from '../src/aws/dynamodb-api.js';
import { KinesisAdmin, type PutRecordInput } from '../src/aws/kinesis-admin.js';
import { DynamoDbLeaseStore } from '../src/leases/dynamodb-lease-store.js';
import type { Lease } from '../src/leases/lease.js';
import {
  startDynalite,
  startDynamoDbLocal,
  startKinesalite,
  startKinesisLocal,
  stopAll,
  TEST_CREDENTIALS,
  TEST_REGION,
  uniqueName,
  type Emulator,
} from '../test/support/emulators.js';
import type { WorkerMessage } from './demo-worker.js';

// The SDK's notice about Node 20 support would only clutter the view.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const WORKER_SCRIPT = fileURLToPath(new URL('./demo-worker.ts', import.meta.url));

const USAGE = `Usage: npm run demo -- [options]

  --records N        records to produce (default 20000; 4000 with --faithful)
  --duration S       seconds over which they are produced (default 45; 30 with --faithful)
  --shards N         shards of the stream (default 4)
  --workers N        worker processes (default 3)
  --failover-ms N    failoverTimeMillis of the workers (default 3000)
  --kill-at F        SIGKILL a worker once this fraction of the records was produced (default 0.4)
  --no-kill          don't kill anyone
  --timeout S        seconds to wait, after producing ended, for everything to be consumed (default 60)
  --faithful         kinesis-local + DynamoDB Local (Java) instead of kinesalite + dynalite
  --plain            compact progress lines instead of the live view (automatic when stdout is not a TTY)
  --verbose          show the workers' warnings and errors as events
  -h, --help`;

// ---------------------------------------------------------------------------------------------
// Options

interface Options {
  records: number;
  durationMillis: number;
  shards: number;
  workers: number;
  failoverMillis: number;
  killAt: number | undefined;
  drainTimeoutMillis: number;
  faithful: boolean;
  live: boolean;
  verbose: boolean;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      records: { type: 'string' },
      duration: { type: 'string' },
      shards: { type: 'string', default: '4' },
      workers: { type: 'string', default: '3' },
      'failover-ms': { type: 'string', default: '3000' },
      'kill-at': { type: 'string', default: '0.4' },
      'no-kill': { type: 'boolean', default: false },
      timeout: { type: 'string', default: '60' },
      faithful: { type: 'boolean', default: false },
      plain: { type: 'boolean', default: false },
      verbose: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const faithful = values.faithful;
  const num = (name: string, raw: string | undefined, min: number, max: number, integer = true): number => {
    const value = Number(raw);
    if (raw === undefined || raw.trim() === '' || !Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
      throw new UsageError(`--${name} must be ${integer ? 'an integer' : 'a number'} between ${min} and ${max} (got ${String(raw)})`);
    }
    return value;
  };
  const workers = num('workers', values.workers, 1, 20);
  const noKill = values['no-kill'] || workers < 2;
  return {
    records: num('records', values.records ?? (faithful ? '4000' : '20000'), 1, 1_000_000),
    durationMillis: num('duration', values.duration ?? (faithful ? '30' : '45'), 0, 3600, false) * 1000,
    shards: num('shards', values.shards, 1, 50),
    workers,
    failoverMillis: num('failover-ms', values['failover-ms'], 500, 60_000),
    killAt: noKill ? undefined : num('kill-at', values['kill-at'], 0, 1, false),
    drainTimeoutMillis: num('timeout', values.timeout, 1, 3600, false) * 1000,
    faithful,
    live: Boolean(process.stdout.isTTY) && !values.plain,
    verbose: values.verbose,
  };
}

class UsageError extends Error {}

// ---------------------------------------------------------------------------------------------
// Small helpers

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const useColor = Boolean(process.stdout.isTTY) && !process.env.NO_COLOR;
const paint = (code: string) => (text: string) => (useColor ? `\x1b[${code}m${text}\x1b[0m` : text);
const bold = paint('1');
const dim = paint('2');
const red = paint('31');
const green = paint('32');
const yellow = paint('33');
const cyan = paint('36');
// eslint-disable-next-line no-control-regex -- matching ANSI escape sequences is the point
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g;
const visibleLength = (s: string): number => s.replace(ANSI, '').length;
const pad = (s: string, width: number): string => s + ' '.repeat(Math.max(0, width - visibleLength(s)));
const padLeft = (s: string, width: number): string => ' '.repeat(Math.max(0, width - visibleLength(s))) + s;
const int = (n: number): string => n.toLocaleString('en-US');
const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/** Cuts a line to `width` visible characters (ANSI codes kept), so nothing wraps and breaks the redraw. */
function fit(line: string, width: number): string {
  if (visibleLength(line) <= width) return line;
  let out = '';
  let visible = 0;
  for (let i = 0; i < line.length && visible < width; ) {
    ANSI.lastIndex = i;
    const m = ANSI.exec(line);
    if (m && m.index === i) {
      out += m[0];
      i += m[0].length;
    } else {
      out += line[i];
      visible++;
      i++;
    }
  }
  return out + (useColor ? '\x1b[0m' : '');
}

/** `shardId-000000000003` → `s3` */
const shortShard = (shardId: string): string => shardId.replace(/^shardId-0*(?=\d)/, 's');

/** `…21575989` — enough to see it move; sentinels as they are. */
function shortCheckpoint(sequenceNumber: string | undefined): string {
  if (sequenceNumber === undefined) return '-';
  if (!/^\d+$/.test(sequenceNumber)) return sequenceNumber;
  return sequenceNumber.length <= 10 ? sequenceNumber : `…${sequenceNumber.slice(-8)}`;
}

// ---------------------------------------------------------------------------------------------
// State

type WorkerStatus = 'starting' | 'running' | 'killed' | 'stopping' | 'stopped' | 'crashed';

interface WorkerState {
  index: number;
  id: string;
  child: ChildProcess;
  pid: number;
  status: WorkerStatus;
  held: Set<string>;
  records: number;
  exited: boolean;
  exit: Promise<void>;
  gracefulOk?: boolean;
  output: string[];
}

interface ShardState {
  shardId: string;
  produced: number;
  lastProducedSequence: bigint;
  delivered: number;
  consumedUnique: number;
  ageMillis?: number;
  millisBehindLatest?: number;
}

interface FailoverState {
  victim: WorkerState;
  at: number;
  shards: Map<string, { takenBy?: string; takenAt?: number; processingAt?: number }>;
  completedAt?: number;
}

interface DemoEvent {
  at: number;
  text: string;
}

class Demo {
  readonly startedAt = Date.now();
  readonly workers: WorkerState[] = [];
  readonly shards = new Map<string, ShardState>();
  readonly events: DemoEvent[] = [];
  /** Deliveries per id (capped at 255) and the first worker that delivered it. */
  readonly seen: Uint8Array;
  readonly firstWorker: Int8Array;
  produced = 0;
  uniqueConsumed = 0;
  delivered = 0;
  duplicates = 0;
  failoverDuplicates = 0;
  orderViolations = 0;
  leases: Lease[] = [];
  leaseError = '';
  failover: FailoverState | undefined;
  producerDone = false;
  failures: string[] = [];
  streamName = '';
  emulatorLabel = '';
  /** (time, uniqueConsumed) samples for the consumption rate. */
  private readonly samples: Array<[number, number]> = [];

  constructor(
    readonly options: Options,
    private readonly onEvent: (event: DemoEvent) => void,
  ) {
    this.seen = new Uint8Array(options.records);
    this.firstWorker = new Int8Array(options.records).fill(-1);
  }

  elapsed(): number {
    return Date.now() - this.startedAt;
  }

  event(text: string): void {
    const event = { at: this.elapsed(), text };
    this.events.push(event);
    this.onEvent(event);
  }

  fail(text: string): void {
    this.failures.push(text);
    this.event(red(text));
  }

  shard(shardId: string): ShardState {
    let state = this.shards.get(shardId);
    if (!state) {
      state = { shardId, produced: 0, lastProducedSequence: -1n, delivered: 0, consumedUnique: 0 };
      this.shards.set(shardId, state);
    }
    return state;
  }

  liveWorkers(): WorkerState[] {
    return this.workers.filter((w) => w.status === 'running' || w.status === 'starting');
  }

  consumptionRate(): number {
    const now = Date.now();
    this.samples.push([now, this.uniqueConsumed]);
    while (this.samples.length > 2 && now - this.samples[0]![0] > 3000) this.samples.shift();
    const [t0, c0] = this.samples[0]!;
    return now - t0 > 0 ? ((this.uniqueConsumed - c0) * 1000) / (now - t0) : 0;
  }

  onMessage(worker: WorkerState, message: WorkerMessage): void {
    switch (message.t) {
      case 'ready':
        if (worker.status === 'starting') worker.status = 'running';
        this.event(`${worker.id} started (pid ${worker.pid})`);
        break;
      case 'acquired': {
        worker.held.add(message.shardId);
        const f = this.failover;
        const moved = f?.shards.get(message.shardId);
        if (f && moved && moved.takenAt === undefined && worker !== f.victim) {
          moved.takenBy = worker.id;
          moved.takenAt = Date.now();
          this.event(green(`${message.shardId} of ${f.victim.id} taken over by ${worker.id} after ${secs(moved.takenAt - f.at)}`));
        } else {
          this.event(`${worker.id} acquired ${message.shardId}${message.stolen ? ' (stolen to balance)' : ''}`);
        }
        break;
      }
      case 'lost':
        worker.held.delete(message.shardId);
        if (message.reason !== 'released') this.event(`${worker.id} lost ${message.shardId} (${message.reason})`);
        break;
      case 'stopped':
        if (message.reason !== 'REQUESTED') worker.held.delete(message.shardId);
        break;
      case 'batch':
        this.onBatch(worker, message);
        break;
      case 'log':
        if (this.options.verbose) this.event(dim(`${worker.id} ${message.level}: ${message.text}`));
        break;
      case 'shutdown':
        worker.gracefulOk = message.graceful;
        break;
    }
  }

  private onBatch(worker: WorkerState, batch: Extract<WorkerMessage, { t: 'batch' }>): void {
    const shard = this.shard(batch.shardId);
    shard.delivered += batch.ids.length;
    shard.ageMillis = batch.ageMillis;
    if (batch.millisBehindLatest !== undefined) shard.millisBehindLatest = batch.millisBehindLatest;
    worker.records += batch.ids.length;
    this.delivered += batch.ids.length;
    if (batch.orderViolations > 0) this.orderViolations += batch.orderViolations;
    for (const id of batch.ids) {
      if (!Number.isInteger(id) || id < 0 || id >= this.seen.length) {
        this.fail(`${worker.id} delivered an unknown record (id ${id}) from ${batch.shardId}`);
        continue;
      }
      const count = this.seen[id]!;
      if (count === 0) {
        this.uniqueConsumed++;
        shard.consumedUnique++;
        this.firstWorker[id] = worker.index;
      } else {
        this.duplicates++;
        if (this.failover && this.firstWorker[id] === this.failover.victim.index) this.failoverDuplicates++;
      }
      if (count < 255) this.seen[id] = count + 1;
    }
    const f = this.failover;
    const moved = f?.shards.get(batch.shardId);
    if (f && moved && worker !== f.victim && moved.processingAt === undefined && batch.ids.length > 0) {
      moved.processingAt = Date.now();
      moved.takenBy ??= worker.id;
      moved.takenAt ??= moved.processingAt;
      if ([...f.shards.values()].every((s) => s.processingAt !== undefined)) {
        f.completedAt = moved.processingAt;
        this.event(
          green(`failover complete: ${f.victim.id}'s ${f.shards.size} shard(s) processing again ${secs(f.completedAt - f.at)} after the kill`),
        );
      }
    }
  }

  /**
   * Every lease is owned by a live worker that knows it holds it (and nobody else thinks so), and the live
   * workers' lease counts differ by at most one.
   */
  balanced(): boolean {
    const live = this.liveWorkers();
    if (live.length === 0 || this.leases.length < this.options.shards) return false;
    const counts = new Map<string, number>(live.map((w) => [w.id, 0]));
    for (const lease of this.leases) {
      const owner = lease.leaseOwner === undefined ? undefined : live.find((w) => w.id === lease.leaseOwner);
      if (!owner || !owner.held.has(lease.leaseKey)) return false;
      counts.set(owner.id, counts.get(owner.id)! + 1);
    }
    const held = live.reduce((n, w) => n + w.held.size, 0);
    const values = [...counts.values()];
    return held === this.leases.length && Math.max(...values) - Math.min(...values) <= 1;
  }

  missing(): number {
    let missing = 0;
    for (let id = 0; id < this.produced; id++) if (this.seen[id] === 0) missing++;
    return missing;
  }
}

// ---------------------------------------------------------------------------------------------
// Rendering

function ownerLabel(demo: Demo, owner: string | undefined): string {
  if (owner === undefined) return dim('(none)');
  const worker = demo.workers.find((w) => w.id === owner);
  if (worker?.status === 'killed' || worker?.status === 'crashed') return red(`${owner} ✝`);
  return cyan(owner);
}

function frame(demo: Demo): string[] {
  const o = demo.options;
  const width = Math.max(40, (process.stdout.columns ?? 100) - 1);
  const lines: string[] = [];
  const rate = demo.consumptionRate();
  const backlog = Math.max(0, demo.produced - demo.uniqueConsumed);
  const barWidth = 20;
  // The lease counter (bumped by every renewal and checkpoint) only when there is room: 80 columns fit the rest.
  const wide = width >= 90;
  const filled = Math.round((demo.produced / o.records) * barWidth);
  lines.push(
    `${bold('ts-kcl demo')}  ${dim(`t+${secs(demo.elapsed())}`)}  ${o.shards} shards, ${o.workers} workers, ` +
      `failover ${secs(o.failoverMillis)}, ${dim(demo.emulatorLabel)}`,
  );
  lines.push(
    `produced ${bold(int(demo.produced))}/${int(o.records)} [${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}]  ` +
      `consumed ${bold(int(demo.uniqueConsumed))}  ${demo.duplicates > 0 ? yellow(`dup ${int(demo.duplicates)}`) : 'dup 0'}  ` +
      `backlog ${int(backlog)}  ${int(Math.round(rate))} rec/s`,
  );
  lines.push('');
  lines.push(
    bold(
      `${pad('SHARD', 21)}${pad('OWNER', 12)}${pad('CHECKPOINT', 11)}${wide ? padLeft('COUNTER', 8) : ''}${padLeft('PROCESSED', 10)}` +
        `${padLeft('BACKLOG', 9)}${padLeft('LAG', 8)}${padLeft('BEHIND', 8)}`,
    ),
  );
  const leaseByShard = new Map(demo.leases.map((l) => [l.leaseKey, l]));
  const shardIds = [...new Set([...leaseByShard.keys(), ...demo.shards.keys()])].sort();
  if (shardIds.length === 0) lines.push(dim(`  (waiting for the lease table${demo.leaseError ? `: ${demo.leaseError}` : ''})`));
  // Everything must fit the terminal's height, or the cursor-up redraw scrolls and smears.
  const rows = Math.max(16, process.stdout.rows ?? 40);
  const shardRoom = Math.max(2, rows - 14 - o.workers);
  const hidden = shardIds.length > shardRoom ? shardIds.splice(shardRoom - 1) : [];
  for (const shardId of shardIds) {
    const lease = leaseByShard.get(shardId);
    const s = demo.shards.get(shardId);
    const backlogOf = s ? Math.max(0, s.produced - s.consumedUnique) : 0;
    lines.push(
      `${pad(shardId, 21)}${pad(ownerLabel(demo, lease?.leaseOwner), 12)}${pad(shortCheckpoint(lease?.checkpoint.sequenceNumber), 11)}` +
        `${wide ? padLeft(lease ? String(lease.leaseCounter) : '-', 8) : ''}${padLeft(int(s?.delivered ?? 0), 10)}` +
        `${padLeft(int(backlogOf), 9)}${padLeft(s?.ageMillis !== undefined ? `${s.ageMillis} ms` : '-', 8)}` +
        `${padLeft(s?.millisBehindLatest !== undefined ? `${s.millisBehindLatest} ms` : '-', 8)}`,
    );
  }
  if (hidden.length > 0) lines.push(dim(`… and ${hidden.length} more shards`));
  lines.push('');
  lines.push(bold(`${pad('WORKER', 12)}${pad('PID', 9)}${pad('STATE', 11)}${padLeft('LEASES', 7)}${padLeft('RECORDS', 10)}`));
  for (const w of demo.workers) {
    const state =
      w.status === 'killed' || w.status === 'crashed' ? red(w.status) : w.status === 'running' ? green(w.status) : yellow(w.status);
    const leases = demo.leases.filter((l) => l.leaseOwner === w.id).length;
    lines.push(`${pad(cyan(w.id), 12)}${pad(String(w.pid), 9)}${pad(state, 11)}${padLeft(String(leases), 7)}${padLeft(int(w.records), 10)}`);
  }
  const f = demo.failover;
  if (f) {
    const moves = [...f.shards.entries()].map(([shardId, m]) =>
      m.takenAt === undefined
        ? `${shortShard(shardId)} ${yellow(`expiring (${secs(Date.now() - f.at)})`)}`
        : `${shortShard(shardId)}→${m.takenBy ?? '?'} ${secs(m.takenAt - f.at)}`,
    );
    const flowing = f.completedAt === undefined ? '' : `, all flowing ${secs(f.completedAt - f.at)}`;
    lines.push('');
    lines.push(`${bold('FAILOVER')} ${red(f.victim.id)} killed t+${secs(f.at - demo.startedAt)}: ${moves.join(', ') || 'no leases'}${flowing}`);
  }
  lines.push('');
  lines.push(bold('EVENTS'));
  const eventRoom = Math.max(1, Math.min(8, rows - 1 - lines.length));
  for (const e of demo.events.slice(-eventRoom)) lines.push(`${dim(padLeft(`t+${secs(e.at)}`, 9))}  ${e.text}`);
  return lines.map((line) => fit(line, width));
}

function compactLine(demo: Demo): string {
  const leaseByShard = new Map(demo.leases.map((l) => [l.leaseKey, l]));
  const shards = [...demo.shards.keys(), ...leaseByShard.keys()]
    .filter((id, i, all) => all.indexOf(id) === i)
    .sort()
    .map((id) => {
      const s = demo.shards.get(id);
      const owner = leaseByShard.get(id)?.leaseOwner ?? '-';
      return `${shortShard(id)}:${owner}:${s?.delivered ?? 0}`;
    });
  return (
    `[t+${secs(demo.elapsed())}] produced ${demo.produced}/${demo.options.records} consumed ${demo.uniqueConsumed} dup ${demo.duplicates}` +
    ` | ${shards.join(' ')} | ${demo.workers.map((w) => `${w.id}:${w.status}`).join(' ')}`
  );
}

class View {
  private timer: NodeJS.Timeout | undefined;
  private lastLines = 0;
  private lastCompact = 0;

  constructor(private readonly demo: () => Demo | undefined, private readonly live: boolean) {}

  start(): void {
    if (this.live) process.stdout.write('\x1b[?25l'); // hide the cursor
    this.timer = setInterval(() => this.draw(), 500);
  }

  draw(force = false): void {
    const demo = this.demo();
    if (!demo) return;
    if (this.live) {
      const lines = frame(demo);
      let out = this.lastLines > 0 ? `\x1b[${this.lastLines}F` : '';
      for (const line of lines) out += `${line}\x1b[K\n`;
      out += '\x1b[J';
      process.stdout.write(out);
      this.lastLines = lines.length;
    } else if (force || Date.now() - this.lastCompact >= 3000) {
      this.lastCompact = Date.now();
      console.log(compactLine(demo));
    }
  }

  /** Final frame (or line) and cursor back. Idempotent. */
  stop(): void {
    if (this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
      this.draw(true);
    }
    if (this.live) process.stdout.write('\x1b[?25h');
  }
}

// ---------------------------------------------------------------------------------------------
// Workers

function spawnWorker(demo: Demo, index: number, args: string[]): WorkerState {
  const id = `worker-${index + 1}`;
  // process.execPath + tsx's loader, no shell; cwd = the repository so `--import tsx` resolves.
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER_SCRIPT, '--worker-id', id, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    shell: false,
    windowsHide: true,
  });
  let resolveExit!: () => void;
  const worker: WorkerState = {
    index,
    id,
    child,
    pid: child.pid ?? -1,
    status: 'starting',
    held: new Set(),
    records: 0,
    exited: false,
    exit: new Promise<void>((resolve) => {
      resolveExit = resolve;
    }),
    output: [],
  };
  const keep = (chunk: Buffer): void => {
    worker.output.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    if (worker.output.length > 40) worker.output.splice(0, worker.output.length - 40);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  child.on('message', (message: WorkerMessage) => demo.onMessage(worker, message));
  const gone = (code: number | null, signal: NodeJS.Signals | null): void => {
    if (worker.exited) return;
    worker.exited = true;
    worker.held.clear();
    if (worker.status === 'killed') {
      // expected
    } else if (worker.status === 'stopping' && code === 0) {
      worker.status = 'stopped';
      demo.event(`${id} stopped gracefully (leases handed back)`);
    } else {
      worker.status = 'crashed';
      demo.fail(`${id} exited unexpectedly (code ${String(code)}, signal ${String(signal)})`);
      for (const line of worker.output.slice(-10)) demo.event(dim(`  ${id}| ${line}`));
    }
    resolveExit();
  };
  child.once('exit', gone);
  child.once('error', (error) => {
    keep(Buffer.from(`spawn error: ${error.message}`));
    gone(null, null);
  });
  return worker;
}

function killWorkersNow(demo: Demo | undefined): void {
  for (const w of demo?.workers ?? []) {
    if (!w.exited) {
      try {
        w.child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

function killOne(demo: Demo): void {
  const candidates = demo.liveWorkers().filter((w) => w.status === 'running');
  if (candidates.length < 2) return;
  // The busiest worker: its shards have to move, and the survivors end up balanced.
  const victim = candidates.reduce((a, b) => (b.held.size > a.held.size ? b : a));
  const shards = [...victim.held].sort();
  victim.status = 'killed';
  victim.child.kill('SIGKILL');
  demo.failover = { victim, at: Date.now(), shards: new Map(shards.map((s) => [s, {}])) };
  demo.event(
    red(bold(`killed ${victim.id} (pid ${victim.pid}) with SIGKILL`)) + `; it held ${shards.map(shortShard).join(', ') || 'no leases'}`,
  );
}

// ---------------------------------------------------------------------------------------------
// Main

let current: Demo | undefined;
let view: View | undefined;

async function waitUntil(condition: () => boolean, timeoutMillis: number, poll = 100): Promise<boolean> {
  const deadline = Date.now() + timeoutMillis;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await sleep(poll);
  }
  return true;
}

async function run(options: Options): Promise<number> {
  const live = options.live;
  view = new View(() => current, live);
  const demo = new Demo(options, (e) => {
    if (!live) console.log(`[t+${secs(e.at)}] ${e.text}`);
  });
  current = demo;
  let leasePoller: NodeJS.Timeout | undefined;
  let stopPolling = false;
  const clients: Array<{ destroy(): void }> = [];
  let kinesis: Emulator;
  let dynamo: Emulator;
  try {
    demo.emulatorLabel = options.faithful ? 'kinesis-local + DynamoDB Local' : 'kinesalite + dynalite';
    demo.event(`starting ${demo.emulatorLabel} on free loopback ports`);
    [kinesis, dynamo] = options.faithful
      ? await Promise.all([startKinesisLocal(), startDynamoDbLocal()])
      : await Promise.all([startKinesalite(), startDynalite()]);
    const settings = { region: TEST_REGION, credentials: TEST_CREDENTIALS };
    const kinesisClient = createKinesisClient({ ...settings, endpoint: kinesis.endpoint });
    const dynamoClient = createDynamoDbClient({ ...settings, endpoint: dynamo.endpoint });
    clients.push(kinesisClient, dynamoClient);
    const admin = new KinesisAdmin(kinesisClient);
    demo.streamName = uniqueName('demo');
    const app = uniqueName('demo-app');
    await admin.createStream(demo.streamName, options.shards);
    await admin.waitForStreamActive({ streamName: demo.streamName }, 60_000);
    demo.event(`stream ${demo.streamName} ACTIVE with ${options.shards} shards (kinesis ${kinesis.endpoint}, dynamodb ${dynamo.endpoint})`);

    // The live view reads the lease table itself, as any operator could.
    const store = new DynamoDbLeaseStore(new DynamoDbApi(dynamoClient), app);
    const pollLeases = async (): Promise<void> => {
      try {
        demo.leases = (await store.listLeases()).leases;
        demo.leaseError = '';
      } catch (error) {
        demo.leaseError = error instanceof Error ? error.message.split('\n')[0]! : String(error);
      }
      if (!stopPolling) leasePoller = setTimeout(() => void pollLeases(), 500);
    };
    void pollLeases();
    view.start();

    const workerArgs = [
      '--app', app,
      '--stream', demo.streamName,
      '--kinesis-endpoint', kinesis.endpoint,
      '--dynamodb-endpoint', dynamo.endpoint,
      '--failover-ms', String(options.failoverMillis),
      '--region', TEST_REGION,
    ];
    for (let i = 0; i < options.workers; i++) demo.workers.push(spawnWorker(demo, i, workerArgs));
    if (!(await waitUntil(() => demo.workers.every((w) => w.status !== 'starting'), 60_000))) {
      throw new Error('the workers did not start within 60 s');
    }
    if (demo.liveWorkers().length === 0) throw new Error('no worker is running');
    // Let the fleet spread the leases before data flows, so the only lease moves under load are the failover's.
    if (await waitUntil(() => demo.balanced(), 10 * options.failoverMillis)) {
      demo.event(`leases balanced: ${demo.liveWorkers().map((w) => `${w.id} ${[...w.held].map(shortShard).join(' ')}`).join(', ')}`);
    } else {
      demo.event(yellow('leases not balanced yet; producing anyway'));
    }

    // Producer: ids 0..records-1 at a steady rate, each record's data is its decimal id.
    demo.event(`producing ${int(options.records)} records over ${secs(options.durationMillis)}`);
    const encoder = new TextEncoder();
    const killAt = options.killAt === undefined ? undefined : Math.min(options.records, Math.ceil(options.killAt * options.records));
    const produceStart = Date.now();
    while (demo.produced < options.records) {
      if (killAt !== undefined && !demo.failover && demo.produced >= killAt) killOne(demo);
      const due =
        options.durationMillis === 0
          ? options.records
          : Math.min(options.records, Math.ceil(((Date.now() - produceStart) / options.durationMillis) * options.records));
      const count = Math.min(500, due - demo.produced);
      if (count <= 0) {
        await sleep(50);
        continue;
      }
      const first = demo.produced;
      const batch: PutRecordInput[] = Array.from({ length: count }, (_, j) => ({
        partitionKey: `pk-${first + j}`,
        data: encoder.encode(String(first + j)),
      }));
      const results = await admin.putRecords({ streamName: demo.streamName }, batch);
      for (const r of results) {
        const shard = demo.shard(r.shardId);
        shard.produced++;
        const sequence = BigInt(r.sequenceNumber);
        if (sequence > shard.lastProducedSequence) shard.lastProducedSequence = sequence;
      }
      demo.produced += count;
    }
    if (killAt !== undefined && !demo.failover) killOne(demo);
    demo.producerDone = true;
    demo.event(`produced all ${int(options.records)} records in ${secs(Date.now() - produceStart)}`);

    const drained = await waitUntil(() => demo.uniqueConsumed >= demo.produced || demo.liveWorkers().length === 0, options.drainTimeoutMillis);
    if (!drained || demo.uniqueConsumed < demo.produced) {
      demo.fail(`timed out: ${int(demo.produced - demo.uniqueConsumed)} records not consumed ${secs(options.drainTimeoutMillis)} after producing ended`);
    } else {
      demo.event(green(`everything produced was consumed`));
    }
    // Kill without takeover (e.g. --kill-at 1 with fast draining): still wait for the failover to finish.
    if (demo.failover && demo.failover.completedAt === undefined && demo.failover.shards.size > 0 && demo.failures.length === 0) {
      await waitUntil(() => [...demo.failover!.shards.values()].every((s) => s.takenAt !== undefined), 5 * options.failoverMillis);
    }

    // Graceful stop: SIGTERM → startGracefulShutdown in each worker.
    const remaining = demo.workers.filter((w) => !w.exited && (w.status === 'running' || w.status === 'starting'));
    if (remaining.length > 0) demo.event(`stopping ${remaining.map((w) => w.id).join(', ')} gracefully (SIGTERM)`);
    for (const w of remaining) {
      w.status = 'stopping';
      w.child.kill('SIGTERM');
    }
    const stopped = await Promise.race([Promise.all(remaining.map((w) => w.exit)).then(() => true), sleep(20_000).then(() => false)]);
    if (!stopped) demo.fail('a worker did not stop within 20 s of SIGTERM');
    for (const w of remaining) if (w.gracefulOk === false) demo.fail(`${w.id}: startGracefulShutdown did not finish in time`);

    stopPolling = true;
    clearTimeout(leasePoller);
    try {
      demo.leases = (await store.listLeases()).leases;
    } catch {
      // keep the last view
    }
    view.stop();
    return summarize(demo);
  } catch (error) {
    demo.fail(`demo failed: ${error instanceof Error ? error.message : String(error)}`);
    view.stop();
    return summarize(demo);
  } finally {
    stopPolling = true;
    clearTimeout(leasePoller);
    view.stop();
    killWorkersNow(demo);
    await Promise.race([Promise.all(demo.workers.map((w) => w.exit)), sleep(5_000)]);
    for (const c of clients) c.destroy();
    await stopAll().catch((error: unknown) => console.error(`stopping the emulators failed: ${String(error)}`));
  }
}

function summarize(demo: Demo): number {
  const lines: string[] = [''];
  const f = demo.failover;
  if (f) {
    const takeover = [...f.shards.entries()]
      .map(
        ([shardId, s]) =>
          `${shardId} → ${s.takenBy ?? '?'} (lease taken after ${s.takenAt !== undefined ? secs(s.takenAt - f.at) : 'never'}, ` +
          `records flowing after ${s.processingAt !== undefined ? secs(s.processingAt - f.at) : 'never'})`,
      )
      .join(', ');
    lines.push(
      `failover (failoverTimeMillis ${demo.options.failoverMillis}): ${f.victim.id} SIGKILLed at t+${secs(f.at - demo.startedAt)}; ` +
        (f.shards.size === 0 ? 'it held no leases' : takeover),
    );
    if ([...f.shards.values()].some((s) => s.takenAt === undefined)) demo.failures.push(`the leases of ${f.victim.id} were not all taken over`);
  }
  const leasesHeld = demo.leases.filter((l) => l.leaseOwner !== undefined);
  const atEnd = [...demo.shards.values()].filter((s) => {
    const lease = demo.leases.find((l) => l.leaseKey === s.shardId);
    return s.produced === 0 || (lease !== undefined && /^\d+$/.test(lease.checkpoint.sequenceNumber) && BigInt(lease.checkpoint.sequenceNumber) === s.lastProducedSequence);
  }).length;
  lines.push(
    `lease table: ${demo.leases.length} leases, ${leasesHeld.length} still owned after shutdown` +
      `${leasesHeld.length > 0 ? ` (${leasesHeld.map((l) => `${l.leaseKey}→${l.leaseOwner}`).join(', ')})` : ''}; ` +
      `${atEnd}/${demo.shards.size} shards checkpointed at their last record`,
  );
  if (demo.orderViolations > 0) demo.failures.push(`${demo.orderViolations} records delivered out of order within a shard`);
  lines.push(
    `per-shard order: ${demo.orderViolations === 0 ? 'held' : red(`${demo.orderViolations} violations`)}; ` +
      `${int(demo.delivered)} deliveries for ${int(demo.uniqueConsumed)} records`,
  );
  const missing = demo.missing();
  const rebalance = demo.duplicates - demo.failoverDuplicates;
  const dupNote =
    demo.duplicates === 0
      ? ''
      : ` (${[demo.failoverDuplicates > 0 ? `${demo.failoverDuplicates} after failover` : '', rebalance > 0 ? `${rebalance} after rebalancing` : '']
          .filter(Boolean)
          .join(', ')})`;
  const verdict = `produced ${demo.produced}, consumed ${demo.uniqueConsumed} unique, ${missing} missing, ${demo.duplicates} duplicates${dupNote}`;
  const ok = missing === 0 && demo.failures.length === 0 && demo.produced === demo.options.records;
  if (!ok && demo.options.live) {
    // The live view showed only the latest events; on failure the whole story helps.
    lines.push('', bold('all events:'), ...demo.events.map((e) => `${padLeft(`t+${secs(e.at)}`, 9)}  ${e.text}`), '');
  }
  for (const failure of demo.failures) lines.push(red(`FAILED: ${failure}`));
  lines.push(ok ? green(bold(verdict)) : red(bold(verdict)));
  lines.push(`demo took ${secs(demo.elapsed())}`);
  console.log(lines.join('\n'));
  return ok ? 0 : 1;
}

// Stray processes: workers die with us on Ctrl-C, on any exit, and (via the IPC channel) if we are SIGKILLed.
process.on('exit', () => {
  killWorkersNow(current);
  if (process.stdout.isTTY) process.stdout.write('\x1b[?25h');
});
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    killWorkersNow(current);
    view?.stop();
    console.log(`\ninterrupted (${signal}): workers killed, emulators stopped`);
    process.exit(130);
  });
}

let exitCode = 1;
try {
  exitCode = await run(parseOptions(process.argv.slice(2)));
} catch (error) {
  if (error instanceof UsageError) {
    console.error(`${error.message}\n\n${USAGE}`);
    exitCode = 2;
  } else {
    console.error(error);
  }
}
process.exit(exitCode);
