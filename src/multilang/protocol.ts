import {
  DependencyError,
  IllegalArgumentError,
  InvalidStateError,
  ShutdownError,
  ThrottlingError,
  type KinesisClientRecord,
  type SequenceNumberPosition,
} from '../index.js';

/**
 * The MultiLangDaemon protocol of Java KCL 2.x/3.x (`amazon-kinesis-client-multilang`, `messages/*.java`), as the
 * npm `aws-kcl` 2.x client and Python's `amazon_kclpy` speak it: one JSON object per line on the child's stdin
 * (daemon → child) and stdout (child → daemon), discriminated by `action`. Every daemon → child action is
 * answered by a `status` whose `responseFor` names it; meanwhile the child may send `checkpoint` requests,
 * each answered by a `checkpoint` reply.
 */

/** One record as Java's `JsonFriendlyRecord`: payload base64, arrival time in epoch milliseconds. */
export interface RecordMessage {
  action: 'record';
  data: string;
  partitionKey: string;
  sequenceNumber: string;
  subSequenceNumber: number;
  approximateArrivalTimestamp: number | null;
}

export interface InitializeMessage {
  action: 'initialize';
  shardId: string;
  /** The lease's checkpoint: a sequence number or a sentinel such as `TRIM_HORIZON`. */
  sequenceNumber: string | null;
  subSequenceNumber: number | null;
}

export interface ProcessRecordsMessage {
  action: 'processRecords';
  records: RecordMessage[];
  millisBehindLatest: number | null;
}

/** Java's exception simple names, as `error` of a checkpoint reply. */
export type CheckpointErrorName =
  | 'ShutdownException'
  | 'ThrottlingException'
  | 'InvalidStateException'
  | 'KinesisClientLibDependencyException'
  | 'IllegalArgumentException';

/** Reply to a child's checkpoint request: echoes what was asked, `error` null on success. */
export interface CheckpointReply {
  action: 'checkpoint';
  sequenceNumber: string | null;
  subSequenceNumber: number | null;
  error: CheckpointErrorName | null;
}

/** Actions that expect a `status` reply (the v2 names; Java 2.x/3.x never sends v1's `shutdown`). */
export type CallAction = 'initialize' | 'processRecords' | 'leaseLost' | 'shardEnded' | 'shutdownRequested';

export type DaemonMessage =
  | InitializeMessage
  | ProcessRecordsMessage
  | { action: 'leaseLost' }
  | { action: 'shardEnded' }
  | { action: 'shutdownRequested' }
  | CheckpointReply;

export interface StatusMessage {
  action: 'status';
  /** The action this answers; null when the child left it out (which fails the call). */
  responseFor: string | null;
}

/** A checkpoint request. `sequenceNumber` null: the largest record delivered so far. */
export interface CheckpointRequest {
  action: 'checkpoint';
  sequenceNumber: string | null;
  subSequenceNumber: number | null;
  /** Set when a field could not be read; the daemon answers `IllegalArgumentException` (Java would hang the child). */
  invalid?: string;
}

export type ChildMessage = StatusMessage | CheckpointRequest;

export type ParsedLine =
  | { kind: 'message'; message: ChildMessage }
  | { kind: 'blank' }
  /** Not a protocol message (a child logging to stdout, or a message of the wrong direction): skipped. */
  | { kind: 'junk'; reason: string };

/** One line for the child's stdin. */
export function encodeMessage(message: DaemonMessage): string {
  return `${JSON.stringify(message)}\n`;
}

export function initializeMessage(shardId: string, position: SequenceNumberPosition | undefined): InitializeMessage {
  return {
    action: 'initialize',
    shardId,
    sequenceNumber: position?.sequenceNumber ?? null,
    subSequenceNumber: position?.subSequenceNumber ?? null,
  };
}

export function recordMessage(record: KinesisClientRecord): RecordMessage {
  const data = record.data;
  return {
    action: 'record',
    data: Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64'),
    partitionKey: record.partitionKey,
    sequenceNumber: record.sequenceNumber,
    subSequenceNumber: record.subSequenceNumber,
    approximateArrivalTimestamp: Number.isNaN(record.approximateArrivalTimestamp.getTime()) ? null : record.approximateArrivalTimestamp.getTime(),
  };
}

export function processRecordsMessage(records: readonly KinesisClientRecord[], millisBehindLatest: number | undefined): ProcessRecordsMessage {
  return { action: 'processRecords', records: records.map(recordMessage), millisBehindLatest: millisBehindLatest ?? null };
}

/**
 * Reads one stdout line. Blank lines (the clients wrap every message in newlines) and anything that is not a
 * `status` or `checkpoint` object are skipped by the daemon, as Java's reader skips what it cannot parse.
 * Extra fields are tolerated.
 */
export function parseChildLine(line: string): ParsedLine {
  const text = line.trim();
  if (text === '') return { kind: 'blank' };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { kind: 'junk', reason: 'not JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { kind: 'junk', reason: 'not a JSON object' };
  const o = value as Record<string, unknown>;
  if (o.action === 'status') {
    return { kind: 'message', message: { action: 'status', responseFor: typeof o.responseFor === 'string' ? o.responseFor : null } };
  }
  if (o.action === 'checkpoint') {
    const seq = o.sequenceNumber;
    const sub = o.subSequenceNumber;
    const sequenceNumber = seq === undefined || seq === null ? null : typeof seq === 'string' || typeof seq === 'number' ? String(seq) : undefined;
    const subSequenceNumber = sub === undefined || sub === null ? null : Number(sub);
    if (sequenceNumber === undefined || (subSequenceNumber !== null && !Number.isSafeInteger(subSequenceNumber))) {
      return {
        kind: 'message',
        message: { action: 'checkpoint', sequenceNumber: null, subSequenceNumber: null, invalid: 'malformed sequenceNumber or subSequenceNumber' },
      };
    }
    return { kind: 'message', message: { action: 'checkpoint', sequenceNumber, subSequenceNumber } };
  }
  return { kind: 'junk', reason: typeof o.action === 'string' ? `unexpected action "${o.action.slice(0, 40)}"` : 'no action' };
}

/** Java's exception name for a checkpoint failure (`DependencyError` and anything unexpected → the dependency one). */
export function checkpointErrorName(error: unknown): CheckpointErrorName {
  if (error instanceof ShutdownError) return 'ShutdownException';
  if (error instanceof ThrottlingError) return 'ThrottlingException';
  if (error instanceof InvalidStateError) return 'InvalidStateException';
  if (error instanceof IllegalArgumentError) return 'IllegalArgumentException';
  if (error instanceof DependencyError) return 'KinesisClientLibDependencyException';
  return 'KinesisClientLibDependencyException';
}
