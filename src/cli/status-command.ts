import { Command, InvalidArgumentError } from 'commander';
import { LeaseTableInspector, type LeaseTableInspectorOptions, type LeaseTableStatus } from '../index.js';
import { formatStatus } from './status-format.js';
import { addSourceOptions, inspectorOptions, type SourceOptions } from './status-source.js';

interface StatusOptions extends SourceOptions {
  json?: boolean;
  wide?: boolean;
  watch?: number | true;
}

function seconds(value: string): number {
  const n = Number(value);
  if (!(n >= 0.2 && n <= 3600)) throw new InvalidArgumentError('expected seconds between 0.2 and 3600');
  return n;
}

/** `ts-kcl status <application>`: the lease table as operators need it, once or refreshed (`--watch`). */
export function statusCommand(): Command {
  return addSourceOptions(new Command('status')
    .summary('show the lease table: who owns which shard, checkpoints, handoffs and each shard’s lag')
    .description(
      'Reads the lease table (read-only) and prints one row per shard: state, owner, lease counter, checkpoint, ' +
        'parents/children and graceful-handoff state. With a stream (--stream, or multi-stream leases) it also ' +
        'measures each shard’s lag: one GetShardIterator after the checkpoint and one GetRecords with Limit 1, ' +
        'giving the age of the oldest record not yet checkpointed and MillisBehindLatest (this uses the shard’s ' +
        'GetRecords allowance once per refresh). Credentials come from the AWS SDK’s default chain.',
    )
    .argument('[application]', 'the application name (the default lease table name)'))
    .option('--json', 'print JSON (one document per refresh with --watch)')
    .option('--wide', 'full sequence numbers')
    .option('-w, --watch [seconds]', 'refresh every N seconds (default 5) until interrupted', seconds)
    .action(async (application: string | undefined, options: StatusOptions, command: Command) => {
      const tableName = options.table ?? application;
      if (tableName === undefined) command.error('error: name the application (or --table <name>)');
      process.exitCode = await runStatus(tableName, options);
    });
}

async function runStatus(tableName: string, o: StatusOptions): Promise<number> {
  let config: LeaseTableInspectorOptions;
  try {
    config = inspectorOptions(tableName, o); // throws on a malformed AWS_ENDPOINT_URL* variable
  } catch (error) {
    process.stderr.write(`error: ${(error as Error).message}\n`);
    return 1;
  }
  const where: Where = { tableName, stream: o.stream, endpoints: config.endpoints ?? {}, region: config.region };
  const inspector = new LeaseTableInspector(config);
  try {
    // A misspelt stream, a missing table or missing credentials: one line and a non-zero exit, not a table of
    // per-row errors (nor, with --watch, a loop of error frames).
    try {
      if (config.lag !== false) await inspector.checkStream();
    } catch (error) {
      process.stderr.write(`error: ${describe(error, where, 'stream')}\n`);
      return 1;
    }
    if (o.watch === undefined) {
      const status = await inspector.read();
      process.stdout.write(o.json ? `${JSON.stringify(status, null, 2)}\n` : formatStatus(status, { wide: o.wide ?? false }));
      return 0;
    }
    return await watch(inspector, where, o, o.watch === true ? 5 : o.watch);
  } catch (error) {
    process.stderr.write(`error: ${describe(error, where, 'table')}\n`);
    return 1;
  } finally {
    inspector.close();
  }
}

/**
 * Refreshes until SIGINT/SIGTERM; tracks when each lease counter was last seen moving. The first read must work
 * (else: exit 1 with one line); later failures are shown as a frame and retried at the next refresh.
 */
async function watch(inspector: LeaseTableInspector, where: Where, o: StatusOptions, intervalSeconds: number): Promise<number> {
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const seen = new Map<string, { counter: number; since: number; moved: boolean }>();
  const tty = process.stdout.isTTY;
  let first = true;
  try {
    while (!stop.signal.aborted) {
      let frame: string;
      try {
        const status = await inspector.read();
        const moved = track(seen, status, Date.now());
        frame = o.json ? `${JSON.stringify(status)}\n` : formatStatus(status, { wide: o.wide ?? false, sinceCounterMoved: moved });
      } catch (error) {
        if (first) throw error;
        frame = `error: ${describe(error, where, 'table')}\n`;
      }
      first = false;
      process.stdout.write(tty && !o.json ? `\x1b[H\x1b[2J${frame}` : o.json ? frame : `${frame}\n`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, intervalSeconds * 1000);
        stop.signal.addEventListener('abort', () => {
          clearTimeout(timer);
          resolve();
        }, { once: true });
      });
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  return 0;
}

function track(seen: Map<string, { counter: number; since: number; moved: boolean }>, status: LeaseTableStatus, now: number): Map<string, { millis: number; atLeast: boolean }> {
  const out = new Map<string, { millis: number; atLeast: boolean }>();
  const present = new Set<string>();
  for (const l of status.leases) {
    present.add(l.leaseKey);
    const prev = seen.get(l.leaseKey);
    if (prev === undefined) {
      seen.set(l.leaseKey, { counter: l.counter, since: now, moved: false });
      continue;
    }
    if (prev.counter !== l.counter) seen.set(l.leaseKey, { counter: l.counter, since: now, moved: true });
    const entry = seen.get(l.leaseKey)!;
    out.set(l.leaseKey, { millis: now - entry.since, atLeast: !entry.moved });
  }
  for (const key of [...seen.keys()]) if (!present.has(key)) seen.delete(key);
  return out;
}

interface Where {
  tableName: string;
  stream: string | undefined;
  endpoints: { dynamodb?: string; kinesis?: string };
  region: string | undefined;
}

/** One line for the usual first-run mistakes; anything else as its message. */
function describe(error: unknown, where: Where, looking: 'table' | 'stream'): string {
  const region = where.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
  const at = (endpoint: string | undefined): string => (endpoint ? `at ${endpoint}` : `in ${region}`);
  if (causes(error).some((e) => e.name === 'CredentialsProviderError')) {
    const local = Object.values(where.endpoints).some((e) => e !== undefined);
    return (
      'no AWS credentials found (environment, shared config, SSO, instance role)' +
      (local ? '; local emulators accept any: AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local ts-kcl status …' : '; set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY')
    );
  }
  if ((error as { code?: unknown }).code === 'KCL_RESOURCE_NOT_FOUND') {
    return looking === 'stream'
      ? `stream ${where.stream} not found ${at(where.endpoints.kinesis)} (check --stream)`
      : `lease table ${where.tableName} not found ${at(where.endpoints.dynamodb)} (the table is named after the application unless --table says otherwise)`;
  }
  return error instanceof Error ? error.message : String(error);
}

function causes(error: unknown): { name?: unknown }[] {
  const out: { name?: unknown }[] = [];
  for (let e = error; typeof e === 'object' && e !== null && out.length < 5; e = (e as { cause?: unknown }).cause) out.push(e);
  return out;
}
