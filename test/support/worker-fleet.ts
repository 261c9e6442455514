// Parent side of test/support/worker-process.ts: starts worker processes (no shell), kills (-9), stops
// (SIGTERM → graceful), pauses (SIGSTOP) and resumes (SIGCONT) them, and collects their reports. Children
// are always SIGKILLed when this process exits; tests also call `killAll()` in `after()`.
//
// Also the checks shared by the multi-worker tests and the failover benchmark: per-shard runs of each
// worker, "no shard processed by two workers at once outside a lease move", "nothing delivered at or
// before the checkpoint a run started from".
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { KinesisAdmin } from '../../src/aws/kinesis-admin.js';
import { produce, type Produced } from './scenario.js';
import type { ReportOf, WorkerConfig, WorkerReport, WorkerReportType } from './worker-protocol.js';

export type { WorkerConfig, WorkerReport } from './worker-protocol.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ENTRY = fileURLToPath(new URL('./worker-process.ts', import.meta.url));
const STDERR_TAIL = 16_000;

const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of liveChildren) {
      try {
        child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}

function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    // No credentials, no test-runner context, no inherited loaders (the child gets --import tsx itself).
    if (/^AWS_/.test(key) || key === 'NODE_OPTIONS' || key.startsWith('NODE_TEST')) continue;
    env[key] = value;
  }
  return env;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class WorkerHandle {
  readonly pid: number;
  /** Resolves on the worker's `started` report; rejects if it reports `fatal` or exits first. */
  readonly started: Promise<void>;
  readonly exited: Promise<ExitInfo>;
  exitInfo: ExitInfo | undefined;
  private stderrTail = '';
  private resolveStarted!: () => void;
  private rejectStarted!: (error: Error) => void;

  constructor(
    readonly workerId: string,
    readonly config: WorkerConfig,
    readonly child: ChildProcess,
  ) {
    if (child.pid === undefined) throw new Error(`worker ${workerId} did not start`);
    this.pid = child.pid;
    this.started = new Promise<void>((resolve, reject) => {
      this.resolveStarted = resolve;
      this.rejectStarted = reject;
    });
    this.started.catch(() => undefined); // observed by whoever awaits it
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      this.stderrTail = (this.stderrTail + chunk).slice(-STDERR_TAIL);
    });
    child.stdout?.resume(); // nothing expected there; never let it fill the pipe
    this.exited = new Promise<ExitInfo>((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        liveChildren.delete(child);
        this.rejectStarted(new Error(`worker ${workerId} exited (code ${String(code)}, signal ${String(signal)}) before it started:\n${this.stderrTail}`));
        resolve(this.exitInfo);
      });
    });
  }

  get alive(): boolean {
    return this.exitInfo === undefined;
  }

  get stderr(): string {
    return this.stderrTail;
  }

  /** @internal */
  onReport(report: WorkerReport): void {
    if (report.type === 'started') this.resolveStarted();
    if (report.type === 'fatal') this.rejectStarted(new Error(`worker ${this.workerId} failed: ${report.code ?? ''} ${report.message}`));
  }
}

export class WorkerFleet {
  /** Every report of every worker, in arrival order (each worker's own reports keep their order). */
  readonly reports: WorkerReport[] = [];
  private readonly handles = new Map<string, WorkerHandle>();

  constructor(private readonly defaults: Omit<WorkerConfig, 'workerId'>) {}

  /** Spawns `node --import tsx test/support/worker-process.ts <config>`; await `handle.started` for readiness. */
  start(workerId: string, overrides: Partial<WorkerConfig> = {}): WorkerHandle {
    if (this.handles.get(workerId)?.alive) throw new Error(`worker ${workerId} is already running`);
    installExitHook();
    const config: WorkerConfig = { ...this.defaults, ...overrides, workerId };
    const child = spawn(process.execPath, ['--import', 'tsx', ENTRY, JSON.stringify(config)], {
      cwd: ROOT,
      env: childEnv(),
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      shell: false,
    });
    liveChildren.add(child);
    const handle = new WorkerHandle(workerId, config, child);
    child.on('message', (message: WorkerReport) => {
      this.reports.push(message);
      handle.onReport(message);
    });
    this.handles.set(workerId, handle);
    return handle;
  }

  /** Starts the workers at once and waits until every one has finished `Scheduler.start()`. */
  async startAll(workerIds: string[], overrides: Partial<WorkerConfig> = {}): Promise<WorkerHandle[]> {
    const handles = workerIds.map((id) => this.start(id, overrides));
    await Promise.all(handles.map((h) => h.started));
    return handles;
  }

  handle(workerId: string): WorkerHandle {
    const h = this.handles.get(workerId);
    if (!h) throw new Error(`no worker ${workerId}`);
    return h;
  }

  get workerIds(): string[] {
    return [...this.handles.keys()];
  }

  /** `kill -9`; resolves with the local time just before the signal once the process is gone. */
  async kill(workerId: string): Promise<number> {
    const h = this.handle(workerId);
    const at = Date.now();
    h.child.kill('SIGKILL');
    await h.exited;
    return at;
  }

  /** SIGTERM (graceful shutdown in the worker); SIGKILL and an error if it takes longer than `timeoutMillis`. */
  async stop(workerId: string, timeoutMillis = 20_000): Promise<ExitInfo> {
    const h = this.handle(workerId);
    if (!h.alive) return h.exitInfo!;
    h.child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMillis);
    });
    const result = await Promise.race([h.exited, timedOut]);
    clearTimeout(timer);
    if (result === 'timeout') {
      h.child.kill('SIGKILL');
      await h.exited;
      throw new Error(`worker ${workerId} did not stop within ${timeoutMillis} ms after SIGTERM:\n${h.stderr}`);
    }
    return result;
  }

  /** SIGSTOP: the process freezes (timers, sockets and all) until `resume`. Returns the local time. */
  pause(workerId: string): number {
    const at = Date.now();
    this.handle(workerId).child.kill('SIGSTOP');
    return at;
  }

  resume(workerId: string): number {
    const at = Date.now();
    this.handle(workerId).child.kill('SIGCONT');
    return at;
  }

  /** SIGKILLs every live worker (also stopped ones) and waits until they are gone. */
  async killAll(): Promise<void> {
    const live = [...this.handles.values()].filter((h) => h.alive);
    for (const h of live) h.child.kill('SIGKILL');
    await Promise.all(live.map((h) => h.exited));
  }

  of<T extends WorkerReportType>(type: T, filter: (r: ReportOf<T>) => boolean = () => true): ReportOf<T>[] {
    return this.reports.filter((r): r is ReportOf<T> => r.type === type && filter(r as ReportOf<T>));
  }

  /** Every delivered record as reported (needs `reportRecords: 'full'`). */
  deliveries(): FleetDelivery[] {
    const out: FleetDelivery[] = [];
    for (const r of this.of('records')) {
      for (const rec of r.records ?? []) out.push({ workerId: r.workerId, shardId: r.shardId, key: rec.data, sequenceNumber: rec.sequenceNumber, t: r.t });
    }
    return out;
  }

  uniqueKeys(): Set<string> {
    return new Set(this.deliveries().map((d) => d.key));
  }

  async waitFor(condition: () => boolean | Promise<boolean>, timeoutMillis: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMillis;
    while (!(await condition())) {
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMillis} ms waiting for ${what}\n${this.diagnostics()}`);
      const dead = [...this.handles.values()].find((h) => !h.alive && h.exitInfo?.signal !== 'SIGKILL' && h.exitInfo?.code !== 0);
      if (dead) throw new Error(`worker ${dead.workerId} died (code ${String(dead.exitInfo?.code)}) while waiting for ${what}\n${dead.stderr}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** Exit states and the tail of every worker's stderr, for failure messages. */
  diagnostics(): string {
    return [...this.handles.values()]
      .map((h) => `--- ${h.workerId} (pid ${h.pid}, ${h.alive ? 'alive' : `exited ${JSON.stringify(h.exitInfo)}`})\n${h.stderr.slice(-3000)}`)
      .join('\n');
  }
}

export interface FleetDelivery {
  workerId: string;
  shardId: string;
  key: string;
  sequenceNumber: string;
  /** When the batch reached the processor. */
  t: number;
}

// ---------------------------------------------------------------------------------------------------------------
// Analysis of reports

export interface ShardRun {
  workerId: string;
  shardId: string;
  /** `initialize` time and the checkpoint the run started from. */
  start: number;
  startCheckpoint: string;
  batches: { batch: number; start: number; end: number; first: string; last: string; sequenceNumbers: string[] }[];
  /** How the processor's run ended, when it did (`leaseLost`, `shutdownRequested`, `shardEnded`). */
  end?: { t: number; how: 'leaseLost' | 'shutdownRequested' | 'shardEnded' };
}

/** The runs (initialize → leaseLost/shutdownRequested/shardEnded) of every worker on every shard. */
export function shardRuns(reports: readonly WorkerReport[]): ShardRun[] {
  const runs: ShardRun[] = [];
  const current = new Map<string, ShardRun>();
  const byBatch = new Map<string, ShardRun['batches'][number]>();
  for (const r of reports) {
    if (!('shardId' in r) || r.shardId === undefined || r.type === 'event') continue;
    const k = `${r.workerId}/${r.shardId}`;
    if (r.type === 'initialize') {
      const run: ShardRun = { workerId: r.workerId, shardId: r.shardId, start: r.t, startCheckpoint: r.sequenceNumber, batches: [] };
      runs.push(run);
      current.set(k, run);
    } else if (r.type === 'records') {
      const run = current.get(k);
      if (!run) throw new Error(`${k}: records before initialize`);
      const b = { batch: r.batch, start: r.t, end: r.t, first: r.first, last: r.last, sequenceNumbers: (r.records ?? []).map((x) => x.sequenceNumber) };
      run.batches.push(b);
      byBatch.set(`${r.workerId}#${r.batch}`, b);
    } else if (r.type === 'checkpoint' && r.batch !== undefined) {
      const b = byBatch.get(`${r.workerId}#${r.batch}`);
      if (b) b.end = r.batchEnd ?? r.t;
    } else if (r.type === 'leaseLost' || r.type === 'shutdownRequested' || r.type === 'shardEnded') {
      const run = current.get(k);
      if (run && !run.end) run.end = { t: r.t, how: r.type };
    }
  }
  return runs;
}

/**
 * "No shard is processed by two workers at once outside a lease move": two runs of different workers on
 * one shard may process batches at overlapping times only while the earlier run (the one initialized first)
 * is being moved away — it must end in `leaseLost`, and the overlap must not exceed `maxOverlapMillis` (the
 * old owner notices the loss at its next renewal, within the failover time).
 */
export function concurrentProcessingViolations(reports: readonly WorkerReport[], maxOverlapMillis: number): string[] {
  const violations: string[] = [];
  const runs = shardRuns(reports).filter((r) => r.batches.length > 0);
  const byShard = new Map<string, ShardRun[]>();
  for (const run of runs) byShard.set(run.shardId, [...(byShard.get(run.shardId) ?? []), run]);
  for (const [shardId, list] of byShard) {
    // By acquisition (initialize), not by first batch: a new owner may deliver before the old one's last batch.
    list.sort((a, b) => a.start - b.start);
    for (let i = 0; i < list.length; i++) {
      for (let j = i + 1; j < list.length; j++) {
        const a = list[i]!;
        const b = list[j]!;
        if (a.workerId === b.workerId) continue;
        const aEnd = Math.max(...a.batches.map((x) => x.end));
        const bStart = b.batches[0]!.start;
        if (aEnd <= bStart) continue;
        const overlap = aEnd - bStart;
        if (a.end?.how !== 'leaseLost') {
          violations.push(`${shardId}: ${a.workerId} processed until ${aEnd} while ${b.workerId} processed from ${bStart}, and ${a.workerId} never lost the lease (${a.end?.how ?? 'run still open'})`);
        } else if (overlap > maxOverlapMillis) {
          violations.push(`${shardId}: ${a.workerId} and ${b.workerId} processed at once for ${overlap} ms (> ${maxOverlapMillis}) around a lease move`);
        }
      }
    }
  }
  return violations;
}

/** One shard's lifecycle reports and events (not every batch), relative to `since`, for failure messages. */
export function shardTimeline(reports: readonly WorkerReport[], shardId: string, since = 0): string {
  const lines: string[] = [];
  let batches = new Map<string, { n: number; from: number; to: number }>();
  const flush = (): void => {
    for (const [w, b] of batches) lines.push(`  ${b.from - since}..${b.to - since} ${w} ${b.n} batch(es)`);
    batches = new Map();
  };
  for (const r of reports) {
    if (!('shardId' in r) || r.shardId !== shardId) continue;
    if (r.type === 'records') {
      const b = batches.get(r.workerId) ?? { n: 0, from: r.t, to: r.t };
      b.n++;
      b.to = r.t;
      batches.set(r.workerId, b);
      continue;
    }
    if (r.type === 'checkpoint' && r.ok) continue;
    flush();
    const what = r.type === 'event' ? `event ${r.name} ${JSON.stringify(r.detail)}` : r.type === 'initialize' ? `initialize at ${r.sequenceNumber}` : r.type === 'checkpoint' ? `checkpoint failed ${r.code ?? ''}` : r.type;
    lines.push(`  ${r.t - since} ${r.workerId} ${what}`);
  }
  flush();
  return `${shardId}:\n${lines.join('\n')}`;
}

function isSequenceNumber(s: string): boolean {
  return /^\d+$/.test(s);
}

/**
 * Within each run, sequence numbers rise strictly and all lie after the checkpoint the run started from
 * (a run resumes *after* its checkpoint: nothing at or before it is delivered again).
 */
export function runOrderViolations(reports: readonly WorkerReport[]): string[] {
  const violations: string[] = [];
  for (const run of shardRuns(reports)) {
    let prev = isSequenceNumber(run.startCheckpoint) ? BigInt(run.startCheckpoint) : -1n;
    for (const b of run.batches) {
      for (const s of b.sequenceNumbers) {
        const seq = BigInt(s);
        if (seq <= prev) violations.push(`${run.workerId}/${run.shardId}: ${s} delivered after ${prev.toString()} (run from checkpoint ${run.startCheckpoint})`);
        prev = seq;
      }
    }
  }
  return violations;
}

// ---------------------------------------------------------------------------------------------------------------
// Steady production

/** Puts `perTick` records (data `${prefix}-${i}`, i counting up) every `intervalMillis` until stopped. */
export class SteadyProducer {
  readonly produced: Produced[] = [];
  private stopped = false;
  private loop: Promise<void> | undefined;
  private next = 0;

  constructor(
    private readonly admin: KinesisAdmin,
    private readonly streamName: string,
    private readonly options: { perTick: number; intervalMillis: number; prefix?: string },
  ) {}

  start(): this {
    this.loop ??= (async () => {
      while (!this.stopped) {
        const started = Date.now();
        const batch = await produce(this.admin, this.streamName, this.options.perTick, this.next, this.options.prefix ?? 'r');
        this.next += this.options.perTick;
        this.produced.push(...batch);
        const wait = this.options.intervalMillis - (Date.now() - started);
        if (wait > 0 && !this.stopped) await new Promise((r) => setTimeout(r, wait));
      }
    })();
    this.loop.catch(() => undefined); // reported by stop()
    return this;
  }

  /** Stops after the put in flight; rejects if a put failed. */
  async stop(): Promise<Produced[]> {
    this.stopped = true;
    await this.loop;
    return this.produced;
  }
}
