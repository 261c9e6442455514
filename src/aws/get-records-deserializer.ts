import type { GetRecordsCommand, GetRecordsCommandOutput, KinesisClient, _Record as SdkRecord } from '@aws-sdk/client-kinesis';

/**
 * A lean deserializer for GetRecords, installed per command in the SDK's own middleware stack (signing, credentials,
 * endpoints, retries and error mapping stay the SDK's). It replaces only the step that turns a 2xx JSON answer into
 * the output: one `JSON.parse` of the body, `Data` decoded straight into `Uint8Array`s, no schema walk, no per-value
 * regular expression. Anything else — an error status, another content type (CBOR), a body that is not a Node stream,
 * JSON that is not the shape AWS documents (a string timestamp, a `__type`, non-canonical base64...) — goes to the
 * SDK's own deserializer on the same bytes, so the result (or the error) is exactly the SDK's.
 */
type Stack = GetRecordsCommand['middlewareStack'];
type AddArgs = Parameters<Stack['add']>;
type Middleware = AddArgs[0];
type Handler = ReturnType<Middleware>;
type HandlerArgs = Parameters<Handler>[0];
type HandlerResult = Awaited<ReturnType<Handler>>;

/** What the SDK's response object looks like to us (an `HttpResponse`). */
interface RawResponse {
  statusCode: number;
  headers: Record<string, string | undefined>;
  body: unknown;
}

/** The name the SDK's deserializer has; overriding it (same step and priority) replaces it for one command only. */
const DESERIALIZER_NAME = 'deserializerMiddleware';
const JSON_CONTENT_TYPES = new Set(['application/x-amz-json-1.1', 'application/json']);

/**
 * The SDK's own deserializer of `client`, as installed on its stack (found by name), or `undefined` when the client
 * has none we recognise or does not speak awsJson1_1 — then GetRecords keeps the SDK's path.
 */
export function sdkDeserializerOf(client: KinesisClient): Middleware | undefined {
  const protocol = (client.config as { protocol?: unknown }).protocol as { getShapeId?: () => string } | undefined;
  if (typeof protocol?.getShapeId !== 'function' || protocol.getShapeId() !== 'aws.protocols#awsJson1_1') return undefined;
  let found: Middleware | undefined;
  // A stack copies its entries into another via `applyToStack`; a recording stand-in keeps the one we want.
  const recorder = {
    add(middleware: Middleware, options?: { name?: string; step?: string }) {
      if (options?.name === DESERIALIZER_NAME && options.step === 'deserialize') found = middleware;
    },
    addRelativeTo() {},
    identifyOnResolve() {
      return false;
    },
  };
  try {
    client.middlewareStack.applyToStack(recorder as unknown as Parameters<KinesisClient['middlewareStack']['applyToStack']>[0]);
  } catch {
    return undefined;
  }
  return found;
}

/**
 * Installs the lean deserializer on one GetRecords command. `sdkDeserializer` is {@link sdkDeserializerOf} of the
 * client that will send it (the fallback).
 */
export function useLeanGetRecords(command: GetRecordsCommand, sdkDeserializer: Middleware): void {
  command.middlewareStack.add(leanMiddleware(sdkDeserializer), {
    name: DESERIALIZER_NAME,
    step: 'deserialize',
    tags: ['DESERIALIZER'],
    override: true,
  } as AddArgs[1]);
}

function leanMiddleware(sdkDeserializer: Middleware): Middleware {
  return (next: Handler, context: Parameters<Middleware>[1]) =>
    async (args: HandlerArgs): Promise<HandlerResult> => {
      const { response } = await next(args);
      const raw = response as RawResponse;
      const viaSdk = (): Promise<HandlerResult> => sdkDeserializer(async () => ({ response, output: undefined }), context)(args);
      if (!isPlainJsonAnswer(raw)) return viaSdk();
      const body = await readBody(raw.body);
      if (body === undefined) return viaSdk();
      const output = parseGetRecords(body);
      // The SDK reads a Uint8Array body as it would have read the stream.
      raw.body = body;
      if (output === undefined) return viaSdk();
      output.$metadata = {
        httpStatusCode: raw.statusCode,
        requestId: raw.headers['x-amzn-requestid'] ?? raw.headers['x-amzn-request-id'] ?? raw.headers['x-amz-request-id'],
        extendedRequestId: raw.headers['x-amz-id-2'],
        cfId: raw.headers['x-amz-cf-id'],
      };
      return { response, output };
    };
}

function isPlainJsonAnswer(response: RawResponse): boolean {
  if (typeof response.statusCode !== 'number' || response.statusCode < 200 || response.statusCode >= 300) return false;
  const type = response.headers?.['content-type'];
  return typeof type === 'string' && JSON_CONTENT_TYPES.has(type.split(';', 1)[0]!.trim().toLowerCase());
}

/** The whole body of a Node stream (or bytes already read); `undefined` for anything else. */
function readBody(body: unknown): Promise<Buffer | undefined> | Buffer | undefined {
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const stream = body as NodeJS.ReadableStream | null | undefined;
  if (stream === null || stream === undefined || typeof stream.on !== 'function' || typeof stream.read !== 'function') return undefined;
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    stream.on('data', (chunk: Buffer | string) => {
      const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      chunks.push(b);
      length += b.byteLength;
    });
    let ended = false;
    stream.on('error', reject);
    stream.on('end', () => {
      ended = true;
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, length));
    });
    // A connection cut mid-body may close the stream without an error: never wait forever on it.
    stream.on('close', () => {
      if (!ended) reject(Object.assign(new Error('GetRecords answer closed before its end'), { code: 'ECONNRESET' }));
    });
  });
}

type MutableOutput = Omit<GetRecordsCommandOutput, '$metadata'> & { $metadata?: GetRecordsCommandOutput['$metadata'] };

/**
 * The SDK's output for a GetRecords JSON body, or `undefined` when the body is not exactly the documented shape
 * (the caller then lets the SDK decide). Mirrors the SDK: `null` members are absent, unknown members are dropped.
 */
export function parseGetRecords(body: Buffer): GetRecordsCommandOutput | undefined {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
  if (!isObject(json) || json.__type !== undefined) return undefined;
  const out = {} as MutableOutput;
  const records = json.Records;
  if (records != null) {
    if (!Array.isArray(records)) return undefined;
    const parsed: SdkRecord[] = new Array<SdkRecord>(records.length);
    for (let i = 0; i < records.length; i++) {
      const r = toSdkRecord(records[i]);
      if (r === undefined) return undefined;
      parsed[i] = r;
    }
    out.Records = parsed;
  }
  const next = json.NextShardIterator;
  if (next != null) {
    if (typeof next !== 'string') return undefined;
    out.NextShardIterator = next;
  }
  const behind = json.MillisBehindLatest;
  if (behind != null) {
    if (typeof behind !== 'number') return undefined;
    out.MillisBehindLatest = behind;
  }
  const children = json.ChildShards;
  if (children != null) {
    if (!Array.isArray(children)) return undefined;
    const parsed = [];
    for (const c of children) {
      const child = toSdkChildShard(c);
      if (child === undefined) return undefined;
      parsed.push(child);
    }
    out.ChildShards = parsed;
  }
  return out as GetRecordsCommandOutput;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function toSdkRecord(r: unknown): SdkRecord | undefined {
  if (!isObject(r) || r.__type !== undefined) return undefined;
  const out: SdkRecord = {} as SdkRecord;
  const { SequenceNumber, Data, ApproximateArrivalTimestamp, PartitionKey, EncryptionType } = r;
  if (SequenceNumber != null) {
    if (typeof SequenceNumber !== 'string') return undefined;
    out.SequenceNumber = SequenceNumber;
  }
  if (Data != null) {
    if (typeof Data !== 'string') return undefined;
    const bytes = decodeBase64(Data);
    if (bytes === undefined) return undefined;
    out.Data = bytes;
  }
  if (ApproximateArrivalTimestamp != null) {
    if (typeof ApproximateArrivalTimestamp !== 'number' || !Number.isFinite(ApproximateArrivalTimestamp)) return undefined;
    out.ApproximateArrivalTimestamp = new Date(Math.round(ApproximateArrivalTimestamp * 1000));
  }
  if (PartitionKey != null) {
    if (typeof PartitionKey !== 'string') return undefined;
    out.PartitionKey = PartitionKey;
  }
  if (EncryptionType != null) {
    if (typeof EncryptionType !== 'string') return undefined;
    out.EncryptionType = EncryptionType as SdkRecord['EncryptionType'];
  }
  return out;
}

type SdkChildShard = NonNullable<GetRecordsCommandOutput['ChildShards']>[number];

function toSdkChildShard(c: unknown): SdkChildShard | undefined {
  if (!isObject(c) || c.__type !== undefined) return undefined;
  const out = {} as SdkChildShard;
  const { ShardId, ParentShards, HashKeyRange } = c;
  if (ShardId != null) {
    if (typeof ShardId !== 'string') return undefined;
    out.ShardId = ShardId;
  }
  if (ParentShards != null) {
    if (!Array.isArray(ParentShards) || !ParentShards.every((p) => typeof p === 'string')) return undefined;
    out.ParentShards = ParentShards;
  }
  if (HashKeyRange != null) {
    if (!isObject(HashKeyRange) || HashKeyRange.__type !== undefined) return undefined;
    const range = {} as NonNullable<SdkChildShard['HashKeyRange']>;
    const { StartingHashKey, EndingHashKey } = HashKeyRange;
    if (StartingHashKey != null) {
      if (typeof StartingHashKey !== 'string') return undefined;
      range.StartingHashKey = StartingHashKey;
    }
    if (EndingHashKey != null) {
      if (typeof EndingHashKey !== 'string') return undefined;
      range.EndingHashKey = EndingHashKey;
    }
    out.HashKeyRange = range;
  }
  return out;
}

const EQUALS = 61;

/**
 * Standard base64 (what the SDK accepts: `[A-Za-z0-9+/]*={0,2}`, length a multiple of 4) decoded into a
 * `Uint8Array` view, or `undefined`. Node's decoder skips characters outside its alphabets, so a string with any
 * such character decodes to fewer bytes than its length promises; the URL-safe `-` and `_` it also accepts are
 * looked for directly. Cheaper than the SDK's regular expression over every payload.
 */
export function decodeBase64(s: string): Uint8Array | undefined {
  const length = s.length;
  if (length % 4 !== 0) return undefined;
  const padding = length === 0 ? 0 : s.charCodeAt(length - 1) === EQUALS ? (s.charCodeAt(length - 2) === EQUALS ? 2 : 1) : 0;
  const bytes = Buffer.from(s, 'base64');
  if (bytes.byteLength !== (length / 4) * 3 - padding) return undefined;
  if (s.includes('-') || s.includes('_')) return undefined;
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
