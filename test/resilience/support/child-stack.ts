/**
 * Runs the local stack in a child process (./stack-process.ts) for the resilience suite: start it on a data
 * directory, wait for its ready line, kill it (SIGKILL: nothing of it survives but what it wrote), start it again
 * on the same directory and port. Everything the children print is kept, for the leak scan.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { LocalEndpoints } from '../../../infra/local/walkthrough';

/** The line ./stack-process.ts prints once the stack serves, followed by its endpoints as JSON. */
export const READY_PREFIX = 'READY ';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const STACK_PROCESS = fileURLToPath(new URL('./stack-process.ts', import.meta.url));

export interface ChildStackOptions {
  readonly dataDir: string;
  /** 0 picks a free port (a restart should pass the port of the first start). @default 0 */
  readonly port?: number;
  readonly retryIntervalMs?: number;
  readonly sweepGraceSeconds?: number;
  readonly clientWriteRatePerSecond?: number;
  /** Powertools log level of the handlers in the child. @default 'INFO' */
  readonly logLevel?: string;
  /** Receives everything the child prints (stdout and stderr). */
  readonly output: string[];
  /** How long to wait for the ready line. @default 60000 */
  readonly readyTimeoutMs?: number;
}

export interface ChildStack {
  readonly endpoints: LocalEndpoints;
  readonly port: number;
  readonly pid: number;
  /** Sends SIGKILL and resolves once the process is gone (reaped, so its pid no longer holds the data dir). */
  kill(): Promise<void>;
  /** SIGTERM: the stack closes cleanly. Resolves when the process has exited. */
  stop(): Promise<void>;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Starts the stack in a child process and resolves once it serves. */
export function startChildStack(options: ChildStackOptions): Promise<ChildStack> {
  const args = ['--import', 'tsx', STACK_PROCESS, '--data-dir', options.dataDir, '--port', String(options.port ?? 0)];
  if (options.retryIntervalMs !== undefined) args.push('--retry-interval-ms', String(options.retryIntervalMs));
  if (options.sweepGraceSeconds !== undefined) args.push('--sweep-grace-seconds', String(options.sweepGraceSeconds));
  if (options.clientWriteRatePerSecond !== undefined) args.push('--client-write-rate', String(options.clientWriteRatePerSecond));
  const env: NodeJS.ProcessEnv = { ...process.env, POWERTOOLS_LOG_LEVEL: options.logLevel ?? 'INFO' };
  // The child is a plain Node process: nothing of the test runner's own loader set-up belongs in it.
  delete env['NODE_OPTIONS'];
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const gone = exited(child);
  const kill = async (signal: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await gone;
  };

  return new Promise<ChildStack>((resolve, reject) => {
    let pending = '';
    let ready = false;
    const timer = setTimeout(() => {
      void kill('SIGKILL');
      reject(new Error(`the stack did not start within ${options.readyTimeoutMs ?? 60_000} ms:\n${options.output.slice(-20).join('')}`));
    }, options.readyTimeoutMs ?? 60_000);
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => options.output.push(chunk));
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      options.output.push(chunk);
      if (ready) return;
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.startsWith(READY_PREFIX)) continue;
        ready = true;
        clearTimeout(timer);
        const endpoints = JSON.parse(line.slice(READY_PREFIX.length)) as LocalEndpoints;
        const port = Number(new URL(endpoints.awsEndpoint).port);
        resolve({
          endpoints,
          port,
          pid: child.pid as number,
          kill: () => kill('SIGKILL'),
          stop: () => kill('SIGTERM'),
        });
        return;
      }
    });
    void gone.then(() => {
      if (ready) return;
      clearTimeout(timer);
      reject(new Error(`the stack exited before it was ready (${child.exitCode ?? child.signalCode}):\n${options.output.slice(-20).join('')}`));
    });
  });
}

/**
 * Runs the reconciliation sweeper once in the stack, through Lambda's Invoke REST API on the stack's endpoint
 * (what `npm run sweep` does), and returns its report.
 */
export async function invokeSweeper(endpoints: LocalEndpoints, functionName = 'devaccess-sweeper'): Promise<unknown> {
  const res = await fetch(`${endpoints.awsEndpoint}/2015-03-31/functions/${functionName}/invocations`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ source: 'aws.events', 'detail-type': 'Scheduled Event', detail: {} }),
  });
  const text = await res.text();
  if (res.status !== 200 || res.headers.get('x-amz-function-error')) throw new Error(`sweeper invoke: ${res.status} ${text}`);
  return JSON.parse(text) as unknown;
}
