import type { KinesisRecordWriter } from '../aws/kinesis-put-record.js';
import type { ResolvedProcessing } from '../config/resolve-processing.js';
import type { DeadLetterFunction, RecordHandler } from '../processor/record-handler-types.js';
import type { ShardRecordProcessorFactory } from '../processor/types.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import { BatchFailureProcessor } from './batch-failure-processor.js';
import { kinesisDeadLetterSink } from './dead-letter.js';
import { FailurePipeline } from './failure-pipeline.js';
import type { ProcessingEventSink } from './processing-events.js';
import { RecordHandlerProcessor } from './record-handler-processor.js';

export interface ProcessingFactoryOptions {
  processorFactory: ShardRecordProcessorFactory | undefined;
  recordHandler: RecordHandler | undefined;
  processing: ResolvedProcessing | undefined;
  clock: Clock;
  /** Wall-clock ms for `maxRecordAgeMillis`. @defaultValue Date.now */
  wallClock?: () => number;
  logger: Logger;
  /** The graceful handoff timeout: `shutdownRequested` drains for at most 80 % of it, leaving room to checkpoint. */
  gracefulHandoffTimeoutMillis: number;
  /** Built on first use, for `deadLetter: { streamName }`. */
  recordWriter: () => KinesisRecordWriter;
  events: ProcessingEventSink;
}

/**
 * The factory the Scheduler runs consumers with: the application's `processorFactory` as it is (no `processing`),
 * wrapped in a {@link BatchFailureProcessor} (with `processing`), or a {@link RecordHandlerProcessor} per shard for a
 * `recordHandler`.
 */
export function createProcessingFactory(o: ProcessingFactoryOptions): ShardRecordProcessorFactory {
  const settings = o.processing;
  if (settings === undefined) return o.processorFactory!;
  let deadLetter: DeadLetterFunction | undefined;
  const destination = settings.deadLetter;
  if (typeof destination === 'function') deadLetter = destination;
  else if (destination !== undefined) deadLetter = (record, error, info) => kinesisDeadLetterSink(o.recordWriter(), destination.streamName)(record, error, info);
  const pipelineFor = (shardId: string, streamName: string, logger: Logger): FailurePipeline =>
    new FailurePipeline({
      policy: { ...settings, deadLetter },
      shardId,
      streamName,
      clock: o.clock,
      wallClock: o.wallClock ?? Date.now,
      events: o.events,
      logger,
    });
  const handler = o.recordHandler;
  if (handler === undefined) {
    const factory = o.processorFactory!;
    return (context) => {
      const logger = o.logger.child({ stream: context.streamName, shardId: context.shardId, component: 'processing' });
      return new BatchFailureProcessor(factory(context), pipelineFor(context.shardId, context.streamName, logger), settings.bisectOnError, logger);
    };
  }
  return ({ shardId, streamName }) => {
    const logger = o.logger.child({ stream: streamName, shardId });
    return new RecordHandlerProcessor({
      handler,
      settings,
      pipeline: pipelineFor(shardId, streamName, logger),
      shardId,
      streamName,
      clock: o.clock,
      logger,
      events: o.events,
      drainTimeoutMillis: Math.floor(o.gracefulHandoffTimeoutMillis * 0.8),
    });
  };
}
