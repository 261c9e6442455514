import type { GetRecordsCommand, GetRecordsCommandOutput, KinesisClient } from '@aws-sdk/client-kinesis';
import type { AnswerBufferPool } from './answer-buffer-pool.js';
import { parseRecordsPage } from './records-page-json.js';

/**
 * A lean deserializer for GetRecords, installed per command in the SDK's own middleware stack (signing, credentials,
 * endpoints, retries and error mapping stay the SDK's). It replaces only the step that turns a 2xx JSON answer into
 * the output: one pass over the body's bytes (`records-page-json.ts` with `kinesis-json-reader.ts`), `Data` decoded
 * straight into `Uint8Array`s, no schema walk, no per-value regular expression; a large body is read into a reused
 * buffer (`answer-buffer-pool.ts`). Anything else — an error status, another content type (CBOR), a body that is not
 * a Node stream, JSON that is not the shape AWS documents (a string timestamp, a `__type`, non-canonical base64...) —
 * goes to the SDK's own deserializer on the same bytes, so the result (or the error) is exactly the SDK's.
 */
type Stack = GetRecordsCommand['middlewareStack'];
type AddArgs = Parameters<Stack['add']>;
type Middleware = AddArgs[0];
type Handler = ReturnType<Middleware>;
type HandlerArgs = Parameters<Handler>[0];
type HandlerResult = Awaited<ReturnType<Handler>>;

/** What the SDK's response object looks like to us (an `HttpResponse`). */
export interface RawResponse {
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
export function useLeanGetRecords(command: GetRecordsCommand, sdkDeserializer: Middleware, pool?: AnswerBufferPool): void {
  command.middlewareStack.add(leanMiddleware(sdkDeserializer, pool), {
    name: DESERIALIZER_NAME,
    step: 'deserialize',
    tags: ['DESERIALIZER'],
    override: true,
  } as AddArgs[1]);
}

function leanMiddleware(sdkDeserializer: Middleware, pool: AnswerBufferPool | undefined): Middleware {
  return (next: Handler, context: Parameters<Middleware>[1]) =>
    async (args: HandlerArgs): Promise<HandlerResult> => {
      const { response } = await next(args);
      const raw = response as RawResponse;
      const viaSdk = (): Promise<HandlerResult> => sdkDeserializer(async () => ({ response, output: undefined }), context)(args);
      if (!isPlainJsonAnswer(raw)) return viaSdk();
      const read = await readBody(raw.body, contentLength(raw), pool);
      if (read === undefined) return viaSdk();
      const output = parseRecordsPage(read.bytes, 'NextShardIterator') as GetRecordsCommandOutput | undefined;
      if (output === undefined) {
        raw.body = read.bytes; // the SDK reads a Uint8Array body as it would have read the stream
        return viaSdk();
      }
      // Parsed: nothing refers to the bytes any more (every value is a copy), so a pooled buffer goes back.
      raw.body = EMPTY;
      if (read.pooled !== undefined) pool!.give(read.pooled);
      output.$metadata = responseMetadata(raw);
      return { response, output };
    };
}

/** The output's `$metadata`, as the SDK fills it from the answer. */
export function responseMetadata(raw: RawResponse): GetRecordsCommandOutput['$metadata'] {
  return {
    httpStatusCode: raw.statusCode,
    requestId: raw.headers['x-amzn-requestid'] ?? raw.headers['x-amzn-request-id'] ?? raw.headers['x-amz-request-id'],
    extendedRequestId: raw.headers['x-amz-id-2'],
    cfId: raw.headers['x-amz-cf-id'],
  };
}

function isPlainJsonAnswer(response: RawResponse): boolean {
  if (typeof response.statusCode !== 'number' || response.statusCode < 200 || response.statusCode >= 300) return false;
  const type = response.headers?.['content-type'];
  return typeof type === 'string' && JSON_CONTENT_TYPES.has(type.split(';', 1)[0]!.trim().toLowerCase());
}

/** The answer's `Content-Length`, when it is a plain decimal within reason (else `undefined`). */
function contentLength(response: RawResponse): number | undefined {
  const text = response.headers['content-length'];
  if (typeof text !== 'string' || !/^\d{1,9}$/.test(text)) return undefined;
  return Number(text);
}

/** An answer's bytes; `pooled`: the pool's buffer they are in, to give back once read. */
interface Body {
  bytes: Buffer;
  pooled?: Buffer;
}

/** Answers at least this long are read into a pooled buffer; smaller ones are cheap to allocate. */
const POOLED_MIN_BYTES = 64 * 1024;
const EMPTY = new Uint8Array(0);

/**
 * The whole body of a Node stream (or bytes already read); `undefined` for anything else. With a `Content-Length`
 * the chunks are copied into one buffer of that size as they arrive (while they are still in the CPU's cache: a
 * multi-megabyte `Buffer.concat` at the end cost more than the copy itself), from `pool` when the answer is large;
 * `pooled` is then that buffer, to give back once read. A body of another length is collected and joined as before.
 */
function readBody(
  body: unknown,
  expectedLength: number | undefined,
  pool: AnswerBufferPool | undefined,
): Promise<Body | undefined> | Body | undefined {
  if (body instanceof Uint8Array) return { bytes: Buffer.from(body.buffer, body.byteOffset, body.byteLength) };
  const stream = body as NodeJS.ReadableStream | null | undefined;
  if (stream === null || stream === undefined || typeof stream.on !== 'function' || typeof stream.read !== 'function') return undefined;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    const expected = expectedLength !== undefined && expectedLength > 0 ? expectedLength : 0;
    let pooled = pool !== undefined && expected >= POOLED_MIN_BYTES ? pool.take(expected) : undefined;
    if (pooled === undefined) pool?.trim(); // a shard that caught up still lets go of the big buffers in time
    let whole = pooled ?? (expected > 0 ? Buffer.allocUnsafeSlow(expected) : undefined);
    stream.on('data', (chunk: Buffer | string) => {
      const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      if (whole !== undefined && length + b.byteLength <= expected) b.copy(whole, length);
      else {
        // Longer than announced: collect as before (a copy, so that a pooled buffer stays the pool's).
        if (whole !== undefined) chunks.push(pooled !== undefined ? Buffer.from(whole.subarray(0, length)) : whole.subarray(0, length));
        if (pooled !== undefined) pool!.give(pooled);
        whole = pooled = undefined;
        chunks.push(b);
      }
      length += b.byteLength;
    });
    let ended = false;
    stream.on('error', reject);
    stream.on('end', () => {
      ended = true;
      if (whole === undefined) return resolve({ bytes: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, length) });
      const read: Body = { bytes: whole.subarray(0, length) };
      if (pooled !== undefined) read.pooled = pooled;
      resolve(read);
    });
    // A connection cut mid-body may close the stream without an error: never wait forever on it.
    stream.on('close', () => {
      if (!ended) reject(Object.assign(new Error('GetRecords answer closed before its end'), { code: 'ECONNRESET' }));
    });
  });
}
