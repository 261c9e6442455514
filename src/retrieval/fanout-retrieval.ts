import { createKinesisClient, deriveKinesisClient, http1Handler, type KinesisClient, type StaticCredentials } from '../aws/clients.js';
import { ensureStreamConsumer, FanOutApi } from '../aws/fanout-api.js';
import { createFanOutHttp2Handler } from '../aws/fanout-http2.js';
import type { KinesisApi } from '../aws/kinesis-api.js';
import type { StreamRef } from '../aws/kinesis-types.js';
import type { ExtendedSequenceNumber } from '../checkpoint/extended-sequence-number.js';
import type { ResolvedFanOut } from '../config/resolve-options.js';
import { InvalidStateError } from '../errors.js';
import type { HashKeyRange } from '../shards/hash-key-range.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import { FanOutSubscriber } from './fanout-subscriber.js';
import { ShardStateCache } from './shard-state-cache.js';

export interface FanOutRetrievalOptions {
  options: ResolvedFanOut;
  stream: StreamRef;
  /** Control plane (consumer registration, ListShards, shard-end probes); the Scheduler's client. */
  kinesisClient: KinesisClient;
  /** True when `kinesisClient` came from the application (then it may carry the subscriptions too). */
  kinesisClientInjected: boolean;
  kinesis: Pick<KinesisApi, 'describeStreamSummary' | 'listShards' | 'getShardIterator' | 'getRecords'>;
  /** For the subscription client the retrieval builds itself. */
  client: { region: string; credentials?: StaticCredentials | undefined; endpoint?: string | undefined };
  initialTimestamp?: Date | undefined;
  /** Deadline of each consumer-registration call (Register/Describe/DeregisterStreamConsumer). */
  registrationTimeoutMillis?: number | undefined;
  clock: Clock;
  logger: Logger;
}

/** What a subscriber needs from the shard's lease. */
export interface FanOutLeaseInfo {
  shardId: string;
  hashKeyRange?: HashKeyRange | undefined;
}

/**
 * Enhanced fan-out for one worker: registers (or finds) the stream consumer at `start()`, owns the client that
 * carries the subscriptions, and builds one {@link FanOutSubscriber} per shard consumer.
 *
 * The subscription client carries SubscribeToShard only. Its request handler: `requestHandler` if given; else by
 * `http2` (true: `createFanOutHttp2Handler()`, all shards of the worker multiplexed on a few pooled sessions, see
 * there; false: HTTP/1.1, a connection per subscription); else an injected `kinesisClient` is used as it is;
 * else HTTP/2 against AWS and HTTP/1.1 when a Kinesis endpoint (an emulator) is configured. With an injected
 * client, region, credentials and endpoint come from it.
 */
export class FanOutRetrieval {
  private readonly api: FanOutApi;
  private readonly subscribeClient: KinesisClient;
  private readonly ownsSubscribeClient: boolean;
  private readonly shardStates: ShardStateCache;
  private consumerArnValue: string | undefined;
  private streamArn: string | undefined;

  constructor(private readonly o: FanOutRetrievalOptions) {
    const r = o.options;
    const handler =
      r.requestHandler ??
      (r.http2 === true ? createFanOutHttp2Handler() : r.http2 === false ? http1Handler() : undefined) ??
      (o.kinesisClientInjected ? undefined : o.client.endpoint === undefined ? createFanOutHttp2Handler() : http1Handler());
    if (handler === undefined) {
      this.subscribeClient = o.kinesisClient; // the application's client, as it is
      this.ownsSubscribeClient = false;
    } else {
      this.subscribeClient = o.kinesisClientInjected
        ? deriveKinesisClient(o.kinesisClient, handler)
        : createKinesisClient({ region: o.client.region, credentials: o.client.credentials, endpoint: o.client.endpoint, requestHandler: handler });
      this.ownsSubscribeClient = true;
    }
    this.api = new FanOutApi(o.kinesisClient, {
      subscribeClient: this.subscribeClient,
      requestTimeoutMillis: o.registrationTimeoutMillis,
      logger: o.logger,
    });
    this.shardStates = new ShardStateCache(() => o.kinesis.listShards(o.stream), r.shardEndCheckIntervalMillis, o.clock);
  }

  get consumerArn(): string | undefined {
    return this.consumerArnValue;
  }

  /** Finds or registers the consumer and waits until it is ACTIVE (skipped when `consumerArn` was given). */
  async start(signal?: AbortSignal): Promise<void> {
    const r = this.o.options;
    if (r.consumerArn !== undefined) {
      this.consumerArnValue = r.consumerArn;
      this.o.logger.info({ consumerArn: r.consumerArn }, 'enhanced fan-out with the given consumer');
      return;
    }
    const summary = await this.o.kinesis.describeStreamSummary(this.o.stream, signal ? { signal } : {});
    if (!summary.streamArn) throw new InvalidStateError(`Stream ${summary.streamName} has no ARN: enhanced fan-out needs one`);
    this.streamArn = summary.streamArn;
    this.consumerArnValue = await ensureStreamConsumer(this.api, {
      streamArn: summary.streamArn,
      consumerName: r.consumerName,
      clock: this.o.clock,
      logger: this.o.logger,
      ...(signal ? { signal } : {}),
    });
    this.o.logger.info({ consumerName: r.consumerName, consumerArn: this.consumerArnValue }, 'enhanced fan-out consumer is ACTIVE');
  }

  createSource(lease: FanOutLeaseInfo, checkpoint: ExtendedSequenceNumber, logger: Logger): FanOutSubscriber {
    const consumerArn = this.consumerArnValue;
    if (consumerArn === undefined) throw new InvalidStateError('FanOutRetrieval.start() has not completed');
    const r = this.o.options;
    const shardId = lease.shardId;
    return new FanOutSubscriber({
      subscribe: (position, signal) => this.api.subscribeToShard(consumerArn, shardId, position, signal),
      shardId,
      checkpoint,
      initialTimestamp: this.o.initialTimestamp,
      maxQueuedEvents: r.maxQueuedEvents,
      idleTimeoutMillis: r.subscriptionIdleTimeoutMillis,
      shardEndCheck: {
        shardState: (id, signal) => this.shardStates.get(id, signal),
        kinesis: this.o.kinesis,
        stream: this.o.stream,
        intervalMillis: r.shardEndCheckIntervalMillis,
      },
      hashKeyRange: lease.hashKeyRange,
      filterOffRangeSubRecords: r.filterOffRangeSubRecords,
      clock: this.o.clock,
      logger,
    });
  }

  /** After every subscriber stopped: deregisters the consumer if asked, closes the subscription client if ours. */
  async shutdown(): Promise<void> {
    const r = this.o.options;
    if (r.deregisterConsumerOnShutdown && this.consumerArnValue !== undefined) {
      try {
        await this.api.deregisterStreamConsumer({ consumerArn: this.consumerArnValue });
        this.o.logger.info({ consumerArn: this.consumerArnValue }, 'deregistered the enhanced fan-out consumer');
      } catch (error) {
        this.o.logger.warn({ err: error, consumerArn: this.consumerArnValue }, 'could not deregister the enhanced fan-out consumer');
      }
    }
    if (this.ownsSubscribeClient) this.subscribeClient.destroy();
  }
}
