/**
 * `npm run sweep [-- --data-dir DIR] [--json]`: runs the reconciliation sweeper once against a running local stack
 * and prints what it did. It finds the stack through `<data dir>/endpoints.json` (data dir: --data-dir, else
 * DEVACCESS_DATA_DIR, else `.local`) and invokes the sweeper function through the stack's Lambda Invoke REST route,
 * as an AWS operator would with `aws lambda invoke`. The stack also sweeps on its own every minute.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { SweepReport } from '../../lambdas/sweeper/core';
import { DEFAULT_DATA_DIR, ENDPOINTS_FILE, resolveDataDir } from './datadir';
import { LOCAL_NAMES } from './stack';
import type { LocalEndpoints } from './walkthrough';

export const USAGE = [
  'Usage: npm run sweep -- [--data-dir DIR] [--json]',
  '  Runs the reconciliation sweeper once against the running local stack of that data directory and prints what',
  '  it did (orphaned credential clients deleted, mappings whose client disappeared revoked, events of committed',
  '  changes whose run could not publish them sent, confirmed users the post-confirmation trigger missed provisioned).',
  '  --json      print the sweep report as JSON',
  `  --data-dir  the local stack's data directory (default DEVACCESS_DATA_DIR or ${DEFAULT_DATA_DIR})`,
].join('\n');

export interface SweepCliOptions {
  readonly dataDir: string;
  readonly json: boolean;
}

export function parseSweepArgs(argv: readonly string[], env: Record<string, string | undefined>): SweepCliOptions {
  let dataDir: string | undefined;
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--json') json = true;
    else if (arg === '--data-dir' && argv[i + 1] !== undefined) dataDir = argv[++i] as string;
    else if (arg.startsWith('--data-dir=')) dataDir = arg.slice('--data-dir='.length);
    else throw new Error(`Unknown argument: ${arg}\n${USAGE}`);
  }
  return { dataDir: resolveDataDir(dataDir, env), json };
}

/** What a person reads: counts first, then every client the sweep acted on. */
export function formatSweepReport(report: SweepReport, userPoolId: string): string {
  const lines = [
    `Swept user pool ${userPoolId}: ${report.poolClients} app client(s), ${report.credentialClients} credential ` +
      `client(s), ${report.mapped} with an active mapping.`,
    `Deleted ${report.deleted.length} orphaned credential client(s)${report.deleted.length > 0 ? ':' : '.'}`,
    ...report.deleted.map((d) => `  ${d.clientId} (${d.reason})`),
  ];
  if (report.tooYoung.length > 0) {
    lines.push(`Left ${report.tooYoung.length} unmapped client(s) younger than the grace age: ${report.tooYoung.join(', ')}`);
  }
  if (report.marked.length > 0) {
    lines.push(`Marked ${report.marked.length} client(s) without a time in their name; a later run deletes them: ${report.marked.join(', ')}`);
  }
  if (report.failed.length > 0) lines.push(`Could not delete ${report.failed.length} client(s): ${report.failed.join(', ')}`);
  lines.push(
    `Marked ${report.revokedMappings.length} active credential(s) whose app client is gone revoked` +
      `${report.revokedMappings.length > 0 ? ':' : '.'}`,
    ...report.revokedMappings.map((m) => `  ${m.clientId} (user ${m.userId})`),
  );
  if (report.republishedEvents.length > 0) {
    lines.push(
      `Published ${report.republishedEvents.length} event(s) of credential changes whose run could not:`,
      ...report.republishedEvents.map((e) => `  ${e.eventId} (${e.executionArn})`),
    );
  }
  if (report.unrepublishedRuns.length > 0) {
    lines.push(`Could not publish the event of ${report.unrepublishedRuns.length} run(s) yet: ${report.unrepublishedRuns.join(', ')}`);
  }
  if (report.provisionedUsers.length > 0) {
    lines.push(
      `Provisioned ${report.provisionedUsers.length} confirmed user(s) the post-confirmation trigger did not: ` +
        report.provisionedUsers.join(', '),
    );
  }
  if (report.unprovisionedUsers > 0) lines.push(`Could not provision ${report.unprovisionedUsers} confirmed user(s) yet.`);
  if (report.markersCleared > 0) lines.push(`Removed ${report.markersCleared} stale sweep marker(s).`);
  if (report.incomplete) lines.push('The run stopped early (throttled or out of time); the next run carries on.');
  return lines.join('\n');
}

function readEndpoints(dataDir: string): LocalEndpoints {
  const path = join(resolve(dataDir), ENDPOINTS_FILE);
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as LocalEndpoints;
  } catch (err) {
    throw new Error(`Cannot read ${path} (${(err as Error).message}); start the local stack with npm start first.`);
  }
}

/** Invokes the sweeper of the stack whose data directory is given; throws with a readable message. */
export async function runSweep(dataDir: string, doFetch: typeof fetch = fetch): Promise<{ report: SweepReport; endpoints: LocalEndpoints }> {
  const endpoints = readEndpoints(dataDir);
  const url = `${endpoints.awsEndpoint}/2015-03-31/functions/${LOCAL_NAMES.function('sweeper')}/invocations`;
  let res: Response;
  try {
    res = await doFetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Amz-Invocation-Type': 'RequestResponse' },
      body: JSON.stringify({ source: 'devaccess.sweep-cli', 'detail-type': 'Manual sweep', detail: {} }),
    });
  } catch (err) {
    throw new Error(`No local stack answers at ${endpoints.awsEndpoint} (${(err as Error).message}); is it running?`);
  }
  const text = await res.text();
  if (res.status !== 200) throw new Error(`The Lambda endpoint answered ${res.status}: ${text}`);
  const payload = JSON.parse(text) as unknown;
  if (res.headers.get('x-amz-function-error')) {
    const error = payload as { errorType?: string; errorMessage?: string };
    throw new Error(`The sweeper failed: ${error.errorType ?? 'Error'}: ${error.errorMessage ?? ''}`);
  }
  return { report: payload as SweepReport, endpoints };
}

async function main(): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    console.log(USAGE);
    return;
  }
  const options = parseSweepArgs(process.argv.slice(2), process.env);
  const { report, endpoints } = await runSweep(options.dataDir);
  console.log(options.json ? JSON.stringify(report, null, 2) : formatSweepReport(report, endpoints.userPoolId));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  });
}
