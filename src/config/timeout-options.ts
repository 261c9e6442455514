/**
 * Deadlines of the library's AWS calls. Each call carries its own abort signal, so a deadline holds for the
 * `kinesisClient` / `dynamoDbClient` the application injected as well as for the clients the library builds; an
 * aborted request's connection is closed. A call past its deadline fails with a retriable `AwsCallTimeoutError`
 * (code `KCL_TIMEOUT`, naming the operation), is logged at warn, and is retried like any retriable failure.
 */
export interface TimeoutOptions {
  /**
   * DynamoDB lease operations (GetItem, PutItem, UpdateItem, DeleteItem: renewals, takes, releases, checkpoints).
   * Renewals and checkpoints wait longer when their lease allows: until its give-up time (`failoverTimeMillis` minus
   * a quarter renewal interval), since a late answer still counts and more writes would only load a slow table.
   * At most `failoverTimeMillis`. With the default failover time it is well under the renewal interval
   * (`failoverTimeMillis / 3 − epsilonMillis`), so a hung renewal never runs into the next one; it is never below
   * 1 s by default, since a checkpoint that times out is a batch processed again.
   * @defaultValue failoverTimeMillis / 5, at least 1000 and at most failoverTimeMillis (2000 with the default failover time)
   */
  leaseCallMillis?: number;
  /**
   * Each Scan page of the lease table (the taker, shard sync, cleanup, `status`).
   * @defaultValue 30000
   */
  leaseScanMillis?: number;
  /**
   * Lease table administration: CreateTable, DescribeTable, DeleteTable (Java KCL: 1 minute).
   * @defaultValue 60000
   */
  tableAdminMillis?: number;
  /**
   * Kinesis reads: GetRecords and GetShardIterator. A hung read on one shard ends after this and is retried; the
   * shard's lease is not affected (Java KCL: 30 s).
   * @defaultValue 10000
   */
  kinesisReadMillis?: number;
  /**
   * Each ListShards page and DescribeStreamSummary (shard sync, shard-end checks, start).
   * @defaultValue 10000
   */
  kinesisListMillis?: number;
  /**
   * Enhanced fan-out consumer registration: RegisterStreamConsumer, DescribeStreamConsumer,
   * DeregisterStreamConsumer. (An open subscription is bounded by `retrieval.subscriptionIdleTimeoutMillis`.)
   * @defaultValue 30000
   */
  fanOutRegistrationMillis?: number;
}
