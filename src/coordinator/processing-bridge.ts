import type { EventEmitter } from 'node:events';
import type { KinesisClient } from '../aws/clients.js';
import { KinesisRecordWriter } from '../aws/kinesis-put-record.js';
import type { ResolvedOptions } from '../config/resolve-options.js';
import type { Metrics } from '../metrics/metrics.js';
import { createProcessingFactory } from '../processing/processor-factory.js';
import type { ProcessingEventSink } from '../processing/processing-events.js';
import type { ShardRecordProcessorFactory } from '../processor/types.js';
import type { SchedulerEvents } from './scheduler-events.js';

/** Dead-letter writes are bounded even when the SDK client has no timeout of its own. */
const DEAD_LETTER_TIMEOUT_MILLIS = 10_000;

/**
 * The processor factory a Scheduler runs its consumers with (see `createProcessingFactory`), its record events
 * turned into Scheduler events (`recordRetried`, `recordDeadLettered`, `recordExpired`, `processingCheckpointed`)
 * and `ProcessTask` metrics (`RecordsRetried`, `RecordsDeadLettered`, `RecordsExpired`).
 */
export function schedulerProcessorFactory(
  scheduler: EventEmitter<SchedulerEvents>,
  o: Readonly<ResolvedOptions>,
  kinesisClient: () => KinesisClient,
  metrics: Metrics,
): ShardRecordProcessorFactory {
  const count = (shardId: string, name: string): void => metrics.scope({ Operation: 'ProcessTask', ShardId: shardId }).count(name, 1);
  const events: ProcessingEventSink = {
    recordRetried: (e) => {
      count(e.shardId, 'RecordsRetried');
      scheduler.emit('recordRetried', e);
    },
    recordDeadLettered: (e) => {
      count(e.shardId, 'RecordsDeadLettered');
      scheduler.emit('recordDeadLettered', e);
    },
    recordExpired: (e) => {
      count(e.shardId, 'RecordsExpired');
      scheduler.emit('recordExpired', e);
    },
    checkpointed: (e) => scheduler.emit('processingCheckpointed', e),
  };
  let writer: KinesisRecordWriter | undefined;
  const factory = createProcessingFactory({
    processorFactory: o.processorFactory,
    recordHandler: o.recordHandler,
    processing: o.processing,
    clock: o.clock,
    logger: o.logger,
    gracefulHandoffTimeoutMillis: o.leases.gracefulHandoffTimeoutMillis,
    recordWriter: () => (writer ??= new KinesisRecordWriter(kinesisClient(), { requestTimeoutMillis: DEAD_LETTER_TIMEOUT_MILLIS })),
    events,
  });
  return factory;
}
