/**
 * `npm start`: runs the whole product on this machine. Options: `--port N` (or DEVACCESS_PORT; 0 picks a free
 * port), `--data-dir D` (or DEVACCESS_DATA_DIR). Ctrl-C stops it cleanly; the data directory keeps everything.
 */
import { parseArgs } from 'node:util';
import { DataDirInUseError, DEFAULT_DATA_DIR, ENDPOINTS_FILE, resolveDataDir } from './datadir';
import { startLocalStack } from './stack';
import { endpointsTable, walkthrough } from './walkthrough';

/** A mistake in how the command was called: printed as one line, without a stack trace. */
class UsageError extends Error {}

function parsePort(value: string, source: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) {
    throw new UsageError(`${source} must be a whole number from 0 to 65535, not '${value}'`);
  }
  return port;
}

async function main(): Promise<void> {
  let values: { port?: string; 'data-dir'?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      options: {
        port: { type: 'string' },
        'data-dir': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (err) {
    throw new UsageError(`${(err as Error).message}. Try: npm start -- --help`);
  }
  if (values.help) {
    console.log(
      `Usage: npm start -- [--port N] [--data-dir DIR]\n  defaults: port 4000 (DEVACCESS_PORT), data dir ${DEFAULT_DATA_DIR} (DEVACCESS_DATA_DIR)`,
    );
    return;
  }
  const port =
    values.port !== undefined
      ? parsePort(values.port, '--port')
      : parsePort(process.env['DEVACCESS_PORT'] ?? '4000', 'DEVACCESS_PORT');
  const dataDir = resolveDataDir(values['data-dir'], process.env);

  const stack = await startLocalStack({ port, dataDir });
  const { endpoints } = stack;
  console.log(`\ndevaccess local stack is ready (endpoints also in ${endpoints.dataDir}/${ENDPOINTS_FILE})\n`);
  console.log(endpointsTable(endpoints));
  console.log('\nTry it (paste step by step into a shell):\n');
  console.log(walkthrough(endpoints));
  console.log('\nCtrl-C stops the stack; everything stays in the data directory.\n');

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping the local stack...`);
    stack.close().then(
      () => {
        console.log(`Stopped. Everything is kept in ${endpoints.dataDir}.`);
        process.exit(0);
      },
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err: unknown) => {
  if (err instanceof DataDirInUseError || err instanceof UsageError) {
    console.error(err.message);
  } else if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
    console.error(`The port is in use: ${(err as Error).message}. Start with --port <another port> (or --port 0).`);
  } else {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  }
  process.exit(1);
});
