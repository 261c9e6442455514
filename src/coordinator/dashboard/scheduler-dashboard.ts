import type { ResolvedOptions } from '../../config/resolve-options.js';
import { LeaseTableInspector } from '../lease-table-status.js';
import { DashboardRoutes } from './dashboard-routes.js';
import { DashboardSource } from './dashboard-source.js';

/**
 * The dashboard on a worker's HTTP endpoint (`http.dashboard`): it reads the worker's own lease table with the
 * worker's clients, the same way `ts-kcl status` does; nothing is read until a page polls.
 */
export function dashboardRoutesFor(o: Readonly<ResolvedOptions>): DashboardRoutes {
  const single = o.streamArn !== undefined ? { streamArn: o.streamArn } : o.streamName !== undefined ? { streamName: o.streamName } : undefined;
  const inspector = new LeaseTableInspector({
    tableName: o.leases.tableName,
    region: o.region,
    ...(o.credentials !== undefined ? { credentials: o.credentials } : {}),
    endpoints: { ...(o.endpoints.dynamodb !== undefined ? { dynamodb: o.endpoints.dynamodb } : {}), ...(o.endpoints.kinesis !== undefined ? { kinesis: o.endpoints.kinesis } : {}) },
    ...(o.dynamoDbClient !== undefined ? { dynamoDbClient: o.dynamoDbClient } : {}),
    ...(o.kinesisClient !== undefined ? { kinesisClient: o.kinesisClient } : {}),
    ...(single !== undefined ? { stream: single } : {}),
  });
  const source = new DashboardSource({
    reader: inspector,
    measuresLag: true,
    refreshMillis: 5_000,
    lagRefreshMillis: 15_000,
    staleAfterMillis: o.leases.failoverTimeMillis,
  });
  return new DashboardRoutes(source, { pagePaths: ['/dashboard'], onClose: () => inspector.close() });
}
