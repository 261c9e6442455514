// The smallest useful consumer: print every record, checkpoint after each batch, stop cleanly on Ctrl-C or
// SIGTERM.
//
//   STREAM_NAME=orders npx tsx examples/basic-processor.ts
import {
  Scheduler,
  type InitializationInput,
  type LeaseLostInput,
  type ProcessRecordsInput,
  type ShardEndedInput,
  type ShardRecordProcessor,
  type ShutdownRequestedInput,
} from '../src/index.js';
import { applicationName, connection, streamName } from './connection.js';

class PrintProcessor implements ShardRecordProcessor {
  initialize({ shardId, extendedSequenceNumber }: InitializationInput) {
    console.log(`${shardId}: starting after ${extendedSequenceNumber.sequenceNumber}`);
  }

  async processRecords({ shardId, records, checkpointer }: ProcessRecordsInput) {
    for (const record of records) {
      console.log(`${shardId} ${record.partitionKey} ${new TextDecoder().decode(record.data)}`);
    }
    // Everything delivered so far is done: a restart continues after it.
    await checkpointer.checkpoint();
  }

  leaseLost({ shardId }: LeaseLostInput) {
    // Another worker owns the shard now. Don't checkpoint: it would fail.
    console.log(`${shardId}: lease lost`);
  }

  async shardEnded({ checkpointer }: ShardEndedInput) {
    // Required after a split or merge: the child shards start only once their parents reached SHARD_END.
    await checkpointer.checkpoint();
  }

  async shutdownRequested({ checkpointer }: ShutdownRequestedInput) {
    await checkpointer.checkpoint();
  }
}

const scheduler = new Scheduler({
  applicationName,
  streamName,
  processorFactory: () => new PrintProcessor(),
  initialPosition: 'TRIM_HORIZON',
  ...connection(),
});

await scheduler.start();
console.log(`worker ${scheduler.workerId} running on ${streamName}`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void scheduler.startGracefulShutdown().then((clean) => {
      console.log(clean ? 'stopped' : 'stopped (some shards did not finish in time)');
      process.exit(clean ? 0 : 1);
    });
  });
}
