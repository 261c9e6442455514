/** `StoreUnderTest` factory for `DynamoDbLeaseStore` against an emulator: one client, a fresh table per case. */
import { DynamoDbApi } from '../../src/aws/dynamodb-api.js';
import { ResourceNotFoundError } from '../../src/errors.js';
import { DynamoDbLeaseStore } from '../../src/leases/dynamodb-lease-store.js';
import { keyOf } from '../../src/leases/lease-serializer.js';
import { TEST_CREDENTIALS, TEST_REGION, uniqueName, type Emulator } from '../support/emulators.js';
import type { StoreUnderTest } from './lease-store-suite.js';

export interface DynamoStoreFactory {
  makeStore(): Promise<StoreUnderTest>;
  close(): void;
}

export function dynamoStoreFactory(emulator: () => Emulator): DynamoStoreFactory {
  let api: DynamoDbApi | undefined;
  const getApi = (): DynamoDbApi =>
    (api ??= DynamoDbApi.create({ region: TEST_REGION, endpoint: emulator().endpoint, credentials: TEST_CREDENTIALS }));
  return {
    async makeStore() {
      const a = getApi();
      const tableName = uniqueName('leases');
      const store = new DynamoDbLeaseStore(a, tableName, { consistentReads: true });
      return {
        store,
        raw: {
          put: (item) => a.putItem({ tableName, item }),
          get: (leaseKey) => a.getItem(tableName, keyOf(leaseKey), { consistentRead: true }),
          async createTable(keySchema) {
            await a.createTable({ tableName, keySchema, billingMode: 'PAY_PER_REQUEST' });
            await a.waitForTableActive(tableName, 30_000);
          },
        },
        scanRequests: () => a.requestCounts.Scan ?? 0,
        async cleanup() {
          try {
            await a.deleteTable(tableName);
          } catch (error) {
            if (!(error instanceof ResourceNotFoundError)) throw error;
          }
        },
      };
    },
    close() {
      api?.close();
      api = undefined;
    },
  };
}
