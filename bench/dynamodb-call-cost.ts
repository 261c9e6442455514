/**
 * What one lease-table write costs this process in CPU: a conditional UpdateItem (a checkpoint) through the SDK as
 * the library sends it (`DynamoDbApi`, per-call deadline), through the bare SDK client (no options; with the
 * client's `cacheMiddleware`, which needs calls without options), and as a raw HTTP/1.1 request of the same JSON
 * (no signing, no SDK) — the floor. dynalite runs in a child process, so `process.cpuUsage()` is the caller's.
 *
 *   npx tsx bench/dynamodb-call-cost.ts [--calls 300] [--rounds 5]
 *
 * Interleaved rounds after one warm-up round; medians of CPU ms per call.
 */
import { spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { parseArgs } from 'node:util';
import { CreateTableCommand, DynamoDBClient, PutItemCommand, UpdateItemCommand, type UpdateItemCommandInput } from '@aws-sdk/client-dynamodb';
import { createDynamoDbClient, http1Handler } from '../src/aws/clients.js';
import { DynamoDbApi } from '../src/aws/dynamodb-api.js';
import { TEST_CREDENTIALS, TEST_REGION } from '../test/support/emulators.js';

const { values: args } = parseArgs({ options: { calls: { type: 'string', default: '300' }, rounds: { type: 'string', default: '5' } } });
const CALLS = Number(args.calls);
const ROUNDS = Number(args.rounds);

const child = spawn(process.execPath, ['-e', `const s=require('dynalite')({createTableMs:0});s.listen(0,'127.0.0.1',()=>console.log(s.address().port));process.stdin.on('end',()=>process.exit(0));process.stdin.resume();`], {
  stdio: ['pipe', 'pipe', 'inherit'],
});
process.on('exit', () => child.kill('SIGKILL'));
const endpoint = await new Promise<string>((resolve) => child.stdout.once('data', (d: Buffer) => resolve(`http://127.0.0.1:${d.toString().trim()}`)));
const settings = { region: TEST_REGION, credentials: TEST_CREDENTIALS, endpoint };

const TABLE = 'bench-call-cost';
const input = (i: number): UpdateItemCommandInput => ({
  TableName: TABLE,
  Key: { leaseKey: { S: 'shardId-000000000000' } },
  UpdateExpression: 'SET #c = :c, leaseCounter = :n',
  ConditionExpression: 'leaseOwner = :o',
  ExpressionAttributeNames: { '#c': 'checkpoint' },
  ExpressionAttributeValues: { ':c': { S: `4960000000000000000000000000000000000000000000000${1000 + i}` }, ':n': { N: String(i) }, ':o': { S: 'worker' } },
});
const setup = new DynamoDBClient({ ...settings, requestHandler: http1Handler() });
await setup.send(new CreateTableCommand({ TableName: TABLE, KeySchema: [{ AttributeName: 'leaseKey', KeyType: 'HASH' }], AttributeDefinitions: [{ AttributeName: 'leaseKey', AttributeType: 'S' }], BillingMode: 'PAY_PER_REQUEST' }));
for (let tries = 0; ; tries++) {
  try {
    await setup.send(new PutItemCommand({ TableName: TABLE, Item: { leaseKey: { S: 'shardId-000000000000' }, leaseOwner: { S: 'worker' } } }));
    break;
  } catch (error) {
    if (tries > 50) throw error;
    await new Promise((r) => setTimeout(r, 20));
  }
}

const api = new DynamoDbApi(createDynamoDbClient(settings), { timeouts: { itemMillis: 10_000 } });
const bare = new DynamoDBClient({ ...settings, maxAttempts: 2, requestHandler: http1Handler() });
const cached = new DynamoDBClient({ ...settings, maxAttempts: 2, requestHandler: http1Handler(), cacheMiddleware: true });
const agent = new Agent({ keepAlive: true });
const url = new URL(endpoint);
const raw = (i: number): Promise<void> =>
  new Promise((resolve, reject) => {
    const body = JSON.stringify(input(i));
    const req = request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        method: 'POST',
        path: '/',
        headers: {
          'content-type': 'application/x-amz-json-1.0',
          'x-amz-target': 'DynamoDB_20120810.UpdateItem',
          authorization: 'AWS4-HMAC-SHA256 Credential=AKIDLOCALTEST/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0',
          'x-amz-date': '20260101T000000Z',
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(Buffer.concat(chunks).toString()))));
      },
    );
    req.on('error', reject);
    req.end(body);
  });

const variants: [string, (i: number) => Promise<unknown>][] = [
  ['DynamoDbApi.updateItem (the library: deadline, abort signal)', (i) => {
    const x = input(i);
    return api.updateItem({ tableName: TABLE, key: x.Key!, updateExpression: x.UpdateExpression!, conditionExpression: x.ConditionExpression, expressionAttributeNames: x.ExpressionAttributeNames, expressionAttributeValues: x.ExpressionAttributeValues });
  }],
  ['bare SDK client.send(UpdateItemCommand)', (i) => bare.send(new UpdateItemCommand(input(i)))],
  ['bare SDK, cacheMiddleware: true', (i) => cached.send(new UpdateItemCommand(input(i)))],
  ['raw HTTP/1.1 request, same JSON (floor)', raw],
];
const samples = new Map(variants.map(([name]) => [name, [] as number[]]));
for (let round = 0; round <= ROUNDS; round++) {
  const order = round % 2 === 0 ? variants : [...variants].reverse();
  for (const [name, call] of order) {
    const c0 = process.cpuUsage();
    for (let i = 0; i < CALLS; i++) await call(i);
    const c = process.cpuUsage(c0);
    if (round > 0) samples.get(name)!.push((c.user + c.system) / 1000 / CALLS);
  }
}
const median = (v: number[]): number => [...v].sort((a, b) => a - b)[v.length >> 1]!;
const floor = median(samples.get(variants.at(-1)![0])!);
console.log(`| UpdateItem (conditional checkpoint write) | CPU ms per call (median of ${ROUNDS} × ${CALLS}) | vs raw HTTP |`);
console.log('|---|---:|---:|');
for (const [name] of variants) {
  const m = median(samples.get(name)!);
  console.log(`| ${name} | ${m.toFixed(3)} | ${(m / floor).toFixed(2)}× |`);
}
api.close();
bare.destroy();
cached.destroy();
setup.destroy();
agent.destroy();
child.stdin.end();
