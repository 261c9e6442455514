import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DashboardSource } from '../../src/coordinator/dashboard/dashboard-source.js';
import { DashboardTracker } from '../../src/coordinator/dashboard/dashboard-tracker.js';
import { dashboardPage } from '../../src/coordinator/dashboard/dashboard-page.js';
import { layoutShards } from '../../src/coordinator/dashboard/shard-layout.js';
import type { LeaseStatus, LeaseTableStatus } from '../../src/index.js';

const MAX = (1n << 128n) - 1n;
const HALF = 1n << 127n;

function lease(shardId: string, f: Partial<LeaseStatus> = {}): LeaseStatus {
  return {
    leaseKey: shardId, shardId, stream: undefined, state: f.owner === null ? 'unassigned' : 'owned', owner: 'a', counter: 1,
    checkpoint: 'TRIM_HORIZON', checkpointSubSequenceNumber: 0, pendingCheckpoint: null, ownerSwitchesSinceCheckpoint: 0,
    parents: [], children: [], handoff: null, hashKeyRange: { startingHashKey: '0', endingHashKey: MAX.toString() }, ...f,
  };
}

function table(leases: LeaseStatus[]): LeaseTableStatus {
  const counts = new Map<string, number>();
  for (const l of leases) if (l.owner !== null) counts.set(l.owner, (counts.get(l.owner) ?? 0) + 1);
  return { tableName: 't', readAt: new Date(0).toISOString(), leases, workers: [...counts].map(([workerId, n]) => ({ workerId, leases: n })), malformed: 0 };
}

const tracker = () => new DashboardTracker({ refreshMillis: 1000, staleAfterMillis: 10_000 });

describe('dashboard: shard layout', () => {
  it('children sit one row under their parent, inside its hash-key range; merges under the deeper parent', () => {
    const lo = { startingHashKey: '0', endingHashKey: (HALF - 1n).toString() };
    const hi = { startingHashKey: HALF.toString(), endingHashKey: MAX.toString() };
    const places = layoutShards([
      lease('p', { state: 'finished', checkpoint: 'SHARD_END', children: ['c1', 'c2'] }),
      lease('c1', { parents: ['p'], hashKeyRange: lo }),
      lease('c2', { parents: ['p'], hashKeyRange: hi }),
      lease('m', { parents: ['c1', 'c2'] }),
      lease('x', { hashKeyRange: null, parents: ['gone'] }),
      lease('bad', { hashKeyRange: { startingHashKey: '12', endingHashKey: 'zz' } }),
    ]);
    assert.deepEqual(places.map((p) => [p.leaseKey, p.depth, p.x0, p.x1]), [
      ['p', 0, 0, 1], ['c1', 1, 0, 0.5], ['c2', 1, 0.5, 1], ['m', 2, 0, 1], ['x', 0, null, null], ['bad', 0, null, null],
    ]);
  });

  it('a lineage cycle in a corrupt table does not loop', () => {
    const places = layoutShards([lease('a', { parents: ['b'] }), lease('b', { parents: ['a'] })]);
    assert.equal(places.length, 2);
    assert.ok(places.every((p) => Number.isFinite(p.depth)));
  });
});

describe('dashboard: tracker', () => {
  it('records ownership changes as a timeline (not the first read), with sequence numbers', () => {
    const t = tracker();
    assert.deepEqual(t.update(table([lease('s1'), lease('s2', { owner: null })]), 1000, null, false).events, []);
    const v = t.update(table([lease('s1', { owner: 'b', counter: 2 }), lease('s2', { owner: 'a' }), lease('s3')]), 2000, null, false);
    assert.deepEqual(v.events.map((e) => [e.seq, e.shardId, e.kind, e.from, e.to]), [
      [1, 's1', 'moved', 'a', 'b'], [2, 's2', 'assigned', null, 'a'], [3, 's3', 'created', null, 'a'],
    ]);
    const w = t.update(table([lease('s1', { owner: null, counter: 3 }), lease('s3', { state: 'handoff', owner: 'b', handoff: { from: 'a', to: 'b' } })]), 3000, null, false);
    assert.deepEqual(w.events.slice(3).map((e) => [e.shardId, e.kind, e.from, e.to]), [['s1', 'released', 'b', null], ['s3', 'handoff', 'a', 'b'], ['s2', 'removed', 'a', null]]);
    assert.equal(w.trackingSince, 1000);
  });

  it('keeps at most maxEvents events', () => {
    const t = new DashboardTracker({ refreshMillis: 1000, staleAfterMillis: 10_000, maxEvents: 3 });
    for (let i = 0; i < 6; i++) t.update(table([lease('s', { owner: `w${i}` })]), i, null, false);
    const v = t.update(table([lease('s', { owner: 'z' })]), 9, null, false);
    assert.deepEqual(v.events.map((e) => e.seq), [4, 5, 6]);
  });

  it('problems: a counter that stopped, a child waiting on its parent, a worker above its fair share, growing lag', () => {
    const t = tracker();
    const lagged = (ms: number) => lease('slow', { owner: 'b', counter: ms, lag: { millisBehindLatest: ms, pendingRecordAgeMillis: ms, caughtUp: false } });
    const read = (now: number, lagMs: number) =>
      t.update(table([
        lease('stuck', { owner: 'a', counter: 5 }),
        lease('parent', { owner: 'a', counter: now, checkpoint: '123' }),
        lease('child', { owner: null, parents: ['parent'] }),
        lease('d', { owner: 'a', counter: now }),
        lease('e', { owner: 'a', counter: now }),
        lagged(lagMs),
      ]), now, now, true);
    // At once: only the share (the others need time to count as problems).
    assert.deepEqual(read(0, 500).problems.map((p) => p.kind), ['above-fair-share']);
    read(6000, 2000);
    const v = read(12_000, 4000);
    const kinds = v.problems.map((p) => [p.kind, p.leaseKey ?? p.workerId]);
    assert.deepEqual(kinds, [['stalled-lease', 'stuck'], ['waiting-on-parent', 'child'], ['above-fair-share', 'a'], ['lag-growing', 'slow']]);
    assert.match(v.problems[0]!.message, /stuck \(owner a\) has not been renewed for 12 s, longer than the failover time \(10 s\)/);
    assert.match(v.problems[1]!.message, /child has been waiting 12 s for its parent parent \(owner a, checkpoint 123\)/);
    assert.match(v.problems[2]!.message, /Worker a holds 4 leases, above its fair share of 3 \(6 active leases over 2 workers\)/);
    assert.match(v.problems[3]!.message, /0\.5 s → 2\.0 s → 4\.0 s/);
    assert.equal(v.counterSince.stuck, 0);
  });

  it('lag that shrinks, or a worker at its fair share, is no problem', () => {
    const t = tracker();
    for (const [now, ms] of [[0, 9000], [1000, 5000], [2000, 7000]] as const) {
      const v = t.update(table([lease('s', { owner: 'a', counter: now, lag: { millisBehindLatest: ms, pendingRecordAgeMillis: ms, caughtUp: false } }), lease('t', { owner: 'b', counter: now })]), now, now, true);
      assert.deepEqual(v.problems, []);
    }
  });
});

describe('dashboard: source', () => {
  it('shares one read per refresh interval; measures lag in the background every lag interval and carries it over', async () => {
    let now = 0;
    const calls: boolean[] = [];
    let releaseLag: () => void = () => {};
    const reader = {
      read: async (o?: { lag?: boolean }) => {
        const lag = o?.lag !== false;
        calls.push(lag);
        if (lag) await new Promise<void>((r) => (releaseLag = r));
        return table([lease('s', lag ? { lag: { millisBehindLatest: 42, pendingRecordAgeMillis: null, caughtUp: false } } : {})]);
      },
    };
    const source = new DashboardSource({ reader, measuresLag: true, refreshMillis: 1000, lagRefreshMillis: 5000, staleAfterMillis: 10_000, now: () => now });
    const [a, b] = await Promise.all([source.view(), source.view()]);
    assert.equal(a, b, 'one read shared by two pages');
    assert.deepEqual(calls, [true, false], 'the table read does not wait for the lag measurement');
    assert.equal(a.status.leases[0]!.lag, undefined);
    assert.equal(a.lagMeasuredAt, null);
    now = 1000;
    await source.view();
    assert.deepEqual(calls, [true, false, false], 'no second measurement while one runs');
    releaseLag();
    await source.settled();
    now = 2000;
    const c = await source.view();
    assert.deepEqual(c.status.leases[0]!.lag, { millisBehindLatest: 42, pendingRecordAgeMillis: null, caughtUp: false }, 'the measured lag, carried over');
    assert.equal(c.lagMeasuredAt, 0);
    assert.deepEqual(calls, [true, false, false, false]);
    now = 5000;
    await source.view();
    assert.deepEqual(calls.slice(4), [true, false], 'measured again after the lag interval');
    releaseLag();
    await source.settled();
    assert.equal(source.reads, 4);
    assert.equal(source.lagReads, 2);
  });
});

describe('dashboard: page', () => {
  it('never writes markup from data: no innerHTML/outerHTML/insertAdjacentHTML/document.write; the nonce is applied', () => {
    const html = dashboardPage('N0nce');
    const script = html.slice(html.indexOf('<script nonce="N0nce">'), html.indexOf('</script>'));
    assert.ok(script.length > 1000);
    assert.doesNotMatch(script, /innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/);
    assert.match(html, /<style nonce="N0nce">/);
    assert.doesNotMatch(html, /https?:\/\/(?!.*localhost)/, 'nothing loaded from elsewhere');
  });
});
