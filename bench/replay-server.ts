/**
 * The replay endpoint of bench/replay.ts, in its own process so its CPU is not the consumer's: answers Kinesis
 * calls from a recording (bench/replay.ts writes it) at memory speed. GetRecords answers are the recorded bodies,
 * byte for byte, except for `NextShardIterator`, which chains the recorded pages of each shard
 * (`replay-<shard>-<page>`; the last, empty page points to itself). ListShards and DescribeStreamSummary answer with
 * their recorded bodies; GetShardIterator TRIM_HORIZON / LATEST give the first / last page. SubscribeToShard (any
 * consumer ARN) answers with an event stream in the wire format (`application/vnd.amazon.eventstream`: an
 * `initial-response`, then one `SubscribeToShardEvent` per recorded page with records — the page's records, its
 * last sequence number as `ContinuationSequenceNumber`, its `MillisBehindLatest` — then the end of the answer, as
 * when AWS ends a subscription); TRIM_HORIZON starts at the first page, AT/AFTER_SEQUENCE_NUMBER at the first
 * page with a record past it. Anything else: a 400 `UnknownOperationException`, reported on stderr.
 *
 *   node --import tsx bench/replay-server.ts <recording.json>    → prints {"port": N} on stdout; exits when stdin ends
 */
import { readFileSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Recording {
  contentType: string;
  /** Recorded answers by operation (X-Amz-Target without the service prefix), base64. */
  answers: Record<string, string>;
  shards: { shardId: string; pages: string[] }[];
}

/** Stands for the recorded `NextShardIterator` value in recorded pages. */
export const NEXT_ITERATOR_PLACEHOLDER = '@@NEXT_ITERATOR@@';

const recording = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as Recording;
const answers = new Map(Object.entries(recording.answers).map(([op, b64]) => [op, Buffer.from(b64, 'base64')]));
const pages = recording.shards.map((shard, s) =>
  shard.pages.map((page, p) => {
    const next = `replay-${s}-${Math.min(p + 1, shard.pages.length - 1)}`;
    return Buffer.from(page.replace(NEXT_ITERATOR_PLACEHOLDER, next), 'utf8');
  }),
);
const shardIndex = new Map(recording.shards.map((s, i) => [s.shardId, i]));

/** One event-stream message: prelude (lengths + CRC), string headers, payload, message CRC (all CRC32, big-endian). */
export function eventMessage(headers: Record<string, string>, payload: Buffer): Buffer {
  const encoded = Object.entries(headers).map(([name, value]) => {
    const n = Buffer.from(name, 'utf8');
    const v = Buffer.from(value, 'utf8');
    const h = Buffer.alloc(1 + n.length + 1 + 2 + v.length);
    h.writeUInt8(n.length, 0);
    n.copy(h, 1);
    h.writeUInt8(7, 1 + n.length); // type 7: string
    h.writeUInt16BE(v.length, 2 + n.length);
    v.copy(h, 4 + n.length);
    return h;
  });
  const headerBytes = Buffer.concat(encoded);
  const total = 12 + headerBytes.length + payload.length + 4;
  const message = Buffer.alloc(total);
  message.writeUInt32BE(total, 0);
  message.writeUInt32BE(headerBytes.length, 4);
  message.writeUInt32BE(crc32(message.subarray(0, 8)), 8);
  headerBytes.copy(message, 12);
  payload.copy(message, 12 + headerBytes.length);
  message.writeUInt32BE(crc32(message.subarray(0, total - 4)), total - 4);
  return message;
}

const INITIAL_RESPONSE = eventMessage({ ':event-type': 'initial-response', ':content-type': 'application/json', ':message-type': 'event' }, Buffer.from('{}'));

/** Per shard: one SubscribeToShardEvent per recorded page with records, and the last sequence number of each. */
const events = recording.shards.map((shard) =>
  shard.pages.flatMap((page) => {
    const answer = JSON.parse(page) as { Records: { SequenceNumber: string }[]; MillisBehindLatest?: number };
    if (answer.Records.length === 0) return [];
    const payload = { Records: answer.Records, ContinuationSequenceNumber: answer.Records.at(-1)!.SequenceNumber, MillisBehindLatest: answer.MillisBehindLatest ?? 0 };
    const headers = { ':event-type': 'SubscribeToShardEvent', ':content-type': 'application/json', ':message-type': 'event' };
    return [{ last: BigInt(payload.ContinuationSequenceNumber), message: eventMessage(headers, Buffer.from(JSON.stringify(payload), 'utf8')) }];
  }),
);
const reported = new Set<string>();
let requestId = 0;

function answer(res: ServerResponse, status: number, body: Buffer): void {
  res.writeHead(status, {
    'content-type': recording.contentType,
    'content-length': String(body.byteLength),
    'x-amzn-requestid': `replay-${++requestId}`,
  });
  res.end(body);
}

function fail(res: ServerResponse, type: string, message: string): void {
  if (!reported.has(type + message)) {
    reported.add(type + message);
    process.stderr.write(`replay-server: ${type}: ${message}\n`);
  }
  answer(res, 400, Buffer.from(JSON.stringify({ __type: type, message })));
}

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const op = String(req.headers['x-amz-target'] ?? '').split('.').pop() ?? '';
    const input = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
    if (op === 'GetRecords') {
      const m = /^replay-(\d+)-(\d+)$/.exec(String(input.ShardIterator));
      const page = m ? pages[Number(m[1])]?.[Number(m[2])] : undefined;
      if (page === undefined) return fail(res, 'InvalidArgumentException', `unknown iterator ${String(input.ShardIterator)}`);
      return answer(res, 200, page);
    }
    if (op === 'GetShardIterator') {
      const s = shardIndex.get(String(input.ShardId));
      if (s === undefined) return fail(res, 'ResourceNotFoundException', `no shard ${String(input.ShardId)}`);
      const type = String(input.ShardIteratorType);
      if (type !== 'TRIM_HORIZON' && type !== 'LATEST') return fail(res, 'InvalidArgumentException', `replay knows no ${type}`);
      const p = type === 'TRIM_HORIZON' ? 0 : pages[s]!.length - 1;
      return answer(res, 200, Buffer.from(JSON.stringify({ ShardIterator: `replay-${s}-${p}` })));
    }
    if (op === 'SubscribeToShard') {
      const s = shardIndex.get(String(input.ShardId));
      if (s === undefined) return fail(res, 'ResourceNotFoundException', `no shard ${String(input.ShardId)}`);
      const position = input.StartingPosition as { Type: string; SequenceNumber?: string };
      let from = 0;
      if (position.Type === 'AT_SEQUENCE_NUMBER' || position.Type === 'AFTER_SEQUENCE_NUMBER') {
        const after = BigInt(position.SequenceNumber ?? '0') - (position.Type === 'AT_SEQUENCE_NUMBER' ? 1n : 0n);
        // The page holding the first record past `after` (pages are whole: a resubscription mid-page repeats it).
        from = events[s]!.findIndex((e) => e.last > after);
        if (from < 0) from = events[s]!.length;
      } else if (position.Type !== 'TRIM_HORIZON') {
        return fail(res, 'InvalidArgumentException', `replay knows no ${position.Type}`);
      }
      const body = Buffer.concat([INITIAL_RESPONSE, ...events[s]!.slice(from).map((e) => e.message)]);
      res.writeHead(200, { 'content-type': 'application/vnd.amazon.eventstream', 'content-length': String(body.byteLength), 'x-amzn-requestid': `replay-${++requestId}` });
      return res.end(body);
    }
    const recorded = answers.get(op);
    if (recorded !== undefined) return answer(res, 200, recorded);
    return fail(res, 'UnknownOperationException', `no recorded answer for ${op}`);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: (server.address() as AddressInfo).port })));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
