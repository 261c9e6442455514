import { PutRecordCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { KinesisCaller, streamLabel, streamParams, type CallOptions } from './kinesis-api.js';
import type { StreamRef } from './kinesis-types.js';

export interface RecordWriteInput {
  stream: StreamRef;
  partitionKey: string;
  data: Uint8Array;
}

export interface RecordWriteResult {
  shardId: string;
  sequenceNumber: string;
}

/**
 * Writes one record: the library's only write to a stream (the dead-letter sink). Unlike `KinesisAdmin.putRecord`
 * (tests and tools) it is bounded by `requestTimeoutMillis` and the caller's signal. Every failure is a `KclError`
 * (throttling and network errors retriable).
 */
export class KinesisRecordWriter {
  private readonly caller: KinesisCaller;

  constructor(
    private readonly client: KinesisClient,
    options: { requestTimeoutMillis?: number } = {},
  ) {
    this.caller = new KinesisCaller(options.requestTimeoutMillis);
  }

  async putRecord(input: RecordWriteInput, options: CallOptions = {}): Promise<RecordWriteResult> {
    const params = { ...streamParams(input.stream), PartitionKey: input.partitionKey, Data: input.data };
    const out = await this.caller.call(`Kinesis.PutRecord(${streamLabel(input.stream)})`, options.signal, (o) =>
      this.client.send(new PutRecordCommand(params), o),
    );
    return { shardId: out.ShardId ?? '', sequenceNumber: out.SequenceNumber ?? '' };
  }
}
