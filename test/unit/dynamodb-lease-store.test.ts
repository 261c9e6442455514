// DynamoDbLeaseStore's table handling against a scripted client: timeouts on a fake clock, a concurrent
// creator (ResourceInUseException), and the error naming the table's foreign key schema.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DynamoDBClient } from '../../src/aws/clients.js';
import { DynamoDbApi } from '../../src/aws/dynamodb-api.js';
import { InvalidStateError, ThrottlingError, TimeoutError } from '../../src/errors.js';
import { DynamoDbLeaseStore } from '../../src/leases/dynamodb-lease-store.js';
import { FakeClock } from '../../src/util/clock.js';
import { TABLE_OPTIONS } from '../conformance/lease-store-suite.js';

type Handler = (input: Record<string, unknown>) => unknown;

function scriptedApi(handlers: Record<string, Handler>): DynamoDbApi {
  const client = {
    send(command: { constructor: { name: string }; input: Record<string, unknown> }): Promise<unknown> {
      const handler = handlers[command.constructor.name];
      if (handler === undefined) return Promise.reject(new Error(`unexpected ${command.constructor.name}`));
      try {
        return Promise.resolve(handler(command.input));
      } catch (error) {
        return Promise.reject(error instanceof Error ? error : new Error(String(error)));
      }
    },
  };
  return new DynamoDbApi(client as unknown as DynamoDBClient);
}

function awsError(name: string): Error {
  const e = new Error(`${name} from the scripted client`);
  e.name = name;
  return e;
}

const table = (status: string, key = 'leaseKey', type = 'S'): unknown => ({
  Table: {
    TableName: 't',
    TableStatus: status,
    KeySchema: [{ AttributeName: key, KeyType: 'HASH' }],
    AttributeDefinitions: [{ AttributeName: key, AttributeType: type }],
  },
});

void describe('DynamoDbLeaseStore table handling', () => {
  void it('times out with TimeoutError when the table stays CREATING', async () => {
    const clock = new FakeClock();
    let created = false;
    const api = scriptedApi({
      DescribeTableCommand: () => {
        if (!created) throw awsError('ResourceNotFoundException');
        return table('CREATING');
      },
      CreateTableCommand: () => {
        created = true;
        return {};
      },
    });
    const store = new DynamoDbLeaseStore(api, 'leases-x', { clock });
    const result = store.createTableIfNotExists({ ...TABLE_OPTIONS, activeTimeoutMillis: 5_000 });
    const settled = result.then(
      () => 'resolved',
      (e: unknown) => e,
    );
    for (let i = 0; i < 40 && clock.pendingSleeps === 0; i++) await new Promise((r) => setImmediate(r));
    await clock.advance(6_000);
    const outcome = await settled;
    assert.ok(outcome instanceof TimeoutError, String(outcome));
    assert.match(outcome.message, /leases-x/);
    assert.match(outcome.message, /CREATING/);
  });

  void it('tolerates ResourceInUseException (another worker creates it) and waits for ACTIVE', async () => {
    let describes = 0;
    const api = scriptedApi({
      DescribeTableCommand: () => {
        describes++;
        if (describes === 1) throw awsError('ResourceNotFoundException');
        return table(describes < 4 ? 'CREATING' : 'ACTIVE');
      },
      CreateTableCommand: () => {
        throw awsError('ResourceInUseException');
      },
    });
    const store = new DynamoDbLeaseStore(api, 'leases-y');
    assert.equal(await store.createTableIfNotExists(TABLE_OPTIONS), false);
    assert.equal(describes, 4);
    assert.equal(api.requestCounts.CreateTable, 1);
  });

  void it('sends on-demand or provisioned billing as asked', async () => {
    const inputs: Record<string, unknown>[] = [];
    let exists = false;
    const api = scriptedApi({
      DescribeTableCommand: () => {
        if (!exists) throw awsError('ResourceNotFoundException');
        return table('ACTIVE');
      },
      CreateTableCommand: (input) => {
        inputs.push(input);
        exists = true;
        return {};
      },
    });
    await new DynamoDbLeaseStore(api, 'a').createTableIfNotExists(TABLE_OPTIONS);
    exists = false;
    await new DynamoDbLeaseStore(api, 'b').createTableIfNotExists({ ...TABLE_OPTIONS, billingMode: 'PROVISIONED', readCapacity: 7, writeCapacity: 3 });
    assert.deepEqual(inputs[0], {
      TableName: 'a',
      KeySchema: [{ AttributeName: 'leaseKey', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'leaseKey', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
    });
    assert.deepEqual(inputs[1]?.ProvisionedThroughput, { ReadCapacityUnits: 7, WriteCapacityUnits: 3 });
    assert.equal(inputs[1]?.BillingMode, 'PROVISIONED');
  });

  void it('names the table and its key schema when it is not a lease table', async () => {
    const api = scriptedApi({ DescribeTableCommand: () => table('ACTIVE', 'pk', 'N') });
    const store = new DynamoDbLeaseStore(api, 'orders-app');
    await assert.rejects(store.createTableIfNotExists(TABLE_OPTIONS), (e: unknown) => {
      assert.ok(e instanceof InvalidStateError);
      assert.match(e.message, /"orders-app"/);
      assert.match(e.message, /pk \(HASH, N\)/);
      return true;
    });
  });

  void it('lets infrastructure errors through typed, without turning them into conflicts', async () => {
    const api = scriptedApi({
      UpdateItemCommand: () => {
        throw awsError('ProvisionedThroughputExceededException');
      },
    });
    const store = new DynamoDbLeaseStore(api, 't');
    await assert.rejects(
      store.renewLease({ leaseKey: 'k', leaseOwner: 'w', leaseCounter: 1, checkpoint: { sequenceNumber: 'LATEST', subSequenceNumber: 0 }, ownerSwitchesSinceCheckpoint: 0, parentShardIds: [], childShardIds: [] }),
      ThrottlingError,
    );
  });
});
