import {
  DeregisterStreamConsumerCommand,
  DescribeStreamConsumerCommand,
  RegisterStreamConsumerCommand,
  SubscribeToShardCommand,
  type DeregisterStreamConsumerCommandInput,
  type DescribeStreamConsumerCommandInput,
  type KinesisClient,
  type StartingPosition as SdkStartingPosition,
  type SubscribeToShardEvent as SdkSubscribeToShardEvent,
  type SubscribeToShardEventStream,
} from '@aws-sdk/client-kinesis';
import { DependencyError, ResourceInUseError, ResourceNotFoundError, TimeoutError } from '../errors.js';
import { backoffDelay } from '../util/backoff.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import { isRetriable } from '../util/retry.js';
import { KinesisCaller, toChildShard, toRecord, type CallOptions, type KinesisApiOptions } from './kinesis-api.js';
import type { ChildShard } from '../shards/shard.js';
import type { IteratorPosition, KinesisRecord } from './kinesis-types.js';
import { mapAwsError } from './map-error.js';
import { sdkDeserializerOf } from './get-records-deserializer.js';
import { useLeanSubscribeToShard } from './subscribe-to-shard-deserializer.js';

/** A registered enhanced fan-out consumer of a stream. */
export interface StreamConsumer {
  consumerName: string;
  consumerArn: string;
  /** `CREATING` | `DELETING` | `ACTIVE` (kept as a string: AWS may add states). */
  status: string;
  streamArn?: string;
}

/** Names a consumer: by its ARN, or by stream ARN and consumer name. */
export type ConsumerRef = { consumerArn: string } | { streamArn: string; consumerName: string };

/** One event of a SubscribeToShard stream, SDK-free. */
export interface SubscribeEvent {
  /** Kinesis records in shard order (may be empty: the service sends empty events as a heartbeat). */
  records: KinesisRecord[];
  /**
   * Where a new subscription resumes (`AFTER_SEQUENCE_NUMBER`) without loss or duplicates; it advances even when
   * no records arrive. Absent on the last event of a closed shard.
   */
  continuationSequenceNumber?: string;
  millisBehindLatest?: number;
  /** Present on the last event of a closed shard (then the stream ends). */
  childShards?: ChildShard[];
}

function consumerParams(ref: ConsumerRef): DescribeStreamConsumerCommandInput & DeregisterStreamConsumerCommandInput {
  return 'consumerArn' in ref ? { ConsumerARN: ref.consumerArn } : { StreamARN: ref.streamArn, ConsumerName: ref.consumerName };
}

function consumerLabel(ref: ConsumerRef): string {
  return 'consumerArn' in ref ? ref.consumerArn : `${ref.streamArn}/${ref.consumerName}`;
}

function toSdkPosition(position: IteratorPosition): SdkStartingPosition {
  switch (position.type) {
    case 'AT_SEQUENCE_NUMBER':
    case 'AFTER_SEQUENCE_NUMBER':
      return { Type: position.type, SequenceNumber: position.sequenceNumber };
    case 'AT_TIMESTAMP':
      return { Type: position.type, Timestamp: position.timestamp };
    default:
      return { Type: position.type };
  }
}

function toEvent(e: SdkSubscribeToShardEvent): SubscribeEvent {
  const event: SubscribeEvent = { records: (e.Records ?? []).map(toRecord) };
  if (e.ContinuationSequenceNumber) event.continuationSequenceNumber = e.ContinuationSequenceNumber;
  if (e.MillisBehindLatest !== undefined && e.MillisBehindLatest !== null) event.millisBehindLatest = e.MillisBehindLatest;
  if (e.ChildShards && e.ChildShards.length > 0) event.childShards = e.ChildShards.map(toChildShard);
  return event;
}

/** The SDK's event union → our events; every failure (socket, modeled exception in the stream) → `KclError`. */
async function* events(stream: AsyncIterable<SubscribeToShardEventStream>, operation: string): AsyncGenerator<SubscribeEvent, void, undefined> {
  try {
    for await (const member of stream) {
      if (member.SubscribeToShardEvent !== undefined) {
        yield toEvent(member.SubscribeToShardEvent);
        continue;
      }
      // Modeled exceptions normally arrive as thrown errors; a union member carrying one is thrown the same way.
      const entry: [string, unknown] = Object.entries(member as unknown as Record<string, unknown>).find(([, v]) => v !== undefined) ?? ['$unknown', undefined];
      const [name, value] = entry;
      if (name === '$unknown') continue; // an event type newer than this SDK: skip it, as the SDK itself does
      throw Object.assign(new Error(`event stream error ${name}`, { cause: value }), { name });
    }
  } catch (error) {
    throw mapAwsError(error, operation);
  }
}

export interface FanOutApiOptions extends KinesisApiOptions {
  /**
   * Client that carries the SubscribeToShard streams (an HTTP/2 handler against AWS); control-plane calls go
   * through the main client. Defaults to the main client.
   */
  subscribeClient?: KinesisClient;
  /**
   * Decode SubscribeToShard event streams with the lean deserializer (`subscribe-to-shard-deserializer.ts`) inside
   * the SDK's pipeline; `false` keeps the SDK's own event-stream decoding (benchmarks and equivalence tests compare
   * the two).
   * @defaultValue true
   */
  leanSubscribeToShard?: boolean;
}

/**
 * Enhanced fan-out calls in SDK-free types: consumer registration and SubscribeToShard through the SDK's client
 * (its HTTP handling; the event stream decoded by the lean deserializer unless `leanSubscribeToShard: false`, with
 * the SDK's own decoding for any message it does not take). Failures are `KclError`s; nothing is retried here
 * except in {@link ensureStreamConsumer}.
 */
export class FanOutApi {
  private readonly caller: KinesisCaller;
  private readonly subscribeClient: KinesisClient;
  /** The subscribe client's own deserializer, the lean path's fallback; undefined ⇒ the SDK's path only. */
  private readonly sdkDeserializer: ReturnType<typeof sdkDeserializerOf>;

  constructor(
    private readonly client: KinesisClient,
    options: FanOutApiOptions = {},
  ) {
    this.caller = new KinesisCaller(options.requestTimeoutMillis, options.logger);
    this.subscribeClient = options.subscribeClient ?? client;
    this.sdkDeserializer = options.leanSubscribeToShard === false ? undefined : sdkDeserializerOf(this.subscribeClient);
  }

  /** @throws ResourceNotFoundError when no such consumer exists. */
  async describeStreamConsumer(ref: ConsumerRef, options: CallOptions = {}): Promise<StreamConsumer> {
    const out = await this.caller.call(`Kinesis.DescribeStreamConsumer(${consumerLabel(ref)})`, options.signal, (o) =>
      this.client.send(new DescribeStreamConsumerCommand(consumerParams(ref)), o),
    );
    const d = out.ConsumerDescription;
    if (!d?.ConsumerARN) throw new DependencyError(`Kinesis.DescribeStreamConsumer(${consumerLabel(ref)}) returned no consumer`, { retriable: true });
    const consumer: StreamConsumer = { consumerName: d.ConsumerName ?? '', consumerArn: d.ConsumerARN, status: d.ConsumerStatus ?? 'UNKNOWN' };
    if (d.StreamARN) consumer.streamArn = d.StreamARN;
    return consumer;
  }

  /**
   * Starts registering a consumer (it is `CREATING` at first).
   * @throws ResourceInUseError when a consumer of that name exists or is being created or deleted.
   * @throws ThrottlingError on `LimitExceededException` (too many consumers, or registrations in progress).
   */
  async registerStreamConsumer(streamArn: string, consumerName: string, options: CallOptions = {}): Promise<StreamConsumer> {
    const out = await this.caller.call(`Kinesis.RegisterStreamConsumer(${streamArn}/${consumerName})`, options.signal, (o) =>
      this.client.send(new RegisterStreamConsumerCommand({ StreamARN: streamArn, ConsumerName: consumerName }), o),
    );
    const c = out.Consumer;
    if (!c?.ConsumerARN) throw new DependencyError(`Kinesis.RegisterStreamConsumer(${streamArn}/${consumerName}) returned no consumer`, { retriable: true });
    return { consumerName: c.ConsumerName ?? consumerName, consumerArn: c.ConsumerARN, status: c.ConsumerStatus ?? 'CREATING', streamArn };
  }

  /** Starts deregistering a consumer; its subscriptions end. */
  async deregisterStreamConsumer(ref: ConsumerRef, options: CallOptions = {}): Promise<void> {
    await this.caller.call(`Kinesis.DeregisterStreamConsumer(${consumerLabel(ref)})`, options.signal, (o) =>
      this.client.send(new DeregisterStreamConsumerCommand(consumerParams(ref)), o),
    );
  }

  /**
   * Opens a subscription. Resolves once the service accepted it, with the events as an async iterable that ends
   * when the service ends the subscription (about every 5 minutes, or after the last event of a closed shard)
   * and throws a `KclError` when it fails. Aborting `signal` closes the stream at any time (also while a
   * `next()` is pending, which then rejects). Nothing is read from the network faster than the iterable is
   * consumed (HTTP/2 or TCP flow control holds the rest at the service).
   * @throws ResourceInUseError while another subscription to the shard by this consumer is open (also briefly
   * after one was aborted); ResourceNotFoundError for an unknown shard or consumer.
   */
  async subscribeToShard(
    consumerArn: string,
    shardId: string,
    position: IteratorPosition,
    signal: AbortSignal,
  ): Promise<AsyncIterable<SubscribeEvent>> {
    const operation = `Kinesis.SubscribeToShard(${shardId}, ${position.type})`;
    const command = new SubscribeToShardCommand({ ConsumerARN: consumerArn, ShardId: shardId, StartingPosition: toSdkPosition(position) });
    if (this.sdkDeserializer) useLeanSubscribeToShard(command, this.sdkDeserializer, signal);
    // Not through KinesisCaller: its abort link ends with the call, while this signal must also close the stream.
    let out;
    try {
      signal.throwIfAborted();
      out = await this.subscribeClient.send(command, { abortSignal: signal });
    } catch (error) {
      throw mapAwsError(error, operation);
    }
    if (out.EventStream === undefined) throw new DependencyError(`${operation} returned no event stream`, { retriable: true });
    return events(out.EventStream, operation);
  }
}

export interface EnsureConsumerOptions {
  streamArn: string;
  consumerName: string;
  clock: Clock;
  logger: Logger;
  signal?: AbortSignal;
  random?: () => number;
  /** Register attempts that may fail with throttling (`LimitExceeded`) or other retriable errors. Default 10. */
  maxRegisterAttempts?: number;
  /** Give up when the consumer is not ACTIVE after this long. Default 120000. */
  activeTimeoutMillis?: number;
  /** Pause between DescribeStreamConsumer calls while it is CREATING / DELETING. Default 1000. */
  pollMillis?: number;
}

/**
 * Java KCL's `FanOutConsumerRegistration`: DescribeStreamConsumer; register when missing (LimitExceeded and other
 * retriable failures retried with backoff; ResourceInUse — another worker registering the same name — goes back
 * to describing); waits until ACTIVE (a DELETING consumer is waited out and registered again). Returns its ARN.
 * @throws TimeoutError when not ACTIVE within `activeTimeoutMillis`.
 */
export async function ensureStreamConsumer(
  api: Pick<FanOutApi, 'describeStreamConsumer' | 'registerStreamConsumer'>,
  o: EnsureConsumerOptions,
): Promise<string> {
  const maxRegisterAttempts = o.maxRegisterAttempts ?? 10;
  const pollMillis = o.pollMillis ?? 1000;
  const deadline = o.clock.now() + (o.activeTimeoutMillis ?? 120_000);
  const ref = { streamArn: o.streamArn, consumerName: o.consumerName };
  const backoff = { baseMillis: Math.max(100, pollMillis), maxMillis: 10_000 };
  let registerFailures = 0;
  let describeFailures = 0;
  let lastStatus = 'not found';
  for (;;) {
    o.signal?.throwIfAborted();
    let consumer: StreamConsumer | undefined;
    try {
      consumer = await api.describeStreamConsumer(ref, o.signal ? { signal: o.signal } : {});
      describeFailures = 0;
    } catch (error) {
      if (!(error instanceof ResourceNotFoundError)) {
        if (!isRetriable(error) || ++describeFailures >= 10) throw error;
        o.logger.debug({ err: error }, 'describing the stream consumer failed; retrying');
        await o.clock.sleep(backoffDelay(describeFailures, backoff, o.random) + pollMillis / 10, o.signal);
        continue;
      }
    }
    if (consumer === undefined) {
      try {
        consumer = await api.registerStreamConsumer(o.streamArn, o.consumerName, o.signal ? { signal: o.signal } : {});
        o.logger.info({ consumerName: o.consumerName, consumerArn: consumer.consumerArn }, 'registered the enhanced fan-out consumer');
      } catch (error) {
        if (error instanceof ResourceInUseError) {
          o.logger.debug({ consumerName: o.consumerName }, 'consumer being registered elsewhere (or deleted); describing it again');
        } else if (isRetriable(error) && ++registerFailures < maxRegisterAttempts) {
          o.logger.warn({ err: error, attempt: registerFailures }, 'registering the stream consumer failed; retrying');
          await o.clock.sleep(backoffDelay(registerFailures, backoff, o.random), o.signal);
          continue;
        } else {
          throw error;
        }
      }
    }
    if (consumer?.status === 'ACTIVE') return consumer.consumerArn;
    if (consumer) lastStatus = consumer.status;
    if (o.clock.now() >= deadline) {
      throw new TimeoutError(`Stream consumer ${o.consumerName} of ${o.streamArn} not ACTIVE in time (last status: ${lastStatus})`);
    }
    await o.clock.sleep(pollMillis, o.signal);
  }
}
