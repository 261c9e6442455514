// A local CloudWatch endpoint for tests: a node:http server that records the PutMetricData calls the AWS SDK
// sends (AWS JSON 1.0, gzip-compressed when large) and answers as CloudWatch does — or fails on purpose.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

export interface RecordedDatum {
  MetricName: string;
  Dimensions?: { Name: string; Value: string }[];
  Timestamp?: number;
  Unit?: string;
  StatisticValues?: { SampleCount: number; Sum: number; Minimum: number; Maximum: number };
  Value?: number;
}

export interface RecordedCall {
  target: string | undefined;
  contentEncoding: string | undefined;
  authorization: string | undefined;
  namespace: string;
  data: RecordedDatum[];
}

export type EndpointMode = 'ok' | 'fail' | 'hang';

export interface CloudWatchEndpoint {
  url: string;
  readonly calls: RecordedCall[];
  mode: EndpointMode;
  /** Every datum of every call, with its dimensions as an object. */
  datums(): (RecordedDatum & { dims: Record<string, string> })[];
  close(): Promise<void>;
}

async function body(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const raw = Buffer.concat(chunks);
  return req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
}

export async function startCloudWatchEndpoint(mode: EndpointMode = 'ok'): Promise<CloudWatchEndpoint> {
  const calls: RecordedCall[] = [];
  const hanging = new Set<() => void>();
  const endpoint = {
    url: '',
    calls,
    mode,
    datums: () => calls.flatMap((c) => c.data.map((d) => ({ ...d, dims: Object.fromEntries((d.Dimensions ?? []).map((x) => [x.Name, x.Value])) }))),
    close: async () => undefined,
  } as CloudWatchEndpoint;
  const server: Server = createServer((req, res) => {
    void body(req).then((buf) => {
      const parsed = JSON.parse(buf.toString('utf8') || '{}') as { Namespace: string; MetricData?: RecordedDatum[] };
      if (endpoint.mode === 'hang') {
        hanging.add(() => res.destroy());
        return;
      }
      if (endpoint.mode === 'fail') {
        res.writeHead(500, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-query-error': 'InternalServiceError;Receiver' });
        res.end(JSON.stringify({ __type: 'com.amazonaws.cloudwatch#InternalServiceFault', message: 'Internal service failure (test)' }));
        return;
      }
      calls.push({
        target: req.headers['x-amz-target'] as string | undefined,
        contentEncoding: req.headers['content-encoding'],
        authorization: req.headers.authorization,
        namespace: parsed.Namespace,
        data: parsed.MetricData ?? [],
      });
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': 'test' });
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  endpoint.close = () =>
    new Promise<void>((resolve) => {
      for (const h of hanging) h();
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return endpoint;
}
