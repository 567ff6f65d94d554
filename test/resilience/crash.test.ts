/**
 * Crash durability (issue 4, item 5). The local stack runs as a child process; a steady write load (notes with
 * user and client tokens, credential creates/resets/revokes for several users) runs against it; the child is
 * SIGKILLed mid-load, CRASHES times, and restarted on the same data directory and port each time. Afterwards:
 * every write that got a 2xx is there, nothing is half-written, every workflow in flight either finished or was
 * resumed and then finished or compensated, and no orphan client is left once the sweeper has run.
 *
 * A second block kills a process in the middle of DynamoDB transactions, to show the local DynamoDB commits a
 * TransactWriteItems whole or not at all (it did not before: infra/local/aws/dynamodb.ts).
 *
 * Env: CRASHES (default 3), CRASH_LOAD_MS (the longest load before a kill, default 4000).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_ACCOUNT_ID, LOCAL_REGION } from '../../infra/local/aws/types';
import { WORKFLOW_ERRORS } from '../../lambdas/shared/contract/workflow';
import { startDynamoDb } from '../../infra/local/aws/dynamodb';
import {
  checkI1,
  checkI2,
  checkI3,
  checkI4,
  checkLocksReleased,
  snapshotTable,
  type ClientTokenProbe,
  type TableSnapshot,
} from '../support/invariants';
import { createStackClient, type HttpResult, type StackClient, type TestUser } from '../support/local-stack';
import { invokeSweeper, startChildStack, type ChildStack } from './support/child-stack';
import { executionsWithHistory, invariantTarget, scanTable, untilExecutionsSettle, type ExecutionWithHistory } from './support/remote';
import { TRANSACTION_ITEMS, TRANSACTION_TABLE } from './support/transaction-writer';

const CRASHES = Number(process.env['CRASHES'] ?? 3);
const MAX_LOAD_MS = Number(process.env['CRASH_LOAD_MS'] ?? 4_000);
const USERS = 4;
const CAP = 1; // DEFAULT_MAX_CREDENTIALS_PER_USER, which the child stack runs with
const RESUMED_EVENT = 'LocalExecutionResumed';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

/** What the load learned from the answers it got: only 2xx answers count as facts. */
interface UserModel {
  readonly username: string;
  readonly userId: string;
  token: string;
  /** The credential this user's workers believe active, with its secret when a 2xx told it. */
  active?: { clientId: string; secret?: string };
  /** The state the last acknowledged operation left: a client id, or null after a revoke. */
  lastAcked?: { clientId: string | null };
  /** An operation whose outcome is unknown (cut by a crash, or still pending) came after the last acknowledged one. */
  unknownSinceAck: boolean;
}

interface Facts {
  readonly notes: Map<string, { userId: string; text: string }>;
  readonly createdClients: Map<string, { userId: string; secret: string }>;
  readonly revokedClients: Map<string, string>;
  /** Client tokens minted during the load (for I3 after the crashes). */
  readonly tokens: Map<string, string>;
  readonly serverErrors: string[];
  readonly opCounts: Record<string, number>;
}

describe('category: crash durability', () => {
  const output: string[] = [];
  let dataDir = '';
  let child: ChildStack | undefined;
  let client: StackClient;
  const models: UserModel[] = [];
  const facts: Facts = {
    notes: new Map(),
    createdClients: new Map(),
    revokedClients: new Map(),
    tokens: new Map(),
    serverErrors: [],
    opCounts: {},
  };
  let snapshot: TableSnapshot;
  let executions: ExecutionWithHistory[] = [];
  let i4BeforeSweep: string[] = [];
  let sweepReport: { deleted: unknown[]; revokedMappings: unknown[]; failed: unknown[] } | undefined;

  const endpoints = () => {
    if (!child) throw new Error('the stack is not running');
    return child.endpoints;
  };
  const count = (key: string) => {
    facts.opCounts[key] = (facts.opCounts[key] ?? 0) + 1;
  };

  /** A response is a fact when it arrived; a network error means the child died under the request. */
  async function call(method: string, path: string, token: string, body?: unknown): Promise<HttpResult | undefined> {
    try {
      const res = await client.api(method, path, token, body);
      if (res.status >= 500 && !(res.status === 503 && res.body?.error?.code === 'unavailable')) {
        facts.serverErrors.push(`${method} ${path}: ${res.status} ${res.text.slice(0, 200)}`);
      }
      return res;
    } catch {
      return undefined;
    }
  }

  async function clientTokenFor(clientId: string, secret: string): Promise<string | undefined> {
    const known = facts.tokens.get(clientId);
    if (known) return known;
    try {
      const res = await client.tokenResponse(clientId, secret);
      if (res.status !== 200) return undefined;
      facts.tokens.set(clientId, res.body.access_token as string);
      return res.body.access_token as string;
    } catch {
      return undefined;
    }
  }

  /** Reads the user's credentials back (after a crash, or when an answer contradicts what the worker believed). */
  async function resync(m: UserModel): Promise<boolean> {
    const res = await call('GET', '/credentials', m.token);
    if (!res || res.status !== 200) return false;
    const active = (res.body.credentials as { clientId: string; status: string }[]).find((c) => c.status === 'active');
    const secret = active ? facts.createdClients.get(active.clientId)?.secret : undefined;
    m.active = active ? { clientId: active.clientId, ...(secret ? { secret } : {}) } : undefined;
    return true;
  }

  async function credentialWorker(m: UserModel, stop: { stopped: boolean }): Promise<void> {
    while (!stop.stopped) {
      const active = m.active;
      const op = !active ? 'create' : Math.random() < 0.65 ? 'reset' : 'revoke';
      const unknownBefore = m.unknownSinceAck;
      m.unknownSinceAck = true; // until an answer says otherwise
      const res =
        op === 'create'
          ? await call('POST', '/credentials', m.token, { scopes: ['read', 'write'] })
          : op === 'reset'
            ? await call('POST', `/credentials/${active?.clientId}/reset`, m.token, {})
            : await call('DELETE', `/credentials/${active?.clientId}`, m.token);
      if (!res) return; // the stack died under this request: its outcome is unknown
      count(`${op} ${res.status}`);
      if (res.status === 201 || (op === 'reset' && res.status === 200)) {
        const { clientId, clientSecret } = res.body as { clientId: string; clientSecret: string };
        facts.createdClients.set(clientId, { userId: m.userId, secret: clientSecret });
        if (active && op === 'reset') facts.revokedClients.set(active.clientId, m.userId);
        m.active = { clientId, secret: clientSecret };
        m.lastAcked = { clientId };
        m.unknownSinceAck = false;
      } else if (op === 'revoke' && res.status === 204 && active) {
        facts.revokedClients.set(active.clientId, m.userId);
        m.active = undefined;
        m.lastAcked = { clientId: null };
        m.unknownSinceAck = false;
      } else if (res.status === 409 || res.status === 404) {
        // Nothing changed (I7); the worker's belief may be stale (a resumed workflow finished meanwhile).
        m.unknownSinceAck = unknownBefore;
        if (!(await resync(m))) return;
        await sleep(20);
      } else {
        // 503 (still running) or an error: the outcome is unknown until the workflow settles.
        if (!(await resync(m))) return;
        await sleep(50);
      }
    }
  }

  async function notesWorker(m: UserModel, stop: { stopped: boolean }): Promise<void> {
    let seq = 0;
    while (!stop.stopped) {
      seq += 1;
      const viaClient = seq % 2 === 0 && m.active?.secret !== undefined;
      const token = viaClient ? await clientTokenFor(m.active?.clientId as string, m.active?.secret as string) : m.token;
      if (stop.stopped) return;
      const text = `${m.username} note ${seq} via ${viaClient ? 'client' : 'user'} ${Math.random().toString(36).slice(2)}`;
      const res = await call('POST', '/notes', token ?? m.token, { text });
      if (!res) return;
      count(`note ${res.status}`);
      if (res.status === 201) facts.notes.set(res.body.id as string, { userId: m.userId, text });
    }
  }

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'devaccess-crash-'));
    const start = (port?: number) =>
      startChildStack({ dataDir, output, retryIntervalMs: 25, sweepGraceSeconds: 0, ...(port === undefined ? {} : { port }) });
    child = await start();
    const port = child.port;
    client = createStackClient(endpoints);
    for (let i = 0; i < USERS; i++) {
      const user: TestUser = await client.createUser(`crash-user-${i}`, { developer: true });
      models.push({ username: user.username, userId: user.userId, token: user.token, unknownSinceAck: false });
    }

    for (let round = 1; round <= CRASHES; round++) {
      const stop = { stopped: false };
      const workers = models.flatMap((m) => [credentialWorker(m, stop), notesWorker(m, stop), notesWorker(m, stop)]);
      await sleep(MAX_LOAD_MS / 2 + Math.random() * (MAX_LOAD_MS / 2));
      await (child as ChildStack).kill();
      stop.stopped = true;
      await Promise.allSettled(workers);

      child = await start(port);
      client.renew();
      for (const m of models) {
        m.token = await client.signIn(m.username);
        await resync(m);
      }
    }

    // Let the resumed and in-flight workflows finish, then look at everything from the outside.
    await untilExecutionsSettle(endpoints());
    for (const m of models) await resync(m);
    snapshot = await snapshotTable(invariantTarget(client, endpoints));
    executions = await executionsWithHistory(endpoints());
    i4BeforeSweep = await checkI4(invariantTarget(client, endpoints), snapshot);
    sweepReport = (await invokeSweeper(endpoints())) as typeof sweepReport;

    const resumed = executions.filter((e) => e.history.some((h) => (h.type as string) === RESUMED_EVENT)).length;
    console.log(
      `[crash] ${CRASHES} SIGKILLs; acknowledged: ${facts.notes.size} notes, ${facts.createdClients.size} credentials created, ` +
        `${facts.revokedClients.size} revoked; ${executions.length} executions, ${resumed} resumed after a crash; ` +
        `sweeper deleted ${sweepReport?.deleted.length ?? 0} orphan client(s); answers: ${JSON.stringify(facts.opCounts)}`,
    );
  }, 300_000);

  afterAll(async () => {
    client?.destroy();
    await child?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('answers no request with an unexpected 5xx while the stack is up', () => {
    expect(facts.serverErrors).toEqual([]);
  });

  it('keeps every note that got a 201, under its owner, with its text', async () => {
    // Prepare
    const items = await scanTable(endpoints(), endpoints().notesTableName);
    const stored = new Map(items.map((n) => [String(n['noteId']), n]));

    // Assess
    expect(facts.notes.size).toBeGreaterThan(0);
    const missing = [...facts.notes].filter(([id, note]) => {
      const item = stored.get(id);
      return !item || item['userId'] !== note.userId || item['text'] !== note.text;
    });
    expect(missing).toEqual([]);
  });

  it('lists each user exactly the notes of that user, every acknowledged one included', async () => {
    for (const m of models) {
      // Act
      const res = await client.api('GET', '/notes', m.token);

      // Assess
      expect(res.status).toBe(200);
      const listed = new Set((res.body.notes as { id: string }[]).map((n) => n.id));
      const mine = [...facts.notes].filter(([, n]) => n.userId === m.userId).map(([id]) => id);
      expect(mine.filter((id) => !listed.has(id))).toEqual([]);
      const others = [...facts.notes].filter(([id, n]) => n.userId !== m.userId && listed.has(id));
      expect(others).toEqual([]);
    }
  });

  it('keeps every acknowledged credential change: revoked clients revoked, created clients recorded', () => {
    // Assess
    expect(facts.createdClients.size).toBeGreaterThan(0);
    const clients = new Map(snapshot.clients.map((c) => [String(c['clientId']), c]));
    const notRevoked = [...facts.revokedClients].filter(([id, userId]) => {
      const item = clients.get(id);
      return !item || item['status'] !== 'revoked' || item['userId'] !== userId;
    });
    expect(notRevoked).toEqual([]);
    const lost = [...facts.createdClients].filter(([id, c]) => clients.get(id)?.['userId'] !== c.userId);
    expect(lost).toEqual([]);
  });

  it('leaves each user whose last operation was acknowledged in exactly the state it reported', () => {
    for (const m of models) {
      if (m.unknownSinceAck || m.lastAcked === undefined) continue;
      const active = snapshot.credentials.filter((c) => c['userId'] === m.userId && c['status'] === 'active').map((c) => c['clientId']);
      expect(active).toEqual(m.lastAcked.clientId === null ? [] : [m.lastAcked.clientId]);
    }
  });

  it('has nothing half-written: user counters match credentials, client lookups match credential items, usernames name users', () => {
    expect(checkI1(snapshot)).toEqual([]);
    expect(checkI2(snapshot, CAP)).toEqual([]);
    expect(snapshot.users).toHaveLength(USERS);
  });

  it('finishes every workflow the crashes interrupted: none left running, none failed by the restart, locks released', () => {
    expect(executions.length).toBeGreaterThan(0);
    expect(executions.filter((e) => e.status === 'RUNNING').map((e) => e.name)).toEqual([]);
    const resumed = executions.filter((e) => e.history.some((h) => (h.type as string) === RESUMED_EVENT));
    // Several workflows run at any moment of the load, so the kills interrupt some of them.
    expect(resumed.length).toBeGreaterThan(0);
    // A resumed workflow ends as any workflow does: done, or refused/compensated through one of its Fail states.
    const outcomes = resumed.map((e) => e.status === 'SUCCEEDED' ? 'SUCCEEDED' : `${e.status} ${e.history.at(-1)?.executionFailedEventDetails?.error}`);
    const allowed = ['SUCCEEDED', ...WORKFLOW_ERRORS.map((error) => `FAILED ${error}`)];
    expect(outcomes.filter((o) => !allowed.includes(o))).toEqual([]);
    const failedByRestart = executions.filter((e) => {
      const failed = e.history.find((h) => h.type === 'ExecutionFailed')?.executionFailedEventDetails;
      return failed?.error === 'States.Runtime';
    });
    expect(failedByRestart.map((e) => e.name)).toEqual([]);
    expect(checkLocksReleased(snapshot)).toEqual([]);
  });

  it('never maps an active credential to a client missing from the pool, and the sweeper leaves no orphan', async () => {
    // Assess: the workflow alone keeps mappings pointing at real clients
    expect(i4BeforeSweep.filter((v) => v.includes('names no client in the pool'))).toEqual([]);

    // Act: the sweeper has run (beforeAll); look again
    const after = await checkI4(invariantTarget(client, endpoints), await snapshotTable(invariantTarget(client, endpoints)));

    // Assess
    expect(sweepReport?.revokedMappings).toEqual([]);
    expect(sweepReport?.failed).toEqual([]);
    expect(after).toEqual([]);
  });

  it('refuses every token of a client revoked before or across the crashes, and serves the active ones as their user', async () => {
    // Prepare
    const probes: ClientTokenProbe[] = [...facts.tokens].map(([clientId, token]) => ({ clientId, token }));
    for (const m of models) {
      const secret = m.active?.secret;
      if (!m.active || !secret) continue;
      const token = await client.clientToken(m.active.clientId, secret);
      probes.push({ clientId: m.active.clientId, token });
    }

    // Act
    const violations = await checkI3(invariantTarget(client, endpoints), snapshot, probes);

    // Assess
    expect(probes.length).toBeGreaterThan(0);
    expect(violations).toEqual([]);
  });

  it('leaves no client secret in the data directory or in anything the stack printed', () => {
    // Prepare
    const places: [string, string][] = filesUnder(dataDir).map((f) => [f, readFileSync(f, 'latin1')]);
    places.push(['output', output.join('')]);

    // Assess
    expect(client.secrets.length).toBeGreaterThan(0);
    const hits = client.secrets.flatMap((secret) => places.filter(([, text]) => text.includes(secret)).map(([where]) => where));
    expect(hits).toEqual([]);
  });
});

describe('category: crash durability of DynamoDB transactions', () => {
  const WRITER = fileURLToPath(new URL('./support/transaction-writer.ts', import.meta.url));
  const KILLS = 12;
  const context = { region: LOCAL_REGION, accountId: LOCAL_ACCOUNT_ID };
  let dataDir = '';

  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'devaccess-txcrash-'));
  });
  afterAll(() => {
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  /** Starts the writer, lets it commit for a random while, SIGKILLs it; returns the last generation it reported. */
  async function killMidTransactions(): Promise<number> {
    const env = { ...process.env };
    delete env['NODE_OPTIONS'];
    const writer = spawn(process.execPath, ['--import', 'tsx', WRITER, dataDir], {
      cwd: fileURLToPath(new URL('../../', import.meta.url)),
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    writer.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
    // 'close', not 'exit': every line the writer printed before it died has been read by then.
    const exited = new Promise<void>((resolve) => writer.once('close', () => resolve()));
    await new Promise<void>((resolve, reject) => {
      writer.stdout.setEncoding('utf8').on('data', (c: string) => {
        out += c;
        if (out.includes('READY')) resolve();
      });
      void exited.then(() => reject(new Error(`the writer exited early: ${err}`)));
    });
    await sleep(150 + Math.random() * 350);
    writer.kill('SIGKILL');
    await exited;
    const committed = [...out.matchAll(/COMMITTED (\d+)/g)].map((m) => Number(m[1]));
    return committed.at(-1) ?? 0;
  }

  it('commits a TransactWriteItems whole or not at all when the process is killed in the middle of it', async () => {
    const torn: string[] = [];
    let previous = 0;
    for (let kill = 0; kill < KILLS; kill++) {
      // Act
      const reported = await killMidTransactions();
      const db = await startDynamoDb({ dataDir });
      const gens: string[] = [];
      try {
        for (let i = 0; i < TRANSACTION_ITEMS; i++) {
          const out = (await db.service.handle(
            'GetItem',
            { TableName: TRANSACTION_TABLE, Key: { pk: { S: `ITEM#${i}` }, sk: { S: 'ITEM' } }, ConsistentRead: true },
            context,
          )) as { Item?: { gen?: { N?: string } } };
          gens.push(out.Item?.gen?.N ?? 'missing');
        }
      } finally {
        await db.close();
      }

      // Assess (collected, so one report shows every kill)
      const distinct = new Set(gens);
      const gen = Number(gens[0]);
      if (distinct.size !== 1) torn.push(`kill ${kill}: items hold generations ${gens.join(',')}`);
      // Every acknowledged commit is on disk; at most the one in flight beyond it.
      else if (gen < reported || gen > reported + 1) torn.push(`kill ${kill}: generation ${gen} on disk, ${reported} acknowledged`);
      previous = gen;
    }
    expect(torn).toEqual([]);
    expect(previous).toBeGreaterThan(KILLS);
  }, 120_000);
});
