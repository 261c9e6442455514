import {
  ExtendedSequenceNumber,
  InvalidStateError,
  type InitializationInput,
  type LeaseLostInput,
  type Logger,
  type ProcessRecordsInput,
  type RecordProcessorCheckpointer,
  type ShardEndedInput,
  type ShardRecordProcessor,
  type ShutdownRequestedInput,
} from '../index.js';
import { ChildChannel, ChildProcessError } from './child-channel.js';
import {
  checkpointErrorName,
  initializeMessage,
  processRecordsMessage,
  type CallAction,
  type CheckpointReply,
  type CheckpointRequest,
  type DaemonMessage,
} from './protocol.js';

/** What the daemon does around the children of all shards (restart backoff, bookkeeping). */
export interface ChildSupervision {
  /** Before each spawn; may wait (restart backoff) and rejects when the daemon is stopping. */
  beforeSpawn(shardId: string): Promise<void>;
  /** A child was started; the returned function is called once it is gone. */
  track(channel: ChildChannel): () => void;
  /** The shard's child failed (exited, hung, broke the protocol). */
  failed(shardId: string): void;
  /** The shard's child processed a batch. */
  succeeded(shardId: string): void;
}

export interface ChildProcessProcessorOptions {
  /** `executableName` split on spaces: file and arguments, run without a shell. */
  command: readonly string[];
  cwd?: string | undefined;
  env?: NodeJS.ProcessEnv | undefined;
  /** Longest wait for each message of the child (`timeoutInSeconds`); undefined waits for ever, as Java. */
  timeoutMillis?: number | undefined;
  /** After the last action, how long the child has to exit once its stdin is closed before it is killed. */
  exitGraceMillis?: number;
  /** Bound to the shard by the caller. */
  logger: Logger;
  supervision?: ChildSupervision;
}

const NO_SUPERVISION: ChildSupervision = {
  beforeSpawn: async () => undefined,
  track: () => () => undefined,
  failed: () => undefined,
  succeeded: () => undefined,
};

/**
 * A `ShardRecordProcessor` that is one child process speaking the MultiLangDaemon protocol. Each call writes
 * one action and waits for the child's `status` for it, executing the child's `checkpoint` requests in between
 * with the call's checkpointer (`processRecords`, `shardEnded`, `shutdownRequested`; at other times they get
 * `InvalidStateException`). A child that exits, stays silent past the timeout or answers for another action is
 * killed and the call throws, so the library stops the shard and releases its lease (the daemon runs the
 * Scheduler with `onProcessingError: 'release'`); a later owner starts a new child. After `leaseLost`,
 * `shardEnded` or `shutdownRequested` the child's stdin is closed and it is expected to exit.
 */
export class ChildProcessProcessor implements ShardRecordProcessor {
  private channel: ChildChannel | undefined;
  private untrack: (() => void) | undefined;
  private shardId = '';
  private state: 'new' | 'running' | 'finished' | 'failed' = 'new';
  private readonly supervision: ChildSupervision;

  constructor(private readonly o: ChildProcessProcessorOptions) {
    this.supervision = o.supervision ?? NO_SUPERVISION;
  }

  /** Process id of the running child, if any. */
  get pid(): number | undefined {
    return this.state === 'running' ? this.channel?.pid : undefined;
  }

  async initialize(input: InitializationInput): Promise<void> {
    if (this.state !== 'new') throw new InvalidStateError(`record processor of ${this.shardId} was already initialized`);
    this.shardId = input.shardId;
    await this.supervision.beforeSpawn(input.shardId);
    try {
      this.channel = new ChildChannel({ command: this.o.command, cwd: this.o.cwd, env: this.o.env, logger: this.o.logger });
    } catch (error) {
      this.state = 'failed';
      this.supervision.failed(this.shardId);
      throw error;
    }
    this.state = 'running';
    this.untrack = this.supervision.track(this.channel);
    this.o.logger.debug({ pid: this.channel.pid, command: this.o.command }, 'started record processor');
    await this.call(initializeMessage(input.shardId, input.extendedSequenceNumber), undefined);
  }

  async processRecords(input: ProcessRecordsInput): Promise<void> {
    await this.call(processRecordsMessage(input.records, input.millisBehindLatest), input.checkpointer);
    this.supervision.succeeded(this.shardId);
  }

  async leaseLost(_input: LeaseLostInput): Promise<void> {
    if (this.state !== 'running') return; // never started, or already failed and killed
    await this.call({ action: 'leaseLost' }, undefined);
    await this.finish();
  }

  async shardEnded(input: ShardEndedInput): Promise<void> {
    await this.call({ action: 'shardEnded' }, input.checkpointer);
    await this.finish();
    if (!ExtendedSequenceNumber.from(input.checkpointer.lastCheckpoint).isShardEnd) {
      // The library retries the shard (children wait for its SHARD_END); back off as for a failed child.
      this.supervision.failed(this.shardId);
      this.o.logger.warn({}, 'record processor did not checkpoint in shardEnded; the shard end will be delivered again');
    }
  }

  async shutdownRequested(input: ShutdownRequestedInput): Promise<void> {
    if (this.state !== 'running') return;
    await this.call({ action: 'shutdownRequested' }, input.checkpointer);
    await this.finish();
  }

  /** Kills the child now (daemon exit). */
  kill(): void {
    this.channel?.kill();
  }

  private async call(message: DaemonMessage & { action: CallAction }, checkpointer: RecordProcessorCheckpointer | undefined): Promise<void> {
    const channel = this.channel;
    if (this.state !== 'running' || !channel) {
      throw new InvalidStateError(`record processor of ${this.shardId} is ${this.state === 'failed' ? 'gone after a failure' : 'not running'}; cannot send ${message.action}`);
    }
    try {
      channel.send(message);
      for (;;) {
        const reply = await channel.next(this.o.timeoutMillis);
        if (reply.action === 'checkpoint') {
          channel.send(await this.checkpoint(reply, checkpointer, message.action));
          continue;
        }
        if (reply.responseFor !== message.action) {
          throw new ChildProcessError('protocol', `record processor answered status for ${JSON.stringify(reply.responseFor)} while ${message.action} was pending`);
        }
        return;
      }
    } catch (error) {
      this.abandon(error, message.action);
      throw error;
    }
  }

  private async checkpoint(request: CheckpointRequest, checkpointer: RecordProcessorCheckpointer | undefined, during: CallAction): Promise<CheckpointReply> {
    const reply = (error: CheckpointReply['error']): CheckpointReply => ({
      action: 'checkpoint',
      sequenceNumber: request.sequenceNumber,
      subSequenceNumber: request.subSequenceNumber,
      error,
    });
    const { sequenceNumber: seq, subSequenceNumber: sub } = request;
    if (request.invalid !== undefined) {
      this.o.logger.warn({ during }, `checkpoint request refused: ${request.invalid}`);
      return reply('IllegalArgumentException');
    }
    if (!checkpointer) {
      this.o.logger.warn({ during, sequenceNumber: seq }, `checkpoint requested during ${during}, which has no checkpointer`);
      return reply('InvalidStateException');
    }
    try {
      if (seq === null) await checkpointer.checkpoint();
      else if (sub !== null) await checkpointer.checkpoint(seq, sub);
      else await checkpointer.checkpoint(seq);
      return reply(null);
    } catch (error) {
      const name = checkpointErrorName(error);
      this.o.logger.warn({ err: error, during, sequenceNumber: seq, subSequenceNumber: sub }, `checkpoint failed: ${name}`);
      return reply(name);
    }
  }

  /** Closes the child's stdin and gives it `exitGraceMillis` to exit, then kills it. */
  private async finish(): Promise<void> {
    const channel = this.channel!;
    this.state = 'finished';
    channel.closeInput();
    const grace = this.o.exitGraceMillis ?? 5000;
    if (!(await channel.waitForExit(grace))) {
      this.o.logger.warn({ pid: channel.pid }, `record processor did not exit within ${grace} ms of its input closing; killing it`);
      channel.kill();
      await channel.waitForExit(grace);
    }
    this.untrack?.();
  }

  private abandon(error: unknown, during: CallAction): void {
    const channel = this.channel!;
    this.state = 'failed';
    channel.kill();
    this.untrack?.();
    this.supervision.failed(this.shardId);
    const reason = error instanceof ChildProcessError ? error.reason : 'error';
    this.o.logger.error({ pid: channel.pid, during, reason, err: error }, 'record processor failed; killed it');
  }
}
