import type { GetRecordsCommandOutput } from '@aws-sdk/client-kinesis';
import { BAIL, KinesisJsonReader } from './kinesis-json-reader.js';

export { decodeBase64 } from './strict-base64.js';

type Output = Omit<GetRecordsCommandOutput, '$metadata'>;

/**
 * Reads a GetRecords JSON body straight from its bytes into the SDK's output shape (see `KinesisJsonReader`), or
 * `undefined` when it is not valid JSON of the documented shape — then the caller hands the bytes to the SDK.
 */
export function parseGetRecordsJson(body: Buffer): GetRecordsCommandOutput | undefined {
  try {
    return readGetRecords(new KinesisJsonReader(body)) as GetRecordsCommandOutput;
  } catch (error) {
    if (error === BAIL) return undefined;
    throw error;
  }
}

function readGetRecords(reader: KinesisJsonReader): Output {
  const out = {} as Output;
  let records: Output['Records'];
  let next: string | undefined;
  let behind: number | undefined;
  let children: Output['ChildShards'];
  reader.object((key) => {
    if (key === 'Records') records = reader.isNull() ? undefined : reader.records();
    else if (key === 'NextShardIterator') next = reader.isNull() ? undefined : reader.string(true);
    else if (key === 'MillisBehindLatest') behind = reader.isNull() ? undefined : reader.number();
    else if (key === 'ChildShards') children = reader.isNull() ? undefined : reader.childShards();
    else if (key === '__type') throw BAIL;
    else reader.skip();
  });
  if (!reader.atEnd()) throw BAIL;
  if (records !== undefined) out.Records = records;
  if (next !== undefined) out.NextShardIterator = next;
  if (behind !== undefined) out.MillisBehindLatest = behind;
  if (children !== undefined) out.ChildShards = children;
  return out;
}
