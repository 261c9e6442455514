// An HTTP proxy in front of an emulator that fails AWS calls on demand (500s, throttling, dropped connections),
// selected by the X-Amz-Target operation; everything else is forwarded unchanged.
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Fault = 'server-error' | 'throttle' | 'reset';

export interface FaultProxy {
  readonly url: string;
  /** Fails calls whose X-Amz-Target ends with one of `operations` (all calls when empty) until cleared. */
  fail(fault: Fault, operations?: string[]): void;
  clear(): void;
  /** Calls failed so far. */
  readonly failed: number;
  close(): Promise<void>;
}

export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const to = new URL(target);
  let fault: { kind: Fault; operations: string[] } | undefined;
  let failed = 0;
  const server: Server = createServer((req, res) => {
    const op = String(req.headers['x-amz-target'] ?? '');
    if (fault && (fault.operations.length === 0 || fault.operations.some((o) => op.endsWith(`.${o}`)))) {
      failed++;
      req.resume();
      if (fault.kind === 'reset') {
        req.socket.destroy();
        return;
      }
      const throttle = fault.kind === 'throttle';
      const type = throttle ? 'ProvisionedThroughputExceededException' : 'InternalFailure';
      res.writeHead(throttle ? 400 : 500, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(JSON.stringify({ __type: type, message: `injected ${fault.kind} for ${op}` }));
      return;
    }
    const upstream = request({ host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    fail: (kind, operations = []) => void (fault = { kind, operations }),
    clear: () => void (fault = undefined),
    get failed() {
      return failed;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
