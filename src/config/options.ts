import type { DynamoDBClient, KinesisClient, KinesisRequestHandler, StaticCredentials } from '../aws/clients.js';
import type { CloudWatchClient } from '../aws/cloudwatch-api.js';
import type { DeadLetterFunction, DeadLetterStream, RecordHandler } from '../processor/record-handler-types.js';
import type { ShardRecordProcessorFactory } from '../processor/types.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import type { HttpOptions, MetricsOptions } from './observability-options.js';
import type { TimeoutOptions } from './timeout-options.js';

/** Where a shard with no checkpoint starts. */
export type InitialPosition = 'LATEST' | 'TRIM_HORIZON' | { timestamp: Date };

/** GetRecords polling (the default). */
export interface PollingRetrievalOptions {
  mode: 'polling';
  /**
   * Records per GetRecords call (1–10000).
   * @defaultValue 10000
   */
  maxRecords?: number;
  /**
   * Pause between GetRecords calls once the shard is caught up (an empty or small batch). Kinesis allows
   * 5 GetRecords per second per shard, shared by every consumer of the stream.
   * @defaultValue 1500
   */
  idleTimeBetweenReadsMillis?: number;
  /**
   * Batches fetched ahead of the processor per shard. Fetching pauses when this many are waiting.
   * @defaultValue 3
   */
  maxPrefetchBatches?: number;
  /**
   * Bytes fetched ahead of the processor per shard; fetching pauses above it.
   * @defaultValue 8388608 (8 MiB)
   */
  maxPrefetchBytes?: number;
  /**
   * Drop the sub-records of KPL aggregates whose hash key (explicit hash key, else MD5 of the partition key) lies
   * outside the shard's hash-key range, one by one; the other sub-records of the same aggregate are still
   * delivered. Such sub-records come from aggregates packed across shards or read after a reshard. By default
   * they are delivered: Java KCL drops the whole aggregate instead, which loses the in-range records too.
   * @defaultValue false
   */
  filterOffRangeSubRecords?: boolean;
  /**
   * At most this many GetRecords calls per second on one shard, however far behind it is (the service allows 5 per
   * shard, shared by every application reading the stream). ProvisionedThroughputExceeded still backs off on top.
   * @defaultValue 5
   */
  maxGetRecordsCallsPerSecond?: number;
}

/** Enhanced fan-out (SubscribeToShard). */
export interface FanOutRetrievalOptions {
  mode: 'fanout';
  /**
   * Name of the registered stream consumer.
   * @defaultValue the `applicationName`
   */
  consumerName?: string;
  /**
   * ARN of an already registered consumer; skips registration.
   * @defaultValue undefined (look up or register by `consumerName`)
   */
  consumerArn?: string;
  /**
   * Deregister the consumer when the worker shuts down. Off by default: the consumer is shared by the whole
   * fleet, and registering it again takes a while.
   * @defaultValue false
   */
  deregisterConsumerOnShutdown?: boolean;
  /**
   * Subscribe over HTTP/2 with ts-kcl's shared-session handler (see `createFanOutHttp2Handler`): many shards'
   * subscriptions multiplexed on a few connections. AWS requires HTTP/2 for SubscribeToShard. With `false` the
   * subscriptions use HTTP/1.1 (one connection each), which is what plain-HTTP emulators speak. Ignored when
   * `requestHandler` is given. When neither is set and a `kinesisClient` is injected, the subscriptions go through
   * that client as it is.
   * @defaultValue true, unless `endpoints.kinesis` is set (then false)
   */
  http2?: boolean;
  /**
   * The AWS SDK request handler that carries the subscriptions, e.g. `createFanOutHttp2Handler({ connectOptions:
   * { ca } })` for a private CA, or other session limits. Control-plane calls keep using the Kinesis client; the
   * subscription client takes region, credentials and endpoint from an injected `kinesisClient`, else from these
   * options. It is destroyed (with the handler) when the worker shuts down.
   * @defaultValue undefined (chosen by `http2`)
   */
  requestHandler?: KinesisRequestHandler;
  /**
   * Events received per shard and not yet processed. No more are read from the subscription while this many
   * wait, so a slow processor holds memory flat.
   * @defaultValue 3
   */
  maxQueuedEvents?: number;
  /**
   * A subscription that delivers no event at all (the service sends empty ones as a heartbeat) for this long
   * while ts-kcl waits for one is closed and opened again (with jitter, so a dead connection's shards do not all
   * reconnect at once).
   * @defaultValue 30000
   */
  subscriptionIdleTimeoutMillis?: number;
  /**
   * When a shard's events have been empty this long, check (one shared, cached ListShards per interval, then
   * GetRecords on a closed shard) whether the shard is closed and fully read: shard end even if the service never
   * sends the final `ChildShards` event (kinesis-local does not).
   * @defaultValue 10000
   */
  shardEndCheckIntervalMillis?: number;
  /**
   * As for polling: drop KPL sub-records outside the shard's hash-key range, one by one.
   * @defaultValue false
   */
  filterOffRangeSubRecords?: boolean;
}

export type RetrievalOptions = PollingRetrievalOptions | FanOutRetrievalOptions;

/** Lease table and lease timing. */
export interface LeaseOptions {
  /**
   * DynamoDB lease table name.
   * @defaultValue the `applicationName`
   */
  tableName?: string;
  /**
   * A lease whose counter this worker has seen unchanged for this long is expired and may be taken.
   * Observed on the local clock, so hosts need no clock sync.
   * @defaultValue 10000
   */
  failoverTimeMillis?: number;
  /**
   * Safety margin subtracted from the renewal interval (`failoverTimeMillis / 3 − epsilonMillis`).
   * @defaultValue 25
   */
  epsilonMillis?: number;
  /**
   * How often the taker scans the table for leases to take. Java KCL uses `2 × (failover + epsilon)`
   * (≈20 s); ts-kcl scans more often so a dead worker's shards move within `failover + takerInterval`.
   * @defaultValue failoverTimeMillis / 5 (2000 with the default failover time)
   */
  takerIntervalMillis?: number;
  /**
   * Start-up discovery window: for this long after its first taker round a starting worker takes at most one free
   * lease, so that workers started together (a deployment, a rollout) see each other before they divide the leases,
   * instead of the first one taking everything and the others stealing it back. A worker that starts alone reads
   * one shard for this long before it takes the rest (at its next taker round). Set 0 for an application that runs a
   * single worker, or whose workers never start together.
   * @defaultValue takerIntervalMillis when that is at most 5000 (2000 with the default failover time), else 0
   */
  startupDiscoveryMillis?: number;
  /**
   * Upper bound of leases one worker holds.
   * @defaultValue Infinity
   */
  maxLeasesForWorker?: number;
  /**
   * Leases this worker may steal from busier workers per taker round, in all (each busier worker gives at most
   * half of what it holds above the target, and a worker at the target gives one). Java KCL's default is 1 from a
   * single worker per ~20 s; 8 lets a worker joining a fleet of 200 on 10 000 shards reach its share of 50 in
   * about 7 taker rounds (≈ 15 s with the default timings; 4 took 25–30 s). 0 disables stealing.
   * @defaultValue 8
   */
  maxLeasesToStealAtOneTime?: number;
  /**
   * Move stolen leases with KCL 3.x's graceful handoff: the thief writes itself as owner and the old owner as
   * `checkpointOwner`; the old owner calls `shutdownRequested` (the processor checkpoints), stops, and completes
   * the transfer; only then does the new owner start, from that checkpoint — no duplicates. With `false` a steal
   * takes the lease at once, as Java KCL 2.x does (the old owner finds out at its next renewal).
   * @defaultValue true
   */
  gracefulHandoff?: boolean;
  /**
   * How long an old owner may spend in `shutdownRequested` before the handoff completes anyway. A handoff whose
   * old owner is dead completes through expiry (`failoverTimeMillis`).
   * @defaultValue 30000
   */
  gracefulHandoffTimeoutMillis?: number;
  /**
   * Billing mode used when the table is created.
   * @defaultValue 'PAY_PER_REQUEST'
   */
  billingMode?: 'PAY_PER_REQUEST' | 'PROVISIONED';
  /**
   * Read capacity when `billingMode` is `'PROVISIONED'`.
   * @defaultValue 10
   */
  readCapacity?: number;
  /**
   * Write capacity when `billingMode` is `'PROVISIONED'`.
   * @defaultValue 10
   */
  writeCapacity?: number;
  /**
   * Strongly consistent reads of single leases.
   * @defaultValue false
   */
  consistentReads?: boolean;
  /**
   * Delete a finished parent's lease once all its children have started (Java KCL's
   * `cleanupLeasesUponShardCompletion`).
   * @defaultValue true
   */
  cleanupLeasesUponShardCompletion?: boolean;
  /**
   * How often a worker checks the finished leases it holds for deletion.
   * @defaultValue 60000
   */
  cleanupIntervalMillis?: number;
  /**
   * How long to wait for a new lease table to become ACTIVE.
   * @defaultValue 120000
   */
  tableActiveTimeoutMillis?: number;
  /**
   * Big fleets: how often a worker scans the lease table while it is balanced (nothing to take or steal) and does
   * not watch for failures. Scans are the fleet's main read cost (every scan reads the whole table); a worker that
   * is short of leases, or sees a lease free, scans every `takerIntervalMillis` again. Set it to
   * `takerIntervalMillis` to make every worker scan at that pace, as before this option existed. See
   * docs/operations.md, "Running big fleets".
   * @defaultValue failoverTimeMillis × 6 (60000 with the default failover time)
   */
  steadyTakerIntervalMillis?: number;
  /**
   * Big fleets: how many workers (the lowest worker ids holding leases) keep scanning every `takerIntervalMillis`
   * to detect dead workers; they take over a dead worker's leases within about `failoverTimeMillis +
   * takerIntervalMillis`. The next as many ids are standbys: each tick they read one lease of each watcher (a
   * GetItem each) and start watching when one stops being renewed, so all watchers dying together delays takeover
   * to about 2 × `failoverTimeMillis`. In a fleet of at most 2 × this many workers, every worker watches; workers
   * also watch during their first two taker intervals. 0: nobody watches, failures are seen at the steady pace.
   * @defaultValue 2
   */
  failureWatchers?: number;
}

/** AWS endpoints, for local emulators or VPC endpoints. */
export interface EndpointOptions {
  /** @defaultValue `AWS_ENDPOINT_URL_KINESIS`, else `AWS_ENDPOINT_URL`, else the regional endpoint */
  kinesis?: string;
  /** @defaultValue `AWS_ENDPOINT_URL_DYNAMODB`, else `AWS_ENDPOINT_URL`, else the regional endpoint */
  dynamodb?: string;
  /** @defaultValue `AWS_ENDPOINT_URL_CLOUDWATCH`, else `AWS_ENDPOINT_URL`, else the regional endpoint */
  cloudwatch?: string;
}

/** One stream of a multi-stream application (`streams`). */
export interface StreamConfig {
  /** The stream by name (in the client's account and region). One of `streamName` / `streamArn` is required. */
  streamName?: string;
  /** The stream by ARN (wins over `streamName`; may be in another account). */
  streamArn?: string;
  /**
   * Where this stream's shards without a checkpoint start.
   * @defaultValue the top-level `initialPosition`
   */
  initialPosition?: InitialPosition;
}

/**
 * Returns the streams to consume now; polled every `streamTrackerIntervalMillis` (Java KCL's `StreamTracker`).
 * A stream that appears is picked up, one that disappears stops being consumed (see
 * `formerStreamLeasesDeletionDelayMillis`). A throwing or rejecting tracker keeps the current list.
 */
export type StreamTrackerFunction = () => readonly StreamConfig[] | Promise<readonly StreamConfig[]>;

/** What to do when `processRecords` throws. */
export type ProcessingErrorPolicy = 'retry' | 'skip' | 'release';

/** The one options object of `Scheduler` (SPEC §1). Validated once, at construction. */
export interface SchedulerOptions {
  /** Application name: default lease table name and consumer name. Required. */
  applicationName: string;
  /**
   * Stream to consume, by name. One of `streamName` / `streamArn` / `streams` is required.
   * @defaultValue undefined
   */
  streamName?: string;
  /**
   * Stream to consume, by ARN (wins over `streamName`).
   * @defaultValue undefined
   */
  streamArn?: string;
  /**
   * Multi-stream: the streams one application consumes with one lease table, as a list or a function polled every
   * `streamTrackerIntervalMillis`. Excludes `streamName` / `streamArn`. Lease keys take Java KCL's multi-stream
   * form `account:stream:creationEpoch:shardId` (with the `streamName` and `shardId` attributes); the account comes
   * from the stream's ARN. A multi-stream application ignores single-stream leases in its table and a single-stream
   * application ignores multi-stream leases (both log a warning), as with Java KCL, where switching modes makes the
   * old leases invisible.
   * @defaultValue undefined (single stream)
   */
  streams?: readonly StreamConfig[] | StreamTrackerFunction;
  /**
   * How often a `streams` function is polled.
   * @defaultValue 60000
   */
  streamTrackerIntervalMillis?: number;
  /**
   * Leases of a stream that left `streams`: by default they are kept (adding the stream again continues from its
   * checkpoints). With a value, each worker deletes them this long after it saw the stream go (unless it came back).
   * @defaultValue undefined (kept)
   */
  formerStreamLeasesDeletionDelayMillis?: number;
  /** Creates one processor per shard consumer. Exactly one of `processorFactory` / `recordHandler` is required. */
  processorFactory?: ShardRecordProcessorFactory;
  /**
   * Record-level processing instead of a `processorFactory`: called once per record (KPL sub-records one by one),
   * up to `processing.maxInFlight` at once per shard, in order per partition key; the library checkpoints the
   * low-water mark itself. See docs/parallel-processing.md.
   * @defaultValue undefined (use `processorFactory`)
   */
  recordHandler?: RecordHandler;
  /**
   * Concurrency, checkpoint cadence and the failure pipeline (retries, dead letters) of `recordHandler`; with a
   * `processorFactory` only the failure keys apply (partial-batch failures, bisect-on-error).
   * @defaultValue {} (with `recordHandler`); undefined (with `processorFactory`: batches behave as before)
   */
  processing?: ProcessingOptions;
  /**
   * Identity of this worker in the lease table; must be unique in the fleet.
   * @defaultValue hostname + ':' + random suffix
   */
  workerId?: string;
  /**
   * AWS region.
   * @defaultValue AWS_REGION / AWS_DEFAULT_REGION, else 'us-east-1'
   */
  region?: string;
  /**
   * Static credentials (e.g. dummy ones for emulators).
   * @defaultValue undefined (the AWS SDK default credential provider chain)
   */
  credentials?: StaticCredentials;
  /**
   * Kinesis client to use instead of building one.
   * @defaultValue undefined (built from region, endpoints and credentials)
   */
  kinesisClient?: KinesisClient;
  /**
   * DynamoDB client to use instead of building one.
   * @defaultValue undefined (built from region, endpoints and credentials)
   */
  dynamoDbClient?: DynamoDBClient;
  /**
   * CloudWatch client for `metrics: { backend: 'cloudwatch' }`.
   * @defaultValue undefined (built from region, `endpoints.cloudwatch` and credentials when that backend is on)
   */
  cloudWatchClient?: CloudWatchClient;
  /**
   * Endpoint overrides. The AWS SDK's variables `AWS_ENDPOINT_URL_KINESIS`, `AWS_ENDPOINT_URL_DYNAMODB`,
   * `AWS_ENDPOINT_URL_CLOUDWATCH` and `AWS_ENDPOINT_URL` fill in what is not given here (unless
   * `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true`) and behave the same, HTTP/1.1 for emulators included.
   * @defaultValue {} (plus the environment variables above)
   */
  endpoints?: EndpointOptions;
  /**
   * Where a shard without a checkpoint starts.
   * @defaultValue 'LATEST'
   */
  initialPosition?: InitialPosition;
  /**
   * How records are fetched.
   * @defaultValue { mode: 'polling' }
   */
  retrieval?: RetrievalOptions;
  /**
   * Lease table and timing.
   * @defaultValue {}
   */
  leases?: LeaseOptions;
  /**
   * Interval of the periodic shard sync (new shards → new leases).
   * @defaultValue 60000
   */
  shardSyncIntervalMillis?: number;
  /**
   * How often a child shard checks whether its parents are finished.
   * @defaultValue 10000
   */
  parentShardPollIntervalMillis?: number;
  /**
   * When `processRecords` throws: `'retry'` redelivers the same batch with capped backoff (nothing is
   * skipped), `'skip'` moves on as Java KCL does, `'release'` stops the shard and releases its lease (other
   * workers may take it at once; this one waits 1 s, 2 s, 4 s … up to 60 s after consecutive failures before
   * taking it back).
   * @defaultValue 'retry'
   */
  onProcessingError?: ProcessingErrorPolicy;
  /**
   * Call `processRecords` even when a fetch returned no records.
   * @defaultValue false
   */
  callProcessRecordsEvenForEmptyRecordList?: boolean;
  /**
   * Logger: pino, or anything with pino's `debug/info/warn/error(obj, msg)` and `child(bindings)`; `console` and
   * other loggers without `child()` are accepted too (called as `(message, fields)`); `false` silences the library.
   *
   * What ts-kcl logs: `info` for the worker's life (started, stopped), lease moves (steals, losses, handoffs) and
   * lease-table changes (leases created and deleted); `warn` for failures it retries (renewals, fetches, processor errors under a retry policy, CloudWatch
   * publishing); `error` for what needs a person (a processor that keeps failing, unexpected errors); `debug` for
   * detail. Errors are passed as `err` (pino's standard key). Shard-level lines come from child loggers bound to
   * `{ shardId }` (and components to `{ component }`).
   *
   * What it never logs: credentials (access key, secret, session token — not even inside an AWS SDK error) and
   * record payloads (`data` bytes, at any level). Record metadata such as sequence numbers and shard ids may appear.
   * @defaultValue a built-in logger writing warnings and errors to stderr, one line each (see `logLevel`)
   */
  logger?: Logger | Pick<Logger, 'debug' | 'info' | 'warn' | 'error'> | false;
  /**
   * Level of the built-in stderr logger (only when no `logger` is given): `'debug'`, `'info'`, `'warn'`, `'error'`
   * or `'silent'`. The environment variable `TS_KCL_LOG_LEVEL`, when set, wins (operators change it without a deploy).
   * @defaultValue 'warn'
   */
  logLevel?: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  /**
   * Metrics backend and level.
   * @defaultValue { backend: 'none' }
   */
  metrics?: MetricsOptions;
  /**
   * Health and metrics HTTP endpoint (opt-in).
   * @defaultValue undefined (no HTTP server)
   */
  http?: HttpOptions;
  /**
   * Time source; tests inject a fake one.
   * @defaultValue the system clock
   */
  clock?: Clock;
  /**
   * Deadlines of every AWS call (see {@link TimeoutOptions}); they hold for injected clients too.
   * @defaultValue {}
   */
  timeouts?: TimeoutOptions;
}

/**
 * Record-level concurrency and the failure pipeline (`processing`). See docs/parallel-processing.md.
 *
 * With `recordHandler` every key applies. With a `processorFactory` only the failure keys do (`maxAttempts`,
 * `maxRecordAgeMillis`, `deadLetter`, `retryBaseMillis`, `retryMaxMillis`, `bisectOnError`): they govern batches
 * whose `processRecords` throws or reports a failed record.
 */
export interface ProcessingOptions {
  /**
   * Records in flight at once per shard (`recordHandler` only). 1 is strictly sequential.
   * @defaultValue 1
   */
  maxInFlight?: number;
  /**
   * `'partitionKey'`: two records with the same partition key never run at once, the later starts after the earlier
   * finished; `'none'`: any records may overlap (`recordHandler` only).
   * @defaultValue 'partitionKey'
   */
  orderBy?: 'partitionKey' | 'none';
  /**
   * Checkpoint the low-water mark (the last position below which every record finished) this often, when it moved
   * (`recordHandler` only). Each write is a DynamoDB write per shard; a crash (not a graceful stop, handoff or shard
   * end, which checkpoint the mark) redelivers up to this much. 5 s is Kafka's auto-commit interval; at 1 s the writes
   * cost a 10 ms-per-record shard at in-flight 1 about a fifth more CPU than a batch processor.
   * @defaultValue 5000
   */
  checkpointIntervalMillis?: number;
  /**
   * Also checkpoint as soon as the low-water mark passed this many records since the last checkpoint
   * (`recordHandler` only).
   * @defaultValue undefined (time only)
   */
  checkpointEveryRecords?: number;
  /**
   * Records held per shard between the low-water mark and the newest accepted record (running, waiting, or done
   * above an unfinished one). When full, `processRecords` waits and fetching pauses: one stuck key holds the shard
   * after at most this many records (other keys keep running until then). Must be ≥ `maxInFlight`
   * (`recordHandler` only).
   * @defaultValue 1000 (or `maxInFlight` when larger)
   */
  maxBufferedRecords?: number;
  /**
   * Payload bytes of accepted, unfinished records per shard; fetching pauses above it (`recordHandler` only).
   * @defaultValue 16777216 (16 MiB)
   */
  maxBufferedBytes?: number;
  /**
   * Tries per record (per batch for a batch processor) before it goes to `deadLetter`. Only with `deadLetter`:
   * without a destination a failing record is retried forever and the shard waits (never a silent skip).
   * @defaultValue 3 with `deadLetter`; Infinity without
   */
  maxAttempts?: number;
  /**
   * Records whose `approximateArrivalTimestamp` is older than this (checked before each try) go to `deadLetter`
   * without another try (reason `'expired'`). Only with `deadLetter`.
   * @defaultValue undefined (no age limit)
   */
  maxRecordAgeMillis?: number;
  /**
   * Where records go after `maxAttempts` / `maxRecordAgeMillis`; then they count as done. A function
   * `(record, error, info) => Promise<void>`, or `{ streamName }`: the built-in sink writes the record as JSON
   * (`data` base64, `partitionKey`, `sequenceNumber`, `subSequenceNumber`, `shardId`, `streamName`, `attempts`,
   * `reason`, `error`) to that Kinesis stream with the original partition key. A failing destination is retried
   * with backoff.
   * @defaultValue undefined (retry forever)
   */
  deadLetter?: DeadLetterFunction | DeadLetterStream;
  /**
   * First retry delay ceiling (full-jitter exponential backoff, doubling per try).
   * @defaultValue 100
   */
  retryBaseMillis?: number;
  /**
   * Largest retry delay ceiling.
   * @defaultValue 30000
   */
  retryMaxMillis?: number;
  /**
   * Batch processors only: when `processRecords` throws, deliver the batch again in halves (then quarters…) to find
   * the failing record, which then gets `maxAttempts` / `deadLetter` alone (AWS Lambda's bisect-on-error).
   * @defaultValue false
   */
  bisectOnError?: boolean;
}
