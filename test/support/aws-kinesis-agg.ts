// Typed access to npm `aws-kinesis-agg` (the awslabs KPL aggregation library), the reference implementation our
// KPL codec is checked and benchmarked against. Its bundled index.d.ts imports `aws-sdk` v2 / `aws-lambda` types
// and omits `RecordAggregator`, so it is loaded through `require` and typed here.
import { createRequire } from 'node:module';

/** A sub-record as `deaggregateSync` returns it for an SDK v3-style input (capitalised keys, base64 data). */
export interface AggUserRecordV3 {
  PartitionKey: string;
  ExplicitPartitionKey?: string;
  SequenceNumber: string;
  SubSequenceNumber?: number;
  Data: string;
}

export interface AggEncodedRecord {
  partitionKey: string;
  data: Buffer;
  /** Set (capitalised, and from the first record) only when some record has an explicit hash key. */
  ExplicitHashKey?: string;
}

export interface AggRecordAggregator {
  addUserRecord(record: { partitionKey: string; data: Buffer; explicitHashKey?: string }): void;
  checkIfUserRecordFits(record: { partitionKey: string; data: Buffer; explicitHashKey?: string }): boolean;
  build(): AggEncodedRecord | undefined;
  length(): number;
}

interface AwsKinesisAgg {
  deaggregateSync(
    record: { Data: Uint8Array; PartitionKey: string; SequenceNumber: string; ExplicitHashKey?: string },
    computeChecksums: boolean,
    callback: (err: Error | null | undefined, records?: AggUserRecordV3[]) => void,
  ): void;
  RecordAggregator: new () => AggRecordAggregator;
}

const lib = createRequire(import.meta.url)('aws-kinesis-agg') as AwsKinesisAgg;

/** `deaggregateSync` of an SDK v3-style record; throws what the library reports as an error. */
export function aggDeaggregate(
  record: { data: Uint8Array; partitionKey: string; sequenceNumber: string },
  computeChecksums = true,
): AggUserRecordV3[] {
  let result: AggUserRecordV3[] | undefined;
  let failure: Error | undefined;
  lib.deaggregateSync(
    { Data: record.data, PartitionKey: record.partitionKey, SequenceNumber: record.sequenceNumber },
    computeChecksums,
    (err, records) => {
      if (err) failure = err;
      else result = records;
    },
  );
  if (failure !== undefined) throw failure;
  if (result === undefined) throw new Error('aws-kinesis-agg returned nothing');
  return result;
}

/** Packs records with aws-kinesis-agg's `RecordAggregator` into aggregates that each hold as many as fit. */
export function aggAggregate(records: readonly { partitionKey: string; data: Uint8Array; explicitHashKey?: string }[]): AggEncodedRecord[] {
  const out: AggEncodedRecord[] = [];
  let aggregator = new lib.RecordAggregator();
  for (const r of records) {
    const record = { partitionKey: r.partitionKey, data: Buffer.from(r.data), ...(r.explicitHashKey !== undefined ? { explicitHashKey: r.explicitHashKey } : {}) };
    if (aggregator.length() > 0 && !aggregator.checkIfUserRecordFits(record)) {
      const built = aggregator.build();
      if (built) out.push(built);
      aggregator = new lib.RecordAggregator();
    }
    aggregator.addUserRecord(record);
  }
  const last = aggregator.build();
  if (last) out.push(last);
  return out;
}
