// Takes the dashboard screenshot for README.md and docs/operations.md from the real page:
//   npx tsx scripts/dashboard-screenshot.ts [out.png]      (default docs/images/dashboard.png)
// Starts kinesalite + dynalite, an 8-shard stream with records, three worker processes, `ts-kcl dashboard`,
// splits one shard, SIGKILLs one worker, waits until the survivors took its shards over, and screenshots the page
// in headless Debian chromium (scripts/setup-emulators.mjs installs it). Everything it starts is stopped at the end.
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { launchChromium } from '../test/support/browser.js';
import { startDashboardCli } from '../test/support/dashboard-cli.js';
import { startDynalite, startKinesalite, stopAll, TEST_REGION, uniqueName } from '../test/support/emulators.js';
import { ROOT } from '../test/support/multilang-daemon.js';
import { createStream, kinesisAdmin, produce } from '../test/support/scenario.js';
import { WorkerFleet } from '../test/support/worker-fleet.js';

const out = process.argv[2] ?? join(ROOT, 'docs', 'images', 'dashboard.png');
const WORKERS = ['orders-worker-a', 'orders-worker-b', 'orders-worker-c'];

async function until(what: string, timeoutMillis: number, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMillis;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const owners = (page: Page): Promise<{ shard: string; owner: string; state: string; parents: string }[]> =>
  page.$$eval('#map .shard', (els) => els.map((e) => ({ ...(e as unknown as { dataset: { shard: string; owner: string; state: string; parents: string } }).dataset })));

const [kinesis, dynamo] = await Promise.all([startKinesalite(), startDynalite()]);
const fleet = new WorkerFleet({
  kinesisEndpoint: kinesis.endpoint,
  dynamoEndpoint: dynamo.endpoint,
  streamName: '',
  applicationName: uniqueName('orders'),
  failoverTimeMillis: 3000,
  reportRecords: 'summary',
  shardSyncIntervalMillis: 1000,
  parentShardPollIntervalMillis: 200,
  // Keep the finished parent's lease, so the picture shows the lineage.
  cleanupIntervalMillis: 600_000,
});
const browser = await launchChromium();
try {
  const admin = kinesisAdmin(kinesis.endpoint);
  const streamName = await createStream(admin, 8, 'orders');
  await produce(admin, streamName, 400);
  const app = uniqueName('orders-app');
  await Promise.all(WORKERS.map((w) => fleet.start(w, { streamName, applicationName: app }).started));
  const dashboard = await startDashboardCli([
    app, '--stream', streamName, '--region', TEST_REGION, '--dynamodb-endpoint', dynamo.endpoint, '--kinesis-endpoint', kinesis.endpoint,
    '--interval', '0.5', '--lag-interval', '1', '--stale-after', '3',
  ]);
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 760 } });
    await page.goto(dashboard.url);
    await until('8 shards held by 3 workers', 60_000, async () => {
      const o = (await owners(page)).filter((x) => x.state === 'owned');
      return o.length === 8 && new Set(o.map((x) => x.owner)).size === 3;
    });
    const parent = 'shardId-000000000002';
    const status = (await (await fetch(new URL('/api/status', dashboard.url))).json()) as { leases: { shardId: string; hashKeyRange: { startingHashKey: string; endingHashKey: string } }[] };
    const range = status.leases.find((l) => l.shardId === parent)!.hashKeyRange;
    await admin.splitShard({ streamName }, parent, ((BigInt(range.startingHashKey) + BigInt(range.endingHashKey)) / 2n).toString());
    await until('the split children', 60_000, async () => (await owners(page)).filter((x) => x.parents.split(',').includes(parent) && x.owner !== '').length === 2);
    await produce(admin, streamName, 200, 400);
    await fleet.kill(WORKERS[2]!);
    await until('the killed worker’s shards taken over', 60_000, async () => (await owners(page)).every((x) => x.owner !== WORKERS[2]));
    await new Promise((r) => setTimeout(r, 1500));
    await page.screenshot({ path: out, fullPage: false });
    console.log(`wrote ${out}`);
  } finally {
    await dashboard.stop();
  }
} finally {
  await browser.close();
  await fleet.killAll();
  await stopAll();
}
