import { ConfigError, Scheduler, type Logger } from '../index.js';
import { systemClock } from '../util/clock.js';
import { withTimeout } from '../util/with-timeout.js';
import { ChildProcessProcessor } from './child-process-processor.js';
import { ChildSupervisor } from './child-supervisor.js';
import { findExecutable } from './find-executable.js';
import type { MultiLangConfig } from './multilang-config.js';

export interface MultiLangDaemonOptions {
  config: MultiLangConfig;
  logger: Logger;
  /** Working directory of the children (as Java: the daemon's). @defaultValue process.cwd() */
  cwd?: string;
  /** Environment of the daemon's SDK clients and of the children. @defaultValue process.env */
  env?: NodeJS.ProcessEnv;
  /** Restart backoff of failing children. @defaultValue 1000 / 30000 */
  restartBaseDelayMillis?: number;
  restartMaxDelayMillis?: number;
}

/** After `shutdownGraceMillis`, how long the library gets to wind down before the remaining children are killed. */
const KILL_AFTER_GRACE_MILLIS = 2000;
/** How long the final release of leases may take after the children were killed. */
const FINAL_WAIT_MILLIS = 10_000;
/** A child gets this long to exit once its stdin is closed after its last action. */
const CHILD_EXIT_GRACE_MILLIS = 5000;

/**
 * The MultiLangDaemon: a `Scheduler` whose record processors are child processes speaking the Java daemon's
 * protocol, one per shard. Unlike Java's daemon, a child that fails only costs its shard a restart: the
 * Scheduler runs with `onProcessingError: 'release'`, so the failed shard's lease is released and taken again
 * (here or by another worker), and the next child for it starts after a growing delay (`ChildSupervisor`).
 */
export class MultiLangDaemon {
  readonly scheduler: Scheduler;
  readonly supervisor: ChildSupervisor;
  private stopping: Promise<boolean> | undefined;
  private forced = false;

  constructor(private readonly o: MultiLangDaemonOptions) {
    const { config, logger } = o;
    const cwd = o.cwd ?? process.cwd();
    const env = o.env ?? process.env;
    const [file] = config.daemon.command;
    if (file === undefined || findExecutable(file, cwd, env) === undefined) {
      throw new ConfigError('executableName', `"${file}" is not an executable file${file?.includes('/') ? ` (relative to ${cwd})` : ' on PATH'}`);
    }
    this.supervisor = new ChildSupervisor({
      logger,
      ...(o.restartBaseDelayMillis !== undefined ? { baseDelayMillis: o.restartBaseDelayMillis } : {}),
      ...(o.restartMaxDelayMillis !== undefined ? { maxDelayMillis: o.restartMaxDelayMillis } : {}),
    });
    const timeout = config.daemon.timeoutInSeconds;
    this.scheduler = new Scheduler({
      ...config.scheduler,
      logger,
      onProcessingError: 'release',
      processorFactory: ({ shardId }) =>
        new ChildProcessProcessor({
          command: config.daemon.command,
          cwd,
          env,
          timeoutMillis: timeout === undefined ? undefined : timeout * 1000,
          exitGraceMillis: CHILD_EXIT_GRACE_MILLIS,
          logger: logger.child({ shardId }),
          supervision: this.supervisor,
        }),
    });
    this.logEvents(logger);
  }

  /** Resolves once the worker runs (lease table ready, first shard sync and taker round done). */
  async start(): Promise<void> {
    await this.scheduler.start();
  }

  /**
   * Graceful stop (SIGTERM/SIGINT): every shard gets `shutdownRequested` (its child may checkpoint), then the
   * leases are released. After `shutdownGraceMillis` the rest is stopped as by `leaseLost`, and children still
   * busy shortly after that are killed. Resolves `true` when everything finished within the grace period.
   */
  stop(): Promise<boolean> {
    this.stopping ??= this.stopGracefully();
    return this.stopping;
  }

  /** Immediate stop (a second signal): kills every child, releases the leases. */
  async kill(): Promise<void> {
    this.forced = true;
    this.supervisor.stop();
    this.supervisor.killAll();
    await this.scheduler.shutdown();
  }

  private async stopGracefully(): Promise<boolean> {
    const log = this.o.logger;
    const grace = this.o.config.daemon.shutdownGraceMillis;
    this.supervisor.stop();
    const graceful = this.scheduler.startGracefulShutdown(grace);
    let finished = await settleWithin(graceful, grace + KILL_AFTER_GRACE_MILLIS);
    if (finished === undefined) {
      log.warn({ children: this.supervisor.liveChildren }, 'record processors still busy after shutdownGraceMillis; killing them');
      this.supervisor.killAll();
      finished = (await settleWithin(graceful, FINAL_WAIT_MILLIS)) ?? false;
    }
    this.supervisor.killAll(); // none should be left; make sure
    return finished && !this.forced;
  }

  private logEvents(logger: Logger): void {
    const s = this.scheduler;
    s.on('initialized', ({ workerId }) => logger.info({ workerId }, 'multilang daemon running'));
    s.on('leaseAcquired', ({ shardId, stolen }) => logger.info({ shardId, stolen }, 'lease acquired: starting a record processor'));
    s.on('leaseLost', ({ shardId, reason }) => logger.info({ shardId, reason }, 'lease lost'));
    s.on('shardEnded', ({ shardId, childShardIds }) => logger.info({ shardId, childShardIds }, 'shard ended'));
    s.on('shardConsumerStopped', ({ shardId, reason, recordsDelivered }) => logger.info({ shardId, reason, recordsDelivered }, 'shard consumer stopped'));
    s.on('taskError', ({ task, error }) => logger.warn({ task, err: error }, 'background task failed; retrying'));
  }
}

/** The promise's value if it settles within `millis`, else undefined (a rejection counts as `false`). */
async function settleWithin(promise: Promise<boolean>, millis: number): Promise<boolean | undefined> {
  const outcome = await withTimeout(promise.catch(() => false), millis, systemClock);
  return outcome.timedOut ? undefined : outcome.value;
}

/**
 * Runs a daemon until SIGTERM or SIGINT: the first signal stops gracefully, a second one at once. Resolves the
 * process exit code (0 after a complete graceful stop, 1 otherwise). Rejects when the worker cannot start.
 */
export async function runDaemon(daemon: MultiLangDaemon, logger: Logger): Promise<number> {
  let signals = 0;
  let resolveStop!: (code: number) => void;
  const stopped = new Promise<number>((resolve) => (resolveStop = resolve));
  const started = daemon.start();
  const onSignal = (signal: NodeJS.Signals): void => {
    signals += 1;
    if (signals === 1) {
      logger.info({ signal }, 'shutting down gracefully (a second signal stops at once)');
      // A signal during start-up takes effect once the worker runs (or start-up failed).
      started.then(
        () => daemon.stop().then((finished) => resolveStop(finished ? 0 : 1)),
        () => resolveStop(1),
      );
    } else {
      logger.warn({ signal }, 'stopping at once');
      daemon.kill().then(() => resolveStop(1), () => resolveStop(1));
    }
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    await started;
    const code = await stopped;
    logger.info({ code }, 'multilang daemon stopped');
    return code;
  } catch (error) {
    daemon.supervisor.killAll();
    await daemon.scheduler.shutdown().catch(() => undefined);
    throw error;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}
