import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ensureStreamConsumer, type ConsumerRef, type StreamConsumer } from '../../src/aws/fanout-api.js';
import { DependencyError, ResourceInUseError, ResourceNotFoundError, ThrottlingError, TimeoutError } from '../../src/errors.js';
import { FakeClock } from '../../src/util/clock.js';
import { silentLogger } from '../../src/util/logger.js';

const STREAM_ARN = 'arn:aws:kinesis:us-east-1:000000000000:stream/s';

/** Scripted DescribeStreamConsumer / RegisterStreamConsumer: each call takes the next answer of its list. */
class FakeRegistry {
  readonly calls: string[] = [];
  constructor(
    private readonly describes: Array<StreamConsumer | Error>,
    private readonly registers: Array<StreamConsumer | Error> = [],
  ) {}

  describeStreamConsumer(ref: ConsumerRef): Promise<StreamConsumer> {
    this.calls.push(`describe ${'consumerName' in ref ? ref.consumerName : ref.consumerArn}`);
    const next = this.describes.shift() ?? new Error('unexpected describe');
    return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
  }

  registerStreamConsumer(_streamArn: string, name: string): Promise<StreamConsumer> {
    this.calls.push(`register ${name}`);
    const next = this.registers.shift() ?? new Error('unexpected register');
    return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
  }
}

const consumer = (status: string): StreamConsumer => ({ consumerName: 'app', consumerArn: `${STREAM_ARN}/consumer/app:1`, status });

/** Runs `ensureStreamConsumer` while advancing the fake clock until it settles. */
async function run(registry: FakeRegistry, clock = new FakeClock(), options: { activeTimeoutMillis?: number } = {}): Promise<string> {
  const result = ensureStreamConsumer(registry, { streamArn: STREAM_ARN, consumerName: 'app', clock, logger: silentLogger, random: () => 0.5, ...options });
  let settled = false;
  result.then(() => (settled = true), () => (settled = true));
  for (let i = 0; i < 1000 && !settled; i++) await clock.advance(100);
  return result;
}

describe('ensureStreamConsumer', () => {
  it('uses an ACTIVE consumer as it is', async () => {
    const registry = new FakeRegistry([consumer('ACTIVE')]);
    assert.equal(await run(registry), `${STREAM_ARN}/consumer/app:1`);
    assert.deepEqual(registry.calls, ['describe app']);
  });

  it('registers a missing consumer and waits until it is ACTIVE', async () => {
    const registry = new FakeRegistry(
      [new ResourceNotFoundError('none'), consumer('CREATING'), consumer('CREATING'), consumer('ACTIVE')],
      [consumer('CREATING')],
    );
    await run(registry);
    assert.deepEqual(registry.calls, ['describe app', 'register app', 'describe app', 'describe app', 'describe app']);
  });

  it('retries LimitExceeded (throttling) on register with backoff', async () => {
    const registry = new FakeRegistry(
      [new ResourceNotFoundError('none'), new ResourceNotFoundError('none'), new ResourceNotFoundError('none'), consumer('ACTIVE')],
      [new ThrottlingError('LimitExceededException'), new ThrottlingError('LimitExceededException'), consumer('CREATING')],
    );
    await run(registry);
    assert.equal(registry.calls.filter((c) => c.startsWith('register')).length, 3);
  });

  it('ResourceInUse on register (another worker registering) goes back to describing', async () => {
    const registry = new FakeRegistry([new ResourceNotFoundError('none'), consumer('CREATING'), consumer('ACTIVE')], [new ResourceInUseError('exists')]);
    await run(registry);
    assert.deepEqual(registry.calls, ['describe app', 'register app', 'describe app', 'describe app']);
  });

  it('waits out a DELETING consumer and registers it again', async () => {
    const registry = new FakeRegistry([consumer('DELETING'), new ResourceNotFoundError('gone'), consumer('ACTIVE')], [consumer('CREATING')]);
    await run(registry);
    assert.deepEqual(registry.calls, ['describe app', 'describe app', 'register app', 'describe app']);
  });

  it('gives up with a TimeoutError when never ACTIVE, and rethrows non-retriable errors at once', async () => {
    const creating = Array.from({ length: 100 }, () => consumer('CREATING'));
    await assert.rejects(run(new FakeRegistry(creating), new FakeClock(), { activeTimeoutMillis: 5000 }), TimeoutError);
    const bad = new DependencyError('AccessDenied', { retriable: false });
    await assert.rejects(run(new FakeRegistry([new ResourceNotFoundError('none')], [bad])), (e) => e === bad);
  });
});
