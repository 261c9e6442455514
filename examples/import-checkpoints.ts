// Moves checkpoints from another Kinesis consumer library into a ts-kcl lease table (Java KCL's item format), so
// ts-kcl continues each shard where the old consumer stopped. Stop the old consumers first.
//
//   From a vmware-go-kcl table (items with ShardID, Checkpoint, ParentShardId):
//     GO_KCL_TABLE=orders-go APPLICATION_NAME=orders-app npx tsx examples/import-checkpoints.ts
//   From a JSON file mapping shard ids to sequence numbers (e.g. read out of lifion-kinesis's state item):
//     CHECKPOINTS_FILE=checkpoints.json APPLICATION_NAME=orders-app npx tsx examples/import-checkpoints.ts
//
// The lease table (LEASE_TABLE, default the application name) is created if missing. Existing leases are never
// overwritten. Imported leases have no owner, so the first ts-kcl worker takes them at once.
import { readFileSync } from 'node:fs';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  PutItemCommand,
  ResourceNotFoundException,
  ConditionalCheckFailedException,
  paginateScan,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import { applicationName, connection } from './connection.js';

interface Checkpoint {
  shardId: string;
  /** A sequence number, or SHARD_END for a finished shard. */
  checkpoint: string;
  parentShardIds: string[];
}

const tableName = process.env.LEASE_TABLE ?? applicationName;
const { region, endpoints, credentials } = connection();
const dynamodb = new DynamoDBClient({ region, endpoint: endpoints?.dynamodb, credentials });

async function fromGoKclTable(table: string): Promise<Checkpoint[]> {
  const out: Checkpoint[] = [];
  for await (const page of paginateScan({ client: dynamodb }, { TableName: table })) {
    for (const item of page.Items ?? []) {
      const shardId = item.ShardID?.S;
      const checkpoint = item.Checkpoint?.S;
      if (!shardId || !checkpoint) continue; // never checkpointed: ts-kcl starts it at initialPosition
      out.push({ shardId, checkpoint, parentShardIds: item.ParentShardId?.S ? [item.ParentShardId.S] : [] });
    }
  }
  return out;
}

function fromFile(path: string): Checkpoint[] {
  const json = JSON.parse(readFileSync(path, 'utf8')) as Record<string, string>;
  return Object.entries(json).map(([shardId, checkpoint]) => ({ shardId, checkpoint, parentShardIds: [] }));
}

async function ensureLeaseTable(): Promise<void> {
  try {
    await dynamodb.send(new DescribeTableCommand({ TableName: tableName }));
    return;
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException)) throw error;
  }
  await dynamodb.send(
    new CreateTableCommand({
      TableName: tableName,
      KeySchema: [{ AttributeName: 'leaseKey', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'leaseKey', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  for (;;) {
    const { Table } = await dynamodb.send(new DescribeTableCommand({ TableName: tableName }));
    if (Table?.TableStatus === 'ACTIVE') return;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

const source = process.env.GO_KCL_TABLE;
const file = process.env.CHECKPOINTS_FILE;
if (!source && !file) {
  console.error('set GO_KCL_TABLE or CHECKPOINTS_FILE');
  process.exit(2);
}
const checkpoints = source ? await fromGoKclTable(source) : fromFile(file!);
await ensureLeaseTable();

let imported = 0;
for (const c of checkpoints) {
  // A lease item as Java KCL 2.x writes it, without an owner.
  const item: Record<string, AttributeValue> = {
    leaseKey: { S: c.shardId },
    leaseCounter: { N: '0' },
    checkpoint: { S: c.checkpoint },
    checkpointSubSequenceNumber: { N: '0' },
    ownerSwitchesSinceCheckpoint: { N: '0' },
  };
  if (c.parentShardIds.length > 0) item.parentShardId = { SS: c.parentShardIds };
  try {
    await dynamodb.send(new PutItemCommand({ TableName: tableName, Item: item, ConditionExpression: 'attribute_not_exists(leaseKey)' }));
    imported++;
    console.log(`${c.shardId}: checkpoint ${c.checkpoint}`);
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    console.log(`${c.shardId}: already has a lease, left as is`);
  }
}
console.log(`imported ${imported} of ${checkpoints.length} checkpoints into ${tableName}`);
dynamodb.destroy();
