import type { GetRecordsResult, IteratorPosition, KinesisRecord, StreamRef, StreamSummary } from '../../src/aws/kinesis-types.js';
import { evenHashKeyRanges } from '../../src/shards/hash-key-range.js';
import type { Shard } from '../../src/shards/shard.js';
import type { SchedulerKinesisApi } from '../../src/coordinator/scheduler-parts.js';
import { ResourceNotFoundError } from '../../src/errors.js';

/**
 * An in-memory Kinesis stream with open shards, for unit tests of the scheduler's policies (no emulator): the four
 * calls a polling scheduler makes. Records get increasing decimal sequence numbers per shard; iterators are
 * `shardId|index`. Resharding is not modelled — the emulator suites cover it.
 */
export class FakeKinesis implements SchedulerKinesisApi {
  private readonly shards: Shard[];
  private readonly records = new Map<string, KinesisRecord[]>();
  private nextSequence = 1000n;
  /** Calls made, by operation (a test can tell that reading happened). */
  readonly calls = { describeStreamSummary: 0, listShards: 0, getShardIterator: 0, getRecords: 0 };

  constructor(
    readonly streamName: string,
    shardCount: number,
  ) {
    this.shards = evenHashKeyRanges(shardCount).map((hashKeyRange, i) => ({
      shardId: `shardId-${String(i).padStart(12, '0')}`,
      hashKeyRange,
      sequenceNumberRange: { startingSequenceNumber: '0' },
    }));
    for (const s of this.shards) this.records.set(s.shardId, []);
  }

  get shardIds(): string[] {
    return this.shards.map((s) => s.shardId);
  }

  /** Appends records (their partition keys) to one shard. */
  put(shardId: string, ...partitionKeys: string[]): void {
    const list = this.recordsOf(shardId);
    for (const partitionKey of partitionKeys) {
      list.push({ sequenceNumber: String(this.nextSequence++), partitionKey, data: new TextEncoder().encode(partitionKey), approximateArrivalTimestamp: new Date(0) });
    }
  }

  async describeStreamSummary(stream: StreamRef): Promise<StreamSummary> {
    this.calls.describeStreamSummary++;
    this.check(stream);
    return {
      streamName: this.streamName,
      streamArn: `arn:aws:kinesis:us-east-1:123456789012:stream/${this.streamName}`,
      status: 'ACTIVE',
      openShardCount: this.shards.length,
      retentionPeriodHours: 24,
      streamCreationTimestamp: new Date(1_700_000_000_000),
    };
  }

  async listShards(stream: StreamRef): Promise<Shard[]> {
    this.calls.listShards++;
    this.check(stream);
    return this.shards.map((s) => structuredClone(s));
  }

  async getShardIterator(stream: StreamRef, shardId: string, position: IteratorPosition): Promise<string> {
    this.calls.getShardIterator++;
    this.check(stream);
    const list = this.recordsOf(shardId);
    const indexOf = (sequenceNumber: string): number => {
      const i = list.findIndex((r) => BigInt(r.sequenceNumber) >= BigInt(sequenceNumber));
      return i === -1 ? list.length : i;
    };
    let index: number;
    switch (position.type) {
      case 'TRIM_HORIZON':
      case 'AT_TIMESTAMP':
        index = 0;
        break;
      case 'LATEST':
        index = list.length;
        break;
      case 'AT_SEQUENCE_NUMBER':
        index = indexOf(position.sequenceNumber);
        break;
      case 'AFTER_SEQUENCE_NUMBER':
        index = indexOf((BigInt(position.sequenceNumber) + 1n).toString());
        break;
    }
    return `${shardId}|${index}`;
  }

  async getRecords(shardIterator: string, limit: number): Promise<GetRecordsResult> {
    this.calls.getRecords++;
    const [shardId, at] = shardIterator.split('|') as [string, string];
    const list = this.recordsOf(shardId);
    const from = Number(at);
    const records = list.slice(from, from + limit);
    const next = from + records.length;
    return { records, nextShardIterator: `${shardId}|${next}`, millisBehindLatest: next < list.length ? 1000 : 0 };
  }

  private recordsOf(shardId: string): KinesisRecord[] {
    const list = this.records.get(shardId);
    if (list === undefined) throw new ResourceNotFoundError(`Shard ${shardId} does not exist`);
    return list;
  }

  private check(stream: StreamRef): void {
    const name = stream.streamName ?? stream.streamArn?.split('/').pop();
    if (name !== this.streamName) throw new ResourceNotFoundError(`Stream ${name} does not exist`);
  }
}
