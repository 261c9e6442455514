import {
  ConditionalCheckFailedError,
  DependencyError,
  ExpiredIteratorError,
  KclError,
  NetworkError,
  ResourceInUseError,
  ResourceNotFoundError,
  ThrottlingError,
} from '../errors.js';

const THROTTLING = new Set([
  'ProvisionedThroughputExceededException',
  'LimitExceededException',
  'KMSThrottlingException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'Throttling',
]);
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ERR_HTTP2_ERROR',
  'ERR_HTTP2_STREAM_ERROR',
  'ERR_HTTP2_GOAWAY_SESSION',
  'ERR_HTTP2_SESSION_ERROR',
  'ERR_STREAM_PREMATURE_CLOSE',
]);
const NETWORK_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException', 'AbortError']);

interface SdkLikeError {
  name?: unknown;
  code?: unknown;
  $metadata?: { httpStatusCode?: number };
  $retryable?: unknown;
}

/**
 * Turns an AWS SDK (or socket) error into a typed `KclError` by its `name`/`code` — never by message.
 * `operation` names the call for the message, e.g. `Kinesis.GetRecords(shardId-000000000001)`.
 */
export function mapAwsError(error: unknown, operation: string): KclError {
  if (error instanceof KclError) return error;
  const e = (typeof error === 'object' && error !== null ? error : {}) as SdkLikeError;
  const name = typeof e.name === 'string' ? e.name : '';
  const code = typeof e.code === 'string' ? e.code : '';
  const detail = error instanceof Error ? error.message : String(error);
  const message = `${operation} failed: ${name || code || 'error'}: ${detail}`;
  const options = { cause: error };

  if (name === 'ConditionalCheckFailedException') return new ConditionalCheckFailedError(message, options);
  if (THROTTLING.has(name)) return new ThrottlingError(message, options);
  if (name === 'ExpiredIteratorException') return new ExpiredIteratorError(message, options);
  if (name === 'ResourceNotFoundException') return new ResourceNotFoundError(message, options);
  if (name === 'ResourceInUseException') return new ResourceInUseError(message, options);
  if (NETWORK_CODES.has(code) || NETWORK_NAMES.has(name) || NETWORK_CODES.has(name)) return new NetworkError(message, options);
  const status = e.$metadata?.httpStatusCode;
  const wrong = wrongServiceHint(error, name, status, operation.split('.')[0] ?? 'AWS');
  if (wrong !== undefined) return new DependencyError(`${operation} failed: ${wrong}`, { cause: error });
  const retriable = (status !== undefined && status >= 500) || e.$retryable !== undefined;
  return new DependencyError(message, { retriable, cause: error });
}

/**
 * A JSON/HTML/XML answer that the SDK could not read as this service's (`SyntaxError` while deserializing: the SDK
 * attaches the raw `$response`), or an `UnknownOperationException`: the endpoint most likely belongs to another
 * service (Kinesis and DynamoDB endpoints swapped, a web server) — worth saying so instead of a parser error.
 */
function wrongServiceHint(error: unknown, name: string, status: number | undefined, service: string): string | undefined {
  const raw = (error as { $response?: { headers?: Record<string, string> } } | null)?.$response;
  const check = 'check endpoints / AWS_ENDPOINT_URL_KINESIS / AWS_ENDPOINT_URL_DYNAMODB (Kinesis and DynamoDB swapped?)';
  if (name === 'SyntaxError' && raw !== undefined) {
    const type = raw.headers?.['content-type'] ?? raw.headers?.['Content-Type'];
    const what = type?.includes('html') ? 'a web page (HTML)' : `no ${service} answer${type ? ` (${type})` : ''}`;
    return `the endpoint answered with ${what}${status !== undefined ? `, HTTP ${status}` : ''}: it looks like another service, not ${service}; ${check}`;
  }
  if (name === 'UnknownOperationException') {
    return `the endpoint does not know this operation: it looks like another service's endpoint, not ${service}'s, or an emulator without it (kinesalite has no enhanced fan-out: use polling); ${check}`;
  }
  return undefined;
}
