import {
  CreateStreamCommand,
  DeleteStreamCommand,
  ListStreamsCommand,
  MergeShardsCommand,
  PutRecordCommand,
  PutRecordsCommand,
  SplitShardCommand,
  UpdateShardCountCommand,
  type KinesisClient,
  type ListStreamsCommandInput,
  type PutRecordCommandInput,
  type PutRecordsRequestEntry,
} from '@aws-sdk/client-kinesis';
import { DependencyError, ResourceNotFoundError, TimeoutError } from '../errors.js';
import { backoffDelay } from '../util/backoff.js';
import { systemClock, type Clock } from '../util/clock.js';
import { isRetriable } from '../util/retry.js';
import { KinesisCaller, KinesisApi, streamLabel, streamParams, type KinesisApiOptions } from './kinesis-api.js';
import type { StreamRef, StreamSummary } from './kinesis-types.js';

export interface PutRecordInput {
  partitionKey: string;
  data: Uint8Array;
  /** Decimal hash key that overrides the partition key's MD5 when choosing the shard. */
  explicitHashKey?: string;
}

export interface PutRecordResult {
  sequenceNumber: string;
  shardId: string;
}

export interface PutRecordsOptions {
  /** Attempts per batch, counting the first; each retry resends only the entries that failed. Default 10. */
  maxAttempts?: number;
  /** Backoff between attempts (full jitter). Defaults 50 ms, capped at 2000 ms. */
  baseMillis?: number;
  maxMillis?: number;
  clock?: Clock;
  /** Called before each wait: how many entries are resent, the 0-based attempt that failed, the delay. */
  onRetry?: (pendingCount: number, attempt: number, delayMillis: number, error: unknown) => void;
}

export interface KinesisAdminOptions extends KinesisApiOptions {
  /** Time source for waits and backoff (tests). */
  clock?: Clock;
}

/** PutRecords accepts at most 500 entries and 5 MiB (data + partition keys) per call. */
const MAX_BATCH_RECORDS = 500;
const MAX_BATCH_BYTES = 5 * 1024 * 1024 - 64 * 1024;
/** Per-entry error codes worth resending (AWS documents the first two; KMS throttling is transient too). */
const RETRIABLE_ENTRY_CODES = new Set(['ProvisionedThroughputExceededException', 'InternalFailure', 'KMSThrottlingException']);

/**
 * Control-plane and producer calls used by tests, benchmarks and the demo (the consumer library itself
 * never creates, reshards or writes to streams). Errors are `KclError`s, as in `KinesisApi`.
 */
export class KinesisAdmin {
  private readonly caller: KinesisCaller;
  private readonly api: KinesisApi;
  private readonly clock: Clock;

  constructor(
    private readonly client: KinesisClient,
    options: KinesisAdminOptions = {},
  ) {
    this.caller = new KinesisCaller(options.requestTimeoutMillis, options.logger);
    this.api = new KinesisApi(client, options);
    this.clock = options.clock ?? systemClock;
  }

  /** Starts creating a provisioned stream; it is `CREATING` until {@link waitForStreamActive} says otherwise. */
  async createStream(name: string, shardCount: number): Promise<void> {
    await this.caller.call(`Kinesis.CreateStream(${name})`, undefined, (o) =>
      this.client.send(new CreateStreamCommand({ StreamName: name, ShardCount: shardCount }), o),
    );
  }

  /**
   * Polls DescribeStreamSummary until the stream is `ACTIVE` (also after a reshard, which passes through
   * `UPDATING`). A `ResourceNotFoundError` right after CreateStream is waited out too (eventual consistency).
   * Throws `TimeoutError` after `timeoutMillis`.
   */
  async waitForStreamActive(stream: StreamRef, timeoutMillis: number, pollMillis = 100): Promise<StreamSummary> {
    const deadline = this.clock.now() + timeoutMillis;
    let last = 'not found';
    for (;;) {
      try {
        const summary = await this.api.describeStreamSummary(stream);
        if (summary.status === 'ACTIVE') return summary;
        last = summary.status;
      } catch (error) {
        if (!(error instanceof ResourceNotFoundError)) throw error;
      }
      if (this.clock.now() + pollMillis > deadline) {
        throw new TimeoutError(`Stream ${streamLabel(stream)} not ACTIVE after ${timeoutMillis} ms (last status: ${last})`);
      }
      await this.clock.sleep(pollMillis);
    }
  }

  /** Starts deleting the stream (and its consumers). */
  async deleteStream(stream: StreamRef): Promise<void> {
    const params = streamParams(stream);
    await this.caller.call(`Kinesis.DeleteStream(${streamLabel(stream)})`, undefined, (o) =>
      this.client.send(new DeleteStreamCommand({ ...params, EnforceConsumerDeletion: true }), o),
    );
  }

  async putRecord(stream: StreamRef, record: PutRecordInput): Promise<PutRecordResult> {
    const input: PutRecordCommandInput = { ...streamParams(stream), PartitionKey: record.partitionKey, Data: record.data };
    if (record.explicitHashKey !== undefined) input.ExplicitHashKey = record.explicitHashKey;
    const out = await this.caller.call(`Kinesis.PutRecord(${streamLabel(stream)})`, undefined, (o) =>
      this.client.send(new PutRecordCommand(input), o),
    );
    return { sequenceNumber: out.SequenceNumber ?? '', shardId: out.ShardId ?? '' };
  }

  /**
   * Writes all `records` (any number: sent in batches of ≤ 500 entries / ≤ 5 MiB) and returns, in input
   * order, where each one landed. A partial failure (`FailedRecordCount` > 0, e.g. throttled entries) is
   * retried with backoff resending only the failed entries; a retriable whole-call error resends the batch.
   * After `maxAttempts` the call fails with the last error (a `DependencyError` naming the entry error codes);
   * an entry error other than throttling/internal failure fails at once. Entries already written stay written.
   * Order across retried entries is therefore not guaranteed, as with the PutRecords API itself.
   */
  async putRecords(stream: StreamRef, records: readonly PutRecordInput[], options: PutRecordsOptions = {}): Promise<PutRecordResult[]> {
    const results: PutRecordResult[] = new Array<PutRecordResult>(records.length);
    let start = 0;
    while (start < records.length) {
      let end = start;
      let bytes = 0;
      while (end < records.length && end - start < MAX_BATCH_RECORDS) {
        const r = records[end]!;
        const size = r.data.byteLength + Buffer.byteLength(r.partitionKey);
        if (end > start && bytes + size > MAX_BATCH_BYTES) break;
        bytes += size;
        end++;
      }
      await this.putBatch(stream, records, start, end, results, options);
      start = end;
    }
    return results;
  }

  private async putBatch(
    stream: StreamRef,
    records: readonly PutRecordInput[],
    start: number,
    end: number,
    results: PutRecordResult[],
    options: PutRecordsOptions,
  ): Promise<void> {
    const maxAttempts = options.maxAttempts ?? 10;
    const backoff = { baseMillis: options.baseMillis ?? 50, maxMillis: options.maxMillis ?? 2000 };
    const clock = options.clock ?? this.clock;
    const params = streamParams(stream);
    const operation = `Kinesis.PutRecords(${streamLabel(stream)})`;
    let pending: number[] = [];
    for (let i = start; i < end; i++) pending.push(i);

    for (let attempt = 0; ; attempt++) {
      const entries: PutRecordsRequestEntry[] = pending.map((i) => {
        const r = records[i]!;
        const entry: PutRecordsRequestEntry = { PartitionKey: r.partitionKey, Data: r.data };
        if (r.explicitHashKey !== undefined) entry.ExplicitHashKey = r.explicitHashKey;
        return entry;
      });
      let failure: unknown;
      try {
        const out = await this.caller.call(operation, undefined, (o) =>
          this.client.send(new PutRecordsCommand({ ...params, Records: entries }), o),
        );
        const failed: number[] = [];
        const codes = new Set<string>();
        const answers = out.Records ?? [];
        pending.forEach((index, k) => {
          const answer = answers[k];
          if (answer?.SequenceNumber && answer.ShardId && !answer.ErrorCode) {
            results[index] = { sequenceNumber: answer.SequenceNumber, shardId: answer.ShardId };
          } else {
            failed.push(index);
            codes.add(answer?.ErrorCode ?? 'MissingResult');
          }
        });
        if (failed.length === 0) return;
        pending = failed;
        const retriable = [...codes].every((code) => RETRIABLE_ENTRY_CODES.has(code));
        failure = new DependencyError(
          `${operation}: ${failed.length} of ${entries.length} entries failed (${[...codes].join(', ')}) on attempt ${attempt + 1}`,
          { retriable },
        );
        // e.g. InvalidArgumentException (record too large): resending cannot help
        if (!retriable) throw failure;
      } catch (error) {
        // mapped KclError; only retriable ones (throttling, network, 5xx) are worth resending
        if (!isRetriable(error)) throw error;
        failure = error;
      }
      if (attempt + 1 >= maxAttempts) throw failure;
      const delay = backoffDelay(attempt, backoff);
      options.onRetry?.(pending.length, attempt, delay, failure);
      await clock.sleep(delay);
    }
  }

  /** Splits `shardId` at `newStartingHashKey` (see `midpointHashKey`). The stream is `UPDATING` meanwhile. */
  async splitShard(stream: StreamRef, shardId: string, newStartingHashKey: string): Promise<void> {
    const params = streamParams(stream);
    await this.caller.call(`Kinesis.SplitShard(${streamLabel(stream)}/${shardId})`, undefined, (o) =>
      this.client.send(new SplitShardCommand({ ...params, ShardToSplit: shardId, NewStartingHashKey: newStartingHashKey }), o),
    );
  }

  /** Merges two shards with adjacent hash ranges. The stream is `UPDATING` meanwhile. */
  async mergeShards(stream: StreamRef, shardId: string, adjacentShardId: string): Promise<void> {
    const params = streamParams(stream);
    await this.caller.call(`Kinesis.MergeShards(${streamLabel(stream)}/${shardId}+${adjacentShardId})`, undefined, (o) =>
      this.client.send(new MergeShardsCommand({ ...params, ShardToMerge: shardId, AdjacentShardToMerge: adjacentShardId }), o),
    );
  }

  /** UNIFORM_SCALING reshard to `targetShardCount` (not supported by kinesalite). */
  async updateShardCount(stream: StreamRef, targetShardCount: number): Promise<void> {
    const params = streamParams(stream);
    await this.caller.call(`Kinesis.UpdateShardCount(${streamLabel(stream)})`, undefined, (o) =>
      this.client.send(new UpdateShardCountCommand({ ...params, TargetShardCount: targetShardCount, ScalingType: 'UNIFORM_SCALING' }), o),
    );
  }

  /**
   * All stream names, following `NextToken` where the server gives one, else `ExclusiveStartStreamName`
   * (kinesalite pages only that way).
   */
  async listStreams(): Promise<string[]> {
    const names: string[] = [];
    let input: ListStreamsCommandInput = {};
    for (let page = 0; page < 10_000; page++) {
      const request = input;
      const out = await this.caller.call('Kinesis.ListStreams', undefined, (o) => this.client.send(new ListStreamsCommand(request), o));
      const got = out.StreamNames ?? [];
      names.push(...got);
      const last = got[got.length - 1];
      if (!out.HasMoreStreams || last === undefined) return names;
      input = out.NextToken ? { NextToken: out.NextToken } : { ExclusiveStartStreamName: last };
    }
    return names;
  }
}
