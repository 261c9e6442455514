// Record-level processing: one async call per record, 8 in flight per shard, in order per partition key; the
// library checkpoints only what has finished. A record that keeps failing goes to a dead-letter destination
// after 3 tries: the stream DEAD_LETTER_STREAM (as JSON) if set, else a function that prints it.
//
//   STREAM_NAME=orders npx tsx examples/parallel-handler.ts
import { setTimeout as sleep } from 'node:timers/promises';
import { Scheduler, type DeadLetterFunction, type KinesisClientRecord, type RecordContext } from '../src/index.js';
import { applicationName, connection, streamName } from './connection.js';

const decoder = new TextDecoder();

/** Stands for an HTTP call or a database write: I/O-bound, ~20 ms. */
async function handle(record: KinesisClientRecord, { shardId, signal }: RecordContext): Promise<void> {
  const text = decoder.decode(record.data);
  if (text.startsWith('poison')) throw new Error(`cannot handle ${text}`);
  await sleep(20, undefined, { signal }); // aborted when the lease is lost
  console.log(`done ${shardId} ${record.partitionKey} ${text}`);
}

const printDeadLetter: DeadLetterFunction = (record, error, info) => {
  console.log(`dead-letter ${decoder.decode(record.data)} after ${info.attempts} attempts (${info.reason}): ${String(error)}`);
};

const scheduler = new Scheduler({
  applicationName,
  streamName,
  initialPosition: 'TRIM_HORIZON',
  recordHandler: handle,
  processing: {
    maxInFlight: 8, // records per shard at once; records of one partition key never overlap
    maxAttempts: 3,
    retryBaseMillis: 50,
    deadLetter: process.env.DEAD_LETTER_STREAM ? { streamName: process.env.DEAD_LETTER_STREAM } : printDeadLetter,
  },
  ...connection(),
});
scheduler.on('recordRetried', ({ sequenceNumber, attempt }) => console.log(`retrying ${sequenceNumber} after try ${attempt}`));

await scheduler.start();
console.log(`worker ${scheduler.workerId} running on ${streamName}`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    // Records in flight finish, then the low-water mark is checkpointed.
    void scheduler.startGracefulShutdown().then((clean) => {
      console.log(clean ? 'stopped' : 'stopped (some shards did not finish in time)');
      process.exit(clean ? 0 : 1);
    });
  });
}
