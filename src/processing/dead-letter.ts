import type { KinesisRecordWriter } from '../aws/kinesis-put-record.js';
import type { DeadLetterFunction, DeadLetterInfo } from '../processor/record-handler-types.js';
import type { KinesisClientRecord } from '../processor/types.js';

/** What the built-in sink writes for one failed record (JSON, UTF-8). */
export interface DeadLetterMessage {
  /** The record's payload, base64. */
  data: string;
  partitionKey: string;
  explicitHashKey?: string;
  sequenceNumber: string;
  subSequenceNumber: number;
  approximateArrivalTimestamp: string;
  shardId: string;
  streamName: string;
  attempts: number;
  reason: DeadLetterInfo['reason'];
  /** The handler's last error message (`undefined` when the record expired before its first try). */
  error?: string;
  errorName?: string;
  /** The error's `code` when it had one (e.g. a `KclError`). */
  errorCode?: string;
}

/** The JSON document the built-in sink writes. */
export function deadLetterMessage(record: KinesisClientRecord, error: unknown, info: DeadLetterInfo): DeadLetterMessage {
  const message: DeadLetterMessage = {
    data: Buffer.from(record.data.buffer, record.data.byteOffset, record.data.byteLength).toString('base64'),
    partitionKey: record.partitionKey,
    sequenceNumber: record.sequenceNumber,
    subSequenceNumber: record.subSequenceNumber,
    approximateArrivalTimestamp: record.approximateArrivalTimestamp.toISOString(),
    shardId: info.shardId,
    streamName: info.streamName,
    attempts: info.attempts,
    reason: info.reason,
  };
  if (record.explicitHashKey !== undefined) message.explicitHashKey = record.explicitHashKey;
  if (error instanceof Error) {
    message.error = error.message.slice(0, 8192);
    message.errorName = error.name;
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string') message.errorCode = code;
  } else if (error !== undefined) {
    message.error = (typeof error === 'string' ? error : JSON.stringify(error) ?? typeof error).slice(0, 8192);
  }
  return message;
}

/**
 * `deadLetter: { streamName }`: writes each failed record as JSON to that stream, under the record's own partition
 * key (so a replay keeps per-key order). A failed write throws; the pipeline retries it with backoff.
 */
export function kinesisDeadLetterSink(writer: KinesisRecordWriter, streamName: string, signal?: AbortSignal): DeadLetterFunction {
  const encoder = new TextEncoder();
  return async (record, error, info) => {
    const data = encoder.encode(JSON.stringify(deadLetterMessage(record, error, info)));
    await writer.putRecord({ stream: { streamName }, partitionKey: record.partitionKey || 'dead-letter', data }, signal ? { signal } : {});
  };
}
