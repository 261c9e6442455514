// `ts-kcl dashboard` as a child process (from source, through tsx), for the browser tests and the screenshot script.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { TEST_CREDENTIALS, TEST_REGION } from './emulators.js';
import { ROOT } from './multilang-daemon.js';

export interface DashboardProcess {
  url: string;
  child: ChildProcess;
  stderr(): string;
  stop(): Promise<number | null>;
}

/** Starts `ts-kcl dashboard ...args` on a free port and resolves once it printed its URL. */
export function startDashboardCli(args: string[], timeoutMillis = 90_000): Promise<DashboardProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts'), 'dashboard', '--port', '0', ...args], {
    cwd: ROOT,
    env: { ...process.env, AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey, AWS_REGION: TEST_REGION },
    stdio: ['ignore', 'pipe', 'pipe'],
    shell: false,
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`ts-kcl dashboard printed no URL within ${timeoutMillis} ms: ${stderr}`));
    }, timeoutMillis);
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString('utf8');
      const m = /(http:\/\/\S+)\n/.exec(stdout);
      if (m === null) return;
      clearTimeout(timer);
      resolve({
        url: m[1]!,
        child,
        stderr: () => stderr,
        stop: async () => {
          if (child.exitCode === null) child.kill('SIGTERM');
          return exited;
        },
      });
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`ts-kcl dashboard exited (${code}) before printing a URL: ${stderr}`));
    });
  });
}
