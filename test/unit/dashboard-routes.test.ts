import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DashboardRoutes } from '../../src/coordinator/dashboard/dashboard-routes.js';
import { DashboardSource, type StatusReader } from '../../src/coordinator/dashboard/dashboard-source.js';
import { HealthServer } from '../../src/observability/health-server.js';
import { ConfigError, ResourceNotFoundError } from '../../src/errors.js';
import { resolveOptions } from '../../src/config/resolve-options.js';
import type { LeaseTableStatus } from '../../src/index.js';

const STATUS: LeaseTableStatus = { tableName: 'app', readAt: new Date(0).toISOString(), leases: [], workers: [], malformed: 0 };
const health = { health: () => ({ ok: true }) as never, readiness: () => ({ ready: true }) as never };

describe('dashboard routes on the worker HTTP endpoint', () => {
  const servers: HealthServer[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.close();
  });

  async function serve(reader: StatusReader | undefined): Promise<{ url: (p: string) => string; closed: () => boolean }> {
    let closed = false;
    const routes = reader && new DashboardRoutes(new DashboardSource({ reader, measuresLag: false, refreshMillis: 1000, lagRefreshMillis: 1000, staleAfterMillis: 1000 }), { onClose: () => (closed = true) });
    const server = new HealthServer({ ...health, routes });
    servers.push(server);
    const { port } = await server.listen(0, '127.0.0.1');
    return { url: (p) => `http://127.0.0.1:${port}${p}`, closed: () => closed };
  }

  it('is off by default: /dashboard and /api/status answer 404', async () => {
    const { url } = await serve(undefined);
    assert.equal((await fetch(url('/dashboard'))).status, 404);
    assert.equal((await fetch(url('/api/status'))).status, 404);
    assert.equal((await fetch(url('/healthz'))).status, 200);
  });

  it('when on: the page with a nonce CSP, /api/status as status --json, read-only, closed with the server', async () => {
    const s = await serve({ read: async () => structuredClone(STATUS) });
    const page = await fetch(url(s, '/dashboard'));
    assert.equal(page.status, 200);
    const csp = page.headers.get('content-security-policy')!;
    const nonce = /script-src 'nonce-([^']+)'/.exec(csp)![1]!;
    assert.match(await page.text(), new RegExp(`<script nonce="${nonce.replace(/[+/]/g, '\\$&')}">`));
    assert.match(csp, /default-src 'none'/);
    assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
    assert.deepEqual(await (await fetch(url(s, '/api/status'))).json(), STATUS);
    const view = (await (await fetch(url(s, '/api/dashboard'))).json()) as { status: LeaseTableStatus; problems: unknown[] };
    assert.deepEqual(view.status, STATUS);
    assert.deepEqual(view.problems, []);
    const post = await fetch(url(s, '/api/status'), { method: 'POST', body: '{}' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
    const head = await fetch(url(s, '/dashboard'), { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal((await head.text()).length, 0);
    await servers.pop()!.close();
    assert.equal(s.closed(), true);
  });

  it('a failed read answers 502 with the error code and message', async () => {
    const s = await serve({ read: () => Promise.reject(new ResourceNotFoundError('table app missing')) });
    const res = await fetch(url(s, '/api/status'));
    assert.equal(res.status, 502);
    const body = (await res.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'KCL_RESOURCE_NOT_FOUND');
    assert.match(body.error.message, /table app missing/);
  });
});

function url(s: { url: (p: string) => string }, p: string): string {
  return s.url(p);
}

describe('http.dashboard option', () => {
  const base = { applicationName: 'app', streamName: 's', processorFactory: () => ({}) as never };
  it('is false by default, true when asked, and a non-boolean is a ConfigError naming http.dashboard', () => {
    assert.equal(resolveOptions({ ...base, http: { port: 0 } }).http!.dashboard, false);
    assert.equal(resolveOptions({ ...base, http: { port: 0, dashboard: true } }).http!.dashboard, true);
    assert.throws(() => resolveOptions({ ...base, http: { port: 0, dashboard: 'yes' as never } }), (e: unknown) => e instanceof ConfigError && e.key === 'http.dashboard');
  });
});
