export * from './clients.js';
export * from './map-error.js';
export * from './kinesis-types.js';
export * from './kinesis-api.js';
export * from './kinesis-admin.js';
export * from './fanout-api.js';
export * from './fanout-http2.js';
export * from './kinesis-put-record.js';
