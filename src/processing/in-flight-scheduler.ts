import { ExtendedSequenceNumber as ESN } from '../checkpoint/extended-sequence-number.js';
import type { KinesisClientRecord } from '../processor/types.js';

/** How records of one shard may overlap. */
export type OrderBy = 'partitionKey' | 'none';

export interface InFlightSchedulerOptions {
  /** Records running at once. */
  maxInFlight: number;
  /** `'partitionKey'`: one record per key at a time, in arrival order; `'none'`: any record may start. */
  orderBy: OrderBy;
  /** Records accepted and not yet below the low-water mark (running, waiting, or done above an unfinished one). */
  maxBufferedRecords: number;
  /** Payload bytes of accepted records that have not finished. */
  maxBufferedBytes: number;
}

/** One accepted record. */
export interface InFlightEntry {
  readonly record: KinesisClientRecord;
  readonly key: string;
  /** Arrival index within this scheduler (0-based). */
  readonly index: number;
  state: 'waiting' | 'running' | 'done';
}

/**
 * Shard order of two records' positions. Kinesis sequence numbers are decimal strings without leading zeros, so a
 * longer one is larger and equal lengths compare as text: no BigInt per record on this path, which runs for every
 * record (a malformed one still fails, typed, when the mark is checkpointed).
 */
function comparePositions(a: KinesisClientRecord, b: KinesisClientRecord): number {
  const x = a.sequenceNumber;
  const y = b.sequenceNumber;
  if (x.length !== y.length) return x.length - y.length;
  if (x !== y) return x < y ? -1 : 1;
  return a.subSequenceNumber - b.subSequenceNumber;
}

/**
 * The bookkeeping of one shard's records in flight, without any I/O or timers (the adapter drives it):
 * which record may start next (per-key FIFO, at most `maxInFlight` at once), how full the buffer is, and the
 * low-water mark — the position of the last record below which every accepted record has finished. Records must be
 * pushed in shard order (sequence number, then sub-sequence number), which is how batches arrive.
 *
 * The buffer counts every record between the low-water mark and the newest one, done or not: a record that never
 * finishes therefore holds at most `maxBufferedRecords` records behind it in memory, then `hasRoom()` stays false
 * and the shard stops fetching until it finishes (or is dead-lettered).
 */
export class InFlightScheduler {
  private window: InFlightEntry[] = [];
  private head = 0;
  private readonly waitingByKey = new Map<string, InFlightEntry[]>();
  private readonly busyKeys = new Set<string>();
  private ready: string[] = [];
  private readyHead = 0;
  private running = 0;
  private bytes = 0;
  private accepted = 0;
  /** The record at the low-water mark, and its position once asked for (built lazily: checkpoints are rarer than records). */
  private markRecord: KinesisClientRecord | undefined;
  private markPosition: ESN | undefined;
  private newest: KinesisClientRecord | undefined;

  constructor(private readonly o: InFlightSchedulerOptions) {}

  /** Records accepted and not yet below the low-water mark. */
  get buffered(): number {
    return this.window.length - this.head;
  }

  /** Payload bytes of accepted records not finished yet. */
  get bufferedBytes(): number {
    return this.bytes;
  }

  get inFlight(): number {
    return this.running;
  }

  /** True when every accepted record has finished. */
  get idle(): boolean {
    return this.buffered === 0;
  }

  /** The position below which (inclusive) every accepted record has finished; `undefined` before the first. */
  get lowWaterMark(): ESN | undefined {
    const r = this.markRecord;
    if (r === undefined) return undefined;
    if (this.markPosition === undefined || this.markPosition.sequenceNumber !== r.sequenceNumber || this.markPosition.subSequenceNumber !== r.subSequenceNumber) {
      this.markPosition = new ESN(r.sequenceNumber, r.subSequenceNumber);
    }
    return this.markPosition;
  }

  /**
   * Whether the buffer has drained enough for the producer to go on after it found no room: at most three quarters
   * full (records and bytes). The gap means a full buffer wakes the producer once per quarter of it, not once per
   * finished record.
   */
  hasRoomToResume(): boolean {
    if (this.buffered === 0) return true;
    return this.buffered <= (this.o.maxBufferedRecords * 3) >> 2 && this.bytes <= this.o.maxBufferedBytes * 0.75;
  }

  /** Whether one more record may be accepted (always true when the buffer is empty, so a huge record still passes). */
  hasRoom(): boolean {
    if (this.buffered === 0) return true;
    return this.buffered < this.o.maxBufferedRecords && this.bytes < this.o.maxBufferedBytes;
  }

  /**
   * Accepts a record; it starts when `next()` hands it out. Returns `undefined` (and ignores the record) when its
   * position is not after the newest accepted one: a redelivered batch never runs a record twice.
   */
  push(record: KinesisClientRecord): InFlightEntry | undefined {
    if (this.newest !== undefined && comparePositions(record, this.newest) <= 0) return undefined;
    this.newest = record;
    const index = this.accepted++;
    const key = this.o.orderBy === 'partitionKey' ? record.partitionKey : `#${index}`;
    const entry: InFlightEntry = { record, key, index, state: 'waiting' };
    this.window.push(entry);
    this.bytes += record.data.byteLength;
    const queue = this.waitingByKey.get(key);
    if (queue === undefined) {
      this.waitingByKey.set(key, [entry]);
      if (!this.busyKeys.has(key)) this.ready.push(key);
    } else {
      queue.push(entry);
    }
    return entry;
  }

  /** The next record to start, if a slot is free and some key's head is not running; marks it running. */
  next(): InFlightEntry | undefined {
    if (this.running >= this.o.maxInFlight || this.readyHead >= this.ready.length) return undefined;
    const key = this.ready[this.readyHead++]!;
    if (this.readyHead > 1024 && this.readyHead * 2 > this.ready.length) {
      this.ready = this.ready.slice(this.readyHead);
      this.readyHead = 0;
    }
    const queue = this.waitingByKey.get(key)!;
    const entry = queue.shift()!;
    if (queue.length === 0) this.waitingByKey.delete(key);
    this.busyKeys.add(key);
    entry.state = 'running';
    this.running++;
    return entry;
  }

  /**
   * A running record finished (processed or dead-lettered). Returns how many records the low-water mark moved past
   * (0 when an earlier record is still unfinished).
   */
  complete(entry: InFlightEntry): number {
    if (entry.state !== 'running') throw new RangeError(`record ${entry.record.sequenceNumber}/${entry.record.subSequenceNumber} is not running`);
    entry.state = 'done';
    this.running--;
    this.bytes -= entry.record.data.byteLength;
    this.busyKeys.delete(entry.key);
    if (this.waitingByKey.has(entry.key)) this.ready.push(entry.key);
    let moved = 0;
    while (this.head < this.window.length && this.window[this.head]!.state === 'done') {
      this.markRecord = this.window[this.head]!.record;
      this.head++;
      moved++;
    }
    if (this.head > 1024 && this.head * 2 > this.window.length) {
      this.window = this.window.slice(this.head);
      this.head = 0;
    }
    return moved;
  }
}
