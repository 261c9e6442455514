// What the parent (test/support/worker-fleet.ts) and a worker process (test/support/worker-process.ts)
// tell each other. Types only.

/** How a worker process is configured: JSON in argv[2] (or in the KCL_WORKER_CONFIG environment variable). */
export interface WorkerConfig {
  kinesisEndpoint: string;
  dynamoEndpoint: string;
  streamName: string;
  applicationName: string;
  workerId: string;
  failoverTimeMillis: number;
  /** @defaultValue the library's (`leases.takerIntervalMillis`) */
  takerIntervalMillis?: number;
  /** @defaultValue the library's (`leases.maxLeasesToStealAtOneTime`, see src/config/option-defaults.ts) */
  maxLeasesToStealAtOneTime?: number;
  /** `fanout`: enhanced fan-out (subscriptions over HTTP/1.1 against the emulator). @defaultValue 'polling' */
  retrievalMode?: 'polling' | 'fanout';
  /** @defaultValue 100 */
  idleTimeBetweenReadsMillis?: number;
  /** @defaultValue the library's (`retrieval.maxRecords`) */
  maxRecords?: number;
  /** Sleep inside every `processRecords` before checkpointing (not interrupted by lease loss: a zombie). @defaultValue 0 */
  processingDelayMillis?: number;
  /** @defaultValue the library's (`onProcessingError`) */
  onProcessingError?: 'retry' | 'skip' | 'release';
  /** @defaultValue 'TRIM_HORIZON' */
  initialPosition?: 'TRIM_HORIZON' | 'LATEST';
  /** Checkpoint at the end of every batch. @defaultValue true */
  checkpointEveryBatch?: boolean;
  /** `full`: every record (sequence number and data) is reported; `summary`: first/last/count per batch. @defaultValue 'full' */
  reportRecords?: 'full' | 'summary';
  /** Timeout of `startGracefulShutdown` on SIGTERM. @defaultValue 10000 */
  gracefulTimeoutMillis?: number;
  /** Write the library's warn/error logs to stderr as JSON lines. @defaultValue false */
  logToStderr?: boolean;
  /** @defaultValue the library's */
  shardSyncIntervalMillis?: number;
  /** @defaultValue the library's */
  parentShardPollIntervalMillis?: number;
  /** `leases.cleanupIntervalMillis`. @defaultValue the library's */
  cleanupIntervalMillis?: number;
}

export interface ReportedRecord {
  sequenceNumber: string;
  subSequenceNumber: number;
  data: string;
}

interface Base {
  workerId: string;
  /** Date.now() in the worker (same host as the parent, so comparable). */
  t: number;
}

export type WorkerReport =
  | (Base & { type: 'started'; pid: number })
  | (Base & { type: 'initialize'; shardId: string; sequenceNumber: string; subSequenceNumber: number })
  /** Sent when `processRecords` starts, before any processing delay and before the checkpoint. */
  | (Base & {
      type: 'records';
      shardId: string;
      batch: number;
      count: number;
      first: string;
      last: string;
      records?: ReportedRecord[];
    })
  /** Result of a checkpoint call; `batchEnd` is when the batch's processing (delay) finished. */
  | (Base & {
      type: 'checkpoint';
      shardId: string;
      phase: 'processRecords' | 'shutdownRequested' | 'shardEnded';
      batch?: number;
      target: string | null;
      ok: boolean;
      code?: string;
      errorName?: string;
      message?: string;
      batchEnd?: number;
    })
  /** The processor's `leaseLost` was called. */
  | (Base & { type: 'leaseLost'; shardId: string })
  | (Base & { type: 'shutdownRequested'; shardId: string })
  | (Base & { type: 'shardEnded'; shardId: string })
  /** A `Scheduler` event (leaseAcquired, leaseLost, processingError, taskError, shardConsumerStopped). */
  | (Base & { type: 'event'; name: string; shardId?: string; detail: Record<string, unknown> })
  | (Base & { type: 'stopped'; graceful: boolean; finishedInTime?: boolean })
  | (Base & { type: 'fatal'; message: string; code?: string });

export type WorkerReportType = WorkerReport['type'];
export type ReportOf<T extends WorkerReportType> = Extract<WorkerReport, { type: T }>;
