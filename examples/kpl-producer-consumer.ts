// KPL aggregation end to end: pack many small user records into few Kinesis records with `RecordAggregator`
// (the format the Java KPL writes), put them, and consume them with a Scheduler, which de-aggregates them: the
// processor sees user records again, each with its own `subSequenceNumber`. Exits once every record arrived.
//
//   STREAM_NAME=orders RECORDS=1000 npx tsx examples/kpl-producer-consumer.ts
import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { RecordAggregator, Scheduler, type ProcessRecordsInput, type ShardEndedInput, type ShardRecordProcessor, type ShutdownRequestedInput, type UserRecord } from '../src/index.js';
import { applicationName, connection, producerClient, streamName } from './connection.js';

const RECORDS = Number(process.env.RECORDS ?? 1000);
const runId = Date.now().toString(36);

// --- producer ---------------------------------------------------------------------------------------------

async function produce(count: number): Promise<number> {
  const users: UserRecord[] = [];
  for (let i = 0; i < count; i++) {
    users.push({ partitionKey: `customer-${i % 50}`, data: new TextEncoder().encode(JSON.stringify({ runId, i })) });
  }
  // 1 MiB aggregates by default; 100 per aggregate here so a small run still spreads over the shards.
  const aggregates = RecordAggregator.aggregate(users, { maxUserRecords: 100 });
  const kinesis = producerClient();
  for (let offset = 0; offset < aggregates.length; offset += 500) {
    const batch = aggregates.slice(offset, offset + 500);
    const result = await kinesis.send(
      new PutRecordsCommand({
        StreamName: streamName,
        Records: batch.map((a) => ({ PartitionKey: a.partitionKey, ExplicitHashKey: a.explicitHashKey, Data: a.data })),
      }),
    );
    // A real producer retries the failed entries (throttling); see the KPL or your own retry loop.
    if (result.FailedRecordCount) throw new Error(`${result.FailedRecordCount} records were not put`);
  }
  kinesis.destroy();
  return aggregates.length;
}

// --- consumer ---------------------------------------------------------------------------------------------

const seen = new Set<number>();
let allSeen!: () => void;
const done = new Promise<void>((resolve) => (allSeen = resolve));

class CountingProcessor implements ShardRecordProcessor {
  initialize() {}
  async processRecords({ records, checkpointer }: ProcessRecordsInput) {
    for (const record of records) {
      const body = JSON.parse(new TextDecoder().decode(record.data)) as { runId: string; i: number };
      if (body.runId === runId) seen.add(body.i); // skip records of earlier runs
    }
    await checkpointer.checkpoint();
    if (seen.size === RECORDS) allSeen();
  }
  leaseLost() {}
  async shardEnded({ checkpointer }: ShardEndedInput) {
    await checkpointer.checkpoint();
  }
  async shutdownRequested({ checkpointer }: ShutdownRequestedInput) {
    await checkpointer.checkpoint();
  }
}

const kinesisRecords = await produce(RECORDS);
console.log(`produced ${RECORDS} user records in ${kinesisRecords} Kinesis records`);

const scheduler = new Scheduler({
  applicationName,
  streamName,
  processorFactory: () => new CountingProcessor(),
  initialPosition: 'TRIM_HORIZON',
  ...connection(),
});
await scheduler.start();
await done;
console.log(`consumed ${seen.size} of ${RECORDS} user records`);
await scheduler.startGracefulShutdown();
