import {
  DependencyError,
  IllegalArgumentError,
  InvalidStateError,
  KclError,
  ResourceNotFoundError,
  ShutdownError,
  ThrottlingError,
} from '../errors.js';
import type { CheckpointUpdate } from '../leases/lease-store.js';
import type {
  KinesisClientRecord,
  PreparedCheckpointer,
  RecordProcessorCheckpointer,
  SequenceNumberPosition,
} from '../processor/types.js';
import { ExtendedSequenceNumber as ESN } from './extended-sequence-number.js';

/** Persists a checkpoint through the held lease (fenced by owner, counter and concurrency token). */
export type CheckpointWriter = (update: CheckpointUpdate) => Promise<void>;

type Target = { esn: ESN; state: Uint8Array | undefined };

/**
 * The checkpointer handed to a shard's processor, with Java KCL's rules: the target must lie between
 * the last checkpoint and the largest record delivered; the shard's last record is written as
 * `SHARD_END` once the shard end was reached. Unlike Java KCL (issue #211), checkpointing the same
 * record again at shard end still writes `SHARD_END`: the no-op check compares what would be *written*.
 */
export class ShardCheckpointer implements RecordProcessorCheckpointer {
  private last: ESN;
  private largestPermitted: ESN;
  private sequenceNumberAtShardEnd: ESN | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly shardId: string,
    private readonly writer: CheckpointWriter,
    initial: ESN,
  ) {
    this.last = initial;
    this.largestPermitted = initial;
  }

  get lastCheckpoint(): SequenceNumberPosition {
    return this.last.toJSON();
  }

  /** The last checkpoint as an ordered value (for filtering and shard-end checks). */
  get lastCheckpointValue(): ESN {
    return this.last;
  }

  get largestPermittedValue(): ESN {
    return this.largestPermitted;
  }

  /** Called after each batch is delivered: the processor may now checkpoint up to `esn`. */
  advanceLargestPermitted(esn: ESN): void {
    if (esn.compareTo(this.largestPermitted) > 0) this.largestPermitted = esn;
  }

  /** The shard's last record was delivered: a checkpoint at it (or `checkpoint()`) now writes SHARD_END. */
  markShardEnd(): void {
    if (this.sequenceNumberAtShardEnd === undefined) {
      this.sequenceNumberAtShardEnd = this.largestPermitted;
      this.largestPermitted = ESN.SHARD_END;
    }
  }

  checkpoint(): Promise<void>;
  checkpoint(record: KinesisClientRecord): Promise<void>;
  checkpoint(sequenceNumber: string, subSequenceNumber?: number): Promise<void>;
  checkpoint(arg?: KinesisClientRecord | string, subSequenceNumber?: number): Promise<void> {
    return this.serialized(async () => {
      const target = this.parseTarget(arg, subSequenceNumber);
      if (arg === undefined && this.nothingDelivered(target)) return;
      const value = this.validate(target);
      if (value.equals(this.last)) return;
      await this.write({ checkpoint: value.toJSON(), pendingCheckpoint: null, pendingCheckpointState: null });
      this.last = value;
    });
  }

  prepareCheckpoint(state?: Uint8Array): Promise<PreparedCheckpointer>;
  prepareCheckpoint(record: KinesisClientRecord, state?: Uint8Array): Promise<PreparedCheckpointer>;
  prepareCheckpoint(sequenceNumber: string, subSequenceNumber?: number, state?: Uint8Array): Promise<PreparedCheckpointer>;
  prepareCheckpoint(
    a?: Uint8Array | KinesisClientRecord | string,
    b?: Uint8Array | number,
    c?: Uint8Array,
  ): Promise<PreparedCheckpointer> {
    return this.serialized(async () => {
      const target = this.parsePrepareTarget(a, b, c);
      if ((a === undefined || a instanceof Uint8Array) && this.nothingDelivered(target.esn)) {
        return { pendingCheckpoint: target.esn.toJSON(), checkpoint: async () => undefined };
      }
      const value = this.validate(target.esn);
      if (value.equals(this.last) && target.state === undefined) {
        // Preparing the current checkpoint does nothing (Java's DoesNothingPreparedCheckpointer).
        return { pendingCheckpoint: value.toJSON(), checkpoint: async () => undefined };
      }
      await this.write({
        checkpoint: this.last.toJSON(),
        pendingCheckpoint: value.toJSON(),
        pendingCheckpointState: target.state ?? null,
      });
      return {
        pendingCheckpoint: value.toJSON(),
        checkpoint: () => this.checkpoint(value.sequenceNumber, value.subSequenceNumber),
      };
    });
  }

  /**
   * No record delivered yet and the lease still at TRIM_HORIZON / LATEST / AT_TIMESTAMP: a checkpoint "at the last
   * record delivered" has nothing to write, and does nothing (Java KCL), instead of refusing the sentinel.
   */
  private nothingDelivered(target: ESN): boolean {
    return target.isSentinel && !target.isShardEnd && target.equals(this.last);
  }

  private parseTarget(arg: KinesisClientRecord | string | undefined, sub: number | undefined): ESN {
    if (arg === undefined) return this.largestPermitted;
    if (typeof arg === 'string') return new ESN(arg, sub ?? 0);
    if (typeof arg === 'object' && arg !== null && typeof arg.sequenceNumber === 'string') {
      return new ESN(arg.sequenceNumber, arg.subSequenceNumber ?? 0);
    }
    throw new IllegalArgumentError(`checkpoint() takes a record, a sequence number string or nothing; got ${typeof arg}`);
  }

  private parsePrepareTarget(a: Uint8Array | KinesisClientRecord | string | undefined, b: Uint8Array | number | undefined, c: Uint8Array | undefined): Target {
    if (a === undefined || a instanceof Uint8Array) return { esn: this.largestPermitted, state: a };
    if (typeof a === 'string') {
      if (b instanceof Uint8Array) return { esn: new ESN(a, 0), state: b };
      return { esn: new ESN(a, b ?? 0), state: c };
    }
    return { esn: this.parseTarget(a, undefined), state: b instanceof Uint8Array ? b : undefined };
  }

  /** Range check, then the SHARD_END rewrite. Returns what would be written. */
  private validate(target: ESN): ESN {
    if (target.isSentinel && !target.isShardEnd) {
      throw new IllegalArgumentError(`Cannot checkpoint ${this.shardId} at sentinel ${target.sequenceNumber}`);
    }
    if (target.compareTo(this.last) < 0) {
      throw new IllegalArgumentError(
        `Checkpoint ${target.toString()} of ${this.shardId} is before the last checkpoint ${this.last.toString()}`,
      );
    }
    if (target.compareTo(this.largestPermitted) > 0) {
      throw new IllegalArgumentError(
        `Checkpoint ${target.toString()} of ${this.shardId} is after the largest record delivered (${this.largestPermitted.toString()})`,
      );
    }
    if (this.sequenceNumberAtShardEnd !== undefined && target.compareTo(this.sequenceNumberAtShardEnd) >= 0) {
      return ESN.SHARD_END;
    }
    return target;
  }

  private async write(update: CheckpointUpdate): Promise<void> {
    try {
      await this.writer(update);
    } catch (error) {
      throw toCheckpointError(error, this.shardId);
    }
  }

  private serialized<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.queue.then(fn, fn);
    this.queue = result.catch(() => undefined);
    return result;
  }
}

/** Checkpoint failures as the processor sees them (Java's four checkpoint exceptions). */
export function toCheckpointError(error: unknown, shardId: string): KclError {
  if (error instanceof ShutdownError || error instanceof ThrottlingError || error instanceof IllegalArgumentError) return error;
  if (error instanceof ResourceNotFoundError) {
    return new InvalidStateError(`Checkpoint of ${shardId} failed: the lease table does not exist`, { cause: error });
  }
  if (error instanceof InvalidStateError) return error;
  const retriable = error instanceof KclError ? error.retriable : false;
  return new DependencyError(`Checkpoint of ${shardId} failed: ${error instanceof Error ? error.message : String(error)}`, { retriable, cause: error });
}
