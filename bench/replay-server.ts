/**
 * The replay endpoint of bench/replay.ts, in its own process so its CPU is not the consumer's: answers Kinesis
 * calls from a recording (bench/replay.ts writes it) at memory speed. GetRecords answers are the recorded bodies,
 * byte for byte, except for `NextShardIterator`, which chains the recorded pages of each shard
 * (`replay-<shard>-<page>`; the last, empty page points to itself). ListShards and DescribeStreamSummary answer with
 * their recorded bodies; GetShardIterator TRIM_HORIZON / LATEST give the first / last page. Anything else: a 400
 * `UnknownOperationException`, reported on stderr.
 *
 *   node --import tsx bench/replay-server.ts <recording.json>    → prints {"port": N} on stdout; exits when stdin ends
 */
import { readFileSync } from 'node:fs';
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
    const recorded = answers.get(op);
    if (recorded !== undefined) return answer(res, 200, recorded);
    return fail(res, 'UnknownOperationException', `no recorded answer for ${op}`);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: (server.address() as AddressInfo).port })));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
