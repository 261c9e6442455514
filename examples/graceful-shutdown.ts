// Graceful shutdown on SIGTERM (what Kubernetes, ECS and systemd send before killing a process).
//
// This processor checkpoints only every CHECKPOINT_EVERY_MILLIS (a common pattern: fewer DynamoDB writes), so
// between two checkpoints a crash would redeliver some records. On SIGTERM, `startGracefulShutdown()` stops
// taking leases and calls `shutdownRequested` on every shard while its lease is still held: the processor
// checkpoints what it finished, then the leases are released and the next owner continues right after it —
// no duplicates. Give the process at least the shutdown timeout before it is killed (Kubernetes:
// terminationGracePeriodSeconds).
//
//   STREAM_NAME=orders npx tsx examples/graceful-shutdown.ts     # then: kill -TERM <pid>
import {
  Scheduler,
  type InitializationInput,
  type ProcessRecordsInput,
  type ShardEndedInput,
  type ShardRecordProcessor,
  type ShutdownRequestedInput,
} from '../src/index.js';
import { applicationName, connection, streamName } from './connection.js';

const CHECKPOINT_EVERY_MILLIS = 60_000;
const SHUTDOWN_TIMEOUT_MILLIS = 20_000;

class BatchingProcessor implements ShardRecordProcessor {
  private lastCheckpoint = Date.now();
  private processed = 0;

  initialize({ shardId }: InitializationInput) {
    console.log(`${shardId}: initialized`);
  }

  async processRecords({ shardId, records, checkpointer }: ProcessRecordsInput) {
    for (const record of records) {
      // ... your side effect for `record` goes here ...
      void record;
      this.processed++;
    }
    if (records.length > 0) console.log(`${shardId}: processed ${this.processed} records`);
    if (Date.now() - this.lastCheckpoint >= CHECKPOINT_EVERY_MILLIS) {
      await checkpointer.checkpoint();
      this.lastCheckpoint = Date.now();
    }
  }

  leaseLost() {}

  async shardEnded({ checkpointer }: ShardEndedInput) {
    await checkpointer.checkpoint();
  }

  async shutdownRequested({ shardId, checkpointer }: ShutdownRequestedInput) {
    // The lease is still ours: record everything processed so far.
    await checkpointer.checkpoint();
    console.log(`${shardId}: checkpointed ${this.processed} records before shutdown`);
  }
}

const scheduler = new Scheduler({
  applicationName,
  streamName,
  processorFactory: () => new BatchingProcessor(),
  initialPosition: 'TRIM_HORIZON',
  ...connection(),
});

let stopping = false;
process.on('SIGTERM', () => {
  if (stopping) return;
  stopping = true;
  console.log('SIGTERM: shutting down gracefully');
  scheduler
    .startGracefulShutdown(SHUTDOWN_TIMEOUT_MILLIS)
    .then((clean) => {
      console.log(clean ? 'all shards checkpointed, leases released' : 'shutdown timed out; unfinished shards were stopped');
      process.exit(clean ? 0 : 1);
    })
    .catch((error: unknown) => {
      console.error('shutdown failed', error);
      process.exit(1);
    });
});

await scheduler.start();
console.log(`worker ${scheduler.workerId} running on ${streamName} (pid ${process.pid})`);
