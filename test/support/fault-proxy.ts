// An HTTP proxy in front of an emulator that fails AWS calls, selected by the X-Amz-Target operation; everything
// else is forwarded unchanged. Two modes, usable together:
//  - on demand: `fail(kind, operations)` fails every matching call until `clear()` (500s, throttling, resets);
//  - random (`options.random`): each call independently, at the given rates, gets the service's throttling error
//    (HTTP 400 + its JSON body), a slow response (delayed before forwarding), or a connection reset before it
//    reaches the emulator — the chaos run's faults. Decisions come from a seeded generator, so runs repeat;
//  - black hole (`blackHole()`): every call (or every call of the given operations) is accepted and never answered;
//  - hang one operation (`hang(rule)`): only calls whose X-Amz-Target and JSON body match, e.g. `UpdateItem` for one
//    lease key or `GetRecords` of one shard (by its iterator), are held unanswered;
//  - rewrite (`rewrite(rule)`): a matching call is forwarded and its JSON answer changed before it is returned,
//    e.g. `NextShardIterator` / `ChildShards` removed from a GetRecords answer of an open shard.
// Held calls stay open until the client gives up (its socket closes) or the rule is cleared (`release()`), which
// forwards them. Every mode is switchable at run time.
import { createServer, request, request as request0, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
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

/** Matches calls by operation (suffix of X-Amz-Target) and, optionally, their parsed JSON body. */
export interface CallRule {
  /** Operations (e.g. `UpdateItem`, `GetRecords`); every operation when empty. */
  operations?: string[];
  /** Called with the parsed request body; true to match. */
  body?: (body: Record<string, unknown>) => boolean;
  /** Match at most this many calls, then let the rest through. @defaultValue unlimited */
  times?: number;
}

export interface RewriteRule extends CallRule {
  /** Changes the parsed JSON answer (status 200 only) in place or returns a new one. */
  answer: (body: Record<string, unknown>, request: Record<string, unknown>) => Record<string, unknown> | void;
}

export interface FaultProxy {
  readonly url: string;
  /** Fails calls whose X-Amz-Target ends with one of `operations` (all calls when empty) until cleared. */
  fail(fault: Fault, operations?: string[]): void;
  clear(): void;
  /** Turns the random faults on (with new rates) or off (`undefined`). */
  setRandom(random: RandomFaults | undefined): void;
  /** Accepts matching calls (all when no operations given) and never answers them, until `release()`. */
  blackHole(operations?: string[]): void;
  /** Holds only the calls matching `rule` unanswered, until `release()`. */
  hang(rule: CallRule): void;
  /** Rewrites the answers of calls matching `rule` until `release()`. */
  rewrite(rule: RewriteRule): void;
  /** Ends black hole, hang and rewrite; held calls still open are forwarded. */
  release(): void;
  /** Calls held (black hole / hang) so far, and answers rewritten. */
  readonly held: number;
  readonly rewritten: number;
  /** Held calls whose client gave up (closed the connection) while held: proof an aborted call freed its socket. */
  readonly abandoned: number;
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

  let holdRules: CallRule[] = [];
  let rewriteRule: RewriteRule | undefined;
  const heldCalls = new Set<{ req: IncomingMessage; res: ServerResponse; body: Buffer }>();
  let held = 0;
  let rewritten = 0;
  let abandoned = 0;
  const ruleMatches = (rule: CallRule, op: string, body: Record<string, unknown>): boolean => {
    if (!matches(rule.operations, op)) return false;
    if (rule.body !== undefined && !rule.body(body)) return false;
    if (rule.times !== undefined) {
      if (rule.times <= 0) return false;
      rule.times--;
    }
    return true;
  };
  const parse = (buffer: Buffer): Record<string, unknown> => {
    try {
      const v: unknown = JSON.parse(buffer.toString('utf8') || '{}');
      return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {};
    } catch {
      return {};
    }
  };
  /** Sends a buffered request upstream; `rule` rewrites a 200 JSON answer. */
  const forwardBuffered = (req: IncomingMessage, res: ServerResponse, body: Buffer, rule?: RewriteRule, request?: Record<string, unknown>): void => {
    const headers = { ...req.headers, 'content-length': String(body.length) };
    const upstream = request0({ host: to.hostname, port: to.port, method: req.method, path: req.url, headers }, (up) => {
      if (rule === undefined || up.statusCode !== 200) {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
        return;
      }
      const chunks: Buffer[] = [];
      up.on('data', (c: Buffer) => chunks.push(c));
      up.on('end', () => {
        const answer = parse(Buffer.concat(chunks));
        const out = rule.answer(answer, request ?? {}) ?? answer;
        rewritten++;
        const text = Buffer.from(JSON.stringify(out));
        const { 'content-length': _len, 'x-amz-crc32': _crc, ...rest } = up.headers;
        res.writeHead(200, { ...rest, 'content-length': String(text.length) });
        res.end(text);
      });
    });
    upstream.on('error', () => res.destroy());
    upstream.end(body);
  };

  const server: Server = createServer((req, res) => {
    counts.requests++;
    const op = String(req.headers['x-amz-target'] ?? '');
    if (holdRules.length > 0 || rewriteRule !== undefined) {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const parsed = parse(body);
        if (holdRules.some((rule) => ruleMatches(rule, op, parsed))) {
          held++;
          const call = { req, res, body };
          heldCalls.add(call);
          res.on('close', () => {
            if (heldCalls.delete(call)) abandoned++;
          });
          return;
        }
        if (rewriteRule !== undefined && ruleMatches(rewriteRule, op, parsed)) {
          forwardBuffered(req, res, body, rewriteRule, parsed);
          return;
        }
        forwardBuffered(req, res, body);
      });
      return;
    }
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
    blackHole: (operations = []) => void (holdRules = [...holdRules, { operations }]),
    hang: (rule) => void (holdRules = [...holdRules, rule]),
    rewrite: (rule) => void (rewriteRule = rule),
    release: () => {
      holdRules = [];
      rewriteRule = undefined;
      const calls = [...heldCalls];
      heldCalls.clear();
      for (const call of calls) if (!call.res.destroyed) forwardBuffered(call.req, call.res, call.body);
    },
    get held() {
      return held;
    },
    get rewritten() {
      return rewritten;
    },
    get abandoned() {
      return abandoned;
    },
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
        heldCalls.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
