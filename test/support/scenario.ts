// Shared building blocks for consumer scenarios on the emulators: a stream with known records and a
// processor that records every delivery so tests can assert "all delivered, in order per shard".
import { createDynamoDbClient, createKinesisClient } from '../../src/aws/clients.js';
import { KinesisAdmin, type PutRecordResult } from '../../src/aws/kinesis-admin.js';
import type { ShardRecordProcessor, ProcessRecordsInput } from '../../src/index.js';
import { TEST_CREDENTIALS, TEST_REGION, uniqueName } from './emulators.js';

export interface Produced {
  key: string;
  shardId: string;
  sequenceNumber: string;
}

export function kinesisAdmin(endpoint: string): KinesisAdmin {
  return new KinesisAdmin(createKinesisClient({ region: TEST_REGION, endpoint, credentials: TEST_CREDENTIALS }));
}

export function clientsFor(kinesisEndpoint: string, dynamoEndpoint: string) {
  return {
    kinesisClient: createKinesisClient({ region: TEST_REGION, endpoint: kinesisEndpoint, credentials: TEST_CREDENTIALS }),
    dynamoDbClient: createDynamoDbClient({ region: TEST_REGION, endpoint: dynamoEndpoint, credentials: TEST_CREDENTIALS }),
  };
}

export async function createStream(admin: KinesisAdmin, shards: number, prefix = 'stream'): Promise<string> {
  const name = uniqueName(prefix);
  await admin.createStream(name, shards);
  await admin.waitForStreamActive({ streamName: name }, 30_000);
  return name;
}

/** Puts `count` records with data `${prefix}-${i}` (i from `start`); partition keys spread over shards. */
export async function produce(admin: KinesisAdmin, streamName: string, count: number, start = 0, prefix = 'r'): Promise<Produced[]> {
  const out: Produced[] = [];
  for (let offset = 0; offset < count; offset += 500) {
    const n = Math.min(500, count - offset);
    const batch = Array.from({ length: n }, (_, j) => {
      const key = `${prefix}-${start + offset + j}`;
      return { partitionKey: `pk-${start + offset + j}`, data: new TextEncoder().encode(key) };
    });
    const results: PutRecordResult[] = await admin.putRecords({ streamName }, batch);
    results.forEach((r, j) => out.push({ key: batch[j]!.data && new TextDecoder().decode(batch[j]!.data), shardId: r.shardId, sequenceNumber: r.sequenceNumber }));
  }
  return out;
}

export interface Delivery {
  workerId: string;
  shardId: string;
  key: string;
  sequenceNumber: string;
}

/** Collects deliveries across processors (and workers); checkpoints after every batch by default. */
export class DeliveryLog {
  readonly deliveries: Delivery[] = [];
  readonly events: string[] = [];

  factory(workerId: string, options: { checkpointEveryBatch?: boolean; onBatch?: (input: ProcessRecordsInput) => Promise<void> | void } = {}) {
    return ({ shardId }: { shardId: string }): ShardRecordProcessor => ({
      initialize: (input) => {
        this.events.push(`${workerId}:${shardId}:initialize:${input.extendedSequenceNumber.sequenceNumber}`);
      },
      processRecords: async (input) => {
        if (options.onBatch) await options.onBatch(input);
        for (const r of input.records) {
          this.deliveries.push({ workerId, shardId, key: new TextDecoder().decode(r.data), sequenceNumber: r.sequenceNumber });
        }
        if (options.checkpointEveryBatch ?? true) await input.checkpointer.checkpoint();
      },
      leaseLost: () => {
        this.events.push(`${workerId}:${shardId}:leaseLost`);
      },
      shardEnded: async ({ checkpointer }) => {
        this.events.push(`${workerId}:${shardId}:shardEnded`);
        await checkpointer.checkpoint();
      },
      shutdownRequested: async ({ checkpointer }) => {
        this.events.push(`${workerId}:${shardId}:shutdownRequested`);
        await checkpointer.checkpoint();
      },
    });
  }

  uniqueKeys(): Set<string> {
    return new Set(this.deliveries.map((d) => d.key));
  }

  /** Deliveries per shard must have strictly increasing sequence numbers within each worker's run. */
  orderViolations(): string[] {
    const last = new Map<string, bigint>();
    const violations: string[] = [];
    for (const d of this.deliveries) {
      const k = `${d.workerId}/${d.shardId}`;
      const seq = BigInt(d.sequenceNumber);
      const prev = last.get(k);
      if (prev !== undefined && seq <= prev) violations.push(`${k}: ${d.sequenceNumber} after ${prev}`);
      last.set(k, seq);
    }
    return violations;
  }
}

export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMillis: number, what: string, pollMillis = 50): Promise<void> {
  const deadline = Date.now() + timeoutMillis;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMillis} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, pollMillis));
  }
}
