/**
 * The local stack as a child process, for the resilience suite: the crash test SIGKILLs it (a real process death:
 * no shutdown hook runs, in-flight requests and writes are cut) and the load test measures it without sharing an
 * event loop with the load generator.
 *
 * Run directly with node (`node --import tsx ...`), never through the tsx CLI: the CLI forks a second process, and
 * a SIGKILL sent to the CLI would leave the stack itself running.
 *
 * Options: --data-dir D (required), --port N (0: a free one), --retry-interval-ms N, --sweep-grace-seconds N,
 * --client-write-rate N. The sweeper's interval is off: the tests run it when they want it.
 * Prints `READY <endpoints JSON>` on stdout once it serves; SIGTERM closes it cleanly.
 */
import { parseArgs } from 'node:util';
import '../../../infra/local/stepfunctions/polyfill';
import { startLocalStack } from '../../../infra/local/stack';
import { READY_PREFIX } from './child-stack';

function numberOption(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a non-negative number, not '${value}'`);
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'data-dir': { type: 'string' },
      port: { type: 'string' },
      'retry-interval-ms': { type: 'string' },
      'sweep-grace-seconds': { type: 'string' },
      'client-write-rate': { type: 'string' },
    },
    strict: true,
  });
  const dataDir = values['data-dir'];
  if (!dataDir) throw new Error('--data-dir is required');
  const retryIntervalMs = numberOption(values['retry-interval-ms'], 'retry-interval-ms');
  const sweepGraceSeconds = numberOption(values['sweep-grace-seconds'], 'sweep-grace-seconds');
  const clientWriteRatePerSecond = numberOption(values['client-write-rate'], 'client-write-rate');
  const stack = await startLocalStack({
    dataDir,
    port: numberOption(values.port, 'port') ?? 0,
    sweepIntervalSeconds: 0,
    ...(retryIntervalMs === undefined ? {} : { retryIntervalMs }),
    ...(sweepGraceSeconds === undefined ? {} : { sweepGraceSeconds }),
    ...(clientWriteRatePerSecond === undefined ? {} : { clientWriteRatePerSecond }),
  });
  process.stdout.write(`${READY_PREFIX}${JSON.stringify(stack.endpoints)}\n`);
  process.once('SIGTERM', () => {
    stack.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
