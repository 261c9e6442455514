import type { SubscribeToShardEvent } from '@aws-sdk/client-kinesis';
import { BAIL, KinesisJsonReader } from './kinesis-json-reader.js';

/**
 * Reads the JSON payload of a `SubscribeToShardEvent` message straight from its bytes into the shape the SDK
 * yields (records as in GetRecords, `Data` as `Uint8Array`s; see `KinesisJsonReader`), or `undefined` when it is
 * not valid JSON of the documented shape — then the caller hands the message to the SDK's event-stream decoding.
 */
export function parseSubscribeEventJson(payload: Buffer): SubscribeToShardEvent | undefined {
  try {
    return readEvent(new KinesisJsonReader(payload));
  } catch (error) {
    if (error === BAIL) return undefined;
    throw error;
  }
}

function readEvent(reader: KinesisJsonReader): SubscribeToShardEvent {
  let records: SubscribeToShardEvent['Records'];
  let continuation: string | undefined;
  let behind: number | undefined;
  let children: SubscribeToShardEvent['ChildShards'];
  reader.object((key) => {
    if (key === 'Records') records = reader.isNull() ? undefined : reader.records();
    else if (key === 'ContinuationSequenceNumber') continuation = reader.isNull() ? undefined : reader.string(true);
    else if (key === 'MillisBehindLatest') behind = reader.isNull() ? undefined : reader.number();
    else if (key === 'ChildShards') children = reader.isNull() ? undefined : reader.childShards();
    else if (key === '__type') throw BAIL;
    else reader.skip();
  });
  if (!reader.atEnd()) throw BAIL;
  // Members the SDK leaves out when absent or null are left out here too (the type calls them required).
  const out = {} as SubscribeToShardEvent;
  if (records !== undefined) out.Records = records;
  if (continuation !== undefined) out.ContinuationSequenceNumber = continuation;
  if (behind !== undefined) out.MillisBehindLatest = behind;
  if (children !== undefined) out.ChildShards = children;
  return out;
}
