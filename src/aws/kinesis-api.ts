import {
  DescribeStreamSummaryCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListShardsCommand,
  type ChildShard as SdkChildShard,
  type GetRecordsCommandInput,
  type GetShardIteratorCommandInput,
  type KinesisClient,
  type ListShardsCommandInput,
  type ShardFilter as SdkShardFilter,
  type Shard as SdkShard,
  type _Record as SdkRecord,
} from '@aws-sdk/client-kinesis';
import { DependencyError, IllegalArgumentError, KclError } from '../errors.js';
import type { Logger } from '../util/logger.js';
import type { ChildShard, Shard } from '../shards/shard.js';
import { callWithDeadline, type SendOptions } from './call-deadline.js';
import type { GetRecordsResult, IteratorPosition, KinesisRecord, ShardFilter, StreamRef, StreamSummary } from './kinesis-types.js';
import { sdkDeserializerOf, useLeanGetRecords } from './get-records-deserializer.js';
import { AnswerBufferPool } from './answer-buffer-pool.js';

/**
 * Bodies of large GetRecords answers, reused by every KinesisApi of the process (see answer-buffer-pool.ts). Kept
 * while unused: at most 32 MiB (two answers of the largest size GetRecords sends — 10 MB of data is ~14 MB of JSON —
 * or several of the few-megabyte answers of shards catching up together), and none for more than 30 s.
 */
const answerBuffers = new AnswerBufferPool(32 * 1024 * 1024, 30_000);

export interface KinesisApiOptions {
  /**
   * Abort a call that has not answered after this long; it then fails with a retriable `AwsCallTimeoutError`
   * (code `KCL_TIMEOUT`). The fallback for the per-kind deadlines below. Unset: the SDK client's own settings apply.
   */
  requestTimeoutMillis?: number | undefined;
  /** Deadline of GetRecords and GetShardIterator. @defaultValue `requestTimeoutMillis` */
  readTimeoutMillis?: number | undefined;
  /** Deadline of each ListShards page and DescribeStreamSummary. @defaultValue `requestTimeoutMillis` */
  listTimeoutMillis?: number | undefined;
  /** Where timeouts are reported. */
  logger?: Logger | undefined;
  /**
   * Deserialize GetRecords answers with the lean deserializer (`get-records-deserializer.ts`) inside the SDK's
   * pipeline; `false` keeps the SDK's own (benchmarks and equivalence tests compare the two).
   * @defaultValue true
   */
  leanGetRecords?: boolean;
}

/** Per-call options. */
export interface CallOptions {
  /** Aborts the request (shutdown, lease lost); the call then fails with a `KclError`. */
  signal?: AbortSignal;
}

export type { SendOptions };

/**
 * Runs SDK calls with an optional per-request deadline and caller signal (see `callWithDeadline`), and turns every
 * failure into a `KclError`. Shared by {@link KinesisApi}, `KinesisAdmin` and `FanOutApi`.
 */
export class KinesisCaller {
  constructor(
    private readonly requestTimeoutMillis?: number,
    private readonly logger?: Logger,
  ) {}

  /** `timeoutMillis` overrides the caller's default deadline for this call. */
  call<O>(
    operation: string,
    signal: AbortSignal | undefined,
    send: (options: SendOptions) => Promise<O>,
    timeoutMillis: number | undefined = this.requestTimeoutMillis,
  ): Promise<O> {
    return callWithDeadline({ operation, timeoutMillis, signal, logger: this.logger }, send);
  }
}

/** `{StreamARN}` when an ARN is given (it wins), else `{StreamName}`. */
export function streamParams(stream: StreamRef): { StreamARN: string } | { StreamName: string } {
  if (stream.streamArn) return { StreamARN: stream.streamArn };
  if (stream.streamName) return { StreamName: stream.streamName };
  throw new IllegalArgumentError('A stream needs a streamName or a streamArn');
}

/** How a stream appears in error messages: its ARN if given, else its name. */
export function streamLabel(stream: StreamRef | undefined): string {
  return stream?.streamArn ?? stream?.streamName ?? '?';
}

export function toShard(s: SdkShard): Shard {
  const shard: Shard = {
    shardId: s.ShardId ?? '',
    hashKeyRange: {
      startingHashKey: s.HashKeyRange?.StartingHashKey ?? '',
      endingHashKey: s.HashKeyRange?.EndingHashKey ?? '',
    },
    sequenceNumberRange: { startingSequenceNumber: s.SequenceNumberRange?.StartingSequenceNumber ?? '' },
  };
  if (s.ParentShardId) shard.parentShardId = s.ParentShardId;
  if (s.AdjacentParentShardId) shard.adjacentParentShardId = s.AdjacentParentShardId;
  const ending = s.SequenceNumberRange?.EndingSequenceNumber;
  if (ending) shard.sequenceNumberRange.endingSequenceNumber = ending;
  return shard;
}

export function toChildShard(c: SdkChildShard): ChildShard {
  return {
    shardId: c.ShardId ?? '',
    parentShards: c.ParentShards ?? [],
    hashKeyRange: {
      startingHashKey: c.HashKeyRange?.StartingHashKey ?? '',
      endingHashKey: c.HashKeyRange?.EndingHashKey ?? '',
    },
  };
}

const EMPTY = new Uint8Array(0);

export function toRecord(r: SdkRecord): KinesisRecord {
  const record: KinesisRecord = {
    sequenceNumber: r.SequenceNumber ?? '',
    partitionKey: r.PartitionKey ?? '',
    data: r.Data ?? EMPTY,
    approximateArrivalTimestamp: r.ApproximateArrivalTimestamp ?? new Date(0),
  };
  if (r.EncryptionType && r.EncryptionType !== 'NONE') record.encryptionType = r.EncryptionType;
  return record;
}

function toSdkShardFilter(filter: ShardFilter): SdkShardFilter {
  switch (filter.type) {
    case 'AT_TIMESTAMP':
    case 'FROM_TIMESTAMP':
      return { Type: filter.type, Timestamp: filter.timestamp };
    case 'AFTER_SHARD_ID':
      return { Type: filter.type, ShardId: filter.shardId };
    default:
      return { Type: filter.type };
  }
}

/**
 * The Kinesis data-plane calls the library makes, in SDK-free types. Every failure is a `KclError`
 * (see `mapAwsError`); nothing is retried here — callers wrap calls with `retry`, which knows about
 * leases and shutdown.
 */
export class KinesisApi {
  private readonly caller: KinesisCaller;
  private readonly readTimeout: number | undefined;
  private readonly listTimeout: number | undefined;
  /** The client's own GetRecords deserializer, the lean path's fallback; undefined ⇒ the SDK's path only. */
  private readonly sdkDeserializer: ReturnType<typeof sdkDeserializerOf>;

  constructor(
    private readonly client: KinesisClient,
    options: KinesisApiOptions = {},
  ) {
    this.caller = new KinesisCaller(options.requestTimeoutMillis, options.logger);
    this.readTimeout = options.readTimeoutMillis ?? options.requestTimeoutMillis;
    this.listTimeout = options.listTimeoutMillis ?? options.requestTimeoutMillis;
    this.sdkDeserializer = options.leanGetRecords === false ? undefined : sdkDeserializerOf(client);
  }

  async describeStreamSummary(stream: StreamRef, options: CallOptions = {}): Promise<StreamSummary> {
    const params = streamParams(stream);
    const out = await this.caller.call(`Kinesis.DescribeStreamSummary(${streamLabel(stream)})`, options.signal, (o) =>
      this.client.send(new DescribeStreamSummaryCommand(params), o),
    this.listTimeout);
    const d = out.StreamDescriptionSummary;
    const summary: StreamSummary = {
      streamName: d?.StreamName ?? stream.streamName ?? '',
      streamArn: d?.StreamARN ?? stream.streamArn ?? '',
      status: d?.StreamStatus ?? 'UNKNOWN',
      openShardCount: d?.OpenShardCount ?? 0,
      retentionPeriodHours: d?.RetentionPeriodHours ?? 24,
      streamCreationTimestamp: d?.StreamCreationTimestamp ?? new Date(0),
    };
    if (d?.ConsumerCount !== undefined) summary.consumerCount = d.ConsumerCount;
    return summary;
  }

  /**
   * All shards of the stream (open and closed unless `shardFilter` says otherwise), following `NextToken`
   * across pages. The first page names the stream (and the filter); later pages send only the token, as the
   * API requires. An `ExpiredNextTokenException` (token older than 300 s) restarts the listing once.
   * `maxResults` is the page size (AWS default 1000).
   */
  async listShards(
    stream: StreamRef,
    options: { shardFilter?: ShardFilter; maxResults?: number } & CallOptions = {},
  ): Promise<Shard[]> {
    const operation = `Kinesis.ListShards(${streamLabel(stream)})`;
    const first: ListShardsCommandInput = { ...streamParams(stream) };
    if (options.shardFilter) first.ShardFilter = toSdkShardFilter(options.shardFilter);
    if (options.maxResults !== undefined) first.MaxResults = options.maxResults;

    for (let restarts = 0; ; restarts++) {
      const shards: Shard[] = [];
      const seen = new Set<string>();
      let input: ListShardsCommandInput = first;
      try {
        for (;;) {
          const page = input;
          const out = await this.caller.call(operation, options.signal, (o) => this.client.send(new ListShardsCommand(page), o), this.listTimeout);
          for (const s of out.Shards ?? []) {
            // Defensive: an emulator that ignores paging must not yield duplicates.
            if (s.ShardId === undefined || seen.has(s.ShardId)) continue;
            seen.add(s.ShardId);
            shards.push(toShard(s));
          }
          if (!out.NextToken) return shards;
          input = { NextToken: out.NextToken };
          if (options.maxResults !== undefined) input.MaxResults = options.maxResults;
        }
      } catch (error) {
        if (restarts === 0 && isExpiredNextToken(error)) continue;
        throw error;
      }
    }
  }

  async getShardIterator(
    stream: StreamRef,
    shardId: string,
    position: IteratorPosition,
    options: CallOptions = {},
  ): Promise<string> {
    const input: GetShardIteratorCommandInput = {
      ...streamParams(stream),
      ShardId: shardId,
      ShardIteratorType: position.type,
    };
    if (position.type === 'AT_SEQUENCE_NUMBER' || position.type === 'AFTER_SEQUENCE_NUMBER') {
      input.StartingSequenceNumber = position.sequenceNumber;
    } else if (position.type === 'AT_TIMESTAMP') {
      input.Timestamp = position.timestamp;
    }
    const operation = `Kinesis.GetShardIterator(${streamLabel(stream)}/${shardId}, ${position.type})`;
    const out = await this.caller.call(operation, options.signal, (o) => this.client.send(new GetShardIteratorCommand(input), o), this.readTimeout);
    if (!out.ShardIterator) {
      throw new DependencyError(`Kinesis.GetShardIterator(${streamLabel(stream)}/${shardId}) returned no iterator`, {
        retriable: true,
      });
    }
    return out.ShardIterator;
  }

  /**
   * One GetRecords call. `data` is the `Uint8Array` as decoded (no copy), by the lean deserializer unless disabled. `stream` is only used for
   * `StreamARN` (sent only when an ARN is given: kinesalite knows no ARNs) and error messages; `shardId` only
   * for error messages. No `nextShardIterator` ⇒ the shard is closed and fully read, if the service says so (child
   * shards here, or an ending sequence number in ListShards); else the answer is invalid (see `PollingFetcher`).
   */
  async getRecords(
    shardIterator: string,
    limit: number,
    stream?: StreamRef,
    options: CallOptions & { shardId?: string } = {},
  ): Promise<GetRecordsResult> {
    const input: GetRecordsCommandInput = { ShardIterator: shardIterator, Limit: limit };
    if (stream?.streamArn) input.StreamARN = stream.streamArn;
    const where = [stream && streamLabel(stream), options.shardId].filter(Boolean).join('/');
    const command = new GetRecordsCommand(input);
    if (this.sdkDeserializer) useLeanGetRecords(command, this.sdkDeserializer, answerBuffers);
    const out = await this.caller.call(where ? `Kinesis.GetRecords(${where})` : 'Kinesis.GetRecords', options.signal, (o) =>
      this.client.send(command, o),
    this.readTimeout);
    const result: GetRecordsResult = { records: (out.Records ?? []).map(toRecord) };
    if (out.NextShardIterator) result.nextShardIterator = out.NextShardIterator;
    if (out.MillisBehindLatest !== undefined && out.MillisBehindLatest !== null) result.millisBehindLatest = out.MillisBehindLatest;
    if (out.ChildShards && out.ChildShards.length > 0) result.childShards = out.ChildShards.map(toChildShard);
    return result;
  }
}

function isExpiredNextToken(error: unknown): boolean {
  const cause = error instanceof KclError ? error.cause : error;
  return typeof cause === 'object' && cause !== null && (cause as { name?: unknown }).name === 'ExpiredNextTokenException';
}
