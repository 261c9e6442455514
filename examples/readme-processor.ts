// The processor from the README ("A processor in 20 lines"), kept here so that it type-checks with the rest of
// the examples; test/integration/examples.test.ts checks that the README shows exactly this code.
import { Scheduler, type ShardRecordProcessor } from '../src/index.js';

const processor = (): ShardRecordProcessor => ({
  initialize({ shardId, extendedSequenceNumber }) {
    console.log(`${shardId}: starting after ${extendedSequenceNumber.sequenceNumber}`);
  },
  async processRecords({ records, checkpointer }) {
    for (const r of records) console.log(r.partitionKey, new TextDecoder().decode(r.data));
    await checkpointer.checkpoint();               // everything delivered so far is done
  },
  leaseLost() {},                                  // another worker owns the shard now: don't checkpoint
  async shardEnded({ checkpointer }) { await checkpointer.checkpoint(); },  // required: lets children start
  async shutdownRequested({ checkpointer }) { await checkpointer.checkpoint(); },
});

const scheduler = new Scheduler({ applicationName: 'orders-app', streamName: 'orders', processorFactory: processor });
await scheduler.start();
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => void scheduler.startGracefulShutdown().then(() => process.exit(0)));
