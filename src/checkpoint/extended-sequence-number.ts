import { IllegalArgumentError } from '../errors.js';

/** Checkpoint sentinels, as stored in the lease table by Java KCL. */
export type SentinelCheckpoint = 'TRIM_HORIZON' | 'LATEST' | 'AT_TIMESTAMP' | 'SHARD_END';

const SENTINEL_RANK: Record<SentinelCheckpoint, bigint> = {
  AT_TIMESTAMP: -3n,
  TRIM_HORIZON: -2n,
  LATEST: -1n,
  SHARD_END: 0n, // not used for ordering: SHARD_END is above every number, handled explicitly
};

const DIGITS = /^\d{1,128}$/;

export function isSentinel(value: string): value is SentinelCheckpoint {
  return value === 'TRIM_HORIZON' || value === 'LATEST' || value === 'AT_TIMESTAMP' || value === 'SHARD_END';
}

/**
 * A position in a shard: a Kinesis sequence number plus the index of a KPL sub-record inside it,
 * or a sentinel. Ordered as Java KCL orders them:
 * `AT_TIMESTAMP < TRIM_HORIZON < LATEST < any sequence number < SHARD_END`, numbers compared as BigInt,
 * ties broken by sub-sequence number.
 */
export class ExtendedSequenceNumber {
  static readonly TRIM_HORIZON = new ExtendedSequenceNumber('TRIM_HORIZON');
  static readonly LATEST = new ExtendedSequenceNumber('LATEST');
  static readonly AT_TIMESTAMP = new ExtendedSequenceNumber('AT_TIMESTAMP');
  static readonly SHARD_END = new ExtendedSequenceNumber('SHARD_END');

  readonly sequenceNumber: string;
  readonly subSequenceNumber: number;
  private readonly numeric: bigint | undefined;

  /** @throws IllegalArgumentError for anything that is neither a decimal sequence number nor a sentinel. */
  constructor(sequenceNumber: string, subSequenceNumber = 0) {
    if (typeof sequenceNumber !== 'string') {
      throw new IllegalArgumentError(`Sequence number must be a string, got ${typeof sequenceNumber}`);
    }
    if (!Number.isSafeInteger(subSequenceNumber) || subSequenceNumber < 0) {
      throw new IllegalArgumentError(`Sub-sequence number must be a non-negative integer, got ${String(subSequenceNumber)}`);
    }
    if (isSentinel(sequenceNumber)) {
      this.numeric = undefined;
    } else if (DIGITS.test(sequenceNumber)) {
      this.numeric = BigInt(sequenceNumber);
    } else {
      throw new IllegalArgumentError(
        `Invalid sequence number "${sequenceNumber.slice(0, 80)}": expected decimal digits or one of TRIM_HORIZON, LATEST, AT_TIMESTAMP, SHARD_END`,
      );
    }
    this.sequenceNumber = sequenceNumber;
    this.subSequenceNumber = subSequenceNumber;
  }

  static from(value: { sequenceNumber: string; subSequenceNumber?: number }): ExtendedSequenceNumber {
    return new ExtendedSequenceNumber(value.sequenceNumber, value.subSequenceNumber ?? 0);
  }

  /** True for TRIM_HORIZON / LATEST / AT_TIMESTAMP / SHARD_END. */
  get isSentinel(): boolean {
    return this.numeric === undefined;
  }

  get isShardEnd(): boolean {
    return this.sequenceNumber === 'SHARD_END';
  }

  /** Negative, zero or positive as `this` is before, equal to or after `other`. */
  compareTo(other: ExtendedSequenceNumber): number {
    const a = this.rank();
    const b = other.rank();
    if (a !== b) return a < b ? -1 : 1;
    return Math.sign(this.subSequenceNumber - other.subSequenceNumber);
  }

  equals(other: ExtendedSequenceNumber): boolean {
    return this.compareTo(other) === 0;
  }

  private rank(): bigint | number {
    if (this.sequenceNumber === 'SHARD_END') return Number.POSITIVE_INFINITY;
    return this.numeric ?? SENTINEL_RANK[this.sequenceNumber as SentinelCheckpoint];
  }

  toJSON(): { sequenceNumber: string; subSequenceNumber: number } {
    return { sequenceNumber: this.sequenceNumber, subSequenceNumber: this.subSequenceNumber };
  }

  toString(): string {
    return this.subSequenceNumber === 0 ? this.sequenceNumber : `${this.sequenceNumber}/${this.subSequenceNumber}`;
  }
}

/** Larger of two positions. */
export function maxSequenceNumber(a: ExtendedSequenceNumber, b: ExtendedSequenceNumber): ExtendedSequenceNumber {
  return a.compareTo(b) >= 0 ? a : b;
}
