/**
 * Every error ts-kcl raises is a `KclError` with a stable `code` (branch on it, never on messages)
 * and `retriable` (whether the same call may succeed later; the retrier honours it).
 */
export class KclError extends Error {
  readonly code: string;
  readonly retriable: boolean;

  constructor(code: string, message: string, options: { retriable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retriable = options.retriable ?? false;
  }
}

/** An option is missing, unknown or out of range. `key` is the option's dotted path. */
export class ConfigError extends KclError {
  constructor(
    readonly key: string,
    message: string,
  ) {
    super('KCL_CONFIG_INVALID', `Invalid option "${key}": ${message}`);
  }
}

/** A caller passed a value the operation cannot accept (bad sequence number, checkpoint out of range...). */
export class IllegalArgumentError extends KclError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('KCL_ILLEGAL_ARGUMENT', message, options);
  }
}

/** AWS throttled the call (Kinesis ProvisionedThroughputExceeded/LimitExceeded, DynamoDB throughput). */
export class ThrottlingError extends KclError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('KCL_THROTTLED', message, { retriable: true, ...options });
  }
}

/** A shard iterator expired (older than 5 minutes); fetch a new one after the last delivered record. */
export class ExpiredIteratorError extends KclError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('KCL_EXPIRED_ITERATOR', message, { retriable: false, ...options });
  }
}

/** The stream, shard, table or consumer does not exist (or not yet). */
export class ResourceNotFoundError extends KclError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('KCL_RESOURCE_NOT_FOUND', message, options);
  }
}

/** The resource exists but is busy (being created, updated or deleted). */
export class ResourceInUseError extends KclError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('KCL_RESOURCE_IN_USE', message, { retriable: true, ...options });
  }
}

/** A DynamoDB condition did not hold: another writer got there first. Lease stores turn this into a result. */
export class ConditionalCheckFailedError extends KclError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('KCL_CONDITIONAL_CHECK_FAILED', message, options);
  }
}

/** The connection failed, timed out or was reset before an answer arrived. */
export class NetworkError extends KclError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('KCL_NETWORK', message, { retriable: true, ...options });
  }
}

/** A dependency (Kinesis, DynamoDB) failed in a way not covered by a more specific error. */
export class DependencyError extends KclError {
  constructor(message: string, options: { retriable?: boolean; cause?: unknown } = {}) {
    super('KCL_DEPENDENCY', message, options);
  }
}

/** The lease is no longer held by this worker: checkpoints through it are refused (Java: ShutdownException). */
export class ShutdownError extends KclError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('KCL_SHUTDOWN', message, options);
  }
}

/** The library is in a state where the call cannot be made (Java: InvalidStateException). */
export class InvalidStateError extends KclError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('KCL_INVALID_STATE', message, options);
  }
}

/** A lease item in the table cannot be read as a lease; names the lease and the attribute. */
export class MalformedLeaseError extends KclError {
  constructor(
    readonly leaseKey: string,
    readonly attribute: string,
    message: string,
  ) {
    super('KCL_MALFORMED_LEASE', `Lease "${leaseKey}": attribute "${attribute}" ${message}`);
  }
}

/** Waiting for something (table ACTIVE, stream ACTIVE, shutdown) took longer than allowed. */
export class TimeoutError extends KclError {
  constructor(message: string, options: { retriable?: boolean; cause?: unknown } = {}) {
    super('KCL_TIMEOUT', message, options);
  }
}

/**
 * An AWS call got no answer within its deadline (see the `timeouts` options) and was aborted, which also frees its
 * connection. Retriable: the same call may well answer next time. `operation` names the call, e.g.
 * `DynamoDB.UpdateItem(table)` or `Kinesis.GetRecords(stream/shardId-000000000001)`.
 */
export class AwsCallTimeoutError extends TimeoutError {
  constructor(
    readonly operation: string,
    readonly timeoutMillis: number,
    options: { cause?: unknown } = {},
  ) {
    super(`${operation} got no answer within ${timeoutMillis} ms: aborted`, { retriable: true, ...options });
  }
}
