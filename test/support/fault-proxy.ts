// An HTTP proxy in front of an emulator that fails AWS calls, selected by the X-Amz-Target operation; everything
// else is forwarded unchanged. Two modes, usable together:
//  - on demand: `fail(kind, operations)` fails every matching call until `clear()` (500s, throttling, resets);
//  - random (`options.random`): each call independently, at the given rates, gets the service's throttling error
//    (HTTP 400 + its JSON body), a slow response (delayed before forwarding), or a connection reset before it
//    reaches the emulator — the chaos run's faults. Decisions come from a seeded generator, so runs repeat.
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { seededRandom } from './seeded-random.js';

export type Fault = 'server-error' | 'throttle' | 'reset';

/** Which service's throttling error body to send: the two use different `__type` forms and content types. */
export type FaultService = 'kinesis' | 'dynamodb';

export interface RandomFaults {
  /** Probability (0..1) of answering HTTP 400 ProvisionedThroughputExceededException. */
  throttle?: number;
  /** Probability of holding the request for `slowMillis` (uniform in [slowMillis/4, slowMillis]) before forwarding. */
  slow?: number;
  /** Probability of destroying the client connection before forwarding. */
  reset?: number;
  /** @defaultValue 1000 */
  slowMillis?: number;
  /** Only these operations (suffix of X-Amz-Target); all when empty or absent. */
  operations?: string[];
  /** @defaultValue 1 */
  seed?: number;
}

export interface FaultProxyOptions {
  /** @defaultValue 'kinesis' */
  service?: FaultService;
  random?: RandomFaults;
}

export interface FaultCounts {
  requests: number;
  throttled: number;
  slowed: number;
  reset: number;
  serverErrors: number;
}

export interface FaultProxy {
  readonly url: string;
  /** Fails calls whose X-Amz-Target ends with one of `operations` (all calls when empty) until cleared. */
  fail(fault: Fault, operations?: string[]): void;
  clear(): void;
  /** Turns the random faults on (with new rates) or off (`undefined`). */
  setRandom(random: RandomFaults | undefined): void;
  /** Calls failed so far (on demand and random, slow ones not counted). */
  readonly failed: number;
  readonly counts: Readonly<FaultCounts>;
  close(): Promise<void>;
}


function throttleBody(service: FaultService, op: string): { contentType: string; body: string } {
  const message = `injected throttling for ${op}`;
  return service === 'dynamodb'
    ? {
        contentType: 'application/x-amz-json-1.0',
        body: JSON.stringify({ __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException', message }),
      }
    : { contentType: 'application/x-amz-json-1.1', body: JSON.stringify({ __type: 'ProvisionedThroughputExceededException', message }) };
}

export async function startFaultProxy(target: string, options: FaultProxyOptions = {}): Promise<FaultProxy> {
  const to = new URL(target);
  const service = options.service ?? 'kinesis';
  let fault: { kind: Fault; operations: string[] } | undefined;
  let random = options.random;
  let rand = seededRandom(random?.seed ?? 1);
  const counts: FaultCounts = { requests: 0, throttled: 0, slowed: 0, reset: 0, serverErrors: 0 };
  const timers = new Set<NodeJS.Timeout>();
  const matches = (ops: readonly string[] | undefined, op: string): boolean => !ops || ops.length === 0 || ops.some((o) => op.endsWith(`.${o}`));

  const forward = (req: IncomingMessage, res: ServerResponse): void => {
    const upstream = request({ host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  };

  const server: Server = createServer((req, res) => {
    counts.requests++;
    const op = String(req.headers['x-amz-target'] ?? '');
    const injected: Fault | 'slow' | undefined =
      fault && matches(fault.operations, op)
        ? fault.kind
        : random && matches(random.operations, op)
          ? (() => {
              const x = rand();
              const throttle = random.throttle ?? 0;
              const reset = random.reset ?? 0;
              const slow = random.slow ?? 0;
              if (x < throttle) return 'throttle';
              if (x < throttle + reset) return 'reset';
              if (x < throttle + reset + slow) return 'slow';
              return undefined;
            })()
          : undefined;
    if (injected === 'slow') {
      counts.slowed++;
      const max = random?.slowMillis ?? 1000;
      req.pause();
      const timer = setTimeout(() => {
        timers.delete(timer);
        req.resume();
        forward(req, res);
      }, Math.round(max / 4 + rand() * (max * 3) / 4));
      timers.add(timer);
      return;
    }
    if (injected !== undefined) {
      req.resume();
      if (injected === 'reset') {
        counts.reset++;
        req.socket.destroy();
        return;
      }
      if (injected === 'throttle') {
        counts.throttled++;
        const { contentType, body } = throttleBody(service, op);
        res.writeHead(400, { 'content-type': contentType });
        res.end(body);
        return;
      }
      counts.serverErrors++;
      res.writeHead(500, { 'content-type': service === 'dynamodb' ? 'application/x-amz-json-1.0' : 'application/x-amz-json-1.1' });
      res.end(JSON.stringify({ __type: service === 'dynamodb' ? 'com.amazonaws.dynamodb.v20120810#InternalServerError' : 'InternalFailure', message: `injected ${injected} for ${op}` }));
      return;
    }
    forward(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    fail: (kind, operations = []) => void (fault = { kind, operations }),
    clear: () => void (fault = undefined),
    setRandom: (next) => {
      random = next;
      if (next?.seed !== undefined) rand = seededRandom(next.seed);
    },
    get failed() {
      return counts.throttled + counts.reset + counts.serverErrors;
    },
    get counts() {
      return { ...counts };
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        timers.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
