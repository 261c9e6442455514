export * from './clients.js';
export * from './map-error.js';
export * from './kinesis-types.js';
export * from './kinesis-api.js';
export * from './kinesis-admin.js';
