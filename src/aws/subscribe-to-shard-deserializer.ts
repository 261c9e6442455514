import type { SubscribeToShardCommand, SubscribeToShardEvent, SubscribeToShardEventStream } from '@aws-sdk/client-kinesis';
import { EventStreamFrames, type EventStreamFrame } from './event-stream-frames.js';
import { responseMetadata, type RawResponse, type sdkDeserializerOf } from './get-records-deserializer.js';
import { parseRecordsPage } from './records-page-json.js';

/**
 * A lean deserializer for SubscribeToShard, installed per command in the SDK's own middleware stack like the
 * GetRecords one (signing, credentials, endpoints, retries and the HTTP handler stay the SDK's). For a 2xx
 * event-stream answer whose body is a Node stream, the output's `EventStream` decodes the frames itself
 * (`event-stream-frames.ts`) and reads each `SubscribeToShardEvent` payload in one pass from its bytes
 * (`records-page-json.ts`, `Data` straight into `Uint8Array`s). Every other message — an `exception` or `error`,
 * an unknown event type, a second `initial-response`, a payload of another shape, a message checksum that fails,
 * odd headers — goes, on its own, through the SDK's event-stream decoding, so what it yields or throws (the modeled
 * exception classes included) is exactly the SDK's. Anything unexpected before the stream (an error status, another
 * content type, a body that is not a stream) goes to the SDK's deserializer whole.
 */
type Stack = SubscribeToShardCommand['middlewareStack'];
type AddArgs = Parameters<Stack['add']>;
type Middleware = AddArgs[0];
type Handler = ReturnType<Middleware>;
type HandlerArgs = Parameters<Handler>[0];
type HandlerResult = Awaited<ReturnType<Handler>>;
type Member = SubscribeToShardEventStream;
/** The SDK's decoding, one message at a time. */
interface SdkDecoding {
  /** What the SDK yields for `message` (nothing for a skipped one), or its error thrown. */
  message(message: Buffer, first: boolean): Promise<Member[]>;
  /** `error`, met before the stream started, as the SDK's deserializer rethrows it (with its `$metadata`). */
  fail(error: unknown): Promise<never>;
}

const DESERIALIZER_NAME = 'deserializerMiddleware';
const EVENT_STREAM = 'application/vnd.amazon.eventstream';
/**
 * Put before a message handed to the SDK mid-stream, so that the SDK takes it as it would mid-stream (an exception
 * thrown from the iterator, not from its deserializer) — it reads the first message of a stream as the answer's.
 */
const INITIAL_RESPONSE = EventStreamFrames.encode(
  { ':message-type': 'event', ':event-type': 'initial-response', ':content-type': 'application/x-amz-json-1.1' },
  Buffer.from('{}'),
);

/**
 * Installs the lean deserializer on one SubscribeToShard command. `sdkDeserializer`: the client's own
 * (`sdkDeserializerOf`). `signal`: the subscription's; aborting it ends the event stream with an `AbortError`.
 */
export function useLeanSubscribeToShard(
  command: SubscribeToShardCommand,
  sdkDeserializer: NonNullable<ReturnType<typeof sdkDeserializerOf>>,
  signal?: AbortSignal,
): void {
  // The client's deserializer serves every command (it reads the operation from the context): typed for one.
  command.middlewareStack.add(leanMiddleware(sdkDeserializer as unknown as Middleware, signal), {
    name: DESERIALIZER_NAME,
    step: 'deserialize',
    tags: ['DESERIALIZER'],
    override: true,
  } as AddArgs[1]);
}

function leanMiddleware(sdkDeserializer: Middleware, signal: AbortSignal | undefined): Middleware {
  return (next: Handler, context: Parameters<Middleware>[1]) =>
    async (args: HandlerArgs): Promise<HandlerResult> => {
      const { response } = await next(args);
      const raw = response as RawResponse;
      if (!isEventStreamAnswer(raw) || !isNodeStream(raw.body)) {
        return sdkDeserializer(async () => ({ response, output: undefined }), context)(args);
      }
      // The SDK's deserializer on a copy of the answer whose body is one message (or two: see INITIAL_RESPONSE).
      const viaSdk = (body: AsyncIterable<Uint8Array>) =>
        sdkDeserializer(async () => ({ response: { ...raw, headers: { ...raw.headers }, body }, output: undefined }), context)(args);
      const sdk: SdkDecoding = {
        async message(message, first) {
          const { output } = await viaSdk(first ? chunks(message) : chunks(INITIAL_RESPONSE, message));
          const members: Member[] = [];
          for await (const member of (output as { EventStream?: AsyncIterable<Member> }).EventStream ?? []) members.push(member);
          return members;
        },
        async fail(error) {
          await viaSdk({ [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(error instanceof Error ? error : new Error(String(error))) }) });
          throw error; // not reached: the SDK's deserializer rethrows it
        },
      };
      const events = new LeanEventStream(raw.body, sdk, signal);
      await events.open();
      const output = { EventStream: events, $metadata: responseMetadata(raw) };
      return { response, output };
    };
}

async function* chunks(...messages: Buffer[]): AsyncGenerator<Buffer> {
  for (const m of messages) yield m;
}

function isEventStreamAnswer(response: RawResponse): boolean {
  if (typeof response.statusCode !== 'number' || response.statusCode < 200 || response.statusCode >= 300) return false;
  const type = response.headers?.['content-type'];
  return typeof type === 'string' && type.split(';', 1)[0]!.trim().toLowerCase() === EVENT_STREAM;
}

type NodeStream = AsyncIterable<unknown> & { destroy(error?: Error): void };

function isNodeStream(body: unknown): body is NodeStream {
  const b = body as Partial<NodeStream & { on: unknown }> | null | undefined;
  return typeof b?.on === 'function' && typeof b.destroy === 'function' && typeof b[Symbol.asyncIterator] === 'function';
}

/**
 * What a message is to the lean path: its event, read; or its bytes (a copy) for the SDK to decode, with whether it
 * is an `initial-response` and one the lean path may skip as the SDK would (`{}`: what Kinesis sends).
 */
type Step = { event: Member } | { sdk: Buffer; initialResponse: boolean; plainInitialResponse: boolean };

/** Called with the message's bytes valid only during the call (see `EventStreamFrame`): nothing refers to them after. */
function step(frame: EventStreamFrame): Step {
  if (frame.intact && frame.messageType === 'event' && frame.eventType === 'SubscribeToShardEvent') {
    // The type calls every member required; absent or null ones are left out, as the SDK leaves them out.
    const event = parseRecordsPage(frame.payload, 'ContinuationSequenceNumber') as SubscribeToShardEvent | undefined;
    if (event !== undefined) return { event: { SubscribeToShardEvent: event } };
  }
  const initialResponse = frame.messageType === 'event' && frame.eventType === 'initial-response';
  return { sdk: Buffer.from(frame.bytes), initialResponse, plainInitialResponse: initialResponse && frame.intact && isEmptyObject(frame.payload) };
}

/** The answer's events; iterate once (as the SDK's). */
class LeanEventStream implements AsyncIterable<Member> {
  private readonly frames: EventStreamFrames;
  private readonly source: AsyncIterator<unknown>;
  /** Members read while opening, yielded first. */
  private readonly pending: Member[] = [];
  private readonly onAbort: (() => void) | undefined;

  constructor(
    body: NodeStream,
    private readonly sdk: SdkDecoding,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.source = body[Symbol.asyncIterator]();
    this.frames = new EventStreamFrames(this.source);
    if (signal !== undefined) {
      // The SDK's HTTP handler closes the request on abort too; failing the body here makes sure a pending read
      // (or the next one) ends with the abort whatever the handler did.
      this.onAbort = () => body.destroy(abortError(signal));
      signal.addEventListener('abort', this.onAbort, { once: true });
    }
  }

  /**
   * Reads up to the first message the SDK does not skip, as the SDK's `send` does before it resolves: the
   * `initial-response` (skipped here), or an event (yielded first). An exception there fails the call.
   */
  async open(): Promise<void> {
    try {
      for (;;) {
        let next: Step | undefined;
        try {
          this.throwIfAborted();
          next = await this.frames.next(step);
        } catch (error) {
          await this.sdk.fail(error);
        }
        if (next === undefined) return;
        if ('event' in next) {
          this.pending.push(next.event);
          return;
        }
        if (next.plainInitialResponse) return;
        const members = await this.sdk.message(next.sdk, true);
        if (members.length > 0) {
          this.pending.push(...members);
          return;
        }
        // Skipped by the SDK: an unknown event type goes on to the next message; an initial-response is the answer's.
        if (next.initialResponse) return;
      }
    } catch (error) {
      await this.close();
      throw error;
    }
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Member, void, undefined> {
    try {
      while (this.pending.length > 0) yield this.pending.shift()!;
      for (;;) {
        this.throwIfAborted();
        const next = await this.frames.next(step);
        if (next === undefined) return;
        if ('event' in next) yield next.event;
        else for (const member of await this.sdk.message(next.sdk, false)) yield member;
      }
    } finally {
      await this.close();
    }
  }

  private throwIfAborted(): void {
    if (this.signal?.aborted === true) throw abortError(this.signal);
  }

  /** Stops listening and lets go of the body (Node's stream iterator destroys it unless it ended). */
  private async close(): Promise<void> {
    if (this.onAbort !== undefined) this.signal?.removeEventListener('abort', this.onAbort);
    try {
      await this.source.return?.();
    } catch {
      // already failed: its error is the one reported
    }
  }
}

/** `{}` with optional whitespace: the initial-response Kinesis sends (anything else is read by the SDK). */
function isEmptyObject(payload: Buffer): boolean {
  let p = 0;
  const ws = (): void => {
    while (p < payload.byteLength && (payload[p] === 0x20 || payload[p] === 0x0a || payload[p] === 0x0d || payload[p] === 0x09)) p++;
  };
  ws();
  if (payload[p++] !== 0x7b) return false;
  ws();
  if (payload[p++] !== 0x7d) return false;
  ws();
  return p === payload.byteLength;
}

/** As the SDK's HTTP handlers name an aborted request (`AbortError`, the signal's reason as the cause). */
function abortError(signal: AbortSignal): Error {
  const error = new Error('Request aborted', { cause: signal.reason });
  error.name = 'AbortError';
  return error;
}
