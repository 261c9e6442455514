import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventLoopMonitor } from '../../src/observability/event-loop-monitor.js';
import { HealthServer } from '../../src/observability/health-server.js';
import { WorkerHealth } from '../../src/observability/worker-health.js';

describe('WorkerHealth', () => {
  const options = { failoverTimeMillis: 1000, takerIntervalMillis: 200, maxEventLoopDelayMillis: 300 };

  it('lease checks apply only once initialized and stop applying at shutdown', () => {
    const h = new WorkerHealth(options);
    assert.equal(h.report(10_000, 0, 3).ok, true, 'still starting: not judged on leases');
    h.initialized(10_000);
    assert.equal(h.report(10_900, 0, 3).ok, true);
    const late = h.report(11_300, 0, 3);
    assert.equal(late.ok, false);
    assert.equal(late.checks.leaseRenewal.ok, false);
    assert.equal(late.checks.leaseRenewal.lastSuccessAgoMillis, 1300);
    assert.equal(late.checks.leaseTable.ok, false);
    h.stopping();
    assert.equal(h.report(20_000, 0, 3).ok, true);
  });

  it('renewals keep it healthy; holding nothing needs only the table to answer', () => {
    const h = new WorkerHealth(options);
    h.initialized(0);
    h.renewalSucceeded(900);
    assert.equal(h.report(1800, 0, 2).ok, true);
    h.tableAnswered(1900);
    const r = h.report(2100, 0, 2);
    assert.equal(r.checks.leaseRenewal.ok, false, 'table answers but renewals do not go through');
    assert.equal(r.checks.leaseTable.ok, true);
    assert.equal(h.report(2100, 0, 0).ok, true, 'nothing held: nothing to renew');
    assert.equal(h.report(3200, 0, 0).checks.leaseTable.ok, false, 'table silent for failover + taker interval');
  });

  it('fails on event-loop delay above the limit; readiness follows start and shutdown', () => {
    const h = new WorkerHealth(options);
    assert.deepEqual(h.report(0, 301, 0).checks.eventLoop, { ok: false, maxDelayMillis: 301, limitMillis: 300 });
    assert.deepEqual(h.readiness(0), { ready: false, initialized: false, shuttingDown: false, heldLeases: 0 });
    h.initialized(0);
    assert.equal(h.readiness(2).ready, true);
    h.stopping();
    assert.deepEqual(h.readiness(2), { ready: false, initialized: true, shuttingDown: true, heldLeases: 2 });
  });
});

describe('EventLoopMonitor', () => {
  it('reports the largest lateness within the window, and the current one when overdue', () => {
    let t = 0;
    const m = new EventLoopMonitor(100, 1000, () => t);
    m.start();
    t = 100;
    m.tick();
    assert.equal(m.maxDelayMillis(), 0);
    t = 750; // the timer ran 550 ms late
    m.tick();
    assert.equal(m.maxDelayMillis(), 550);
    t = 1500;
    assert.equal(m.maxDelayMillis(), 650, 'overdue right now');
    m.tick();
    t = 1900;
    m.tick();
    assert.equal(m.maxDelayMillis(), 650);
    t = 2600;
    m.tick();
    t = 2700;
    m.tick();
    assert.equal(m.maxDelayMillis(), 600, 'the 550 ms sample left the window; the 600 ms one is in it');
    m.stop();
  });

  it('sees a real blocked loop', async () => {
    const m = new EventLoopMonitor(20, 5000);
    m.start();
    await new Promise((r) => setTimeout(r, 50));
    const until = performance.now() + 250;
    while (performance.now() < until) {
      // block
    }
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(m.maxDelayMillis() >= 200, `measured ${m.maxDelayMillis()}`);
    m.stop();
  });
});

describe('HealthServer', () => {
  it('answers /healthz, /readyz and /metrics with status codes for probes; 404 and 405 otherwise', async () => {
    let healthy = true;
    let ready = false;
    const health = () => ({
      ok: healthy,
      checks: {
        eventLoop: { ok: true, maxDelayMillis: 1, limitMillis: 100 },
        leaseRenewal: { ok: healthy, heldLeases: 1, lastSuccessAgoMillis: 5, limitMillis: 10 },
        leaseTable: { ok: true, lastSuccessAgoMillis: 5, limitMillis: 10 },
      },
    });
    const server = new HealthServer({
      health,
      readiness: () => ({ ready, initialized: ready, shuttingDown: false, heldLeases: 1 }),
      metrics: async () => ({ contentType: 'text/plain; version=0.0.4; charset=utf-8', body: 'kcl_x 1\n' }),
    });
    const { port } = await server.listen(0, '127.0.0.1');
    const base = `http://127.0.0.1:${port}`;
    try {
      let res = await fetch(`${base}/healthz`);
      assert.equal(res.status, 200);
      assert.equal(((await res.json()) as { ok: boolean }).ok, true);
      healthy = false;
      res = await fetch(`${base}/healthz`);
      assert.equal(res.status, 503);
      assert.equal(((await res.json()) as { checks: { leaseRenewal: { ok: boolean } } }).checks.leaseRenewal.ok, false);
      assert.equal((await fetch(`${base}/readyz`)).status, 503);
      ready = true;
      assert.equal((await fetch(`${base}/readyz?verbose=1`)).status, 200);
      res = await fetch(`${base}/metrics`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /version=0\.0\.4/);
      assert.equal(await res.text(), 'kcl_x 1\n');
      assert.equal((await fetch(`${base}/metrics`, { method: 'HEAD' })).status, 200);
      assert.equal((await fetch(`${base}/nope`)).status, 404);
      assert.equal((await fetch(`${base}/healthz`, { method: 'POST' })).status, 405);
    } finally {
      await server.close();
    }
    const noMetrics = new HealthServer({ health, readiness: () => ({ ready: true, initialized: true, shuttingDown: false, heldLeases: 0 }) });
    const addr = await noMetrics.listen(0, '127.0.0.1');
    try {
      const res = await fetch(`http://127.0.0.1:${addr.port}/metrics`);
      assert.equal(res.status, 404);
      assert.match(await res.text(), /backend: 'prometheus'/);
    } finally {
      await noMetrics.close();
    }
  });

  it('rejects when the port is taken', async () => {
    const a = new HealthServer({ health: () => ({}) as never, readiness: () => ({}) as never });
    const { port } = await a.listen(0, '127.0.0.1');
    const b = new HealthServer({ health: () => ({}) as never, readiness: () => ({}) as never });
    await assert.rejects(b.listen(port, '127.0.0.1'), /EADDRINUSE/);
    await a.close();
  });
});
