import type { SubscribeEvent } from '../aws/fanout-api.js';
import type { IteratorPosition, StreamRef } from '../aws/kinesis-types.js';
import type { ChildShard } from '../shards/shard.js';
import { DependencyError, InvalidStateError, ResourceInUseError, ResourceNotFoundError } from '../errors.js';
import { backoffDelay, type BackoffOptions } from '../util/backoff.js';
import { isRetriable } from '../util/retry.js';
import { BatchSource, type BatchSourceOptions } from './batch-source.js';
import type { PollingKinesisApi } from './polling-fetcher.js';
import { toClientRecords } from './records-batch.js';
import type { ShardState } from './shard-state-cache.js';
import { filterAfterCheckpoint } from './starting-position.js';

/** Opens one subscription (`FanOutApi.subscribeToShard` bound to a consumer and shard); a fake in unit tests. */
export type Subscribe = (position: IteratorPosition, signal: AbortSignal) => Promise<AsyncIterable<SubscribeEvent>>;

/**
 * A second way to see a shard end, for services that never send the final `ChildShards` event on a closed
 * shard (kinesis-local; and a safety net on AWS): once events have been empty for `intervalMillis`, ask the
 * (shared, cached) shard listing whether the shard is closed; if it is, read on from the last record with
 * GetRecords — no records and no next iterator confirm the end (with the children GetRecords reports, else the
 * listing's).
 */
export interface ShardEndCheck {
  shardState(shardId: string, signal: AbortSignal): Promise<ShardState>;
  kinesis: PollingKinesisApi;
  stream: StreamRef;
  intervalMillis: number;
}

export interface FanOutSubscriberOptions extends BatchSourceOptions {
  subscribe: Subscribe;
  /** Events received and not yet taken by the consumer; no more are read from the stream while this many wait. */
  maxQueuedEvents: number;
  /** A subscription with no event at all (not even an empty one) for this long is closed and opened again. */
  idleTimeoutMillis: number;
  shardEndCheck?: ShardEndCheck | undefined;
  /** For the backoff jitter (tests). */
  random?: () => number;
}

/** Backoff after failed subscriptions (including `ResourceInUse` right after an abort): full jitter, 200 ms … 10 s. */
export const RESUBSCRIBE_BACKOFF: BackoffOptions = { baseMillis: 200, maxMillis: 10_000 };
/** Backoff after silent subscriptions: a dead connection silences many shards at once, so spread them wider. */
export const SILENCE_BACKOFF: BackoffOptions = { baseMillis: 1000, maxMillis: 30_000 };
const LOG_EVERY_FAILURES = 3;
/** GetRecords pages a shard-end check reads before giving up for this round. */
const SHARD_END_PROBE_PAGES = 10;

const SILENT: unique symbol = Symbol('silent');

type Outcome =
  | { kind: 'ended'; received: number } // the service ended the subscription (every ~5 min)
  | { kind: 'silent'; received: number }
  | { kind: 'shardEnd' }
  | { kind: 'failed'; received: number; error: unknown };

/**
 * Enhanced fan-out retrieval of one shard (Java KCL's `FanOutRecordsPublisher`), offering the same `RecordsSource`
 * as the polling fetcher.
 *
 * - The first subscription starts where the checkpoint says (`AT_SEQUENCE_NUMBER` + the sub-record filter, or
 *   TRIM_HORIZON / LATEST / AT_TIMESTAMP); every later one `AFTER_SEQUENCE_NUMBER` of the last event's
 *   `continuationSequenceNumber`, so a subscription that ends (the service ends each after ~5 minutes) or fails
 *   is continued without loss or duplicates. A normal end resubscribes at once; failures back off (capped, full
 *   jitter), `ResourceInUse` (a subscription aborted a moment ago is still open at the service) included.
 * - Backpressure: events are pulled from the stream only while fewer than `maxQueuedEvents` batches wait, so a
 *   slow processor leaves the rest with the service (flow control), and memory stays flat. Empty events never
 *   pile up: a waiting empty batch absorbs the next one.
 * - A subscription silent for `idleTimeoutMillis` while we wait for it (not while paused by backpressure) is
 *   closed and reopened after a jittered delay.
 * - Shard end: an event with `childShards` (AWS's last event), a `ResourceNotFound` for a shard that is not listed
 *   as open, or the {@link ShardEndCheck}. An event with neither a continuation number nor child shards is the end
 *   only when the check finds the shard closed and read; otherwise it is invalid (Java KCL's `isValidResult`): it is
 *   dropped, a warning logged, and the shard subscribed again after the previous event, with backoff.
 */
export class FanOutSubscriber extends BatchSource {
  private readonly subscribe: Subscribe;
  private readonly maxQueuedEvents: number;
  private readonly idleTimeoutMillis: number;
  private readonly shardEndCheck: ShardEndCheck | undefined;
  private readonly random: (() => number) | undefined;
  /** Where the next subscription resumes after. */
  private continuation: string | undefined;
  /** Sequence number of the last Kinesis record received (where a GetRecords shard-end probe reads on from). */
  private lastRecord: string | undefined;
  private subscriptionCount = 0;
  private eventCount = 0;

  /** The numeric options come validated from config/ (`retrieval.*`); they are not checked again here. */
  constructor(options: FanOutSubscriberOptions) {
    super('Subscriber', options);
    this.subscribe = options.subscribe;
    this.maxQueuedEvents = options.maxQueuedEvents;
    this.idleTimeoutMillis = options.idleTimeoutMillis;
    this.shardEndCheck = options.shardEndCheck;
    this.random = options.random;
  }

  /** Room while fewer than `maxQueuedEvents` batches wait. */
  protected hasRoom(): boolean {
    return this.queue.length < this.maxQueuedEvents;
  }

  /** Subscriptions the service accepted so far. */
  get subscriptions(): number {
    return this.subscriptionCount;
  }

  /** Events received so far (empty ones included). */
  get events(): number {
    return this.eventCount;
  }

  protected async run(signal: AbortSignal): Promise<void> {
    const start = this.start0.iterator;
    if (start === undefined) {
      this.log.debug({}, 'checkpoint is SHARD_END: nothing to read');
      this.enqueue({ records: [], isAtShardEnd: true, byteSize: 0 });
      return;
    }
    let failures = 0; // consecutive subscriptions that failed or went silent without delivering anything
    while (!signal.aborted) {
      const position: IteratorPosition =
        this.continuation === undefined ? start : { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: this.continuation };
      const subscription = new AbortController();
      const onAbort = (): void => subscription.abort(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      let outcome: Outcome;
      try {
        outcome = await this.subscribeOnce(position, subscription.signal);
      } catch (error) {
        outcome = { kind: 'failed', received: 0, error };
      } finally {
        signal.removeEventListener('abort', onAbort);
        // Closes the stream if it is still open (silence, shard end, failure); a no-op after a normal end.
        subscription.abort(new InvalidStateError('subscription closed'));
      }
      if (signal.aborted) return;
      if (outcome.kind === 'shardEnd') return;
      if (outcome.received > 0) failures = 0;

      let delay = 0;
      if (outcome.kind === 'ended') {
        this.log.debug({ received: outcome.received, after: this.continuation }, 'subscription ended; resubscribing');
        if (outcome.received === 0) delay = backoffDelay(failures++, RESUBSCRIBE_BACKOFF, this.random);
      } else if (outcome.kind === 'silent') {
        failures++;
        delay = backoffDelay(failures - 1, SILENCE_BACKOFF, this.random);
        this.log.warn(
          { idleTimeoutMillis: this.idleTimeoutMillis, received: outcome.received, retryInMillis: delay },
          'subscription silent: closing it and subscribing again',
        );
      } else {
        const error = outcome.error;
        failures++;
        if (error instanceof ResourceNotFoundError) {
          if (await this.shardGone(signal)) {
            this.log.warn({ err: error }, 'shard not found (expired past retention, deleted or closed): treating it as ended');
            this.enqueue({ records: [], isAtShardEnd: true, byteSize: 0 });
            return;
          }
          if (signal.aborted) return;
          this.log.error({ err: error }, 'SubscribeToShard: not found, but the shard is listed as open (consumer deregistered?); retrying');
        } else if (error instanceof ResourceInUseError) {
          // Expected for about a second after we closed a subscription ourselves.
          const fields = { err: error, consecutiveFailures: failures };
          if (failures % (LOG_EVERY_FAILURES * 2) === 0) this.log.warn(fields, 'shard still subscribed (ResourceInUse); retrying with backoff');
          else this.log.debug(fields, 'shard still subscribed (ResourceInUse); retrying with backoff');
        } else if (isRetriable(error)) {
          const fields = { err: error, consecutiveFailures: failures };
          if (failures % LOG_EVERY_FAILURES === 0) this.log.warn(fields, 'subscription keeps failing; retrying with backoff');
          else this.log.debug(fields, 'subscription failed; retrying with backoff');
        } else {
          this.log.error({ err: error, consecutiveFailures: failures }, 'unexpected subscription error; retrying with backoff');
        }
        delay = backoffDelay(failures - 1, RESUBSCRIBE_BACKOFF, this.random);
      }
      if (delay > 0 && !(await this.pause(delay, signal))) return;
    }
  }

  /** One subscription, from opening to its end; events go to the queue as room allows. */
  private async subscribeOnce(position: IteratorPosition, signal: AbortSignal): Promise<Outcome> {
    const opened = await this.orSilence(this.subscribe(position, signal), signal);
    if (opened === SILENT) return { kind: 'silent', received: 0 };
    this.subscriptionCount++;
    this.log.debug({ position: position.type, after: this.continuation }, 'subscribed');
    const iterator = opened[Symbol.asyncIterator]();
    let received = 0;
    let quietSince = this.clock.now();
    try {
      for (;;) {
        if (!(await this.waitForRoom(signal))) return { kind: 'failed', received, error: signal.reason };
        const next = await this.orSilence(iterator.next(), signal);
        if (next === SILENT) return { kind: 'silent', received };
        if (next.done === true) return { kind: 'ended', received };
        received++;
        this.eventCount++;
        const event = next.value;
        if (isInvalidEvent(event)) {
          const end = this.shardEndCheck === undefined ? undefined : await this.probeShardEnd(signal);
          if (end !== undefined) {
            this.log.info({ childShards: end.map((c) => c.shardId) }, 'shard is closed and fully read (final event without children)');
            this.enqueue(this.toBatch([], { isAtShardEnd: true, childShards: end }));
            return { kind: 'shardEnd' };
          }
          const error = new DependencyError(
            `SubscribeToShard(${this.shardId}) sent an event without ContinuationSequenceNumber or ChildShards for a shard not known closed`,
            { retriable: true },
          );
          this.log.warn({ err: error, after: this.continuation }, 'invalid subscription event for an open shard: subscribing again');
          return { kind: 'failed', received, error };
        }
        if (this.accept(event)) return { kind: 'shardEnd' };
        const now = this.clock.now();
        if (event.records.length > 0) {
          quietSince = now;
        } else if (this.shardEndCheck !== undefined && now - quietSince >= this.shardEndCheck.intervalMillis) {
          quietSince = now;
          const end = await this.probeShardEnd(signal);
          if (end !== undefined) {
            this.log.info({ childShards: end.map((c) => c.shardId) }, 'shard is closed and fully read (found without a final event)');
            this.enqueue(this.toBatch([], { isAtShardEnd: true, childShards: end }));
            return { kind: 'shardEnd' };
          }
        }
      }
    } catch (error) {
      return { kind: 'failed', received, error };
    }
  }

  /** `promise`'s value, or SILENT when it takes longer than the idle timeout (the loser's rejection is swallowed). */
  private async orSilence<T>(promise: Promise<T>, signal: AbortSignal): Promise<T | typeof SILENT> {
    const timer = new AbortController();
    const onAbort = (): void => timer.abort(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      // Aborting `signal` rejects the race at once (the sleep), even if `promise` were slow to notice.
      return await Promise.race([promise, this.clock.sleep(this.idleTimeoutMillis, timer.signal).then((): typeof SILENT => SILENT)]);
    } finally {
      signal.removeEventListener('abort', onAbort);
      timer.abort();
      promise.catch(() => undefined);
    }
  }

  /** Turns an event into a batch and queues it; true when it is the shard's last (it reports child shards). */
  private accept(event: SubscribeEvent): boolean {
    const raw = event.records;
    const atEnd = event.childShards !== undefined && event.childShards.length > 0;
    this.enqueue(this.toBatch(raw, { isAtShardEnd: atEnd, millisBehindLatest: event.millisBehindLatest, childShards: event.childShards }));
    // Only once queued: the next subscription resumes after this event.
    if (event.continuationSequenceNumber !== undefined) this.continuation = event.continuationSequenceNumber;
    const last = raw[raw.length - 1];
    if (last !== undefined) this.lastRecord = last.sequenceNumber;
    if (atEnd) this.log.debug({ childShards: event.childShards?.map((c) => c.shardId) }, 'reached the end of the shard');
    return atEnd;
  }

  /**
   * The {@link ShardEndCheck}: the children when the shard is closed (or gone) and GetRecords finds nothing after
   * the last record received; undefined when it is open, still has records for us, or the check failed.
   */
  private async probeShardEnd(signal: AbortSignal): Promise<ChildShard[] | undefined> {
    const check = this.shardEndCheck!;
    try {
      const state = await check.shardState(this.shardId, signal);
      if (state.state === 'open') return undefined;
      const start = this.start0.iterator!;
      const from: IteratorPosition = this.lastRecord === undefined ? start : { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: this.lastRecord };
      const filter = this.lastRecord === undefined ? this.filter : undefined;
      let iterator = await check.kinesis.getShardIterator(check.stream, this.shardId, from, { signal });
      for (let page = 0; page < SHARD_END_PROBE_PAGES; page++) {
        const result = await check.kinesis.getRecords(iterator, 1000, check.stream, { signal, shardId: this.shardId });
        let unseen = toClientRecords(result.records);
        if (filter !== undefined) unseen = filterAfterCheckpoint(unseen, filter).records;
        if (unseen.length > 0) {
          this.log.debug({ state: state.state, unseen: unseen.length }, 'shard-end check: records still to come through the subscription');
          return undefined;
        }
        if (result.nextShardIterator === undefined) return result.childShards ?? (state.state === 'closed' ? state.children : []);
        iterator = result.nextShardIterator;
      }
      return undefined;
    } catch (error) {
      if (error instanceof ResourceNotFoundError) return [];
      if (!signal.aborted) this.log.debug({ err: error }, 'shard-end check failed; trying again later');
      return undefined;
    }
  }

  /** After a ResourceNotFound: true unless the listing shows the shard open (then the consumer is what is missing). */
  private async shardGone(signal: AbortSignal): Promise<boolean> {
    if (this.shardEndCheck === undefined) return true; // Java KCL: ResourceNotFound ⇒ shard end
    try {
      // Not listed may also mean too new for the cached listing: GetRecords decides (its ResourceNotFound ⇒ gone).
      const state = await this.shardEndCheck.shardState(this.shardId, signal);
      if (state.state === 'open') return false;
      return (await this.probeShardEnd(signal)) !== undefined;
    } catch (error) {
      if (!signal.aborted) this.log.debug({ err: error }, 'could not list shards after ResourceNotFound; retrying the subscription');
      return false;
    }
  }
}

/** Neither a continuation number nor child shards: not a valid event (Java KCL drops it and resubscribes). */
function isInvalidEvent(event: SubscribeEvent): boolean {
  return event.continuationSequenceNumber === undefined && !(event.childShards !== undefined && event.childShards.length > 0);
}
