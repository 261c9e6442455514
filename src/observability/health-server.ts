import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HealthReport, ReadinessReport } from './worker-health.js';

export interface HealthServerSources {
  health(): HealthReport;
  readiness(): ReadinessReport;
  /** The Prometheus exposition, when that backend is on; `undefined` otherwise (then `/metrics` answers 404). */
  metrics?: (() => Promise<{ contentType: string; body: string }>) | undefined;
  /** More routes on the same port (the lease dashboard with `http.dashboard`); they answer their own methods. */
  routes?: ExtraRoutes | undefined;
}

/** Routes another module serves on this endpoint. */
export interface ExtraRoutes {
  owns(path: string): boolean;
  handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<void>;
  /** Called when the server closes (releases what the routes hold). */
  close?(): void;
}

/**
 * The opt-in HTTP endpoint for Kubernetes probes and Prometheus scrapes (plain `node:http`, GET and HEAD only):
 * - `/healthz` — liveness: 200 when the event loop is responsive and leases are being renewed, else 503; the body
 *   is the JSON `HealthReport` (which check failed and by how much);
 * - `/readyz` — readiness: 200 once `start()` finished and until shutdown begins, else 503 (`ReadinessReport`);
 * - `/metrics` — the Prometheus text format when `metrics.backend` is `'prometheus'`, else 404.
 * Nothing here ever includes credentials or record data.
 */
export class HealthServer {
  private server: Server | undefined;

  constructor(private readonly sources: HealthServerSources) {}

  /** Starts listening; resolves the bound address (port 0 picks a free port). */
  async listen(port: number, host: string): Promise<AddressInfo> {
    const server = createServer((req, res) => {
      this.handle(req, res).catch(() => {
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
    });
    server.keepAliveTimeout = 5_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    // Never the reason the process stays up (e.g. when start() failed and nobody calls shutdown()).
    server.unref();
    this.server = server;
    return server.address() as AddressInfo;
  }

  get address(): AddressInfo | undefined {
    return (this.server?.address() ?? undefined) as AddressInfo | undefined;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    this.sources.routes?.close?.();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (this.sources.routes?.owns(path) === true) {
      await this.sources.routes.handle(req, res, path);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n', { allow: 'GET, HEAD' });
      return;
    }
    switch (path) {
      case '/healthz': {
        const report = this.sources.health();
        send(res, report.ok ? 200 : 503, 'application/json', JSON.stringify(report));
        return;
      }
      case '/readyz': {
        const report = this.sources.readiness();
        send(res, report.ready ? 200 : 503, 'application/json', JSON.stringify(report));
        return;
      }
      case '/metrics': {
        if (this.sources.metrics === undefined) {
          send(res, 404, 'text/plain; charset=utf-8', "no Prometheus metrics: set metrics: { backend: 'prometheus' }\n");
          return;
        }
        const { contentType, body } = await this.sources.metrics();
        send(res, 200, contentType, body);
        return;
      }
      default:
        send(res, 404, 'text/plain; charset=utf-8', 'not found (try /healthz, /readyz, /metrics)\n');
    }
  }
}

function send(res: ServerResponse, status: number, contentType: string, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store', ...headers });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
