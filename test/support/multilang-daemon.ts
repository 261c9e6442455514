// Runs `ts-kcl multilang` as a child process from source (node --import tsx src/cli/main.ts), the way a user
// runs the daemon, and reads what the record processors it starts wrote to their event files.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TEST_CREDENTIALS, TEST_REGION } from './emulators.js';
import { completeLines } from './json-lines.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const MULTILANG_FIXTURES = join(ROOT, 'test', 'fixtures', 'multilang');
const MAIN = join(ROOT, 'src', 'cli', 'main.ts');

export interface DaemonProcess {
  readonly proc: ChildProcess;
  /** Every line the daemon logged (stderr) or printed (stdout). */
  readonly output: string[];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves once a log line matches. */
  waitForOutput(pattern: RegExp, timeoutMillis: number): Promise<string>;
  /** Sends a signal and waits for the exit code. */
  stop(signal?: NodeJS.Signals, timeoutMillis?: number): Promise<number | null>;
}

/** Writes a properties file (one `key = value` per line) and returns its path. */
export function writeProperties(dir: string, name: string, entries: Record<string, string | number>): string {
  const path = join(dir, name);
  const lines = ['# written by a ts-kcl test', ...Object.entries(entries).map(([k, v]) => `${k} = ${v}`)];
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

export function spawnDaemon(propertiesFile: string, options: { cwd?: string; env?: Record<string, string> } = {}): DaemonProcess {
  const proc = spawn(process.execPath, ['--import', 'tsx', MAIN, 'multilang', '--properties-file', propertiesFile], {
    cwd: options.cwd ?? ROOT,
    env: {
      ...process.env,
      AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
      AWS_REGION: TEST_REGION,
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const listeners = new Set<() => void>();
  const collect = (chunk: Buffer): void => {
    output.push(...chunk.toString('utf8').split('\n').filter((l) => l !== ''));
    for (const l of listeners) l();
  };
  proc.stdout.on('data', collect);
  proc.stderr.on('data', collect);
  if (process.env.MULTILANG_TEST_VERBOSE) proc.stderr.pipe(process.stderr);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.on('exit', (code, signal) => resolve({ code, signal }));
  });
  const daemon: DaemonProcess = {
    proc,
    output,
    exited,
    waitForOutput(pattern, timeoutMillis) {
      return new Promise<string>((resolve, reject) => {
        const check = (): void => {
          const line = output.find((l) => pattern.test(l));
          if (line !== undefined) {
            done();
            resolve(line);
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`daemon did not log ${String(pattern)} within ${timeoutMillis} ms; last lines:\n${output.slice(-15).join('\n')}`));
        }, timeoutMillis);
        const done = (): void => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      });
    },
    async stop(signal = 'SIGTERM', timeoutMillis = 20_000) {
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
      proc.kill(signal);
      let timer: NodeJS.Timeout | undefined;
      const result = await Promise.race([exited, new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), timeoutMillis)))]);
      clearTimeout(timer);
      if (result === undefined) {
        proc.kill('SIGKILL');
        throw new Error(`daemon did not exit within ${timeoutMillis} ms of ${signal}; last lines:\n${output.slice(-15).join('\n')}`);
      }
      return result.code;
    },
  };
  return daemon;
}

/** One line a test record processor wrote (aws-kcl and Python fixtures share the shape). */
export interface ProcessorEvent {
  pid: number;
  /** initialize, record, checkpoint, leaseLost, shardEnded, shutdownRequested (fixtures may add their own). */
  event: string;
  shardId: string;
  data?: string;
  sequenceNumber?: string | null;
  subSequenceNumber?: number | null;
  partitionKey?: string;
  approximateArrivalTimestamp?: number;
  error?: string | null;
  millisBehindLatest?: number | null;
}

/** The events written so far (complete lines only: processors append while tests read). */
export function readEvents(file: string): ProcessorEvent[] {
  if (!existsSync(file)) return [];
  return completeLines(readFileSync(file, 'utf8')).map((l) => JSON.parse(l) as ProcessorEvent);
}


/** Kills whatever record processors (by the pids they reported) are still alive; returns their pids. */
export function killStrayProcessors(events: readonly ProcessorEvent[]): number[] {
  const stray: number[] = [];
  for (const pid of new Set(events.map((e) => e.pid))) {
    try {
      process.kill(pid, 0);
      stray.push(pid);
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone, as it should be
    }
  }
  return stray;
}
