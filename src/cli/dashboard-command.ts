import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Command, InvalidArgumentError } from 'commander';
import { DashboardRoutes, DashboardSource, LeaseTableInspector } from '../index.js';
import { addSourceOptions, describeReadError, inspectorOptions, type SourceOptions } from './status-source.js';

interface DashboardOptions extends SourceOptions {
  port: number;
  host: string;
  interval: number;
  lagInterval: number;
  staleAfter: number;
}

function number(min: number, max: number, what: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!(n >= min && n <= max)) throw new InvalidArgumentError(`expected ${what} between ${min} and ${max}`);
    return n;
  };
}

/** `ts-kcl dashboard <application>`: the lease table as a live web page on localhost. */
export function dashboardCommand(): Command {
  return addSourceOptions(
    new Command('dashboard')
      .summary('serve a live web page of the lease table: shard map, owners, lag, timeline and problems')
      .description(
        'Serves a single page (no build step, nothing from the internet) that shows the lease table live: the shard ' +
          'map by hash-key range with split/merge lineage, coloured by owner; each shard’s owner, checkpoint and lag ' +
          'worst first; leases held, gained and lost per worker; a timeline of ownership changes; and problems in ' +
          'plain language. It reads the table and the lag exactly as `ts-kcl status` does (read-only), only while a ' +
          'page is open, once per --interval however many pages are open, and measures lag once per --lag-interval. ' +
          '/api/status answers what `ts-kcl status --json` prints. Listens on 127.0.0.1 unless --host says otherwise.',
      )
      .argument('[application]', 'the application name (the default lease table name)'),
  )
    .option('-p, --port <port>', 'TCP port (0 picks a free one)', number(0, 65_535, 'a port'), 0)
    .option('--host <address>', 'interface to bind (anything but loopback exposes the lease table to the network)', '127.0.0.1')
    .option('--interval <seconds>', 'read the lease table at most this often', number(0.2, 3600, 'seconds'), 5)
    .option('--lag-interval <seconds>', 'measure lag at most this often (2+ Kinesis calls per shard)', number(0.2, 3600, 'seconds'), 15)
    .option('--stale-after <seconds>', 'report a held lease whose counter has not moved this long (the failover time)', number(0.2, 86_400, 'seconds'), 10)
    .action(async (application: string | undefined, options: DashboardOptions, command: Command) => {
      const tableName = options.table ?? application;
      if (tableName === undefined) command.error('error: name the application (or --table <name>)');
      process.exitCode = await runDashboard(tableName, options);
    });
}

async function runDashboard(tableName: string, o: DashboardOptions): Promise<number> {
  const config = inspectorOptions(tableName, o);
  const inspector = new LeaseTableInspector(config);
  const source = new DashboardSource({
    reader: inspector,
    measuresLag: config.lag !== false,
    refreshMillis: o.interval * 1000,
    lagRefreshMillis: o.lagInterval * 1000,
    staleAfterMillis: o.staleAfter * 1000,
  });
  const loopback = o.host === '127.0.0.1' || o.host === 'localhost' || o.host === '::1';
  const routes = new DashboardRoutes(source, { pagePaths: ['/', '/dashboard'], loopbackHostsOnly: loopback });
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const answer = routes.owns(path)
      ? routes.handle(req, res, path)
      : Promise.resolve(void res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found (try /, /api/status)\n'));
    answer.catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  try {
    // Fail fast on a missing table or bad credentials, before telling anyone to open the page.
    await source.view();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(o.port, o.host, () => resolve());
    });
  } catch (error) {
    process.stderr.write(`error: ${describeReadError(error, tableName)}\n`);
    server.close();
    inspector.close();
    return 1;
  }
  const { port, address, family } = server.address() as AddressInfo;
  const shown = family === 'IPv6' ? `[${address}]` : address;
  process.stdout.write(`ts-kcl dashboard for lease table ${tableName}: http://${shown}:${port}/\n`);
  if (!loopback) process.stderr.write(`warning: listening on ${o.host}: anyone who can reach it can read the lease table\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
  inspector.close();
  return 0;
}
