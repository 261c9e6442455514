import { after, before } from 'node:test';
import { startDynalite, type Emulator } from '../support/emulators.js';
import { dynamoStoreFactory } from './dynamo-store-factory.js';
import { runLeaseStoreConformance } from './lease-store-suite.js';

let emulator: Emulator | undefined;
const factory = dynamoStoreFactory(() => emulator!);

before(async () => {
  emulator = await startDynalite();
});
after(async () => {
  factory.close();
  await emulator?.stop();
});

runLeaseStoreConformance('DynamoDbLeaseStore on dynalite', () => factory.makeStore());
