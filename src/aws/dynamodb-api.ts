import {
  CreateTableCommand,
  DeleteItemCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  GetItemCommand,
  PutItemCommand,
  ScanCommand,
  UpdateItemCommand,
  type AttributeValue,
  type CreateTableCommandInput,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { ResourceNotFoundError, TimeoutError } from '../errors.js';
import { systemClock, type Clock } from '../util/clock.js';
import { createDynamoDbClient, type ClientSettings } from './clients.js';
import type { Logger } from '../util/logger.js';
import { callWithDeadline, type SendOptions } from './call-deadline.js';

export type { AttributeValue };
/** One DynamoDB item (or key) in the SDK's attribute-value form: `{ leaseKey: { S: '...' } }`. */
export type AttributeMap = Record<string, AttributeValue>;

export type ScalarAttributeType = 'S' | 'N' | 'B';

export interface KeySchemaEntry {
  attributeName: string;
  keyType: 'HASH' | 'RANGE';
  /** From the table's attribute definitions; undefined if DynamoDB did not report it. */
  attributeType?: ScalarAttributeType | undefined;
}

export interface CreateTableParams {
  tableName: string;
  /** Key attributes with their types; the first is the hash key, an optional second the range key. */
  keySchema: { attributeName: string; keyType: 'HASH' | 'RANGE'; attributeType: ScalarAttributeType }[];
  billingMode: 'PAY_PER_REQUEST' | 'PROVISIONED';
  /** Required with `PROVISIONED`. */
  readCapacity?: number;
  writeCapacity?: number;
}

export interface TableInfo {
  tableName: string;
  /** `CREATING` | `ACTIVE` | `UPDATING` | `DELETING` | ... as DynamoDB reports it. */
  status: string;
  keySchema: KeySchemaEntry[];
  billingMode?: string | undefined;
}

/** Expression parts shared by the conditional writes. */
export interface ExpressionParams {
  conditionExpression?: string | undefined;
  expressionAttributeNames?: Record<string, string> | undefined;
  expressionAttributeValues?: AttributeMap | undefined;
}

export interface PutItemParams extends ExpressionParams {
  tableName: string;
  item: AttributeMap;
}

export interface UpdateItemParams extends ExpressionParams {
  tableName: string;
  key: AttributeMap;
  updateExpression: string;
  /** This call's deadline instead of the item deadline (a lease renewal may wait until its lease's give-up time). */
  timeoutMillis?: number;
}

export interface DeleteItemParams extends ExpressionParams {
  tableName: string;
  key: AttributeMap;
}

export interface ScanPageParams {
  tableName: string;
  exclusiveStartKey?: AttributeMap | undefined;
  consistentRead?: boolean | undefined;
  /** DynamoDB's `Limit` (items evaluated per page); the 1 MB page limit applies regardless. */
  limit?: number | undefined;
}

export interface ScanPage {
  items: AttributeMap[];
  lastEvaluatedKey?: AttributeMap | undefined;
}

/** Deadlines per kind of DynamoDB call; unset = none of ours (the client's own settings apply). */
export interface DynamoDbTimeouts {
  /** GetItem, PutItem, UpdateItem, DeleteItem: the lease operations (renewals, takes, checkpoints). */
  itemMillis?: number | undefined;
  /** Each Scan page. */
  scanMillis?: number | undefined;
  /** CreateTable, DescribeTable, DeleteTable. */
  adminMillis?: number | undefined;
}

export interface DynamoDbApiOptions {
  /** Destroy the client on {@link DynamoDbApi.close} (it was built for this wrapper). */
  ownsClient?: boolean;
  timeouts?: DynamoDbTimeouts;
  /** Where timeouts are reported. */
  logger?: Logger;
}

type CallKind = keyof DynamoDbTimeouts;

/** Requests sent, by DynamoDB operation name (`GetItem`, `Scan`, ...); failed requests count too. */
export type RequestCounts = Record<string, number>;

/**
 * A thin wrapper over the DynamoDB client that speaks plain attribute maps, maps every SDK error to a
 * typed `KclError` (`mapAwsError`; `ConditionalCheckFailedException` → `ConditionalCheckFailedError`)
 * and counts requests per operation (for benchmarks and tests).
 */
export class DynamoDbApi {
  readonly client: DynamoDBClient;
  readonly requestCounts: RequestCounts = {};
  private readonly ownsClient: boolean;
  private readonly timeouts: DynamoDbTimeouts;
  private readonly logger: Logger | undefined;

  constructor(client: DynamoDBClient, options: DynamoDbApiOptions = {}) {
    this.client = client;
    this.ownsClient = options.ownsClient ?? false;
    this.timeouts = options.timeouts ?? {};
    this.logger = options.logger;
  }

  /** Builds its own client (closed by {@link DynamoDbApi.close}). */
  static create(settings: ClientSettings, options: Omit<DynamoDbApiOptions, 'ownsClient'> = {}): DynamoDbApi {
    return new DynamoDbApi(createDynamoDbClient(settings), { ...options, ownsClient: true });
  }

  /** Releases the client's sockets if this wrapper created it. */
  close(): void {
    if (this.ownsClient) this.client.destroy();
  }

  /** One call under its kind's deadline (a per-call abort signal, so it holds for injected clients too). */
  private send<T>(operation: string, target: string, kind: CallKind, call: (options: SendOptions) => Promise<T>, timeoutMillis?: number): Promise<T> {
    this.requestCounts[operation] = (this.requestCounts[operation] ?? 0) + 1;
    return callWithDeadline({ operation: `DynamoDB.${operation}(${target})`, timeoutMillis: timeoutMillis ?? this.timeouts[kind], logger: this.logger }, call);
  }

  async createTable(params: CreateTableParams): Promise<void> {
    const input: CreateTableCommandInput = {
      TableName: params.tableName,
      KeySchema: params.keySchema.map((k) => ({ AttributeName: k.attributeName, KeyType: k.keyType })),
      AttributeDefinitions: params.keySchema.map((k) => ({ AttributeName: k.attributeName, AttributeType: k.attributeType })),
      BillingMode: params.billingMode,
      ...(params.billingMode === 'PROVISIONED'
        ? {
            ProvisionedThroughput: {
              ReadCapacityUnits: params.readCapacity ?? 10,
              WriteCapacityUnits: params.writeCapacity ?? 10,
            },
          }
        : {}),
    };
    await this.send('CreateTable', params.tableName, 'adminMillis', (o) => this.client.send(new CreateTableCommand(input), o));
  }

  /** The table's status and key schema, or undefined when it does not exist. */
  async describeTable(tableName: string): Promise<TableInfo | undefined> {
    try {
      const out = await this.send('DescribeTable', tableName, 'adminMillis', (o) =>
        this.client.send(new DescribeTableCommand({ TableName: tableName }), o),
      );
      const table = out.Table;
      if (table === undefined) return undefined;
      const types = new Map((table.AttributeDefinitions ?? []).map((d) => [d.AttributeName, d.AttributeType]));
      return {
        tableName: table.TableName ?? tableName,
        status: table.TableStatus ?? 'UNKNOWN',
        keySchema: (table.KeySchema ?? []).map((k) => ({
          attributeName: k.AttributeName ?? '',
          keyType: k.KeyType === 'RANGE' ? 'RANGE' : 'HASH',
          attributeType: types.get(k.AttributeName),
        })),
        billingMode: table.BillingModeSummary?.BillingMode ?? (table.ProvisionedThroughput ? 'PROVISIONED' : undefined),
      };
    } catch (error) {
      if (error instanceof ResourceNotFoundError) return undefined;
      throw error;
    }
  }

  /**
   * Polls DescribeTable until the table is ACTIVE (short intervals first, then every second). A table not
   * found yet counts as not ready (DescribeTable may lag CreateTable), as in Java KCL's wait.
   * Rejects with `TimeoutError` after `timeoutMillis`.
   */
  async waitForTableActive(tableName: string, timeoutMillis: number, clock: Clock = systemClock): Promise<TableInfo> {
    const deadline = clock.now() + timeoutMillis;
    let delay = 10; // emulators (and DynamoDB Local) are ACTIVE within milliseconds; AWS takes seconds either way
    for (;;) {
      const info = await this.describeTable(tableName);
      if (info?.status === 'ACTIVE') return info;
      const remaining = deadline - clock.now();
      if (remaining <= 0) {
        throw new TimeoutError(
          `DynamoDB table "${tableName}" not ACTIVE after ${timeoutMillis} ms (${info === undefined ? 'not found' : `status ${info.status}`})`,
          { retriable: true },
        );
      }
      await clock.sleep(Math.min(delay, remaining));
      delay = Math.min(delay * 2, 1000);
    }
  }

  async deleteTable(tableName: string): Promise<void> {
    await this.send('DeleteTable', tableName, 'adminMillis', (o) => this.client.send(new DeleteTableCommand({ TableName: tableName }), o));
  }

  async putItem(params: PutItemParams): Promise<void> {
    await this.send('PutItem', params.tableName, 'itemMillis', (o) =>
      this.client.send(
        new PutItemCommand({
          TableName: params.tableName,
          Item: params.item,
          ...expressionInput(params),
        }),
        o,
      ),
    );
  }

  async getItem(tableName: string, key: AttributeMap, options: { consistentRead?: boolean } = {}): Promise<AttributeMap | undefined> {
    const out = await this.send('GetItem', tableName, 'itemMillis', (o) =>
      this.client.send(new GetItemCommand({ TableName: tableName, Key: key, ConsistentRead: options.consistentRead ?? false }), o),
    );
    return out.Item;
  }

  /** UpdateItem with `ReturnValues: 'ALL_NEW'`: resolves the item as stored after the update. */
  async updateItem(params: UpdateItemParams): Promise<AttributeMap> {
    const out = await this.send('UpdateItem', params.tableName, 'itemMillis', (o) =>
      this.client.send(
        new UpdateItemCommand({
          TableName: params.tableName,
          Key: params.key,
          UpdateExpression: params.updateExpression,
          ReturnValues: 'ALL_NEW',
          ...expressionInput(params),
        }),
        o,
      ),
      params.timeoutMillis,
    );
    return out.Attributes ?? {};
  }

  async deleteItem(params: DeleteItemParams): Promise<void> {
    await this.send('DeleteItem', params.tableName, 'itemMillis', (o) =>
      this.client.send(new DeleteItemCommand({ TableName: params.tableName, Key: params.key, ...expressionInput(params) }), o),
    );
  }

  async scanPage(params: ScanPageParams): Promise<ScanPage> {
    const out = await this.send('Scan', params.tableName, 'scanMillis', (o) =>
      this.client.send(
        new ScanCommand({
          TableName: params.tableName,
          ConsistentRead: params.consistentRead ?? false,
          ...(params.exclusiveStartKey ? { ExclusiveStartKey: params.exclusiveStartKey } : {}),
          ...(params.limit !== undefined ? { Limit: params.limit } : {}),
        }),
        o,
      ),
    );
    return { items: out.Items ?? [], lastEvaluatedKey: out.LastEvaluatedKey };
  }

  /** Every item of the table, following `LastEvaluatedKey` until the last page. */
  async scanAll(
    tableName: string,
    options: { consistentRead?: boolean; limit?: number; onPage?: (page: ScanPage) => void } = {},
  ): Promise<AttributeMap[]> {
    const items: AttributeMap[] = [];
    let startKey: AttributeMap | undefined;
    do {
      const page = await this.scanPage({
        tableName,
        exclusiveStartKey: startKey,
        consistentRead: options.consistentRead,
        limit: options.limit,
      });
      options.onPage?.(page);
      items.push(...page.items);
      startKey = page.lastEvaluatedKey;
    } while (startKey !== undefined && Object.keys(startKey).length > 0);
    return items;
  }
}

function expressionInput(params: ExpressionParams): {
  ConditionExpression?: string;
  ExpressionAttributeNames?: Record<string, string>;
  ExpressionAttributeValues?: AttributeMap;
} {
  return {
    ...(params.conditionExpression !== undefined ? { ConditionExpression: params.conditionExpression } : {}),
    ...(params.expressionAttributeNames && Object.keys(params.expressionAttributeNames).length > 0
      ? { ExpressionAttributeNames: params.expressionAttributeNames }
      : {}),
    ...(params.expressionAttributeValues && Object.keys(params.expressionAttributeValues).length > 0
      ? { ExpressionAttributeValues: params.expressionAttributeValues }
      : {}),
  };
}
