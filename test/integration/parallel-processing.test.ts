// recordHandler + processing on the emulators: (1) 2 worker processes, 4 shards, 64 keys, in-flight 16, handler
// 5–30 ms, a kill -9 mid-run and a graceful handoff — nothing lost, per-key order of first deliveries, no key running
// twice at once, nothing started at or below a checkpoint already written; (2) a record that always fails goes to a
// dead-letter Kinesis stream with its metadata and everything after it is processed; (3) the same for a batch
// processor reporting a partial failure; (4) a multi-stream application (2 streams, 2 workers, a graceful rebalance):
// every record once, per-key order, each stream's shards checkpointed at their low-water mark; (5) expired records
// (maxRecordAgeMillis) dead-lettered without a try, in events and metrics; (6) fan-out.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { KinesisApi } from '../../src/aws/kinesis-api.js';
import { createKinesisClient } from '../../src/aws/clients.js';
import { createDynamoDbClient } from '../../src/aws/clients.js';
import { DynamoDbApi } from '../../src/aws/dynamodb-api.js';
import { DynamoDbLeaseStore } from '../../src/leases/dynamodb-lease-store.js';
import { parseStreamIdentifier } from '../../src/leases/multi-stream.js';
import { RecordAggregator, Scheduler, type DeadLetterMessage, type KinesisClientRecord } from '../../src/index.js';
import { startDynalite, startKinesalite, startKinesisLocal, stopAll, TEST_CREDENTIALS, TEST_REGION, uniqueName, type Emulator } from '../support/emulators.js';
import { clientsFor, createStream, kinesisAdmin, waitFor } from '../support/scenario.js';
import { seededRandom } from '../support/seeded-random.js';
import type { MetricDatum } from '../../src/metrics/metrics-sink.js';
import type { ParallelReport, ParallelWorkerConfig } from '../support/parallel-worker-process.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ENTRY = fileURLToPath(new URL('../support/parallel-worker-process.ts', import.meta.url));
const encoder = new TextEncoder();
const decoder = new TextDecoder();

class Fleet {
  readonly reports: ParallelReport[] = [];
  private readonly children = new Map<string, ChildProcess>();

  /** Spawns a worker; resolves once it reports `started` (with `waitForGo`: `loaded`; then call `go`). */
  start(config: ParallelWorkerConfig): Promise<void> {
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!/^AWS_/.test(k) && k !== 'NODE_OPTIONS' && !k.startsWith('NODE_TEST')) env[k] = v;
    const child = spawn(process.execPath, ['--import', 'tsx', ENTRY, JSON.stringify(config)], { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe', 'ipc'], shell: false });
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-8000)));
    this.children.set(config.workerId, child);
    return new Promise((resolve, reject) => {
      child.on('message', (m: ParallelReport) => {
        this.reports.push(m);
        if (m.type === (config.waitForGo ? 'loaded' : 'started') && m.workerId === config.workerId) resolve();
      });
      child.once('exit', (code, signal) => reject(new Error(`${config.workerId} exited (${code} ${signal}) before it started: ${stderr}`)));
    });
  }

  go(workerId: string): void {
    this.children.get(workerId)!.send({ type: 'go' });
  }

  async signal(workerId: string, signal: NodeJS.Signals): Promise<void> {
    const child = this.children.get(workerId)!;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
  }

  killAll(): void {
    for (const child of this.children.values()) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }

  of<T extends ParallelReport['type']>(type: T): Extract<ParallelReport, { type: T }>[] {
    return this.reports.filter((r): r is Extract<ParallelReport, { type: T }> => r.type === type);
  }
}

/** Records of the DLQ stream's shards, from the start. */
async function readStream(api: KinesisApi, streamName: string): Promise<Array<{ partitionKey: string; data: Uint8Array }>> {
  const out: Array<{ partitionKey: string; data: Uint8Array }> = [];
  for (const shard of await api.listShards({ streamName })) {
    const iterator = await api.getShardIterator({ streamName }, shard.shardId, { type: 'TRIM_HORIZON' });
    const result = await api.getRecords(iterator, 1000);
    out.push(...result.records);
  }
  return out;
}

describe('parallel processing (recordHandler) on the emulators', () => {
  let kinesis: Emulator;
  let dynamo: Emulator;
  const fleet = new Fleet();
  before(async () => {
    [kinesis, dynamo] = await Promise.all([startKinesalite({ shardLimit: 50 }), startDynalite()]);
  });
  after(async () => {
    fleet.killAll();
    await stopAll();
  });

  it('2 workers, 4 shards, 64 keys, in-flight 16, kill -9 and a graceful handoff: nothing lost, per-key order, no duplicate below a checkpoint', { timeout: 90_000 }, async () => {
    const admin = kinesisAdmin(kinesis.endpoint);
    const streamName = await createStream(admin, 4, 'par');
    const base = {
      kinesisEndpoint: kinesis.endpoint,
      dynamoEndpoint: dynamo.endpoint,
      streamName,
      applicationName: uniqueName('par-app'),
      failoverTimeMillis: 2000,
      maxInFlight: 16,
      minDelayMillis: 5,
      maxDelayMillis: 30,
    };
    const t0 = Date.now();
    const phases: string[] = [];
    const phase = (name: string): void => void phases.push(`${name} +${Date.now() - t0} ms`);
    const produced = new Map<string, { key: string; shardId: string; index: number }>();
    let producing = true;
    const producer = (async () => {
      for (let i = 0; producing || i < 2400; ) {
        const n = 40;
        const batch = Array.from({ length: n }, (_, j) => ({ partitionKey: `key-${(i + j) % 64}`, data: encoder.encode(`r-${i + j}`) }));
        const results = await admin.putRecords({ streamName }, batch);
        results.forEach((r, j) => produced.set(r.sequenceNumber, { key: batch[j]!.partitionKey, shardId: r.shardId, index: i + j }));
        i += n;
        if (i >= 2400) break;
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    // A2 (the restart after the kill) loads now, in parallel, and starts its Scheduler later.
    await Promise.all([
      fleet.start({ ...base, workerId: 'A', seed: 1 }),
      fleet.start({ ...base, workerId: 'B', seed: 2 }),
      fleet.start({ ...base, workerId: 'A2', seed: 3, waitForGo: true }),
    ]);
    await waitFor(() => fleet.of('done').filter((d) => d.workerId === 'A').length >= 150, 20_000, 'A processing');
    phase('A processing');
    await fleet.signal('A', 'SIGKILL');
    const killedAt = fleet.reports.length;
    // B takes A's shards after the failover time; then a fresh worker steals half of them back, gracefully.
    const held = (w: string): number => {
      let n = 0;
      for (const r of fleet.of('event')) if (r.workerId === w) n += r.name === 'leaseAcquired' ? 1 : r.name === 'leaseLost' ? -1 : 0;
      return n;
    };
    await waitFor(() => held('B') === 4, 20_000, 'B holds all 4 shards');
    phase('B holds 4');
    fleet.go('A2');
    await waitFor(() => fleet.of('started').some((r) => r.workerId === 'A2'), 20_000, 'A2 started');
    phase('A2 started');
    await waitFor(() => fleet.of('event').some((e) => e.workerId === 'B' && e.name === 'handoffCompleted'), 20_000, 'a graceful handoff B → A2');
    phase('handoff');
    producing = false;
    await producer;
    assert.equal(produced.size, 2400);
    const doneSeqs = (): Set<string> => new Set(fleet.of('done').map((d) => d.seq));
    await waitFor(() => doneSeqs().size >= 2400, 40_000, 'every record done');
    phase('all done');
    await Promise.all([fleet.signal('B', 'SIGTERM'), fleet.signal('A2', 'SIGTERM')]);
    phase('stopped');

    // Nothing lost.
    const done = doneSeqs();
    const lost = [...produced.keys()].filter((s) => !done.has(s));
    assert.deepEqual(lost, [], 'every produced record was processed');
    // Per key: first deliveries in sequence order; never two records of a key at once in one process.
    const firstStart = new Map<string, number>();
    const running = new Map<string, string>();
    const lastByKey = new Map<string, bigint>();
    const checkpointOf = new Map<string, bigint>();
    const violations: string[] = [];
    let duplicates = 0;
    fleet.reports.forEach((r, i) => {
      if (r.type === 'checkpoint' && r.seq !== 'SHARD_END') {
        checkpointOf.set(r.shardId, BigInt(r.seq) > (checkpointOf.get(r.shardId) ?? -1n) ? BigInt(r.seq) : checkpointOf.get(r.shardId)!);
      }
      if (r.type === 'start') {
        const slot = `${r.workerId}/${r.key}`;
        if (running.has(slot)) violations.push(`${r.key} ran ${running.get(slot)} and ${r.seq} at once on ${r.workerId}`);
        running.set(slot, r.seq);
        const cp = checkpointOf.get(r.shardId);
        if (cp !== undefined && BigInt(r.seq) <= cp) violations.push(`${r.seq} started on ${r.workerId} at or below checkpoint ${cp}`);
        if (firstStart.has(r.seq)) {
          duplicates++;
          return;
        }
        firstStart.set(r.seq, i);
        const prev = lastByKey.get(r.key);
        if (prev !== undefined && BigInt(r.seq) < prev) violations.push(`${r.key}: ${r.seq} first delivered after ${prev}`);
        lastByKey.set(r.key, BigInt(r.seq));
      }
      if (r.type === 'done') running.delete(`${r.workerId}/${r.key}`);
      if (r.type === 'stopped') for (const k of [...running.keys()]) if (k.startsWith(`${r.workerId}/`)) running.delete(k);
    });
    assert.deepEqual(violations, [], 'order, exclusivity, checkpoints');
    // Duplicates exist only from the kill (A's unfinished or unchecked records); the graceful handoff made none.
    const handedOff = new Set(fleet.of('event').filter((e) => e.workerId === 'B' && e.name === 'handoffCompleted').map((e) => e.shardId));
    const startedByB = new Set(fleet.reports.filter((r) => r.type === 'start' && r.workerId === 'B' && handedOff.has(r.shardId)).map((r) => (r as { seq: string }).seq));
    const againByA2 = fleet.of('start').filter((r) => r.workerId === 'A2' && startedByB.has(r.seq));
    assert.deepEqual(againByA2.map((r) => r.seq), [], 'a graceful handoff redelivers nothing');
    assert.ok(killedAt > 0);
    console.log(`parallel fleet: ${produced.size} records, ${duplicates} duplicate deliveries (after the kill -9), ${fleet.of('checkpoint').length} checkpoints, handed off ${[...handedOff].join(', ')}; ${phases.join(', ')}`);
  });

  it('multi-stream: 2 streams × 2 shards, in-flight 8, a second worker joins (graceful handoffs): every record once, per-key order, each shard checkpointed at its low-water mark', { timeout: 90_000 }, async () => {
    const admin = kinesisAdmin(kinesis.endpoint);
    const streams = await Promise.all([createStream(admin, 2, 'pms'), createStream(admin, 2, 'pms')]);
    const app = uniqueName('pms-app');
    type Entry =
      | { kind: 'start' | 'done'; worker: string; stream: string; shardId: string; seq: string; key: string }
      | { kind: 'checkpoint'; worker: string; stream: string; shardId: string; seq: string; sub: number };
    const log: Entry[] = [];
    const running = new Map<string, number>();
    let maxRunning = 0;
    const handoffs: string[] = [];
    const lost: string[] = [];
    const misattributed: string[] = [];
    const random = seededRandom(18);
    const schedulers: Scheduler[] = [];
    const worker = (id: string): Scheduler => {
      const s = new Scheduler({
        applicationName: app,
        workerId: id,
        streams: streams.map((streamName) => ({ streamName })),
        initialPosition: 'TRIM_HORIZON',
        ...clientsFor(kinesis.endpoint, dynamo.endpoint),
        leases: { failoverTimeMillis: 3000 },
        retrieval: { mode: 'polling', idleTimeBetweenReadsMillis: 100 },
        recordHandler: async (record: KinesisClientRecord, { streamName, shardId }) => {
          const [stream] = decoder.decode(record.data).split('|');
          if (stream !== streamName) misattributed.push(`${record.sequenceNumber} of ${stream} handled as ${streamName}`);
          const slot = `${id}/${streamName}/${shardId}`;
          const n = (running.get(slot) ?? 0) + 1;
          running.set(slot, n);
          maxRunning = Math.max(maxRunning, n);
          log.push({ kind: 'start', worker: id, stream: streamName, shardId, seq: record.sequenceNumber, key: record.partitionKey });
          await new Promise((r) => setTimeout(r, 2 + random() * 10));
          log.push({ kind: 'done', worker: id, stream: streamName, shardId, seq: record.sequenceNumber, key: record.partitionKey });
          running.set(slot, running.get(slot)! - 1);
        },
        processing: { maxInFlight: 8, checkpointIntervalMillis: 200 },
      });
      s.on('processingCheckpointed', (e) => log.push({ kind: 'checkpoint', worker: id, stream: e.streamName, shardId: e.shardId, seq: e.sequenceNumber, sub: e.subSequenceNumber }));
      s.on('handoffCompleted', (e) => void handoffs.push(`${id}:${e.leaseKey}`));
      s.on('leaseLost', (e) => void lost.push(`${id}:${e.leaseKey}:${e.reason}`));
      schedulers.push(s);
      return s;
    };
    // Both streams fill continuously (32 keys each) until the rebalance is over, then up to 1 200 records each.
    const produced = new Map<string, { stream: string; shardId: string; seq: string; key: string }>();
    let producing = true;
    const producer = Promise.all(
      streams.map(async (stream) => {
        for (let i = 0; producing || i < 1200; i += 40) {
          const batch = Array.from({ length: 40 }, (_, j) => ({ partitionKey: `key-${(i + j) % 32}`, data: encoder.encode(`${stream}|${i + j}`) }));
          const results = await admin.putRecords({ streamName: stream }, batch);
          results.forEach((r, j) => produced.set(`${stream}/${r.sequenceNumber}`, { stream, shardId: r.shardId, seq: r.sequenceNumber, key: batch[j]!.partitionKey }));
          if (i + 40 >= 1200 && !producing) break;
          await new Promise((r) => setTimeout(r, 100));
        }
      }),
    );
    const w1 = worker('w1');
    const w2 = worker('w2');
    try {
      await w1.start();
      await waitFor(() => w1.heldLeaseKeys.length === 4 && log.filter((e) => e.kind === 'done').length >= 300, 30_000, 'w1 holds the 4 shards of both streams and processes');
      await w2.start();
      await waitFor(() => handoffs.length >= 1 && w2.heldLeaseKeys.length === 2 && w1.heldLeaseKeys.length === 2, 40_000, 'leases rebalanced 2/2 by graceful handoff');
      producing = false;
      await producer;
      const done = (): Set<string> => new Set(log.filter((e) => e.kind === 'done').map((e) => `${e.stream}/${e.seq}`));
      await waitFor(() => done().size >= produced.size, 40_000, 'every record of both streams done');
      const lastOf = new Map<string, string>();
      for (const p of produced.values()) if (BigInt(p.seq) > BigInt(lastOf.get(`${p.stream}/${p.shardId}`) ?? '-1')) lastOf.set(`${p.stream}/${p.shardId}`, p.seq);
      const lastCheckpoint = (slot: string): string | undefined => log.filter((e) => e.kind === 'checkpoint' && `${e.stream}/${e.shardId}` === slot).at(-1)?.seq;
      await waitFor(() => [...lastOf].every(([slot, seq]) => lastCheckpoint(slot) === seq), 20_000, 'every shard of both streams checkpointed at its last record');
      assert.equal(lastOf.size, 4, '2 streams × 2 shards received records');

      // The lease table agrees: each stream's shard holds its own stream's last sequence number.
      const dynamoApi = new DynamoDbApi(createDynamoDbClient({ region: TEST_REGION, endpoint: dynamo.endpoint, credentials: TEST_CREDENTIALS }));
      const leases = (await new DynamoDbLeaseStore(dynamoApi, app).listLeases()).leases;
      assert.equal(leases.length, 4);
      for (const lease of leases) {
        const stream = parseStreamIdentifier(lease.streamName!)!.streamName;
        assert.equal(lease.checkpoint.sequenceNumber, lastOf.get(`${stream}/${lease.shardId}`), `lease checkpoint of ${stream}/${lease.shardId}`);
      }
    } finally {
      producing = false;
      await producer;
      await Promise.all(schedulers.map((s) => s.shutdown()));
    }

    assert.deepEqual(misattributed, [], 'the handler is told each record\'s own stream');
    assert.ok(maxRunning > 1, `records of one shard overlapped (at most ${maxRunning} at once)`);
    const doneSet = new Set(log.filter((e) => e.kind === 'done').map((e) => `${e.stream}/${e.seq}`));
    assert.deepEqual([...produced.keys()].filter((k) => !doneSet.has(k)), [], 'every produced record was processed');
    for (const e of log) if (e.kind !== 'checkpoint') assert.equal(produced.get(`${e.stream}/${e.seq}`)?.shardId, e.shardId, `${e.seq} attributed to its stream's shard`);
    // Replaying the log in real order: per key, a record starts only after every earlier record of its key finished,
    // on whichever worker; every checkpoint is a low-water mark (every record of its shard at or below it finished),
    // never moves back, and nothing at or below it starts again.
    const bySlotKey = new Map<string, bigint[]>();
    for (const p of produced.values()) {
      const k = `${p.stream}/${p.key}`;
      bySlotKey.set(k, [...(bySlotKey.get(k) ?? []), BigInt(p.seq)]);
    }
    const finished = new Set<string>();
    const started = new Map<string, number>();
    const mark = new Map<string, bigint>();
    const violations: string[] = [];
    let checkpoints = 0;
    for (const e of log) {
      const slot = `${e.stream}/${e.shardId}`;
      if (e.kind === 'start') {
        started.set(`${e.stream}/${e.seq}`, (started.get(`${e.stream}/${e.seq}`) ?? 0) + 1);
        const earlier = bySlotKey.get(`${e.stream}/${e.key}`)!.filter((q) => q < BigInt(e.seq));
        const open = earlier.filter((q) => !finished.has(`${e.stream}/${q}`));
        if (open.length > 0) violations.push(`${e.stream} ${e.key}: ${e.seq} started on ${e.worker} before ${open.join(', ')} finished`);
        if (mark.has(slot) && BigInt(e.seq) <= mark.get(slot)!) violations.push(`${slot}: ${e.seq} started again at or below checkpoint ${mark.get(slot)}`);
      } else if (e.kind === 'done') {
        finished.add(`${e.stream}/${e.seq}`);
      } else if (e.kind === 'checkpoint' && e.seq !== 'SHARD_END') {
        checkpoints++;
        const at = BigInt(e.seq);
        if (e.sub !== 0) violations.push(`${slot}: checkpoint with sub-sequence ${e.sub} on plain records`);
        if (mark.has(slot) && at < mark.get(slot)!) violations.push(`${slot}: checkpoint ${at} below ${mark.get(slot)}`);
        mark.set(slot, at);
        const unfinished = [...produced.values()].filter((p) => `${p.stream}/${p.shardId}` === slot && BigInt(p.seq) <= at && !finished.has(`${p.stream}/${p.seq}`));
        if (unfinished.length > 0) violations.push(`${slot}: checkpoint ${at} by ${e.worker} passes unfinished ${unfinished.map((p) => p.seq).join(', ')}`);
      }
    }
    assert.deepEqual(violations, [], 'per-key order, low-water-mark checkpoints');
    assert.ok(checkpoints >= 8, `checkpoints written along the way (${checkpoints})`);
    const twice = [...started].filter(([, n]) => n > 1).map(([k]) => k);
    assert.deepEqual(twice, [], `graceful handoffs redeliver nothing (handoffs: ${handoffs.join(', ')}; lost: ${lost.join(', ') || 'none'})`);
    console.log(`parallel multi-stream: ${produced.size} records, ${checkpoints} checkpoints, up to ${maxRunning} in flight per shard, handoffs ${handoffs.length}`);
  });

  it('a record that always fails goes to a dead-letter stream with its metadata; everything after it is processed', { timeout: 60_000 }, async () => {
    const admin = kinesisAdmin(kinesis.endpoint);
    const [streamName, dlq] = await Promise.all([createStream(admin, 1, 'src'), createStream(admin, 1, 'dlq')]);
    const batch = Array.from({ length: 200 }, (_, i) => ({ partitionKey: `key-${i % 16}`, data: encoder.encode(`r-${i}`) }));
    const results = await admin.putRecords({ streamName }, batch);
    const poison = results[50]!;
    const processed: string[] = [];
    const events = { retried: 0, deadLettered: 0 };
    const metrics: MetricDatum[] = [];
    const worker = new Scheduler({
      metrics: { backend: { record: (d) => void metrics.push(d) } },
      applicationName: uniqueName('dlq-app'),
      streamName,
      workerId: 'w',
      initialPosition: 'TRIM_HORIZON',
      ...clientsFor(kinesis.endpoint, dynamo.endpoint),
      leases: { failoverTimeMillis: 2000 },
      retrieval: { mode: 'polling', idleTimeBetweenReadsMillis: 100 },
      recordHandler: async (record: KinesisClientRecord) => {
        if (decoder.decode(record.data) === 'r-50') throw new Error('poison record r-50');
        processed.push(record.sequenceNumber);
      },
      processing: { maxInFlight: 8, maxAttempts: 3, retryBaseMillis: 10, retryMaxMillis: 20, deadLetter: { streamName: dlq }, checkpointIntervalMillis: 500 },
    });
    worker.on('recordRetried', () => events.retried++);
    worker.on('recordDeadLettered', () => events.deadLettered++);
    const checkpoints: string[] = [];
    worker.on('processingCheckpointed', (e) => checkpoints.push(e.sequenceNumber));
    await worker.start();
    try {
      await waitFor(() => processed.length === 199 && events.deadLettered === 1, 30_000, '199 processed + 1 dead-lettered');
      await waitFor(() => checkpoints.at(-1) === results[199]!.sequenceNumber, 10_000, 'checkpoint past the poison record, to the last one');
    } finally {
      await worker.shutdown();
    }
    assert.equal(events.retried, 2, 'tries 1 and 2 retried, try 3 dead-lettered');
    const counted = (name: string): number => metrics.filter((d) => d.name === name && d.dimensions.Operation === 'ProcessTask' && d.dimensions.ShardId === poison.shardId).reduce((n, d) => n + d.value, 0);
    assert.deepEqual({ retried: counted('RecordsRetried'), deadLettered: counted('RecordsDeadLettered') }, { retried: 2, deadLettered: 1 }, 'the same in the ProcessTask metrics');
    assert.ok(!processed.includes(poison.sequenceNumber));
    const api = new KinesisApi(createKinesisClient({ region: TEST_REGION, endpoint: kinesis.endpoint, credentials: TEST_CREDENTIALS }));
    const letters = await readStream(api, dlq);
    assert.equal(letters.length, 1);
    assert.equal(letters[0]!.partitionKey, 'key-2', 'the original partition key');
    const message = JSON.parse(decoder.decode(letters[0]!.data)) as DeadLetterMessage;
    assert.equal(Buffer.from(message.data, 'base64').toString(), 'r-50');
    assert.deepEqual(
      { pk: message.partitionKey, seq: message.sequenceNumber, sub: message.subSequenceNumber, shard: message.shardId, stream: message.streamName, attempts: message.attempts, reason: message.reason, error: message.error },
      { pk: 'key-2', seq: poison.sequenceNumber, sub: 0, shard: poison.shardId, stream: streamName, attempts: 3, reason: 'maxAttempts', error: 'poison record r-50' },
    );
  });

  it('maxRecordAgeMillis: records older than the limit are dead-lettered as expired without a try, counted in events and metrics', { timeout: 60_000 }, async () => {
    const admin = kinesisAdmin(kinesis.endpoint);
    const streamName = await createStream(admin, 1, 'age');
    const results = await admin.putRecords({ streamName }, Array.from({ length: 20 }, (_, i) => ({ partitionKey: `key-${i % 4}`, data: encoder.encode(`r-${i}`) })));
    await new Promise((r) => setTimeout(r, 2500)); // older than the limit by the time the worker reads them
    const tried: string[] = [];
    const dead: Array<{ text: string; reason: string; attempts: number }> = [];
    const expired: string[] = [];
    const checkpoints: string[] = [];
    const metrics: MetricDatum[] = [];
    const worker = new Scheduler({
      applicationName: uniqueName('age-app'),
      streamName,
      workerId: 'w',
      initialPosition: 'TRIM_HORIZON',
      ...clientsFor(kinesis.endpoint, dynamo.endpoint),
      metrics: { backend: { record: (d) => void metrics.push(d) } },
      leases: { failoverTimeMillis: 2000 },
      retrieval: { mode: 'polling', idleTimeBetweenReadsMillis: 100 },
      recordHandler: async (record: KinesisClientRecord) => void tried.push(record.sequenceNumber),
      processing: { maxInFlight: 4, maxRecordAgeMillis: 1000, checkpointIntervalMillis: 100, deadLetter: async (r, _e, info) => void dead.push({ text: decoder.decode(r.data), reason: info.reason, attempts: info.attempts }) },
    });
    worker.on('recordExpired', (e) => void expired.push(`${e.streamName}/${e.sequenceNumber}`));
    worker.on('processingCheckpointed', (e) => checkpoints.push(e.sequenceNumber));
    await worker.start();
    try {
      await waitFor(() => checkpoints.at(-1) === results[19]!.sequenceNumber, 20_000, 'checkpointed past the expired records');
    } finally {
      await worker.shutdown();
    }
    assert.deepEqual(tried, [], 'no try for an expired record');
    assert.deepEqual(dead.map((d) => d.text).sort(), Array.from({ length: 20 }, (_, i) => `r-${i}`).sort());
    assert.ok(dead.every((d) => d.reason === 'expired' && d.attempts === 0), 'reason expired, 0 attempts');
    assert.deepEqual(expired.sort(), results.map((r) => `${streamName}/${r.sequenceNumber}`).sort());
    const counted = (name: string): number => metrics.filter((d) => d.name === name && d.dimensions.ShardId === results[0]!.shardId).reduce((n, d) => n + d.value, 0);
    assert.deepEqual({ expired: counted('RecordsExpired'), deadLettered: counted('RecordsDeadLettered') }, { expired: 20, deadLettered: 20 });
  });

  it('KPL sub-records run on their own keys; the checkpoint stops at the sub-record below an unfinished one', { timeout: 60_000 }, async () => {
    const admin = kinesisAdmin(kinesis.endpoint);
    const streamName = await createStream(admin, 1, 'kplpar');
    const users = Array.from({ length: 41 }, (_, i) => ({ partitionKey: `device-${i % 7}`, data: encoder.encode(`user-${i}`) }));
    const put = await admin.putRecords({ streamName }, RecordAggregator.aggregate(users, { maxUserRecords: 10 }));
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const finished = new Set<string>();
    const checkpoints: string[] = [];
    const worker = new Scheduler({
      applicationName: uniqueName('kplpar-app'),
      streamName,
      workerId: 'w',
      initialPosition: 'TRIM_HORIZON',
      ...clientsFor(kinesis.endpoint, dynamo.endpoint),
      leases: { failoverTimeMillis: 2000 },
      retrieval: { mode: 'polling', idleTimeBetweenReadsMillis: 100 },
      recordHandler: async (record: KinesisClientRecord) => {
        const text = decoder.decode(record.data);
        if (text === 'user-13') await held; // sub-record 3 of the second aggregate
        finished.add(text);
      },
      processing: { maxInFlight: 8, checkpointIntervalMillis: 100 },
    });
    worker.on('processingCheckpointed', (e) => checkpoints.push(`${e.sequenceNumber}/${e.subSequenceNumber}`));
    await worker.start();
    try {
      // Every other record of device-6 (13 % 7) waits behind user-13; the others all finish.
      await waitFor(() => finished.size === 41 - 4, 20_000, 'all but device-6 from user-13 on (13, 20, 27, 34)');
      // The mark reaches the sub-record below user-13 (a checkpoint write may take a while on a loaded machine) …
      const below = `${put[1]!.sequenceNumber}/2`;
      await waitFor(() => checkpoints.includes(below), 10_000, 'the mark at the sub-record below user-13');
      // … and stays there while user-13 is unfinished (several checkpoint intervals later).
      await new Promise((r) => setTimeout(r, 400));
      assert.equal(checkpoints.at(-1), below, 'the mark stops right below user-13 (sub-record 3)');
      release();
      await waitFor(() => checkpoints.at(-1) === `${put[4]!.sequenceNumber}/0`, 10_000, 'checkpoint at the last record');
    } finally {
      release();
      await worker.shutdown();
    }
    assert.equal(finished.size, 41);
  });

  it('a batch processor reporting a failed record: checkpointed before it, redelivered from it, dead-lettered after maxAttempts', { timeout: 60_000 }, async () => {
    const admin = kinesisAdmin(kinesis.endpoint);
    const streamName = await createStream(admin, 1, 'batch');
    const results = await admin.putRecords({ streamName }, Array.from({ length: 100 }, (_, i) => ({ partitionKey: `k${i}`, data: encoder.encode(`r-${i}`) })));
    const ok = new Set<string>();
    const dead: string[] = [];
    const worker = new Scheduler({
      applicationName: uniqueName('batch-app'),
      streamName,
      workerId: 'w',
      initialPosition: 'TRIM_HORIZON',
      ...clientsFor(kinesis.endpoint, dynamo.endpoint),
      leases: { failoverTimeMillis: 2000 },
      retrieval: { mode: 'polling', idleTimeBetweenReadsMillis: 100 },
      processorFactory: () => ({
        initialize: () => undefined,
        processRecords: async ({ records, checkpointer }) => {
          for (const r of records) {
            if (decoder.decode(r.data) === 'r-30') return { failedRecord: r, error: new Error('r-30 failed') };
            ok.add(r.sequenceNumber);
          }
          await checkpointer.checkpoint();
        },
        leaseLost: () => undefined,
        shardEnded: ({ checkpointer }) => checkpointer.checkpoint(),
      }),
      processing: { maxAttempts: 2, retryBaseMillis: 10, deadLetter: (r) => void dead.push(decoder.decode(r.data)) },
    });
    await worker.start();
    try {
      await waitFor(() => ok.size === 99, 30_000, '99 records processed');
    } finally {
      await worker.shutdown();
    }
    assert.deepEqual(dead, ['r-30']);
    assert.ok(!ok.has(results[30]!.sequenceNumber));
  });
});

describe('parallel processing over enhanced fan-out (kinesis-local + dynalite)', () => {
  let kinesis: Emulator;
  let dynamo: Emulator;
  before(async () => {
    [kinesis, dynamo] = await Promise.all([startKinesisLocal(), startDynalite()]);
  });
  after(() => stopAll());

  it('recordHandler with in-flight 8 over SubscribeToShard: every record once, in order per key, checkpointed to the end', { timeout: 60_000 }, async () => {
    const admin = kinesisAdmin(kinesis.endpoint);
    const streamName = await createStream(admin, 2, 'fo');
    const results = await admin.putRecords({ streamName }, Array.from({ length: 300 }, (_, i) => ({ partitionKey: `key-${i % 16}`, data: encoder.encode(`r-${i}`) })));
    const seen: Array<{ seq: string; key: string }> = [];
    const checkpoints = new Map<string, string>();
    const worker = new Scheduler({
      applicationName: uniqueName('fo-app'),
      streamName,
      workerId: 'w',
      initialPosition: 'TRIM_HORIZON',
      ...clientsFor(kinesis.endpoint, dynamo.endpoint),
      leases: { failoverTimeMillis: 2000 },
      retrieval: { mode: 'fanout', http2: false },
      recordHandler: async (record: KinesisClientRecord) => {
        await new Promise((r) => setTimeout(r, 2 + (record.sequenceNumber.charCodeAt(record.sequenceNumber.length - 1) % 8)));
        seen.push({ seq: record.sequenceNumber, key: record.partitionKey });
      },
      processing: { maxInFlight: 8, checkpointIntervalMillis: 100 },
    });
    worker.on('processingCheckpointed', (e) => checkpoints.set(e.shardId, e.sequenceNumber));
    const lastOf = new Map<string, string>();
    for (const r of results) lastOf.set(r.shardId, r.sequenceNumber);
    await worker.start();
    try {
      await waitFor(() => [...lastOf].every(([shard, seq]) => checkpoints.get(shard) === seq), 40_000, 'both shards checkpointed to their last record');
    } finally {
      await worker.shutdown();
    }
    assert.equal(seen.length, 300);
    assert.equal(new Set(seen.map((s) => s.seq)).size, 300);
    const last = new Map<string, bigint>();
    for (const s of seen) {
      assert.ok((last.get(s.key) ?? -1n) < BigInt(s.seq), `order of ${s.key}`);
      last.set(s.key, BigInt(s.seq));
    }
  });
});
