import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { completeLines } from '../support/json-lines.js';
import { ChildProcessProcessor, type ChildSupervision } from '../../src/multilang/child-process-processor.js';
import { ChildProcessError } from '../../src/multilang/child-channel.js';
import { ShardCheckpointer } from '../../src/checkpoint/shard-checkpointer.js';
import { ExtendedSequenceNumber } from '../../src/checkpoint/extended-sequence-number.js';
import {
  DependencyError,
  IllegalArgumentError,
  InvalidStateError,
  ShutdownError,
  ThrottlingError,
  type KinesisClientRecord,
  type Logger,
  type RecordProcessorCheckpointer,
} from '../../src/index.js';

const FAKE_CHILD = fileURLToPath(new URL('../fixtures/multilang/fake-child.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'multilang-unit-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let counter = 0;

/** What the fake child appends to its log file. */
interface ChildLogEntry {
  pid?: number;
  got?: { action: string; records?: unknown[]; [field: string]: unknown };
  reply?: { action: string; sequenceNumber: string | null; subSequenceNumber: number | null; error: string | null };
  eof?: boolean;
}

interface LogLine { level: string; obj: Record<string, unknown>; msg: string }
function captureLogger(lines: LogLine[]): Logger {
  const at = (level: string) => (obj: object, msg?: string) => void lines.push({ level, obj: obj as Record<string, unknown>, msg: msg ?? '' });
  const logger: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: () => logger };
  return logger;
}

/** A checkpointer that records calls; `failWith` makes the next call throw; `checkpoint()` goes to `largest`. */
class FakeCheckpointer {
  calls: unknown[][] = [];
  failWith: Error[] = [];
  largest = { sequenceNumber: 'SHARD_END', subSequenceNumber: 0 };
  lastCheckpoint = { sequenceNumber: 'TRIM_HORIZON', subSequenceNumber: 0 };
  checkpoint = async (...args: unknown[]): Promise<void> => {
    this.calls.push(args);
    const error = this.failWith.shift();
    if (error) throw error;
    this.lastCheckpoint = args.length === 0 ? this.largest : { sequenceNumber: String(args[0]), subSequenceNumber: Number(args[1] ?? 0) };
  };
  prepareCheckpoint = async (): Promise<never> => {
    throw new Error('not used');
  };
}

function setup(plan: Record<string, unknown>, opts: { timeoutMillis?: number; exitGraceMillis?: number; command?: string[] } = {}) {
  const logFile = join(dir, `child-${++counter}.jsonl`);
  const logs: LogLine[] = [];
  const events: string[] = [];
  const supervision: ChildSupervision = {
    beforeSpawn: async (shardId) => void events.push(`beforeSpawn:${shardId}`),
    track: () => {
      events.push('track');
      return () => events.push('untrack');
    },
    failed: (shardId) => void events.push(`failed:${shardId}`),
    succeeded: (shardId) => void events.push(`succeeded:${shardId}`),
  };
  const processor = new ChildProcessProcessor({
    command: opts.command ?? [process.execPath, FAKE_CHILD, logFile, JSON.stringify(plan)],
    logger: captureLogger(logs),
    supervision,
    ...(opts.timeoutMillis !== undefined ? { timeoutMillis: opts.timeoutMillis } : {}),
    ...(opts.exitGraceMillis !== undefined ? { exitGraceMillis: opts.exitGraceMillis } : {}),
  });
  const childLog = (): ChildLogEntry[] =>
    existsSync(logFile) ? completeLines(readFileSync(logFile, 'utf8')).map((l) => JSON.parse(l) as ChildLogEntry) : [];
  const childPid = (): number => childLog().find((e) => e.pid)!.pid!;
  return { processor, logs, events, childLog, childPid };
}

const base = { shardId: 'shardId-000000000007', streamName: 's' };
const init = { ...base, extendedSequenceNumber: { sequenceNumber: 'TRIM_HORIZON', subSequenceNumber: 0 } };
const records: KinesisClientRecord[] = [1, 2].map((i) => ({
  sequenceNumber: String(100 + i), subSequenceNumber: 0, partitionKey: `pk-${i}`, data: new TextEncoder().encode(`r${i}`),
  approximateArrivalTimestamp: new Date(1_700_000_000_000 + i), aggregated: false,
}));
const processInput = (checkpointer: FakeCheckpointer) => ({
  ...base, records, checkpointer: checkpointer as unknown as RecordProcessorCheckpointer, millisBehindLatest: 42,
  isAtShardEnd: false, signal: new AbortController().signal,
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
async function waitDead(pid: number): Promise<void> {
  for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(alive(pid), false, `child ${pid} should be gone`);
}

describe('ChildProcessProcessor against real child processes', () => {
  it('runs the lifecycle; checkpoints interleaved with processRecords reach the checkpointer and are answered', async () => {
    const cp = new FakeCheckpointer();
    cp.failWith = [];
    const { processor, events, childLog, childPid } = setup({
      processRecords: [{ checkpoint: null }, { checkpoint: ['101', 0] }, { checkpoint: ['102'] }, 'status'],
      shardEnded: [{ checkpoint: null }, 'status'],
    });
    await processor.initialize(init);
    await processor.processRecords(processInput(cp));
    assert.deepEqual(cp.calls, [[], ['101', 0], ['102']]);
    await processor.shardEnded({ ...base, checkpointer: cp });
    assert.deepEqual(cp.calls.at(-1), []);
    const log = childLog();
    assert.deepEqual(log.find((e) => e.got?.action === 'initialize')?.got, { action: 'initialize', shardId: base.shardId, sequenceNumber: 'TRIM_HORIZON', subSequenceNumber: 0 });
    const pr = log.find((e) => e.got?.action === 'processRecords')?.got;
    assert.equal(pr?.millisBehindLatest, 42);
    assert.deepEqual(pr?.records?.[0], { action: 'record', data: Buffer.from('r1').toString('base64'), partitionKey: 'pk-1', sequenceNumber: '101', subSequenceNumber: 0, approximateArrivalTimestamp: 1_700_000_000_001 });
    assert.deepEqual(log.filter((e) => e.reply).map((e) => e.reply!), [
      { action: 'checkpoint', sequenceNumber: null, subSequenceNumber: null, error: null },
      { action: 'checkpoint', sequenceNumber: '101', subSequenceNumber: 0, error: null },
      { action: 'checkpoint', sequenceNumber: '102', subSequenceNumber: null, error: null },
      { action: 'checkpoint', sequenceNumber: null, subSequenceNumber: null, error: null },
    ]);
    assert.ok(log.some((e) => e.eof), 'stdin closed after shardEnded');
    await waitDead(childPid());
    assert.deepEqual(events, [`beforeSpawn:${base.shardId}`, 'track', `succeeded:${base.shardId}`, 'untrack']);
  });

  it('a child checkpointing an empty first batch or an idle shutdownRequested (lease at TRIM_HORIZON) gets error: null, as from Java', async () => {
    const writes: unknown[] = [];
    // The library's real checkpointer: nothing delivered yet, the lease still at TRIM_HORIZON.
    const cp = new ShardCheckpointer(base.shardId, async (u) => void writes.push(u), ExtendedSequenceNumber.TRIM_HORIZON);
    const { processor, childLog } = setup({ processRecords: [{ checkpoint: null }, 'status'], shutdownRequested: [{ checkpoint: null }, 'status'] });
    await processor.initialize(init);
    await processor.processRecords({ ...processInput(new FakeCheckpointer()), records: [], checkpointer: cp });
    await processor.shutdownRequested({ ...base, checkpointer: cp });
    assert.deepEqual(childLog().filter((e) => e.reply).map((e) => e.reply!), [
      { action: 'checkpoint', sequenceNumber: null, subSequenceNumber: null, error: null },
      { action: 'checkpoint', sequenceNumber: null, subSequenceNumber: null, error: null },
    ]);
    assert.deepEqual(writes, [], 'nothing to write');
  });

  it('shardEnded without a checkpoint counts as a failure of the shard (the library delivers the end again)', async () => {
    const { processor, events, logs } = setup({});
    await processor.initialize(init);
    await processor.shardEnded({ ...base, checkpointer: new FakeCheckpointer() });
    assert.ok(events.includes(`failed:${base.shardId}`));
    assert.ok(logs.some((l) => l.msg.includes('did not checkpoint in shardEnded')));
  });

  it('checkpoint failures are answered with Java exception names; the call still succeeds', async () => {
    const cp = new FakeCheckpointer();
    cp.failWith = [new ShutdownError('lost'), new ThrottlingError('slow'), new IllegalArgumentError('bad'), new DependencyError('ddb'), new InvalidStateError('state')];
    const { processor, childLog } = setup({
      processRecords: [{ checkpoint: null }, { checkpoint: ['1'] }, { checkpoint: ['2', 1] }, { checkpoint: null }, { checkpoint: null }, { checkpoint: 'bad' }, 'status'],
    });
    await processor.initialize(init);
    await processor.processRecords(processInput(cp));
    assert.deepEqual(childLog().filter((e) => e.reply).map((e) => e.reply!.error), [
      'ShutdownException', 'ThrottlingException', 'IllegalArgumentException', 'KinesisClientLibDependencyException', 'InvalidStateException', 'IllegalArgumentException',
    ]);
    await processor.leaseLost(base);
  });

  it('a checkpoint during initialize or leaseLost gets InvalidStateException', async () => {
    const { processor, childLog } = setup({ initialize: [{ checkpoint: ['5'] }, 'status'], leaseLost: [{ checkpoint: null }, 'status'] });
    await processor.initialize(init);
    await processor.leaseLost(base);
    assert.deepEqual(childLog().filter((e) => e.reply).map((e) => e.reply!), [
      { action: 'checkpoint', sequenceNumber: '5', subSequenceNumber: null, error: 'InvalidStateException' },
      { action: 'checkpoint', sequenceNumber: null, subSequenceNumber: null, error: 'InvalidStateException' },
    ]);
  });

  it('junk and blank stdout lines are skipped and logged; stderr is logged', async () => {
    const cp = new FakeCheckpointer();
    const { processor, logs } = setup({ initialize: ['blank', 'junk', 'stderr', 'status'], processRecords: ['junk', { checkpoint: null }, 'blank', 'junk', 'status'] });
    await processor.initialize(init);
    await processor.processRecords(processInput(cp));
    assert.deepEqual(cp.calls, [[]]);
    const skipped = logs.filter((l) => l.msg.startsWith('skipping unexpected line'));
    assert.equal(skipped.length, 12, 'four junk lines, three times');
    assert.ok(skipped.some((l) => l.msg.includes('this is not json')));
    assert.ok(logs.some((l) => l.level === 'debug' && l.msg.includes('blank')));
    assert.ok(logs.some((l) => l.level === 'warn' && l.msg === 'child stderr: a complaint on stderr'));
    await processor.leaseLost(base);
  });

  it('a status for the wrong action kills the child and fails the call', async () => {
    const { processor, events, childPid } = setup({ processRecords: ['wrong-status'] });
    await processor.initialize(init);
    await assert.rejects(processor.processRecords(processInput(new FakeCheckpointer())), (e: unknown) => e instanceof ChildProcessError && e.reason === 'protocol' && /somethingElse/.test(e.message));
    await waitDead(childPid());
    assert.ok(events.includes(`failed:${base.shardId}`));
    await processor.leaseLost(base); // the library calls leaseLost after a failure: nothing left to tell
    await assert.rejects(processor.processRecords(processInput(new FakeCheckpointer())), InvalidStateError);
  });

  it('a child that crashes mid-call fails the call with its exit code', async () => {
    const { processor, events } = setup({ processRecords: [{ checkpoint: null }, 'exit:3'] });
    await processor.initialize(init);
    await assert.rejects(processor.processRecords(processInput(new FakeCheckpointer())), (e: unknown) => e instanceof ChildProcessError && e.reason === 'exit' && /code 3/.test(e.message));
    assert.ok(events.includes(`failed:${base.shardId}`));
  });

  it('a status written just before exiting still counts', async () => {
    const { processor } = setup({ leaseLost: ['status', 'exit:0'] });
    await processor.initialize(init);
    await processor.leaseLost(base);
  });

  it('a child that hangs past the timeout is killed and the call fails', async () => {
    // The timeout covers every call, initialize too: leave room for a child starting on a loaded machine.
    const { processor, childPid } = setup({ processRecords: ['hang'] }, { timeoutMillis: 1500 });
    await processor.initialize(init);
    const started = Date.now();
    await assert.rejects(processor.processRecords(processInput(new FakeCheckpointer())), (e: unknown) => e instanceof ChildProcessError && e.reason === 'timeout');
    const took = Date.now() - started;
    assert.ok(took >= 1000 && took < 8000, `killed after the 1.5 s timeout (took ${took} ms)`);
    await waitDead(childPid());
  });

  it('a child that does not exit after its input closes is killed after the grace period', async () => {
    const { processor, childPid, logs } = setup({ ignoreEof: true }, { exitGraceMillis: 200 });
    await processor.initialize(init);
    await processor.shutdownRequested({ ...base, checkpointer: new FakeCheckpointer() });
    await waitDead(childPid());
    assert.ok(logs.some((l) => l.msg.includes('did not exit')));
  });

  it('an executable that cannot be started fails initialize', async () => {
    const { processor, events } = setup({}, { command: [join(dir, 'no-such-program'), 'x'] });
    await assert.rejects(processor.initialize(init), (e: unknown) => e instanceof ChildProcessError && e.reason === 'spawn');
    assert.ok(events.includes(`failed:${base.shardId}`));
  });
});
