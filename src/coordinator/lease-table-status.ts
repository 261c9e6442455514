import { createDynamoDbClient, createKinesisClient, type DynamoDBClient, type KinesisClient, type StaticCredentials } from '../aws/clients.js';
import { DynamoDbApi } from '../aws/dynamodb-api.js';
import { KinesisApi } from '../aws/kinesis-api.js';
import type { IteratorPosition, StreamRef } from '../aws/kinesis-types.js';
import { DynamoDbLeaseStore } from '../leases/dynamodb-lease-store.js';
import { isFinished, shardIdOf, type Lease } from '../leases/lease.js';
import { parseStreamIdentifier } from '../leases/multi-stream.js';

export interface LeaseTableInspectorOptions {
  /** The lease table (the application name unless configured otherwise). */
  tableName: string;
  /** @defaultValue AWS_REGION / AWS_DEFAULT_REGION, else 'us-east-1' */
  region?: string;
  /** @defaultValue the AWS SDK's default credential chain */
  credentials?: StaticCredentials;
  endpoints?: { dynamodb?: string; kinesis?: string };
  dynamoDbClient?: DynamoDBClient;
  kinesisClient?: KinesisClient;
  /**
   * The stream, to measure each shard's lag (single-stream tables; multi-stream leases name their stream).
   * Without it, lag is measured only for multi-stream leases.
   */
  stream?: { streamName: string } | { streamArn: string };
  /** @defaultValue true */
  lag?: boolean;
  /** Shards whose lag is measured at the same time. @defaultValue 8 */
  lagConcurrency?: number;
}

/**
 * How far a shard's processing is behind, measured without a consumer: one GetShardIterator right after the
 * lease's checkpoint and GetRecords with `Limit: 1` (at most 3 calls when the service answers with empty pages).
 * This reads one record (never shown) and counts against the shard's 5 GetRecords per second.
 */
export interface ShardLag {
  /** `MillisBehindLatest` of that GetRecords: how far the checkpoint is from the tip; `null` when not reported. */
  millisBehindLatest: number | null;
  /** Age of the oldest record after the checkpoint (now − its arrival time); `null` when none is waiting. */
  pendingRecordAgeMillis: number | null;
  /** No record waits after the checkpoint and the service reports no lag. */
  caughtUp: boolean;
}

export type LeaseState = 'owned' | 'unassigned' | 'handoff' | 'finished';

export interface LeaseStatus {
  leaseKey: string;
  shardId: string;
  /** Multi-stream leases: `account:stream:creationEpoch`. */
  stream: string | undefined;
  state: LeaseState;
  owner: string | null;
  counter: number;
  /** Sequence number or sentinel (`TRIM_HORIZON`, `LATEST`, `AT_TIMESTAMP`, `SHARD_END`). */
  checkpoint: string;
  checkpointSubSequenceNumber: number;
  /** A prepared (two-phase) checkpoint not yet committed. */
  pendingCheckpoint: string | null;
  ownerSwitchesSinceCheckpoint: number;
  parents: string[];
  children: string[];
  /** During a graceful handoff (KCL 3.x): `from` still has to checkpoint, `to` is the new owner. */
  handoff: { from: string; to: string | null } | null;
  /** The shard's hash-key range as stored in the lease (decimal strings); `null` when the lease has none. */
  hashKeyRange: { startingHashKey: string; endingHashKey: string } | null;
  /** `undefined`: not measured; `{ error }`: the measurement failed. */
  lag?: ShardLag | { error: string } | undefined;
}

export interface LeaseTableStatus {
  tableName: string;
  /** ISO time of the scan. */
  readAt: string;
  leases: LeaseStatus[];
  /** Leases per owner, most loaded first. */
  workers: { workerId: string; leases: number }[];
  /** Items that look like leases but could not be read. */
  malformed: number;
}

/**
 * Reads the lease table (and, with Kinesis access, each shard's lag) for operators: who owns which shard, how
 * far behind it is. Backs `ts-kcl status`; usable from code too. Read-only: it never writes the table.
 */
export class LeaseTableInspector {
  private readonly store: DynamoDbLeaseStore;
  private readonly kinesis: KinesisApi | undefined;
  private readonly owned: { destroy(): void }[] = [];

  constructor(private readonly options: LeaseTableInspectorOptions) {
    const settings = { region: options.region, credentials: options.credentials };
    const dynamo = options.dynamoDbClient ?? this.own(createDynamoDbClient({ ...settings, endpoint: options.endpoints?.dynamodb }));
    this.store = new DynamoDbLeaseStore(new DynamoDbApi(dynamo), options.tableName);
    if (options.lag !== false) {
      const kinesis = options.kinesisClient ?? this.own(createKinesisClient({ ...settings, endpoint: options.endpoints?.kinesis }));
      this.kinesis = new KinesisApi(kinesis, { requestTimeoutMillis: 10_000 });
    }
  }

  /** One scan of the table, plus each shard's lag unless `lag` is off here or `{ lag: false }` is passed. */
  async read(options: { lag?: boolean } = {}): Promise<LeaseTableStatus> {
    const { leases, malformed } = await this.store.listLeases();
    leases.sort((a, b) => (a.leaseKey < b.leaseKey ? -1 : a.leaseKey > b.leaseKey ? 1 : 0));
    const statuses = leases.map(toStatus);
    if (this.kinesis !== undefined && options.lag !== false) await this.measureLag(leases, statuses, this.kinesis);
    const counts = new Map<string, number>();
    for (const s of statuses) if (s.owner !== null) counts.set(s.owner, (counts.get(s.owner) ?? 0) + 1);
    const workers = [...counts].map(([workerId, n]) => ({ workerId, leases: n })).sort((a, b) => b.leases - a.leases || a.workerId.localeCompare(b.workerId));
    return { tableName: this.options.tableName, readAt: new Date().toISOString(), leases: statuses, workers, malformed: malformed.length };
  }

  /**
   * Checks that `stream` exists (one DescribeStreamSummary), so that a misspelt name is one clear error instead of
   * a failed lag measurement in every row. Rejects with `ResourceNotFoundError` when it does not.
   */
  async checkStream(): Promise<void> {
    if (this.kinesis !== undefined && this.options.stream !== undefined) await this.kinesis.describeStreamSummary(this.options.stream);
  }

  /** Releases the clients this inspector created. */
  close(): void {
    for (const c of this.owned.splice(0)) c.destroy();
  }

  private own<T extends { destroy(): void }>(client: T): T {
    this.owned.push(client);
    return client;
  }

  private async measureLag(leases: Lease[], statuses: LeaseStatus[], kinesis: KinesisApi): Promise<void> {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < leases.length) {
        const i = next++;
        const stream = this.streamOf(leases[i]!);
        if (stream === undefined) continue;
        try {
          statuses[i]!.lag = await shardLag(kinesis, stream, leases[i]!);
        } catch (error) {
          statuses[i]!.lag = { error: error instanceof Error ? error.message : String(error) };
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, this.options.lagConcurrency ?? 8) }, worker));
  }

  private streamOf(lease: Lease): StreamRef | undefined {
    if (lease.streamName !== undefined) {
      const id = parseStreamIdentifier(lease.streamName);
      return id ? { streamName: id.streamName } : undefined;
    }
    return this.options.stream;
  }
}

function toStatus(lease: Lease): LeaseStatus {
  const cp = lease.checkpoint.sequenceNumber;
  const state: LeaseState =
    isFinished(lease) ? 'finished' : lease.checkpointOwner !== undefined ? 'handoff' : lease.leaseOwner === undefined ? 'unassigned' : 'owned';
  return {
    leaseKey: lease.leaseKey,
    shardId: shardIdOf(lease),
    stream: lease.streamName,
    state,
    owner: lease.leaseOwner ?? null,
    counter: lease.leaseCounter,
    checkpoint: cp,
    checkpointSubSequenceNumber: lease.checkpoint.subSequenceNumber,
    pendingCheckpoint: lease.pendingCheckpoint?.sequenceNumber ?? null,
    ownerSwitchesSinceCheckpoint: lease.ownerSwitchesSinceCheckpoint,
    parents: [...lease.parentShardIds],
    children: [...lease.childShardIds],
    handoff: lease.checkpointOwner !== undefined ? { from: lease.checkpointOwner, to: lease.leaseOwner ?? null } : null,
    hashKeyRange: lease.hashKeyRange ? { ...lease.hashKeyRange } : null,
  };
}

/** See `ShardLag`. */
async function shardLag(kinesis: KinesisApi, stream: StreamRef, lease: Lease): Promise<ShardLag | { error: string }> {
  const cp = lease.checkpoint.sequenceNumber;
  if (isFinished(lease)) return { millisBehindLatest: 0, pendingRecordAgeMillis: null, caughtUp: true };
  if (cp === 'AT_TIMESTAMP') return { error: 'not measured: an AT_TIMESTAMP start is not stored in the lease table' };
  const position: IteratorPosition = cp === 'TRIM_HORIZON' || cp === 'LATEST' ? { type: cp } : { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: cp };
  const shardId = shardIdOf(lease);
  let iterator: string | undefined = await kinesis.getShardIterator(stream, shardId, position);
  let millisBehindLatest: number | null = null;
  for (let call = 0; call < 3 && iterator !== undefined; call++) {
    const result = await kinesis.getRecords(iterator, 1, stream, { shardId });
    millisBehindLatest = result.millisBehindLatest ?? millisBehindLatest;
    const first = result.records[0];
    if (first !== undefined) {
      return { millisBehindLatest, pendingRecordAgeMillis: Math.max(0, Date.now() - first.approximateArrivalTimestamp.getTime()), caughtUp: false };
    }
    if (!millisBehindLatest) break; // empty and at the tip (or the shard is closed and read)
    iterator = result.nextShardIterator;
  }
  return { millisBehindLatest, pendingRecordAgeMillis: null, caughtUp: !millisBehindLatest };
}
