/**
 * `npm run bench`: what the layers of a request cost, as ratios of targets measured side by side in one run.
 *
 * One local stack runs in a child process (as `npm start` runs it, handlers logging at INFO), on a free port on
 * loopback; autocannon in this process drives it with the same connections and the same time per target:
 *   a  GET /v1/openapi.json   public: no authorizer, no lookup, no data (the reference every ratio divides by)
 *   b  GET /v1/announcements  user token: authorizer + resolver USERNAME lookup
 *   c  GET /v1/announcements  client-credentials token: authorizer + resolver CLIENT lookup
 *   d  GET /v1/me             client token: the same, answered with the resolved caller
 *   e  GET /v1/notes          client token: authorizer + CLIENT lookup + a Query of the user's notes
 * Each target's time is cut into rounds interleaved with the others' (after an untimed warm-up of each), so the
 * machine's drift lands on all of them. Then, in this process, the verification layers on one token: raw
 * `crypto.verify` RS256, aws-jwt-verify `verifySync`/`verify`, the local gateway authorizer.
 *
 * Absolute figures depend on the machine and on the load generator sharing its cores with the stack; the ratios
 * are the result. Nothing here asserts a timing: the run fails only when a target answers anything but 200.
 *
 * Output: a table on stdout, progress on stderr, everything in .bench/bench.json.
 * Env: BENCH_SECONDS (10, measured seconds per HTTP target), BENCH_CONNECTIONS (10).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, platform, release, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createStackClient, type HttpResult } from '../support/local-stack';
import { startChildStack, type ChildStack } from '../resilience/support/child-stack';
import { type RawRound, type RoundTarget, mergedLatency, runRound } from './autocannon-rounds';
import {
  formatCount,
  formatRatio,
  formatTable,
  pairedRatios,
  planRounds,
  problemsOf,
  ratio,
  round,
  summarizeRounds,
} from './report';
import { runVerifyBench } from './verify-bench';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BENCH_FILE = join(REPO_ROOT, '.bench', 'bench.json');
const CHILD_LOG_LEVEL = 'INFO';
const NOTES_PER_USER = 5;

function positiveInteger(name: string, fallback: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > max) throw new Error(`${name} must be an integer from 1 to ${max}, not '${raw}'`);
  return value;
}

const progress = (line: string) => process.stderr.write(`[bench] ${line}\n`);

interface HttpTarget extends RoundTarget {
  readonly id: 'a' | 'b' | 'c' | 'd' | 'e';
  readonly name: string;
  readonly token: 'none' | 'user' | 'client';
  readonly layers: string;
  /** What is wrong with a 200 answer of this target, if anything (checked once, before measuring). */
  readonly check: (body: any) => string | undefined;
}

function commit(): string | null {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
  } catch {
    return null;
  }
}

async function main(): Promise<number> {
  const seconds = positiveInteger('BENCH_SECONDS', 10, 600);
  const connections = positiveInteger('BENCH_CONNECTIONS', 10, 1000);

  const dataDir = mkdtempSync(join(tmpdir(), 'devaccess-bench-'));
  // The child's log is only needed if it fails to start or dies; keep its tail, not a line per request.
  const childOutput: string[] = [];
  const trim = setInterval(() => childOutput.splice(0, Math.max(0, childOutput.length - 200)), 1_000);
  let child: ChildStack | undefined;
  let client: ReturnType<typeof createStackClient> | undefined;
  try {
    progress(`starting the local stack in a child process (data in ${dataDir})`);
    child = await startChildStack({ dataDir, output: childOutput, logLevel: CHILD_LOG_LEVEL });
    const stack = child;
    const endpoints = stack.endpoints;
    client = createStackClient(() => endpoints);

    // Prepare: one developer, their notes, one credential; (b) uses the user's token, (c)-(e) the credential's.
    progress('creating a user, notes, a credential and tokens');
    const user = await client.createUser('bench-user', { developer: true });
    for (let i = 0; i < NOTES_PER_USER; i++) {
      const res = await client.api('POST', '/notes', user.token, { text: `bench note ${i}` });
      if (res.status !== 201) throw new Error(`POST /notes: ${res.status} ${res.text}`);
    }
    const credential = await client.createCredential(user, ['read', 'write']);
    const clientToken = await client.clientToken(credential.clientId, credential.clientSecret);

    const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
    const isCaller = (via: 'user' | 'client') => (body: any) =>
      body?.userId === user.userId && body?.via === via ? undefined : `not the bench user via ${via}: ${JSON.stringify(body)}`;
    const targets: HttpTarget[] = [
      {
        id: 'a', name: 'openapi (public)', method: 'GET', path: '/v1/openapi.json', headers: {}, token: 'none',
        layers: 'route + handler, no authorizer, no lookup',
        check: (b) => (typeof b?.openapi === 'string' && b.openapi.startsWith('3.1') ? undefined : 'not an OpenAPI 3.1 document'),
      },
      {
        id: 'b', name: 'announcements (user)', method: 'GET', path: '/v1/announcements', headers: bearer(user.token), token: 'user',
        layers: 'authorizer + resolver USERNAME GetItem',
        check: (b) => (Array.isArray(b?.announcements) && b.announcements.length > 0 ? undefined : 'no announcements'),
      },
      {
        id: 'c', name: 'announcements (client)', method: 'GET', path: '/v1/announcements', headers: bearer(clientToken), token: 'client',
        layers: 'authorizer + resolver CLIENT GetItem',
        check: (b) => (Array.isArray(b?.announcements) && b.announcements.length > 0 ? undefined : 'no announcements'),
      },
      {
        id: 'd', name: 'me (client)', method: 'GET', path: '/v1/me', headers: bearer(clientToken), token: 'client',
        layers: 'authorizer + resolver CLIENT GetItem',
        check: isCaller('client'),
      },
      {
        id: 'e', name: 'notes (client)', method: 'GET', path: '/v1/notes', headers: bearer(clientToken), token: 'client',
        layers: `authorizer + resolver CLIENT GetItem + Query (${NOTES_PER_USER} notes)`,
        check: (b) => (Array.isArray(b?.notes) && b.notes.length === NOTES_PER_USER ? undefined : `expected ${NOTES_PER_USER} notes`),
      },
    ];

    // Each target must give the answer it is meant to measure: a fast 401 would make a route look cheap.
    for (const target of targets) {
      const res: HttpResult = await client.api(target.method, target.path.replace(/^\/v1/, ''), undefined, undefined, { ...target.headers });
      const wrong = res.status !== 200 ? `status ${res.status}: ${res.text.slice(0, 200)}` : target.check(res.body);
      if (wrong) throw new Error(`${target.method} ${target.path} (${target.token} token): ${wrong}`);
    }

    const plan = planRounds(seconds, targets.length);
    const baseUrl = endpoints.awsEndpoint;
    progress(
      `${targets.length} targets x ${plan.rounds} interleaved round(s) of ${plan.roundSeconds} s, ${connections} connection(s), ` +
        `after a ${plan.warmupSeconds} s warm-up each (about ${targets.length * (plan.rounds * plan.roundSeconds + plan.warmupSeconds)} s)`,
    );
    for (const target of targets) await runRound(baseUrl, target, plan.warmupSeconds, connections);

    const rounds: RawRound[][] = targets.map(() => []);
    for (const [r, order] of plan.order.entries()) {
      for (const i of order) {
        const raw = await runRound(baseUrl, targets[i] as HttpTarget, plan.roundSeconds, connections);
        (rounds[i] as RawRound[]).push(raw);
      }
      progress(`round ${r + 1}/${plan.rounds} done`);
    }

    const summaries = targets.map((target, i) => {
      const raws = rounds[i] as RawRound[];
      const summary = summarizeRounds(
        raws.map((raw) => ({
          requests: raw.totalCompletedRequests,
          seconds: raw.duration,
          bytes: raw.totalBytes,
          errors: raw.errors,
          timeouts: raw.timeouts,
          statusCodes: Object.fromEntries(Object.entries(raw.statusCodeStats).map(([code, s]) => [code, s.count])),
        })),
      );
      return { target, summary, latency: mergedLatency(baseUrl, raws), problems: problemsOf(summary, 200) };
    });
    const reference = summaries[0] as (typeof summaries)[number];

    progress('verification layers, in process');
    const jwksRes = await fetch(endpoints.jwksUrl);
    if (jwksRes.status !== 200) throw new Error(`JWKS: ${jwksRes.status}`);
    const layers = await runVerifyBench({
      token: clientToken,
      jwks: await jwksRes.json(),
      region: endpoints.region,
      userPoolId: endpoints.userPoolId,
    });
    const raw = layers[0] as (typeof layers)[number];

    const cpuList = cpus();
    const report = {
      generatedAt: new Date().toISOString(),
      commit: commit(),
      machine: {
        cpus: cpuList.length,
        availableParallelism: availableParallelism(),
        cpuModel: cpuList[0]?.model ?? 'unknown',
        node: process.version,
        platform: `${platform()} ${release()}`,
        arch: process.arch,
        totalMemGiB: round(totalmem() / 2 ** 30, 1),
        loadavgAtEnd: loadavg().map((l) => round(l, 2)),
      },
      settings: {
        secondsPerTarget: plan.rounds * plan.roundSeconds,
        connections,
        pipelining: 1,
        rounds: plan.rounds,
        roundSeconds: plan.roundSeconds,
        warmupSecondsPerTarget: plan.warmupSeconds,
        order: 'interleaved: forward, then backward, alternating by round',
        stack: 'local stack in one child process, loopback; autocannon in the parent; both share the machine',
        childLogLevel: CHILD_LOG_LEVEL,
        notesPerUser: NOTES_PER_USER,
        latencyResolutionMs: 1,
        env: { BENCH_SECONDS: seconds, BENCH_CONNECTIONS: connections },
      },
      http: summaries.map(({ target, summary, latency, problems }) => ({
        id: target.id,
        name: target.name,
        request: `${target.method} ${target.path}`,
        token: target.token,
        layers: target.layers,
        requests: summary.requests,
        seconds: round(summary.seconds, 2),
        reqPerSec: round(summary.reqPerSec, 1),
        latencyMs: { mean: round(latency.mean, 2), p50: latency.p50, p90: latency.p90, p99: latency.p99, max: latency.max },
        bytesPerResponse: Math.round(summary.bytesPerResponse),
        statusCodes: summary.statusCodes,
        errors: summary.errors,
        timeouts: summary.timeouts,
        ratioVsPublic: round(ratio(summary.reqPerSec, reference.summary.reqPerSec) ?? NaN, 3),
        roundReqPerSec: summary.roundReqPerSec.map((v) => round(v, 1)),
        roundRatiosVsPublic: pairedRatios(summary.roundReqPerSec, reference.summary.roundReqPerSec).map((v) => round(v, 3)),
        problems,
      })),
      verify: {
        token: 'the client-credentials token of targets c-e',
        scopes: 'read route scopes (authorizer only)',
        layers: layers.map((layer) => ({
          id: layer.id,
          name: layer.label,
          ops: layer.ops,
          seconds: round(layer.seconds, 2),
          opsPerSec: Math.round(layer.opsPerSec),
          microsPerOp: round(1e6 / layer.opsPerSec, 2),
          ratioToRaw: round(ratio(layer.opsPerSec, raw.opsPerSec) ?? NaN, 3),
          sliceOpsPerSec: layer.sliceOpsPerSec.map((v) => Math.round(v)),
        })),
      },
      valid: summaries.every((s) => s.problems.length === 0),
    };
    mkdirSync(dirname(BENCH_FILE), { recursive: true });
    writeFileSync(BENCH_FILE, `${JSON.stringify(report, null, 2)}\n`);

    const httpTable = formatTable(
      ['target', 'token', 'req/s', 'p50 ms', 'p99 ms', 'ratio vs public (rounds)'],
      report.http.map((h, i) => [
        `${h.id} ${h.request}`,
        h.token,
        formatCount(h.reqPerSec),
        String(h.latencyMs.p50),
        String(h.latencyMs.p99),
        formatRatio(ratio((summaries[i] as (typeof summaries)[number]).summary.reqPerSec, reference.summary.reqPerSec), h.roundRatiosVsPublic),
      ]),
    );
    const verifyTable = formatTable(
      ['verification layer (one token, in process)', 'ops/s', 'us/op', 'ratio to raw'],
      report.verify.layers.map((l) => [l.name, formatCount(l.opsPerSec), l.microsPerOp.toFixed(1), l.ratioToRaw.toFixed(2)]),
    );
    const m = report.machine;
    process.stdout.write(
      [
        `devaccess bench  ${report.commit ?? ''}  ${m.cpus} x ${m.cpuModel}, node ${m.node}`,
        `${report.settings.secondsPerTarget} s per target in ${plan.rounds} interleaved round(s), ${connections} connection(s), ` +
          `stack in a child process on loopback, handler logs at ${CHILD_LOG_LEVEL}`,
        '',
        httpTable,
        '',
        verifyTable,
        '',
        `written to ${BENCH_FILE.slice(REPO_ROOT.length)}`,
        '',
      ].join('\n'),
    );

    for (const { target, problems } of summaries) {
      if (problems.length > 0) process.stderr.write(`[bench] ${target.id} ${target.method} ${target.path}: ${problems.join('; ')}\n`);
    }
    return report.valid ? 0 : 1;
  } catch (err) {
    if (childOutput.length > 0) process.stderr.write(`[bench] the stack's last output:\n${childOutput.slice(-20).join('')}\n`);
    throw err;
  } finally {
    clearInterval(trim);
    client?.destroy();
    await child?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`[bench] ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
