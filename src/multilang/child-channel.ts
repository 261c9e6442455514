import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { KclError, type Logger } from '../index.js';
import { systemClock } from '../util/clock.js';
import { withTimeout } from '../util/with-timeout.js';
import { encodeMessage, parseChildLine, type ChildMessage, type DaemonMessage } from './protocol.js';

/** Why a child is given up on. */
export type ChildFailureReason = 'spawn' | 'exit' | 'timeout' | 'protocol';

/** The record processor child failed; the shard's processor call throws this after killing the child. */
export class ChildProcessError extends KclError {
  constructor(
    readonly reason: ChildFailureReason,
    message: string,
  ) {
    super('KCL_MULTILANG_CHILD_FAILED', message);
  }
}

export interface ChildChannelOptions {
  /** File and arguments; run without a shell. */
  command: readonly string[];
  cwd?: string | undefined;
  env?: NodeJS.ProcessEnv | undefined;
  /** Bound to the shard by the caller; gets the child's stderr and skipped stdout lines. */
  logger: Logger;
}

/** How long to wait for stdout to drain after the child exited before reporting the exit anyway. */
const DRAIN_AFTER_EXIT_MILLIS = 500;
const SHOWN_LINE_LENGTH = 500;

/**
 * One record processor process and its line protocol: writes daemon messages to its stdin, reads protocol
 * messages from its stdout (skipping blank lines and anything else, which is logged), logs its stderr. The
 * child runs in its own process group so a kill also reaches whatever it started, and so a Ctrl-C in the
 * daemon's terminal reaches the daemon only (which then shuts the children down through the protocol).
 */
export class ChildChannel {
  /** Resolves once the process has exited (or could not be started). */
  readonly exited: Promise<void>;
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly queue: ChildMessage[] = [];
  private waiter: { resolve: (m: ChildMessage) => void; reject: (e: Error) => void } | undefined;
  private failure: ChildProcessError | undefined;
  private hasExited = false;

  constructor(private readonly o: ChildChannelOptions) {
    const [file, ...args] = o.command;
    if (file === undefined) throw new ChildProcessError('spawn', 'empty command');
    this.child = spawn(file, args, { cwd: o.cwd, env: o.env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    let markExited!: () => void;
    this.exited = new Promise((resolve) => (markExited = resolve));
    this.child.on('error', (error) => {
      this.hasExited = this.child.pid === undefined || this.hasExited;
      this.fail(new ChildProcessError('spawn', `could not run "${o.command.join(' ')}": ${error.message}`));
      if (this.child.pid === undefined) markExited();
    });
    this.child.stdin.on('error', () => undefined); // EPIPE when the child is gone: reported through 'exit'
    this.child.on('exit', (code, signal) => {
      this.hasExited = true;
      markExited();
      const how = signal ? `was killed by ${signal}` : `exited with code ${String(code)}`;
      // Lines it wrote just before exiting are still in the pipe: let them arrive first ('close').
      const report = (): void => this.fail(new ChildProcessError('exit', `record processor (pid ${this.pid}) ${how}`));
      const timer = setTimeout(report, DRAIN_AFTER_EXIT_MILLIS);
      this.child.once('close', () => {
        clearTimeout(timer);
        report();
      });
    });
    createInterface({ input: this.child.stdout, crlfDelay: Infinity }).on('line', (line) => this.onLine(line));
    createInterface({ input: this.child.stderr, crlfDelay: Infinity }).on('line', (line) => {
      o.logger.warn({ pid: this.pid, stream: 'stderr' }, `child stderr: ${line.slice(0, SHOWN_LINE_LENGTH)}`);
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get hasFailed(): boolean {
    return this.failure !== undefined;
  }

  /** Queues one message for the child's stdin (Node buffers it; a dead child surfaces through `next`). */
  send(message: DaemonMessage): void {
    if (this.failure) throw this.failure;
    if (!this.child.stdin.writable) throw new ChildProcessError('exit', `record processor (pid ${this.pid}) closed its stdin`);
    this.child.stdin.write(encodeMessage(message));
  }

  /** The next protocol message; rejects when the child is gone or stays silent for `timeoutMillis`. */
  async next(timeoutMillis?: number): Promise<ChildMessage> {
    const queued = this.queue.shift();
    if (queued) return queued;
    if (this.failure) throw this.failure;
    if (this.waiter) throw new ChildProcessError('protocol', 'concurrent reads of one child');
    let waiter!: { resolve: (m: ChildMessage) => void; reject: (e: Error) => void };
    const message = new Promise<ChildMessage>((resolve, reject) => (waiter = { resolve, reject }));
    this.waiter = waiter;
    if (timeoutMillis === undefined) return message;
    const outcome = await withTimeout(message, timeoutMillis, systemClock);
    if (!outcome.timedOut) return outcome.value;
    if (this.waiter === waiter) this.waiter = undefined;
    throw new ChildProcessError('timeout', `record processor (pid ${this.pid}) sent nothing for ${timeoutMillis} ms (timeoutInSeconds)`);
  }

  /** End of input: a well-behaved child exits. */
  closeInput(): void {
    if (this.child.stdin.writable) this.child.stdin.end();
  }

  /** True when the child exited within `millis`. */
  async waitForExit(millis: number): Promise<boolean> {
    if (this.hasExited) return true;
    return !(await withTimeout(this.exited, millis, systemClock)).timedOut;
  }

  /** SIGKILL to the child's process group (the child and what it started). */
  kill(): void {
    const pid = this.child.pid;
    if (pid === undefined || this.hasExited) return;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      this.child.kill('SIGKILL');
    }
  }

  private onLine(line: string): void {
    const parsed = parseChildLine(line);
    if (parsed.kind === 'blank') {
      this.o.logger.debug({ pid: this.pid }, 'skipping blank line on child stdout');
      return;
    }
    if (parsed.kind === 'junk') {
      this.o.logger.info({ pid: this.pid, reason: parsed.reason }, `skipping unexpected line on child stdout: ${line.slice(0, SHOWN_LINE_LENGTH)}`);
      return;
    }
    const waiter = this.waiter;
    if (waiter) {
      this.waiter = undefined;
      waiter.resolve(parsed.message);
    } else {
      this.queue.push(parsed.message);
    }
  }

  private fail(error: ChildProcessError): void {
    if (this.failure) return;
    this.failure = error;
    const waiter = this.waiter;
    if (waiter) {
      this.waiter = undefined;
      waiter.reject(error);
    }
  }
}
