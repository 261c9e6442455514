import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { toMultiLangConfig } from '../../src/multilang/multilang-config.js';
import { parseProperties } from '../../src/multilang/properties-parser.js';
import { ConfigError } from '../../src/index.js';

const BASE = 'executableName = node  app.js --flag\napplicationName = orders-app\nstreamName = orders\n';
const config = (text: string, env: NodeJS.ProcessEnv = {}) => toMultiLangConfig(parseProperties(BASE + text), env);

function failsOn(text: string, key: string, env: NodeJS.ProcessEnv = {}, base = BASE): ConfigError {
  let caught: unknown;
  try {
    toMultiLangConfig(parseProperties(base + text), env);
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof ConfigError, `expected a ConfigError for ${key}, got ${String(caught)}`);
  assert.equal(caught.key, key);
  assert.match(caught.message, new RegExp(`"${key}"`));
  return caught;
}

describe('toMultiLangConfig', () => {
  it('maps the daemon keys and the minimal required set', () => {
    const c = config('');
    assert.deepEqual(c.daemon, {
      executableName: 'node  app.js --flag',
      command: ['node', 'app.js', '--flag'],
      timeoutInSeconds: undefined,
      shutdownGraceMillis: 30_000,
      processingLanguage: undefined,
    });
    assert.equal(c.scheduler.applicationName, 'orders-app');
    assert.equal(c.scheduler.streamName, 'orders');
    assert.deepEqual(c.warnings, []);
  });

  it('maps every KCL key ts-kcl has an option for', () => {
    const c = config([
      'regionName = eu-west-1', 'workerId = host-1', 'tableName = orders-leases', 'failoverTimeMillis = 20000',
      'maxLeasesForWorker = 7', 'maxLeasesToStealAtOneTime = 2', 'initialLeaseTableReadCapacity = 5',
      'initialLeaseTableWriteCapacity = 6', 'shardSyncIntervalMillis = 30000', 'parentShardPollIntervalMillis = 500',
      'callProcessRecordsEvenForEmptyRecordList = true', 'initialPositionInStream = trim_horizon', 'maxRecords = 500',
      'idleTimeBetweenReadsInMillis = 250', 'kinesisEndpoint = http://127.0.0.1:4567', 'dynamoDBEndpoint = http://127.0.0.1:8000',
      'timeoutInSeconds = 9', 'shutdownGraceMillis = 1234', 'processingLanguage = nodejs/20',
      'cleanupLeasesUponShardCompletion = false', 'isGracefulLeaseHandoffEnabled = false', 'gracefulLeaseHandoffTimeoutMillis = 15000',
    ].join('\n'));
    assert.deepEqual(c.scheduler, {
      applicationName: 'orders-app', streamName: 'orders', region: 'eu-west-1', workerId: 'host-1',
      shardSyncIntervalMillis: 30_000, parentShardPollIntervalMillis: 500, callProcessRecordsEvenForEmptyRecordList: true,
      initialPosition: 'TRIM_HORIZON',
      retrieval: { mode: 'polling', maxRecords: 500, idleTimeBetweenReadsMillis: 250 },
      leases: {
        tableName: 'orders-leases', failoverTimeMillis: 20_000, maxLeasesForWorker: 7, maxLeasesToStealAtOneTime: 2, readCapacity: 5, writeCapacity: 6,
        cleanupLeasesUponShardCompletion: false, gracefulHandoff: false, gracefulHandoffTimeoutMillis: 15_000,
      },
      endpoints: { kinesis: 'http://127.0.0.1:4567', dynamodb: 'http://127.0.0.1:8000' },
    });
    assert.equal(c.daemon.timeoutInSeconds, 9);
    assert.equal(c.daemon.shutdownGraceMillis, 1234);
    assert.equal(c.daemon.processingLanguage, 'nodejs/20');
  });

  it('streamArn wins over streamName', () => {
    const c = config('streamArn = arn:aws:kinesis:us-east-1:123456789012:stream/other\n');
    assert.equal(c.scheduler.streamArn, 'arn:aws:kinesis:us-east-1:123456789012:stream/other');
    assert.equal(c.scheduler.streamName, undefined);
    assert.equal(config('streamArn =   \n').scheduler.streamName, 'orders', 'a blank ARN is ignored');
  });

  it('initialPositionInStreamExtended is epoch seconds → AT_TIMESTAMP (and wins)', () => {
    const c = config('initialPositionInStream = LATEST\ninitialPositionInStreamExtended = 1700000000\n');
    assert.deepEqual(c.scheduler.initialPosition, { timestamp: new Date(1_700_000_000_000) });
  });

  it('retrievalMode: DEFAULT picks POLLING when a polling key is set, else FANOUT (as Java)', () => {
    assert.deepEqual(config('').scheduler.retrieval, { mode: 'fanout' });
    assert.match(config('').notes.join('\n'), /DEFAULT → FANOUT/);
    assert.deepEqual(config('maxRecords = 100').scheduler.retrieval, { mode: 'polling', maxRecords: 100 });
    assert.deepEqual(config('retryGetRecordsInSeconds = 3').scheduler.retrieval, { mode: 'polling' });
    assert.deepEqual(config('retrievalMode = polling').scheduler.retrieval, { mode: 'polling' });
    assert.deepEqual(config('retrievalMode = FANOUT\nconsumerName = c1\nconsumerArn = arn:aws:kinesis:us-east-1:123456789012:stream/orders/consumer/c1:1').scheduler.retrieval, {
      mode: 'fanout', consumerName: 'c1', consumerArn: 'arn:aws:kinesis:us-east-1:123456789012:stream/orders/consumer/c1:1',
    });
  });

  it('endpoints from the AWS SDK environment when no key is set; keys win', () => {
    const env = { AWS_ENDPOINT_URL_KINESIS: 'http://127.0.0.1:1111', AWS_ENDPOINT_URL: 'http://127.0.0.1:2222' };
    assert.deepEqual(config('', env).scheduler.endpoints, { kinesis: 'http://127.0.0.1:1111', dynamodb: 'http://127.0.0.1:2222' });
    assert.deepEqual(config('kinesisEndpoint = http://127.0.0.1:3333', env).scheduler.endpoints, { kinesis: 'http://127.0.0.1:3333', dynamodb: 'http://127.0.0.1:2222' });
    assert.deepEqual(config('', { ...env, AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'true' }).scheduler.endpoints, {});
    failsOn('', 'AWS_ENDPOINT_URL_DYNAMODB', { AWS_ENDPOINT_URL_DYNAMODB: 'not a url' });
  });

  it('unknown keys are warnings; Java keys without effect are warnings that say why', () => {
    const c = config('fooBar = 1\nmetricsLevel = detailed\ntaskBackoffTimeMillis = 500\nkinesisClient.maxConcurrency = 4\n');
    assert.deepEqual(c.warnings.map((w) => [w.key, w.kind]), [
      ['fooBar', 'unknown'], ['metricsLevel', 'ignored'], ['taskBackoffTimeMillis', 'ignored'], ['kinesisClient.maxConcurrency', 'ignored'],
    ]);
    assert.match(c.warnings[1]!.message, /metrics/);
  });

  it('bad values fail naming the properties key', () => {
    failsOn('failoverTimeMillis = soon', 'failoverTimeMillis');
    failsOn('failoverTimeMillis = 100', 'failoverTimeMillis'); // range checked by the library, key translated
    failsOn('maxRecords = 20000\nretrievalMode = POLLING', 'maxRecords');
    failsOn('idleTimeBetweenReadsInMillis = -1', 'idleTimeBetweenReadsInMillis');
    failsOn('regionName = mars', 'regionName');
    failsOn('tableName = x', 'tableName');
    failsOn('initialPositionInStream = SOMEWHERE', 'initialPositionInStream');
    failsOn('initialPositionInStream = AT_TIMESTAMP', 'initialPositionInStream');
    failsOn('initialPositionInStreamExtended = yesterday', 'initialPositionInStreamExtended');
    failsOn('callProcessRecordsEvenForEmptyRecordList = maybe', 'callProcessRecordsEvenForEmptyRecordList');
    failsOn('retrievalMode = PUSH', 'retrievalMode');
    failsOn('isGracefulLeaseHandoffEnabled = perhaps', 'isGracefulLeaseHandoffEnabled');
    failsOn('gracefulLeaseHandoffTimeoutMillis = 5', 'gracefulLeaseHandoffTimeoutMillis');
    failsOn('kinesisEndpoint = ftp://x', 'kinesisEndpoint');
    failsOn('timeoutInSeconds = 0', 'timeoutInSeconds');
    failsOn('metricsLevel = LOUD', 'metricsLevel');
    failsOn('maxActiveThreads = many', 'maxActiveThreads');
    failsOn('streamArn = arn:nope', 'streamArn');
    failsOn('workerId = has space', 'workerId');
  });

  it('required keys', () => {
    failsOn('', 'executableName', {}, 'applicationName = a-app\nstreamName = s\n');
    failsOn('', 'applicationName', {}, 'executableName = x\nstreamName = s\n');
    failsOn('', 'streamName', {}, 'executableName = x\napplicationName = a-app\n');
  });

  describe('AwsCredentialsProvider', () => {
    it('default-chain providers are accepted (any key case, DynamoDB/CloudWatch variants, package prefixes, chains)', () => {
      const c = config([
        'AWSCredentialsProvider = DefaultAWSCredentialsProviderChain',
        'awsCredentialsProviderDynamoDB = software.amazon.awssdk.auth.credentials.EnvironmentVariableCredentialsProvider, InstanceProfileCredentialsProvider',
        'AwsCredentialsProviderCloudWatch = ContainerCredentialsProvider',
      ].join('\n'));
      assert.equal(c.scheduler.credentials, undefined);
      assert.equal(c.credentials.profile, undefined);
      assert.equal(c.warnings.length, 0);
      assert.match(c.notes.join('\n'), /DefaultAWSCredentialsProviderChain → the SDK default chain/);
    });

    it('ProfileCredentialsProvider|name selects a profile (and |file|name a credentials file)', () => {
      assert.equal(config('AwsCredentialsProvider = ProfileCredentialsProvider|dev').credentials.profile, 'dev');
      const c = config('AwsCredentialsProvider = ProfileCredentialsProvider|/etc/aws/creds|ops');
      assert.equal(c.credentials.profile, 'ops');
      assert.equal(c.credentials.credentialsFile, '/etc/aws/creds');
      failsOn('AwsCredentialsProvider = ProfileCredentialsProvider|a\nAwsCredentialsProviderDynamoDB = ProfileCredentialsProvider|b', 'AwsCredentialsProviderDynamoDB');
    });

    it('KclStaticCredentialsProvider gives static credentials', () => {
      const c = config('AwsCredentialsProvider = KclStaticCredentialsProvider|AKID|SECRET');
      assert.deepEqual(c.scheduler.credentials, { accessKeyId: 'AKID', secretAccessKey: 'SECRET' });
      failsOn('AwsCredentialsProvider = KclStaticCredentialsProvider|only-one', 'AwsCredentialsProvider');
      failsOn('AwsCredentialsProvider = KclStaticCredentialsProvider|a|b\nAwsCredentialsProviderDynamoDB = DefaultCredentialsProvider', 'AwsCredentialsProviderDynamoDB');
    });

    it('providers ts-kcl cannot honour fail at startup naming the key', () => {
      const e = failsOn('AwsCredentialsProvider = KclStsAssumeRoleCredentialsProvider|arn:aws:iam::1:role/r|session|endpointRegion=us-east-1', 'AwsCredentialsProvider');
      assert.match(e.message, /profile/);
      failsOn('AWSCredentialsProviderDynamoDB = com.example.MyProvider', 'AWSCredentialsProviderDynamoDB');
      failsOn('AwsCredentialsProvider = AnonymousCredentialsProvider', 'AwsCredentialsProvider');
      failsOn('AwsCredentialsProvider = ', 'AwsCredentialsProvider');
    });
  });

  it('the aws-kcl sample properties (with endpoint keys added) parse and map', () => {
    const text = [
      '# The script that abides by the multi-language protocol.',
      'executableName = node sample_kcl_app.js',
      'streamName = kclnodejssample',
      'applicationName = kclnodejssample',
      'AWSCredentialsProvider = DefaultAWSCredentialsProviderChain',
      'processingLanguage = nodejs/0.10',
      'initialPositionInStream = TRIM_HORIZON',
      'regionName = us-east-1',
      '#failoverTimeMillis = 10000',
      '#workerId =',
      '#shardSyncIntervalMillis = 60000',
      '#maxRecords = 10000',
      '#idleTimeBetweenReadsInMillis = 1000',
      '#callProcessRecordsEvenForEmptyRecordList = false',
      '#parentShardPollIntervalMillis = 10000',
      '#cleanupLeasesUponShardCompletion = true',
      '#taskBackoffTimeMillis = 500',
      '#metricsBufferTimeMillis = 10000',
      '#metricsMaxQueueSize = 10000',
      '#validateSequenceNumberBeforeCheckpointing = true',
      '#maxActiveThreads = 0',
      '#metricsEnabledDimensions = Operation,ShardId',
      'kinesisEndpoint = http://127.0.0.1:4567',
      'dynamoDBEndpoint = http://127.0.0.1:4568',
    ].join('\n');
    const c = toMultiLangConfig(parseProperties(text), {});
    assert.deepEqual(c.daemon.command, ['node', 'sample_kcl_app.js']);
    assert.equal(c.scheduler.applicationName, 'kclnodejssample');
    assert.equal(c.scheduler.initialPosition, 'TRIM_HORIZON');
    assert.equal(c.scheduler.region, 'us-east-1');
    assert.deepEqual(c.scheduler.retrieval, { mode: 'fanout' }, 'no polling key set: FANOUT, as the Java daemon');
    assert.deepEqual(c.scheduler.endpoints, { kinesis: 'http://127.0.0.1:4567', dynamodb: 'http://127.0.0.1:4568' });
    assert.deepEqual(c.warnings, []);
  });
});
