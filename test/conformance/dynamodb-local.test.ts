import { after, before } from 'node:test';
import { startDynamoDbLocal, type Emulator } from '../support/emulators.js';
import { dynamoStoreFactory } from './dynamo-store-factory.js';
import { runLeaseStoreConformance } from './lease-store-suite.js';

let emulator: Emulator | undefined;
const factory = dynamoStoreFactory(() => emulator!);

before(async () => {
  emulator = await startDynamoDbLocal();
});
after(async () => {
  factory.close();
  await emulator?.stop();
});

runLeaseStoreConformance('DynamoDbLeaseStore on DynamoDB Local', () => factory.makeStore());
