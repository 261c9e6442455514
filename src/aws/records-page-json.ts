import type { ChildShard as SdkChildShard, _Record as SdkRecord } from '@aws-sdk/client-kinesis';
import { BAIL, KinesisJsonReader } from './kinesis-json-reader.js';

/** The top level both answers with records share; they differ only in the member that says where to go on. */
export type RecordsPage<Cursor extends string> = { Records?: SdkRecord[]; MillisBehindLatest?: number; ChildShards?: SdkChildShard[] } & Partial<
  Record<Cursor, string>
>;

/**
 * Reads a GetRecords body (`cursor` = `NextShardIterator`) or a SubscribeToShardEvent payload
 * (`ContinuationSequenceNumber`) from its bytes into the SDK's shape, or `undefined` when it is not valid JSON of
 * the documented shape (then the caller hands the bytes to the SDK). Members that are absent or `null` are left out,
 * as the SDK leaves them out.
 */
export function parseRecordsPage<Cursor extends string>(bytes: Buffer, cursor: Cursor): RecordsPage<Cursor> | undefined {
  const reader = new KinesisJsonReader(bytes);
  try {
    let records: SdkRecord[] | undefined;
    let next: string | undefined;
    let behind: number | undefined;
    let children: SdkChildShard[] | undefined;
    reader.object((key) => {
      if (key === 'Records') records = reader.isNull() ? undefined : reader.records();
      else if (key === cursor) next = reader.isNull() ? undefined : reader.string(true);
      else if (key === 'MillisBehindLatest') behind = reader.isNull() ? undefined : reader.number();
      else if (key === 'ChildShards') children = reader.isNull() ? undefined : reader.childShards();
      else if (key === '__type') throw BAIL;
      else reader.skip();
    });
    if (!reader.atEnd()) throw BAIL;
    const out = {} as RecordsPage<Cursor>;
    if (records !== undefined) out.Records = records;
    if (next !== undefined) (out as Record<string, unknown>)[cursor] = next;
    if (behind !== undefined) out.MillisBehindLatest = behind;
    if (children !== undefined) out.ChildShards = children;
    return out;
  } catch (error) {
    if (error === BAIL) return undefined;
    throw error;
  }
}
