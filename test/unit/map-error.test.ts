import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  ExpiredIteratorException,
  ExpiredNextTokenException,
  InternalFailureException,
  InvalidArgumentException,
  KMSThrottlingException,
  LimitExceededException,
  ProvisionedThroughputExceededException,
  ResourceInUseException,
  ResourceNotFoundException,
} from '@aws-sdk/client-kinesis';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { mapAwsError } from '../../src/aws/map-error.js';
import {
  ConditionalCheckFailedError,
  DependencyError,
  ExpiredIteratorError,
  KclError,
  NetworkError,
  ResourceInUseError,
  ResourceNotFoundError,
  ThrottlingError,
} from '../../src/errors.js';

const OP = 'Kinesis.GetRecords(orders/shardId-000000000001)';
const meta = (httpStatusCode: number) => ({ httpStatusCode, requestId: 'req-1', attempts: 1, totalRetryDelay: 0 });

type ErrorClass = new (message: string, options?: { cause?: unknown }) => KclError;

interface Case {
  label: string;
  error: unknown;
  type: ErrorClass;
  code: string;
  retriable: boolean;
}

// The SDK's own exception classes, as the client throws them, plus the plain shapes sockets and aborts produce.
const cases: Case[] = [
  {
    label: 'Kinesis ProvisionedThroughputExceededException',
    error: new ProvisionedThroughputExceededException({ message: 'Rate exceeded for shard', $metadata: meta(400) }),
    type: ThrottlingError,
    code: 'KCL_THROTTLED',
    retriable: true,
  },
  {
    label: 'Kinesis LimitExceededException',
    error: new LimitExceededException({ message: 'Rate exceeded for stream', $metadata: meta(400) }),
    type: ThrottlingError,
    code: 'KCL_THROTTLED',
    retriable: true,
  },
  {
    label: 'DynamoDB ThrottlingException (plain shape)',
    error: Object.assign(new Error('Rate of requests exceeds the allowed throughput.'), { name: 'ThrottlingException', $metadata: meta(400) }),
    type: ThrottlingError,
    code: 'KCL_THROTTLED',
    retriable: true,
  },
  {
    label: 'Kinesis ExpiredIteratorException',
    error: new ExpiredIteratorException({ message: 'Iterator expired', $metadata: meta(400) }),
    type: ExpiredIteratorError,
    code: 'KCL_EXPIRED_ITERATOR',
    retriable: false,
  },
  {
    label: 'Kinesis ResourceNotFoundException',
    error: new ResourceNotFoundException({ message: 'Stream orders not found', $metadata: meta(400) }),
    type: ResourceNotFoundError,
    code: 'KCL_RESOURCE_NOT_FOUND',
    retriable: false,
  },
  {
    label: 'Kinesis ResourceInUseException',
    error: new ResourceInUseException({ message: 'Stream orders is UPDATING', $metadata: meta(400) }),
    type: ResourceInUseError,
    code: 'KCL_RESOURCE_IN_USE',
    retriable: true,
  },
  {
    label: 'DynamoDB ConditionalCheckFailedException',
    error: new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: meta(400) }),
    type: ConditionalCheckFailedError,
    code: 'KCL_CONDITIONAL_CHECK_FAILED',
    retriable: false,
  },
  {
    label: 'Kinesis InvalidArgumentException (400)',
    error: new InvalidArgumentException({ message: 'Invalid ShardIterator.', $metadata: meta(400) }),
    type: DependencyError,
    code: 'KCL_DEPENDENCY',
    retriable: false,
  },
  {
    label: 'Kinesis ExpiredNextTokenException (400)',
    error: new ExpiredNextTokenException({ message: 'token expired', $metadata: meta(400) }),
    type: DependencyError,
    code: 'KCL_DEPENDENCY',
    retriable: false,
  },
  {
    label: 'Kinesis InternalFailureException (500)',
    error: new InternalFailureException({ message: 'internal', $metadata: meta(500) }),
    type: DependencyError,
    code: 'KCL_DEPENDENCY',
    retriable: true,
  },
  {
    label: 'an unmodelled 503 (kinesis-local answers 500 "UnknownError" to a garbage iterator)',
    error: Object.assign(new Error('UnknownError'), { name: 'Unknown', $metadata: meta(503) }),
    type: DependencyError,
    code: 'KCL_DEPENDENCY',
    retriable: true,
  },
  {
    label: 'a 400 the SDK flags $retryable',
    error: Object.assign(new Error('slow down'), { name: 'SomethingNew', $metadata: meta(400), $retryable: { throttling: true } }),
    type: DependencyError,
    code: 'KCL_DEPENDENCY',
    retriable: true,
  },
  {
    label: 'socket ECONNREFUSED (Node system error)',
    error: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED', errno: -111, syscall: 'connect' }),
    type: NetworkError,
    code: 'KCL_NETWORK',
    retriable: true,
  },
  {
    label: 'socket ECONNRESET',
    error: Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }),
    type: NetworkError,
    code: 'KCL_NETWORK',
    retriable: true,
  },
  {
    label: 'SDK TimeoutError',
    error: Object.assign(new Error('Connection timed out after 1000 ms'), { name: 'TimeoutError' }),
    type: NetworkError,
    code: 'KCL_NETWORK',
    retriable: true,
  },
  {
    label: 'aborted request (AbortError)',
    error: Object.assign(new Error('Request aborted'), { name: 'AbortError' }),
    type: NetworkError,
    code: 'KCL_NETWORK',
    retriable: true,
  },
  {
    label: 'HTTP/2 session error',
    error: Object.assign(new Error('Session closed'), { code: 'ERR_HTTP2_GOAWAY_SESSION' }),
    type: NetworkError,
    code: 'KCL_NETWORK',
    retriable: true,
  },
  {
    label: 'a thrown string',
    error: 'boom',
    type: DependencyError,
    code: 'KCL_DEPENDENCY',
    retriable: false,
  },
  {
    label: 'undefined',
    error: undefined,
    type: DependencyError,
    code: 'KCL_DEPENDENCY',
    retriable: false,
  },
];

void describe('mapAwsError', () => {
  for (const c of cases) {
    void it(`maps ${c.label} to ${c.type.name} (${c.code}, retriable=${c.retriable})`, () => {
      const mapped = mapAwsError(c.error, OP);
      assert.ok(mapped instanceof c.type, `got ${mapped.name}`);
      assert.ok(mapped instanceof KclError);
      assert.equal(mapped.code, c.code);
      assert.equal(mapped.retriable, c.retriable);
      assert.equal(mapped.cause, c.error);
      assert.ok(mapped.message.startsWith(`${OP} failed`), mapped.message);
    });
  }

  void it('keeps the SDK error name and message in the message', () => {
    const mapped = mapAwsError(new ResourceNotFoundException({ message: 'Stream orders not found', $metadata: meta(400) }), OP);
    assert.match(mapped.message, /ResourceNotFoundException: Stream orders not found/);
  });

  void it('branches on name/code, never on the message', () => {
    const lookalike = Object.assign(new Error('ExpiredIteratorException ECONNREFUSED throttled'), { name: 'InvalidArgumentException', $metadata: meta(400) });
    const mapped = mapAwsError(lookalike, OP);
    assert.ok(mapped instanceof DependencyError);
    assert.equal(mapped.retriable, false);
  });

  void it('returns a KclError unchanged (already mapped further down)', () => {
    const original = new ThrottlingError('already typed');
    assert.equal(mapAwsError(original, OP), original);
  });

  void it('treats KMSThrottlingException as throttling (retriable)', () => {
    const mapped = mapAwsError(new KMSThrottlingException({ message: 'KMS rate exceeded', $metadata: meta(400) }), OP);
    assert.ok(mapped instanceof ThrottlingError);
    assert.equal(mapped.retriable, true);
  });
});
