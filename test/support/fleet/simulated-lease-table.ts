import type { AttributeMap, AttributeValue } from '../../../src/aws/dynamodb-api.js';
import type { Lease } from '../../../src/leases/lease.js';
import type { HashKeyRange } from '../../../src/shards/hash-key-range.js';
import { toItem } from '../../../src/leases/lease-serializer.js';
import { InMemoryLeaseStore } from '../../../src/leases/in-memory-lease-store.js';
import type { CheckpointUpdate, LeaseStore, LeaseTableOptions, LeaseWriteResult, ListLeasesResult } from '../../../src/leases/lease-store.js';
import type { SimClock } from './sim-clock.js';

/** DynamoDB request kinds the lease store sends (what `DynamoDbApi.requestCounts` counts). */
export type DynamoRequest = 'Scan' | 'GetItem' | 'UpdateItem' | 'PutItem' | 'DeleteItem';

/** Mean latency per request in ms; a scan page adds `scanMillisPerMB` for the data it reads. */
export interface LatencyModel {
  GetItem: number;
  UpdateItem: number;
  PutItem: number;
  DeleteItem: number;
  Scan: number;
  scanMillisPerMB: number;
  /** Uniform jitter, ± this fraction of the mean. */
  jitter: number;
  /**
   * Measured latencies per request: when present, each request's latency is drawn from these (the real
   * distribution's tail matters: a few slow takes change who sees whom in a start-up) instead of mean ± jitter.
   */
  samples?: Partial<Record<DynamoRequest, readonly number[]>>;
}

/** Rough in-region DynamoDB latencies (single-digit ms; scans read at ~40 MB/s per page stream). */
export const DEFAULT_LATENCY: LatencyModel = { GetItem: 4, UpdateItem: 6, PutItem: 6, DeleteItem: 6, Scan: 8, scanMillisPerMB: 25, jitter: 0.5 };

/** Consumed capacity and requests; on-demand prices per million request units (us-east-1, 2025). */
export interface CostCounters {
  requests: Record<DynamoRequest, number>;
  rcu: number;
  wcu: number;
  /** RCU spent by scans alone (the taker's share of the read bill). */
  scanRcu: number;
}

export const ON_DEMAND_PRICE = { perMillionReads: 0.125, perMillionWrites: 0.625 };

const SCAN_PAGE_BYTES = 1024 * 1024;

function valueBytes(v: AttributeValue): number {
  if (v.S !== undefined) return Buffer.byteLength(v.S);
  // DynamoDB: about one byte per two significant digits, plus one.
  if (v.N !== undefined) return Math.ceil(v.N.replace(/^[-0.]+|\./g, '').length / 2) + 1;
  if (v.B instanceof Uint8Array) return v.B.length;
  if (v.SS) return v.SS.reduce((sum, x) => sum + Buffer.byteLength(x), 0);
  return 1;
}

/** DynamoDB's item size: attribute names plus values. */
export function itemBytes(item: AttributeMap): number {
  let bytes = 0;
  for (const [name, value] of Object.entries(item)) bytes += name.length + valueBytes(value);
  return bytes;
}

/**
 * The lease table as the fleet simulator sees it: the in-memory store (the same semantics as the DynamoDB store,
 * by the conformance suite) behind the request pattern of `DynamoDbLeaseStore` — a conditional UpdateItem per
 * write, a consistent GetItem after a failed condition, paginated eventually consistent scans of 1 MB pages — with
 * a latency per request on the simulated clock and DynamoDB's capacity arithmetic: reads in 4 KB units (half for
 * eventually consistent), writes in 1 KB units of the larger of the item before and after, failed conditions
 * included.
 */
export class SimulatedLeaseTable implements LeaseStore {
  readonly inner = new InMemoryLeaseStore();
  readonly cost: CostCounters = { requests: { Scan: 0, GetItem: 0, UpdateItem: 0, PutItem: 0, DeleteItem: 0 }, rcu: 0, wcu: 0, scanRcu: 0 };
  private readonly sizeCache = new Map<string, { counter: number; owner: string | undefined; bytes: number }>();
  /**
   * Parsed leases as stored, kept current by every write through this table: a scan hands out these objects
   * (callers never mutate listed leases) instead of parsing 10 000 items per scan. Filled on the first scan.
   */
  private parsed: Map<string, Lease> | undefined;

  constructor(
    private readonly clock: SimClock,
    private readonly random: () => number,
    /** Mutable: a calibration run switches it between phases. */
    public latency: LatencyModel = DEFAULT_LATENCY,
    private readonly consistentScans = false,
  ) {}

  private delay(request: DynamoRequest, extra = 0): Promise<void> {
    const samples = this.latency.samples?.[request];
    if (samples !== undefined && samples.length > 0) {
      return this.clock.sleep(Math.max(1, Math.round(samples[Math.floor(this.random() * samples.length)]! + extra)));
    }
    const mean = this.latency[request] + extra;
    const ms = Math.max(1, Math.round(mean * (1 + this.latency.jitter * (2 * this.random() - 1))));
    return this.clock.sleep(ms);
  }

  private count(request: DynamoRequest): void {
    this.cost.requests[request]++;
  }

  private rawBytes(leaseKey: string): number {
    const item = this.inner.getRawItem(leaseKey);
    return item === undefined ? 0 : itemBytes(item);
  }

  /** Item size of a listed lease, cached per counter and owner (the scan path is the hot one). */
  private leaseBytes(lease: Lease): number {
    const c = this.sizeCache.get(lease.leaseKey);
    if (c !== undefined && c.counter === lease.leaseCounter && c.owner === lease.leaseOwner) return c.bytes;
    const bytes = itemBytes(toItem(lease));
    this.sizeCache.set(lease.leaseKey, { counter: lease.leaseCounter, owner: lease.leaseOwner, bytes });
    return bytes;
  }

  private async read(leaseKey: string, consistent: boolean): Promise<void> {
    this.count('GetItem');
    await this.delay('GetItem');
    this.cost.rcu += Math.max(1, Math.ceil(this.rawBytes(leaseKey) / 4096)) * (consistent ? 1 : 0.5);
  }

  /** One UpdateItem: half the latency before the write lands, half after; a failed condition costs a consistent read. */
  private async write(leaseKey: string, op: () => Promise<LeaseWriteResult>): Promise<LeaseWriteResult> {
    this.count('UpdateItem');
    await this.delay('UpdateItem');
    const cached = this.parsed?.get(leaseKey);
    const before = cached === undefined ? this.rawBytes(leaseKey) : this.leaseBytes(cached);
    const result = await op();
    if (result.ok) this.parsed?.set(leaseKey, result.lease);
    const after = result.ok ? this.leaseBytes(result.lease) : before;
    this.cost.wcu += Math.max(1, Math.ceil(Math.max(before, after) / 1024));
    if (!result.ok) await this.read(leaseKey, true);
    return result;
  }

  createTableIfNotExists(options: LeaseTableOptions): Promise<boolean> {
    return this.inner.createTableIfNotExists(options);
  }

  tableExists(): Promise<boolean> {
    return this.inner.tableExists();
  }

  async createLeaseIfNotExists(lease: Lease): Promise<boolean> {
    this.count('PutItem');
    await this.delay('PutItem');
    this.cost.wcu += Math.max(1, Math.ceil(itemBytes(toItem(lease)) / 1024));
    const created = await this.inner.createLeaseIfNotExists(lease);
    if (created) this.parsed = undefined;
    return created;
  }

  async getLease(leaseKey: string, options: { consistentRead?: boolean } = {}): Promise<Lease | undefined> {
    await this.read(leaseKey, options.consistentRead ?? false);
    return this.inner.getLease(leaseKey);
  }

  async listLeases(): Promise<ListLeasesResult> {
    // The items are read at one instant; the pages' latency is paid afterwards (a small skew, like a real scan's).
    if (this.parsed === undefined) {
      const all = await this.inner.listLeases();
      this.parsed = new Map(all.leases.map((l) => [l.leaseKey, l]));
    }
    const result: ListLeasesResult = { leases: [...this.parsed.values()], malformed: [], skipped: 0 };
    let pageBytes = 0;
    let pages = 0;
    const endPage = async (): Promise<void> => {
      pages++;
      this.count('Scan');
      const units = Math.max(1, Math.ceil(pageBytes / 4096)) * (this.consistentScans ? 1 : 0.5);
      this.cost.rcu += units;
      this.cost.scanRcu += units;
      await this.delay('Scan', (this.latency.scanMillisPerMB * pageBytes) / SCAN_PAGE_BYTES);
      pageBytes = 0;
    };
    for (const lease of result.leases) {
      const bytes = this.leaseBytes(lease);
      if (pageBytes + bytes > SCAN_PAGE_BYTES) await endPage();
      pageBytes += bytes;
    }
    if (pageBytes > 0 || pages === 0) await endPage();
    return result;
  }

  renewLease(lease: Lease, update?: { throughputKBps?: number }): Promise<LeaseWriteResult> {
    return this.write(lease.leaseKey, () => this.inner.renewLease(lease, update));
  }

  takeLease(lease: Lease, newOwner: string): Promise<LeaseWriteResult> {
    return this.write(lease.leaseKey, () => this.inner.takeLease(lease, newOwner));
  }

  evictLease(lease: Lease): Promise<LeaseWriteResult> {
    return this.write(lease.leaseKey, () => this.inner.evictLease(lease));
  }

  updateCheckpoint(lease: Lease, update: CheckpointUpdate): Promise<LeaseWriteResult> {
    return this.write(lease.leaseKey, () => this.inner.updateCheckpoint(lease, update));
  }

  updateMetaInfo(leaseKey: string, meta: { childShardIds?: string[]; hashKeyRange?: HashKeyRange }): Promise<LeaseWriteResult> {
    return this.write(leaseKey, () => this.inner.updateMetaInfo(leaseKey, meta));
  }

  async deleteLease(leaseKey: string): Promise<void> {
    this.count('DeleteItem');
    await this.delay('DeleteItem');
    this.cost.wcu += Math.max(1, Math.ceil(this.rawBytes(leaseKey) / 1024));
    await this.inner.deleteLease(leaseKey);
    this.parsed?.delete(leaseKey);
  }

  startHandoff(lease: Lease, newOwner: string): Promise<LeaseWriteResult> {
    return this.write(lease.leaseKey, () => this.inner.startHandoff(lease, newOwner));
  }

  finishHandoff(lease: Lease): Promise<LeaseWriteResult> {
    return this.write(lease.leaseKey, () => this.inner.finishHandoff(lease));
  }
}
