/**
 * The record handler's own CPU per record, without Kinesis, DynamoDB or timers (issue 18): a `RecordHandlerProcessor`
 * (in-flight scheduler, failure pipeline, low-water mark) fed 10 000-record batches, whose handler only awaits a
 * resolved promise, against a plain `for … await` loop over the same records. What remains is the bookkeeping a
 * record costs on top of the application's own work.
 *
 *   npx tsx bench/record-handler-overhead.ts [--records 100000] [--in-flight 1,4,16] [--rounds 5]
 *
 * Prints the median CPU microseconds per record of each contender over interleaved rounds.
 */
import { parseArgs } from 'node:util';
import { resolveProcessing } from '../src/config/resolve-processing.js';
import { FailurePipeline } from '../src/processing/failure-pipeline.js';
import { noProcessingEvents } from '../src/processing/processing-events.js';
import { RecordHandlerProcessor } from '../src/processing/record-handler-processor.js';
import type { KinesisClientRecord, RecordProcessorCheckpointer } from '../src/processor/types.js';
import { systemClock } from '../src/util/clock.js';
import { silentLogger } from '../src/util/logger.js';

const { values: args } = parseArgs({
  options: {
    records: { type: 'string', default: '100000' },
    'in-flight': { type: 'string', default: '1,4,16' },
    rounds: { type: 'string', default: '5' },
  },
});
const N = Number(args.records);
const IN_FLIGHT = args['in-flight'].split(',').map(Number);
const ROUNDS = Number(args.rounds);
const BATCH = 10_000;

const records: KinesisClientRecord[] = Array.from({ length: N }, (_, i) => ({
  sequenceNumber: String(49_000_000_000_000_000_000n + BigInt(i)),
  subSequenceNumber: 0,
  partitionKey: `key-${i % 64}`,
  data: new Uint8Array(100),
  approximateArrivalTimestamp: new Date(),
  aggregated: false,
}));
const work = async (): Promise<void> => {
  await Promise.resolve();
};

function cpuMicrosPerRecord(since: NodeJS.CpuUsage): number {
  const cpu = process.cpuUsage(since);
  return (cpu.user + cpu.system) / N;
}

async function plainLoop(): Promise<number> {
  const c0 = process.cpuUsage();
  for (let i = 0; i < N; i++) await work();
  return cpuMicrosPerRecord(c0);
}

async function recordHandler(maxInFlight: number): Promise<number> {
  // A checkpoint interval beyond the run: no timer fires, only the per-record path is measured.
  const settings = resolveProcessing({ recordHandler: work, processing: { maxInFlight, checkpointIntervalMillis: 3_600_000 } })!;
  let done = 0;
  let allDone!: () => void;
  const finished = new Promise<void>((resolve) => (allDone = resolve));
  const common = { shardId: 'shardId-000000000000', streamName: 'bench', clock: systemClock, logger: silentLogger, events: noProcessingEvents };
  const processor = new RecordHandlerProcessor({
    ...common,
    handler: async () => {
      await work();
      if (++done === N) allDone();
    },
    settings,
    pipeline: new FailurePipeline({ ...common, policy: { ...settings, deadLetter: undefined }, wallClock: Date.now }),
    drainTimeoutMillis: 1000,
  });
  const checkpointer = { checkpoint: async () => undefined } as unknown as RecordProcessorCheckpointer;
  const signal = new AbortController().signal;
  const c0 = process.cpuUsage();
  processor.initialize({ shardId: common.shardId, streamName: 'bench', extendedSequenceNumber: { sequenceNumber: 'TRIM_HORIZON', subSequenceNumber: 0 } });
  for (let i = 0; i < N; i += BATCH) {
    await processor.processRecords({ shardId: common.shardId, streamName: 'bench', records: records.slice(i, i + BATCH), checkpointer, isAtShardEnd: false, signal });
  }
  await finished;
  const micros = cpuMicrosPerRecord(c0);
  processor.leaseLost();
  return micros;
}

const names = ['plain await loop', ...IN_FLIGHT.map((n) => `recordHandler, maxInFlight ${n}`)];
const samples: number[][] = names.map(() => []);
for (let round = 0; round < ROUNDS; round++) {
  samples[0]!.push(await plainLoop());
  for (const [i, n] of IN_FLIGHT.entries()) samples[i + 1]!.push(await recordHandler(n));
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(`${N} records in batches of ${BATCH}, ${ROUNDS} interleaved rounds (medians); node ${process.version}`);
console.log('| contender | CPU µs/record |');
console.log('|---|---:|');
names.forEach((name, i) => console.log(`| ${name} | ${median(samples[i]!).toFixed(2)} |`));
