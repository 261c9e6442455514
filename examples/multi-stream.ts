// One application consuming several streams with one lease table and one fleet of workers (Java KCL's
// multi-stream mode). Each processor learns its stream from `streamName` in every input. `streams` may also be a
// function, polled every `streamTrackerIntervalMillis`, to add and remove streams at run time.
//
//   STREAM_NAMES=orders,payments APPLICATION_NAME=billing npx tsx examples/multi-stream.ts
import { Scheduler, type ProcessRecordsInput, type ShardEndedInput, type ShardRecordProcessor, type ShutdownRequestedInput } from '../src/index.js';
import { applicationName, connection } from './connection.js';

const streamNames = (process.env.STREAM_NAMES ?? 'orders,payments').split(',').filter(Boolean);

class Processor implements ShardRecordProcessor {
  initialize() {}
  async processRecords({ streamName, shardId, records, checkpointer }: ProcessRecordsInput) {
    for (const record of records) {
      console.log(`${streamName} ${shardId} ${new TextDecoder().decode(record.data)}`);
    }
    await checkpointer.checkpoint();
  }
  leaseLost() {}
  async shardEnded({ checkpointer }: ShardEndedInput) {
    await checkpointer.checkpoint();
  }
  async shutdownRequested({ checkpointer }: ShutdownRequestedInput) {
    await checkpointer.checkpoint();
  }
}

const scheduler = new Scheduler({
  applicationName,
  // Streams by name (this account and region) or by ARN (another account); each may have its own initialPosition.
  streams: streamNames.map((streamName) => ({ streamName, initialPosition: 'TRIM_HORIZON' as const })),
  processorFactory: () => new Processor(),
  ...connection(),
});

await scheduler.start();
console.log(`worker ${scheduler.workerId} consuming ${streamNames.join(', ')}`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void scheduler.startGracefulShutdown().then((clean) => process.exit(clean ? 0 : 1)));
}
