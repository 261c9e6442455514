// Kept apart from cloudwatch-api.ts so that the CloudWatch sink can use them without loading the SDK's client.
/**
 * PutMetricData limits (CloudWatch API reference, as of 2025): at most 1000 datums per call and 1 MB per request
 * (the SDK gzips larger bodies), 30 dimensions per datum, values within ±2^360.
 */
export const PUT_METRIC_DATA_MAX_DATUMS = 1000;
export const PUT_METRIC_DATA_MAX_BYTES = 1_000_000;
