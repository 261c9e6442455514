import type { MetricScope } from '../metrics/metrics.js';
import type { ShardRecordProcessor } from '../processor/types.js';
import type { Clock } from '../util/clock.js';

export interface ProcessorScopes {
  /** Operation `ProcessTask`, dimension `ShardId`. */
  process: MetricScope;
  /** Operation `InitializeTask`, dimension `ShardId`. */
  initialize: MetricScope;
  /** Operation `ShutdownTask`, dimension `ShardId`. */
  shutdown: MetricScope;
  /** Report `MillisBehindLatest` from `processRecords` input (fan-out; polling reports it per fetch instead). */
  reportLag: boolean;
}


/**
 * Wraps a processor to emit Java KCL's processing metrics around each call, without changing what it sees or
 * throws: `RecordsProcessed` and `DataBytesProcessed` (after a successful `processRecords`),
 * `RecordProcessor.processRecords.Success/Time`, `RecordProcessor.initialize.*`, `RecordProcessor.shutdown.*`
 * (shard end, lease loss, shutdown request) and, with `reportLag`, `MillisBehindLatest`.
 */
export function instrumentProcessor(processor: ShardRecordProcessor, scopes: ProcessorScopes, clock: Clock): ShardRecordProcessor {
  const { process, initialize, shutdown, reportLag } = scopes;
  const timed = async (scope: MetricScope, name: string, level: 'SUMMARY' | 'DETAILED', call: () => Promise<void> | void): Promise<void> => {
    const started = clock.now();
    try {
      await call();
    } catch (error) {
      scope.success(name, false, clock.now() - started, level);
      throw error;
    }
    scope.success(name, true, clock.now() - started, level);
  };
  const wrapped: ShardRecordProcessor = {
    initialize: (input) => timed(initialize, 'RecordProcessor.initialize', 'DETAILED', () => processor.initialize(input)),
    processRecords: async (input) => {
      if (reportLag && input.millisBehindLatest !== undefined) process.gauge('MillisBehindLatest', input.millisBehindLatest, 'SUMMARY', 'Milliseconds');
      await timed(process, 'RecordProcessor.processRecords', 'SUMMARY', async () => {
        await processor.processRecords(input);
      });
      let bytes = 0;
      for (const r of input.records) bytes += r.data.byteLength;
      process.count('RecordsProcessed', input.records.length);
      process.count('DataBytesProcessed', bytes, 'SUMMARY', 'Bytes');
    },
    leaseLost: (input) => timed(shutdown, 'RecordProcessor.shutdown', 'DETAILED', () => processor.leaseLost(input)),
    shardEnded: (input) => timed(shutdown, 'RecordProcessor.shutdown', 'DETAILED', () => processor.shardEnded(input)),
  };
  if (processor.shutdownRequested) {
    const shutdownRequested = processor.shutdownRequested.bind(processor);
    wrapped.shutdownRequested = (input) => timed(shutdown, 'RecordProcessor.shutdown', 'DETAILED', () => shutdownRequested(input));
  }
  return wrapped;
}
