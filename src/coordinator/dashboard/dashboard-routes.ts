import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dashboardPage } from './dashboard-page.js';
import type { DashboardSource } from './dashboard-source.js';

export interface DashboardRoutesOptions {
  /** Paths that serve the page. @defaultValue ['/dashboard'] */
  pagePaths?: string[];
  /**
   * Answer only requests whose `Host` names this machine (localhost, 127.0.0.1, [::1]): with a server bound to
   * loopback, this stops a web page in the operator's browser from reading the table through DNS rebinding.
   * @defaultValue false
   */
  loopbackHostsOnly?: boolean;
  /** Releases what the source reads with (e.g. `LeaseTableInspector.close`); called by `close()`. */
  onClose?: () => void;
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * The dashboard's HTTP routes, for any `node:http` server (the `ts-kcl dashboard` command's, or the worker's
 * health endpoint): the page, `/api/status` (exactly what `ts-kcl status --json` prints) and `/api/dashboard`
 * (that plus the layout, timeline and problems the page draws). Read-only: GET and HEAD only.
 */
export class DashboardRoutes {
  private readonly pagePaths: Set<string>;

  constructor(
    private readonly source: DashboardSource,
    private readonly options: DashboardRoutesOptions = {},
  ) {
    this.pagePaths = new Set(options.pagePaths ?? ['/dashboard']);
  }

  close(): void {
    this.options.onClose?.();
  }

  /** Whether `path` is one of these routes. */
  owns(path: string): boolean {
    return this.pagePaths.has(path) || path === '/api/status' || path === '/api/dashboard';
  }

  /** Answers a request for one of `owns()`'s paths. */
  async handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, 'text/plain; charset=utf-8', 'method not allowed (the dashboard is read-only)\n', { allow: 'GET, HEAD' });
      return;
    }
    if (this.options.loopbackHostsOnly === true && !LOOPBACK_HOSTS.has(hostName(req.headers.host))) {
      send(res, 421, 'text/plain; charset=utf-8', 'this dashboard answers only to localhost, 127.0.0.1 and [::1]\n');
      return;
    }
    if (this.pagePaths.has(path)) {
      const nonce = randomBytes(16).toString('base64');
      send(res, 200, 'text/html; charset=utf-8', dashboardPage(nonce), {
        'content-security-policy':
          `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; connect-src 'self'; ` +
          `img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
        'x-frame-options': 'DENY',
      });
      return;
    }
    try {
      const view = await this.source.view();
      send(res, 200, 'application/json', JSON.stringify(path === '/api/status' ? view.status : view));
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      const message = error instanceof Error ? error.message : String(error);
      send(res, 502, 'application/json', JSON.stringify({ error: { code: typeof code === 'string' ? code : 'READ_FAILED', message } }));
    }
  }
}

function hostName(host: string | undefined): string {
  if (host === undefined) return '';
  const h = host.toLowerCase();
  if (h.startsWith('[')) return h.slice(0, h.indexOf(']') + 1);
  const colon = h.lastIndexOf(':');
  return colon < 0 ? h : h.slice(0, colon);
}

function send(res: ServerResponse, status: number, contentType: string, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    ...headers,
  });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
