/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// `ts-kcl dashboard` in real headless Chromium (Debian's chromium, driven by playwright-core) against a 2-worker
// application (separate processes) on an 8-shard stream in kinesalite + dynalite: the shard map, a split, a
// killed worker's failover, and a hostile worker id. Screenshots go to .tmp/ (gitignored) as test artifacts.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { Scheduler, type DashboardView, type LeaseTableStatus } from '../../src/index.js';
import { launchChromium } from '../support/browser.js';
import { startDashboardCli, type DashboardProcess } from '../support/dashboard-cli.js';
import { startDynalite, startKinesalite, stopAll, TEST_REGION, uniqueName, type Emulator } from '../support/emulators.js';
import { ROOT } from '../support/multilang-daemon.js';
import { clientsFor, createStream, kinesisAdmin, produce } from '../support/scenario.js';
import { WorkerFleet } from '../support/worker-fleet.js';

const ARTIFACTS = join(ROOT, '.tmp', 'dashboard-test');
const FAILOVER = 3000;
const TAKER_INTERVAL = FAILOVER / 5;
const REFRESH = 500;
const GOOD = 'worker-good';
// No whitespace (worker ids may not have any), but markup that would run if it reached innerHTML.
const EVIL = 'evil<script>window.__xss=1</script><img/src=x/onerror=window.__xss=2>';

interface Box {
  shard: string;
  owner: string;
  state: string;
  depth: number;
  parents: string;
  x: number;
  y: number;
  w: number;
  h: number;
}

/** Every shard box of the map as the browser lays it out. */
function mapBoxes(page: Page): Promise<Box[]> {
  return page.$$eval('#map .shard', (els) =>
    els.map((e) => {
      const r = e.getBoundingClientRect();
      const d = (e as HTMLElement).dataset;
      return { shard: d.shard!, owner: d.owner!, state: d.state!, depth: Number(d.depth), parents: d.parents!, x: r.x, y: r.y, w: r.width, h: r.height };
    }),
  );
}

/** GET with a chosen Host header (fetch does not let one set it). */
function statusWithHost(url: URL, host: string): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    get(url, { headers: { host } }, (res) => {
      res.resume();
      resolve(res.statusCode);
    }).on('error', reject);
  });
}

async function until<T>(what: string, timeoutMillis: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMillis;
  let last: T | undefined;
  for (;;) {
    last = await probe();
    if (last !== undefined) return last;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMillis} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('ts-kcl dashboard in headless Chromium (kinesalite + dynalite, 2 worker processes)', () => {
  let kinesis: Emulator;
  let dynamo: Emulator;
  let fleet: WorkerFleet;
  let dashboard: DashboardProcess;
  let browser: Browser;
  let page: Page;
  let streamName: string;
  const app = uniqueName('dashapp');

  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    [kinesis, dynamo] = await Promise.all([startKinesalite(), startDynalite()]);
    const admin = kinesisAdmin(kinesis.endpoint);
    streamName = await createStream(admin, 8, 'dash');
    await produce(admin, streamName, 200);
    fleet = new WorkerFleet({
      kinesisEndpoint: kinesis.endpoint,
      dynamoEndpoint: dynamo.endpoint,
      streamName,
      applicationName: app,
      failoverTimeMillis: FAILOVER,
      reportRecords: 'summary',
      shardSyncIntervalMillis: 1000,
      parentShardPollIntervalMillis: 200,
    });
    const started = Promise.all([fleet.startAll([GOOD, EVIL]), launchChromium()]);
    [, browser] = await started;
    dashboard = await startDashboardCli([
      app, '--stream', streamName, '--region', TEST_REGION, '--dynamodb-endpoint', dynamo.endpoint, '--kinesis-endpoint', kinesis.endpoint,
      '--interval', String(REFRESH / 1000), '--lag-interval', '1', '--stale-after', String(FAILOVER / 1000),
    ]);
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.on('pageerror', (e) => assert.fail(`page error: ${e.message}`));
  });

  after(async () => {
    await browser?.close();
    await dashboard?.stop();
    await fleet?.killAll();
    await stopAll();
  });

  it('shows 8 open shards held by both workers, the hostile worker id as plain text, and the same JSON as status', async () => {
    await page.goto(dashboard.url);
    let rowWidth = 0;
    const boxes = await until('8 owned shards held by both workers', 30_000, async () => {
      const b = await mapBoxes(page);
      rowWidth = await page.$eval('#map .map-row', (e) => e.getBoundingClientRect().width);
      const owned = b.filter((x) => x.state === 'owned');
      // The page re-renders the map on every refresh: a row or a box measured mid-render is 0 wide, so wait for a
      // laid-out map (row and boxes measured in one evaluation are compared below).
      const laidOut = rowWidth > 0 && b.every((x) => x.w > 0);
      return owned.length === 8 && new Set(owned.map((x) => x.owner)).size === 2 && laidOut ? b : undefined;
    });
    assert.deepEqual(new Set(boxes.map((b) => b.owner)), new Set([GOOD, EVIL]));
    // One row (generation 0), side by side across the whole key space, no overlap.
    assert.ok(boxes.every((b) => b.depth === 0));
    const sorted = [...boxes].sort((a, b) => a.x - b.x);
    for (let i = 1; i < sorted.length; i++) assert.ok(sorted[i]!.x >= sorted[i - 1]!.x + sorted[i - 1]!.w - 1, 'shards do not overlap');
    assert.ok(Math.abs(sorted.reduce((s, b) => s + b.w, 0) - rowWidth) < 4, `the 8 ranges cover the key space (${sorted.map((b) => b.w).join('+')} vs ${rowWidth})`);

    // The hostile id: rendered as text, nothing ran, no element was injected.
    assert.equal(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss), undefined);
    assert.equal(await page.$$eval('script', (s) => s.length), 1, 'only the page’s own script');
    assert.equal(await page.$$eval('img', (s) => s.length), 0);
    const workerNames = await page.$$eval('#worker-rows tr', (rows) => rows.map((r) => r.firstElementChild!.textContent));
    assert.ok(workerNames.includes(EVIL), `worker table shows ${JSON.stringify(workerNames)}`);
    assert.equal(await page.$$eval('#shard-rows td', (tds, evil) => tds.filter((td) => td.textContent === evil).length, EVIL), 4);

    // /api/status: the same document as `ts-kcl status --json` (LeaseTableStatus).
    // Lag is measured in the background (every second here): wait for the first measurement.
    const api = await until('lag on every lease in /api/status', 30_000, async () => {
      const st = (await (await fetch(new URL('/api/status', dashboard.url))).json()) as LeaseTableStatus;
      return st.leases.every((l) => l.lag !== undefined) ? st : undefined;
    });
    assert.equal(api.tableName, app);
    assert.equal(api.leases.length, 8);
    assert.ok(api.leases.every((l) => l.lag !== undefined && l.hashKeyRange !== null));
    assert.deepEqual(new Set(api.workers.map((w) => w.workerId)), new Set([GOOD, EVIL]));
    // Read-only, and only for a local Host.
    assert.equal((await fetch(new URL('/api/status', dashboard.url), { method: 'POST' })).status, 405);
    assert.equal(await statusWithHost(new URL('/api/status', dashboard.url), 'attacker.example:80'), 421, 'DNS rebinding: a foreign Host is refused');
    assert.equal(await statusWithHost(new URL('/api/status', dashboard.url), `localhost:${new URL(dashboard.url).port}`), 200);
    await page.screenshot({ path: join(ARTIFACTS, '1-eight-shards.png'), fullPage: true });
  });

  it('a split: the two children appear under their parent, within its range', async () => {
    const view = (await (await fetch(new URL('/api/dashboard', dashboard.url))).json()) as DashboardView;
    const parent = view.status.leases[2]!;
    const { startingHashKey, endingHashKey } = parent.hashKeyRange!;
    const middle = ((BigInt(startingHashKey) + BigInt(endingHashKey)) / 2n).toString();
    await kinesisAdmin(kinesis.endpoint).splitShard({ streamName }, parent.shardId, middle);
    const boxes = await until('two children of the split shard on the map', 30_000, async () => {
      const b = await mapBoxes(page);
      return b.filter((x) => x.parents.split(',').includes(parent.shardId)).length === 2 ? b : undefined;
    });
    const p = boxes.find((b) => b.shard === parent.shardId)!;
    const children = boxes.filter((b) => b.parents.split(',').includes(parent.shardId)).sort((a, b) => a.x - b.x);
    for (const c of children) {
      assert.equal(c.depth, p.depth + 1);
      assert.ok(c.y >= p.y + p.h, `child ${c.shard} (y ${c.y}) is below its parent (y ${p.y}, h ${p.h})`);
      assert.ok(c.x >= p.x - 1 && c.x + c.w <= p.x + p.w + 1, `child ${c.shard} lies within the parent's range`);
    }
    assert.ok(Math.abs(children[0]!.w + children[1]!.w - p.w) < 3, 'the children split the parent range between them');
    assert.ok(Math.abs(children[0]!.x + children[0]!.w - children[1]!.x) < 2, 'the children meet at the split point');
    await until('the parent at SHARD_END on the page', 30_000, async () => ((await mapBoxes(page)).find((b) => b.shard === parent.shardId)?.state === 'finished' ? true : undefined));
    await page.screenshot({ path: join(ARTIFACTS, '2-split.png'), fullPage: true });
  });

  it('a killed worker: its shards change owner on the page within the failover time', async () => {
    const before = await mapBoxes(page);
    const victims = before.filter((b) => b.owner === EVIL && b.state !== 'finished').map((b) => b.shard);
    assert.ok(victims.length > 0, 'the hostile worker holds open shards');
    const killedAt = await fleet.kill(EVIL);
    await until(`${victims.length} shards taken over by ${GOOD}`, 20_000, async () => {
      const b = await mapBoxes(page);
      return victims.every((v) => b.find((x) => x.shard === v)?.owner === GOOD) ? true : undefined;
    });
    const took = Date.now() - killedAt;
    // Lease expiry (failover time after the last renewal), one taker round, then one dashboard read and poll.
    const bound = FAILOVER + TAKER_INTERVAL + 2 * REFRESH + 1500;
    assert.ok(took <= bound, `page showed the new owner after ${took} ms (bound ${bound} ms)`);
    const timeline = await page.$$eval('#timeline li', (lis) => lis.map((li) => ({ kind: (li as HTMLElement).dataset.kind, text: li.textContent })));
    for (const v of victims) {
      assert.ok(timeline.some((t) => t.kind === 'moved' && t.text.includes(v) && t.text.includes(`${EVIL} → ${GOOD}`)), `timeline shows ${v} moving`);
    }
    const workers = await page.$$eval('#worker-rows tr', (rows) => rows.map((r) => [...r.children].map((c) => c.textContent)));
    const good = workers.find((w) => w[0] === GOOD)!;
    const evil = workers.find((w) => w[0] === EVIL)!;
    assert.ok(Number(good[2]) >= victims.length, `${GOOD} gained ${good[2]}`);
    assert.ok(Number(evil[3]) >= victims.length, `${EVIL} lost ${evil[3]}`);
    assert.equal(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss), undefined);
    await page.screenshot({ path: join(ARTIFACTS, '3-failover.png'), fullPage: true });
  });

  it('the same page at /dashboard on a Scheduler’s http endpoint (http.dashboard)', async () => {
    const worker = new Scheduler({
      applicationName: uniqueName('dashsched'),
      streamName,
      workerId: 'in-process',
      initialPosition: 'TRIM_HORIZON',
      ...clientsFor(kinesis.endpoint, dynamo.endpoint),
      leases: { failoverTimeMillis: FAILOVER },
      retrieval: { mode: 'polling', idleTimeBetweenReadsMillis: 200 },
      http: { port: 0, host: '127.0.0.1', dashboard: true },
      processorFactory: () => ({ initialize() {}, async processRecords({ checkpointer }) { await checkpointer.checkpoint(); }, leaseLost() {}, async shardEnded({ checkpointer }) { await checkpointer.checkpoint(); } }),
    });
    await worker.start();
    try {
      const base = `http://127.0.0.1:${worker.observability.httpAddress!.port}`;
      const other = await browser.newPage();
      other.on('pageerror', (e) => assert.fail(`page error: ${e.message}`));
      await other.goto(`${base}/dashboard`);
      const boxes = await until('the in-process worker owning shards on its own page', 30_000, async () => {
        const b = await mapBoxes(other);
        // 10 leases after the split, or 9 once the finished parent's lease was cleaned up.
        return b.length >= 9 && b.some((x) => x.owner === 'in-process') ? b : undefined;
      });
      assert.ok(boxes.every((b) => b.owner === 'in-process' || b.owner === ''), 'only this worker (or nobody) owns its table’s leases');
      const status = (await (await fetch(`${base}/api/status`)).json()) as LeaseTableStatus;
      assert.ok(status.leases.length === 9 || status.leases.length === 10, `${status.leases.length} leases`);
      assert.ok(status.leases.every((l) => l.owner === 'in-process' || l.owner === null));
      assert.equal((await fetch(`${base}/healthz`)).status, 200, 'the probes still answer');
      await other.close();
    } finally {
      await worker.shutdown();
    }
  });
});
