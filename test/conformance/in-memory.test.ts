import { InMemoryLeaseStore } from '../../src/leases/in-memory-lease-store.js';
import { runLeaseStoreConformance } from './lease-store-suite.js';

runLeaseStoreConformance('in memory', async () => {
  const store = new InMemoryLeaseStore({ tableExists: false });
  return {
    store,
    raw: {
      put: async (item) => store.putRawItem(item),
      get: async (leaseKey) => store.getRawItem(leaseKey),
      createTable: async (keySchema) => store.createRawTable(keySchema),
    },
    cleanup: async () => {},
  };
});
