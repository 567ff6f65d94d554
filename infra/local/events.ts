/**
 * `npm run events [-- --follow] [--json] [--all] [--data-dir DIR]`: prints the product events the local stack
 * archived in `<dataDir>/events.jsonl` (data dir: --data-dir, else DEVACCESS_DATA_DIR, else `.local`).
 * By default only credential events (CREDENTIAL_EVENTS_PATTERN), one line each:
 *   <time> <detail-type> user=<userId> client=<clientId> [prev=<previousClientId>] [exec=<execution name>]
 * `--all` prints every product event, `--json` the raw archived lines, `--follow` keeps watching for new events
 * until Ctrl-C.
 */
import { watch, type FSWatcher } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ALL_EVENTS_PATTERN, CREDENTIAL_EVENTS_PATTERN } from '../../lambdas/shared/contract/events';
import { compileEventPattern, type CompiledEventPattern } from './aws/eventbridge/pattern';
import { ARCHIVE_FILE, DEFAULT_DATA_DIR, resolveDataDir } from './datadir';
const POLL_MS = 500;

export interface EventsCliOptions {
  readonly follow: boolean;
  readonly json: boolean;
  readonly all: boolean;
  readonly dataDir: string;
}

export const USAGE = [
  'Usage: npm run events -- [--follow] [--json] [--all] [--data-dir DIR]',
  `  Prints the product events archived in <data dir>/${ARCHIVE_FILE}, one line each.`,
  '  --follow    keep printing events as they arrive (Ctrl-C stops)',
  '  --json      print the raw EventBridge events',
  '  --all       every product event (default: credential events only; --all adds UserProvisioned)',
  `  --data-dir  the local stack's data directory (default DEVACCESS_DATA_DIR or ${DEFAULT_DATA_DIR})`,
].join('\n');

export function parseArgs(argv: readonly string[], env: Record<string, string | undefined>): EventsCliOptions {
  const options = { follow: false, json: false, all: false };
  let dataDir: string | undefined;
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] as string;
    if (arg === '--follow' || arg === '-f') options.follow = true;
    else if (arg === '--json') options.json = true;
    else if (arg === '--all') options.all = true;
    else if (arg === '--data-dir' && argv[i + 1] !== undefined) dataDir = argv[++i] as string;
    else if (arg.startsWith('--data-dir=')) dataDir = arg.slice('--data-dir='.length);
    else throw new Error(`Unknown argument: ${arg}\n${USAGE}`);
  }
  return { ...options, dataDir: resolveDataDir(dataDir, env) };
}

/** The human-readable line of one archived event. */
export function formatEventLine(event: Record<string, unknown>): string {
  const detail = (event['detail'] ?? {}) as Record<string, unknown>;
  const parts = [String(event['time'] ?? '?'), String(event['detail-type'] ?? '?')];
  const add = (label: string, value: unknown) => {
    if (typeof value === 'string' && value !== '') parts.push(`${label}=${value}`);
  };
  add('user', detail['userId']);
  add('client', detail['clientId']);
  add('prev', detail['previousClientId']);
  if (detail['clientId'] === undefined) add('username', detail['username']);
  const execution = detail['executionId'];
  // The execution ARN ends with the execution name, which is what identifies the run.
  if (typeof execution === 'string') add('exec', execution.slice(execution.lastIndexOf(':') + 1));
  return parts.join(' ');
}

/** Turns archived lines into output lines: the ones the filter selects, formatted or raw. */
export function renderLines(
  lines: readonly string[],
  options: Pick<EventsCliOptions, 'json' | 'all'>,
  warn: (message: string) => void = () => undefined,
): string[] {
  const filter = filterFor(options);
  const out: string[] = [];
  for (const line of lines) {
    if (line.trim() === '') continue;
    let event: unknown;
    try {
      event = JSON.parse(line);
    } catch {
      warn(`skipping a line that is not JSON: ${line.slice(0, 80)}`);
      continue;
    }
    if (!filter.matches(event)) continue;
    out.push(options.json ? line : formatEventLine(event as Record<string, unknown>));
  }
  return out;
}

const filters = new Map<boolean, CompiledEventPattern>();
function filterFor(options: Pick<EventsCliOptions, 'all'>): CompiledEventPattern {
  let filter = filters.get(options.all);
  if (!filter) {
    filter = compileEventPattern(options.all ? ALL_EVENTS_PATTERN : CREDENTIAL_EVENTS_PATTERN);
    filters.set(options.all, filter);
  }
  return filter;
}

/**
 * Reads the archive from `offset`, returning complete lines and the offset after the last one (a line still being
 * written stays for the next read). A file shorter than `offset` was replaced: reading starts over.
 */
async function readFrom(path: string, offset: number): Promise<{ lines: string[]; offset: number }> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { lines: [], offset: 0 };
    throw err;
  }
  const start = size < offset ? 0 : offset;
  if (size === start) return { lines: [], offset: start };
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(size - start);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, start);
    const text = buffer.subarray(0, bytesRead);
    const lastNewline = text.lastIndexOf(0x0a);
    if (lastNewline < 0) return { lines: [], offset: start };
    return {
      lines: text.subarray(0, lastNewline).toString('utf8').split('\n'),
      offset: start + lastNewline + 1,
    };
  } finally {
    await handle.close();
  }
}

export async function run(
  options: EventsCliOptions,
  io: { write: (line: string) => void; warn: (message: string) => void; stopSignal?: Promise<void> },
): Promise<void> {
  const dir = resolve(options.dataDir);
  const path = join(dir, ARCHIVE_FILE);
  let { lines, offset } = await readFrom(path, 0);
  for (const line of renderLines(lines, options, io.warn)) io.write(line);
  if (!(await stat(path).then(() => true, () => false))) {
    io.warn(`no event archive at ${path} yet (the local stack writes it: npm start)`);
  }
  if (!options.follow) return;

  let reading = Promise.resolve();
  const poll = () => {
    reading = reading.then(async () => {
      ({ lines, offset } = await readFrom(path, offset));
      for (const line of renderLines(lines, options, io.warn)) io.write(line);
    });
    return reading;
  };
  // fs.watch notices appends at once where the platform supports it; the interval covers where it does not
  // (network and some container filesystems) and the file not existing yet.
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dir, (_event, file) => {
      if (file === null || file === ARCHIVE_FILE) void poll();
    });
    watcher.on('error', () => watcher?.close());
  } catch {
    watcher = undefined;
  }
  const timer = setInterval(() => void poll(), POLL_MS);
  try {
    await (io.stopSignal ?? new Promise<void>(() => undefined));
  } finally {
    clearInterval(timer);
    watcher?.close();
    await reading;
  }
}

async function main(): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  let options: EventsCliOptions;
  try {
    options = parseArgs(process.argv.slice(2), process.env);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exitCode = 2;
    return;
  }
  const stopSignal = new Promise<void>((resolveStop) => {
    process.once('SIGINT', () => resolveStop());
    process.once('SIGTERM', () => resolveStop());
  });
  await run(options, {
    write: (line) => process.stdout.write(`${line}\n`),
    warn: (message) => process.stderr.write(`events: ${message}\n`),
    stopSignal,
  });
  process.exit(0);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`events: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
