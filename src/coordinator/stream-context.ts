import type { KinesisClient } from '../aws/clients.js';
import type { StreamRef } from '../aws/kinesis-types.js';
import type { InitialPosition } from '../config/options.js';
import type { ResolvedOptions } from '../config/resolve-options.js';
import { InvalidStateError, ResourceNotFoundError } from '../errors.js';
import type { LeaseStore } from '../leases/lease-store.js';
import { filteredLeaseStore, isMultiStreamLease, serializeStreamIdentifier, streamIdentifierOf, streamIdentifierOfLease } from '../leases/multi-stream.js';
import type { FanOutRetrieval } from '../retrieval/fanout-retrieval.js';
import { ShardStateCache } from '../retrieval/shard-state-cache.js';
import { LeaseCleaner } from '../leases/lease-cleaner.js';
import { ShardEndHandler } from '../leases/shard-end.js';
import { ShardSyncer } from '../leases/shard-syncer.js';
import type { Logger } from '../util/logger.js';
import type { SchedulerKinesisApi } from './scheduler-parts.js';

/**
 * Everything the scheduler keeps per consumed stream: the stream, its id and the shard-level helpers.
 * A single-stream application has one context with id `''`; in multi-stream mode the id is the serialized stream
 * identifier `account:stream:creationEpoch`, the part of its lease keys before the shard id (see leases/lease-key.ts).
 */
export interface StreamContext {
  /** `''` (single stream) or `account:stream:creationEpoch`: the stream id of its lease keys. */
  readonly id: string;
  /** The configured stream's key in `streams` (ARN, else name); `''` for a single stream. */
  readonly configKey: string;
  readonly stream: StreamRef;
  /** The stream's plain name, as processors see it in `streamName`. */
  readonly streamName: string;
  readonly initialPosition: InitialPosition;
  readonly syncer: ShardSyncer;
  readonly shardEndHandler: ShardEndHandler;
  readonly cleaner: LeaseCleaner;
  readonly fanOut: FanOutRetrieval | undefined;
  /** Cached ListShards view: confirms a polled shard's end when GetRecords reports no children. */
  readonly shardStates: ShardStateCache;
}

export interface StreamContextDeps {
  options: Readonly<ResolvedOptions>;
  kinesis: SchedulerKinesisApi;
  /** The SDK client fan-out subscribes through (unit tests, polling only, have none). */
  kinesisClient: KinesisClient | undefined;
  store: LeaseStore;
  onTaskError: (task: 'shard-sync', error: unknown) => void;
}

/**
 * Describes the stream (its name, ARN and creation time make the multi-stream identifier), registers the fan-out
 * consumer when that retrieval is on, and builds the stream's syncer, shard-end handler and cleaner.
 * Throws `ResourceNotFoundError` when the stream does not exist.
 */
export async function createStreamContext(
  deps: StreamContextDeps,
  config: { key: string; stream: StreamRef; initialPosition: InitialPosition },
  multiStream: boolean,
  retry: <T>(fn: () => Promise<T>) => Promise<T>,
): Promise<StreamContext> {
  const o = deps.options;
  let stream = config.stream;
  let summary;
  try {
    summary = await retry(() => deps.kinesis.describeStreamSummary(stream));
  } catch (error) {
    if (error instanceof ResourceNotFoundError) {
      throw new ResourceNotFoundError(`Stream ${stream.streamArn ?? stream.streamName} does not exist (region ${o.region})`, { cause: error });
    }
    throw error;
  }
  const streamName = summary.streamName;
  // Emulators without ARNs answer with a name only; keep addressing the stream the way it was configured.
  stream = stream.streamArn ? { streamArn: stream.streamArn } : { streamName: stream.streamName ?? streamName };
  const id = multiStream ? serializeStreamIdentifier(streamIdentifierOf(summary)) : '';
  const log = multiStream ? o.logger.child({ stream: streamName }) : o.logger;
  const initial = config.initialPosition;
  const initialTimestamp = typeof initial === 'object' ? initial.timestamp : undefined;

  let fanOut: FanOutRetrieval | undefined;
  if (o.retrieval.mode === 'fanout') {
    if (deps.kinesisClient === undefined) throw new InvalidStateError('enhanced fan-out needs a Kinesis client');
    // Loaded only in fan-out mode (the subscriber, HTTP/2 handler and consumer registration are not needed otherwise).
    const { FanOutRetrieval } = await import('../retrieval/fanout-retrieval.js');
    // Registers (or finds) the stream consumer and waits until it is ACTIVE; retries inside.
    fanOut = new FanOutRetrieval({
      options: o.retrieval,
      stream,
      kinesisClient: deps.kinesisClient,
      kinesisClientInjected: o.kinesisClient !== undefined,
      kinesis: deps.kinesis,
      client: { region: o.region, credentials: o.credentials, endpoint: o.endpoints.kinesis },
      initialTimestamp,
      registrationTimeoutMillis: o.timeouts.fanOutRegistrationMillis,
      clock: o.clock,
      logger: log.child({ component: 'fanout' }),
    });
    await fanOut.start();
  }
  const syncer = new ShardSyncer(deps.kinesis, deps.store, stream, {
    initial: initial === 'LATEST' || initial === 'TRIM_HORIZON' ? initial : 'AT_TIMESTAMP',
    initialTimestamp,
    clock: o.clock,
    logger: log,
    streamId: id,
    onPersistentHole: (gaps) => deps.onTaskError('shard-sync', new InvalidStateError(`leases of ${streamName} leave ${gaps.length} hash-key range(s) uncovered`)),
  });
  return {
    id,
    configKey: config.key,
    stream,
    streamName,
    initialPosition: initial,
    syncer,
    shardEndHandler: new ShardEndHandler(deps.kinesis, deps.store, stream, log, id),
    cleaner: new LeaseCleaner(deps.kinesis, deps.store, stream, log, id),
    fanOut,
    shardStates: new ShardStateCache(() => deps.kinesis.listShards(stream), SHARD_STATE_TTL_MILLIS, o.clock),
  };
}

/** How long a listing answers "is this shard closed?" for polled shards; short, since it is only asked at an end. */
const SHARD_STATE_TTL_MILLIS = 1000;

/**
 * The lease table as this application sees it. Single-stream: only single-stream leases. Multi-stream: only
 * multi-stream leases of the streams consumed now (`isConsumed`), so the taker neither takes another mode's items
 * nor a removed stream's leases. Items of the other mode are ignored with one warning (Java KCL makes them
 * invisible too); keyed operations are untouched, since the two key forms cannot collide.
 */
export function leaseTableView(store: LeaseStore, multiStream: boolean, isConsumed: (streamId: string) => boolean, logger: Logger): LeaseStore {
  let warned = false;
  return filteredLeaseStore(
    store,
    (lease) => {
      if (!multiStream) return !isMultiStreamLease(lease);
      if (!isMultiStreamLease(lease)) return false;
      const id = streamIdentifierOfLease(lease);
      return id !== undefined && isConsumed(id);
    },
    (rejected) => {
      if (warned) return;
      const foreign = rejected.filter((l) => isMultiStreamLease(l) !== multiStream);
      if (foreign.length === 0) return;
      warned = true;
      logger.warn(
        { count: foreign.length, example: foreign[0]!.leaseKey },
        multiStream
          ? 'the lease table holds single-stream leases: a multi-stream application ignores them'
          : 'the lease table holds multi-stream leases: a single-stream application ignores them',
      );
    },
  );
}
