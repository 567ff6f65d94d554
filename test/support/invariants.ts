/**
 * The invariants of ../../../shared/DESIGN.md, checked against a running local stack from the outside: the identity
 * table (one consistent scan), the user pool's app clients (ListUserPoolClients), and the API itself for I3.
 * Every checker returns the list of violations, one readable line each, so a test asserts `toEqual([])` and a
 * failure shows exactly what broke.
 *
 * I5 (no secret outside the create/reset response) is the harness's `leakScan()`.
 */
import { ListUserPoolClientsCommand } from '@aws-sdk/client-cognito-identity-provider';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import {
  CLIENT_PK_PREFIX,
  CRED_SK_PREFIX,
  SWEEP_PK_PREFIX,
  USERNAME_PK_PREFIX,
  USER_PK_PREFIX,
  USER_SK,
} from '../../lambdas/shared/contract/table';
import { parseCredentialClientName } from '../../lambdas/shared/contract/client-name';
import { type HttpResult, type TestStack, localAwsConfig } from './local-stack';

export interface TableSnapshot {
  readonly users: readonly Record<string, any>[];
  readonly usernames: readonly Record<string, any>[];
  readonly clients: readonly Record<string, any>[];
  readonly credentials: readonly Record<string, any>[];
  readonly markers: readonly Record<string, any>[];
}

/** Every item of the identity table, by kind (a strongly consistent scan). */
export async function snapshotTable(t: TestStack): Promise<TableSnapshot> {
  const db = DynamoDBDocumentClient.from(new DynamoDBClient(localAwsConfig(t.stack.endpoints)));
  try {
    const items: Record<string, any>[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await db.send(
        new ScanCommand({ TableName: t.stack.endpoints.tableName, ConsistentRead: true, ExclusiveStartKey: startKey }),
      );
      items.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    const pk = (item: Record<string, any>) => String(item['pk']);
    const sk = (item: Record<string, any>) => String(item['sk']);
    return {
      users: items.filter((i) => pk(i).startsWith(USER_PK_PREFIX) && sk(i) === USER_SK),
      usernames: items.filter((i) => pk(i).startsWith(USERNAME_PK_PREFIX)),
      clients: items.filter((i) => pk(i).startsWith(CLIENT_PK_PREFIX)),
      credentials: items.filter((i) => pk(i).startsWith(USER_PK_PREFIX) && sk(i).startsWith(CRED_SK_PREFIX)),
      markers: items.filter((i) => pk(i).startsWith(SWEEP_PK_PREFIX)),
    };
  } finally {
    db.destroy();
  }
}

export interface PoolClientName {
  readonly clientId: string;
  readonly clientName: string;
}

/** Every app client of the pool (all pages). */
export async function listPoolClients(t: TestStack): Promise<PoolClientName[]> {
  const out: PoolClientName[] = [];
  let nextToken: string | undefined;
  do {
    const page = await t.cognito.send(
      new ListUserPoolClientsCommand({ UserPoolId: t.stack.endpoints.userPoolId, MaxResults: 60, NextToken: nextToken }),
    );
    for (const c of page.UserPoolClients ?? []) out.push({ clientId: c.ClientId as string, clientName: c.ClientName as string });
    nextToken = page.NextToken;
  } while (nextToken);
  return out;
}

/** The credential clients of the pool (named `devaccess-<userId>-<operationId>`), with the user their name records. */
export async function credentialClientsInPool(t: TestStack): Promise<(PoolClientName & { userId: string; operationId: string })[]> {
  return (await listPoolClients(t)).flatMap((c) => {
    const parsed = parseCredentialClientName(c.clientName);
    return parsed ? [{ ...c, userId: parsed.userId, operationId: parsed.operationId }] : [];
  });
}

/** I1: a client id maps to at most one user (and both its items agree); a username to exactly one user id. */
export function checkI1(s: TableSnapshot): string[] {
  const violations: string[] = [];
  const ownersOf = new Map<string, Set<string>>();
  for (const cred of s.credentials) {
    const owners = ownersOf.get(cred['clientId']) ?? new Set<string>();
    owners.add(cred['userId']);
    ownersOf.set(cred['clientId'], owners);
    if (cred['sk'] !== `CRED#${cred['clientId']}` || cred['pk'] !== `USER#${cred['userId']}`) {
      violations.push(`I1: credential item ${cred['pk']}/${cred['sk']} names client ${cred['clientId']} of user ${cred['userId']}`);
    }
  }
  for (const [clientId, owners] of ownersOf) {
    if (owners.size > 1) violations.push(`I1: client ${clientId} has credential items under ${owners.size} users`);
  }
  for (const client of s.clients) {
    const cred = s.credentials.find((c) => c['clientId'] === client['clientId']);
    if (!cred) {
      violations.push(`I1: client ${client['clientId']} has a CLIENT item but no credential item`);
    } else if (cred['userId'] !== client['userId'] || cred['status'] !== client['status']) {
      violations.push(
        `I1: client ${client['clientId']}: CLIENT item says ${client['userId']}/${client['status']}, ` +
          `credential item says ${cred['userId']}/${cred['status']}`,
      );
    }
  }
  for (const cred of s.credentials) {
    if (!s.clients.some((c) => c['clientId'] === cred['clientId'])) {
      violations.push(`I1: credential ${cred['clientId']} of user ${cred['userId']} has no CLIENT item`);
    }
  }
  const userIdsOfUsername = new Map<string, Set<string>>();
  for (const user of s.users) {
    const ids = userIdsOfUsername.get(user['username']) ?? new Set<string>();
    ids.add(user['userId']);
    userIdsOfUsername.set(user['username'], ids);
  }
  for (const [username, ids] of userIdsOfUsername) {
    if (ids.size !== 1) violations.push(`I1: username ${username} has ${ids.size} user ids`);
  }
  for (const lookup of s.usernames) {
    const user = s.users.find((u) => u['userId'] === lookup['userId']);
    if (!user) violations.push(`I1: username ${lookup['username']} points to a missing user ${lookup['userId']}`);
    else if (user['username'] !== lookup['username']) {
      violations.push(`I1: username ${lookup['username']} points to user ${lookup['userId']}, named ${user['username']}`);
    }
  }
  for (const user of s.users) {
    if (!s.usernames.some((l) => l['username'] === user['username'] && l['userId'] === user['userId'])) {
      violations.push(`I1: user ${user['userId']} (${user['username']}) has no username lookup naming it`);
    }
  }
  return violations;
}

/** I2: at most `cap` active credentials per user, and the user's activeCredentials counts exactly those. */
export function checkI2(s: TableSnapshot, cap: number): string[] {
  const violations: string[] = [];
  for (const user of s.users) {
    const active = s.credentials.filter((c) => c['userId'] === user['userId'] && c['status'] === 'active').length;
    if (active > cap) violations.push(`I2: user ${user['username']} has ${active} active credentials (cap ${cap})`);
    if (user['activeCredentials'] !== active) {
      violations.push(`I2: user ${user['username']} counts ${user['activeCredentials']} active credentials, holds ${active}`);
    }
  }
  return violations;
}

/**
 * I4: every active mapping names a client in the pool; every credential client in the pool has an active mapping
 * of the user its name records (meaningful once compensation or the sweeper has run).
 */
export async function checkI4(t: TestStack, s: TableSnapshot): Promise<string[]> {
  const violations: string[] = [];
  const pool = await listPoolClients(t);
  const inPool = new Set(pool.map((c) => c.clientId));
  for (const client of s.clients) {
    if (client['status'] === 'active' && !inPool.has(client['clientId'])) {
      violations.push(`I4: active mapping ${client['clientId']} (user ${client['userId']}) names no client in the pool`);
    }
  }
  for (const c of pool) {
    const parsed = parseCredentialClientName(c.clientName);
    if (!parsed) continue;
    const mapping = s.clients.find((m) => m['clientId'] === c.clientId);
    if (!mapping || mapping['status'] !== 'active' || mapping['userId'] !== parsed.userId) {
      violations.push(`I4: credential client ${c.clientId} in the pool has no active mapping (${mapping ? mapping['status'] : 'none'})`);
    }
  }
  return violations;
}

export interface ClientTokenProbe {
  readonly clientId: string;
  readonly token: string;
}

/**
 * I3: a token of a revoked, reset or unmapped client is refused (401) on the very next request; a token of an
 * active client is served as its user.
 */
export async function checkI3(t: TestStack, s: TableSnapshot, probes: readonly ClientTokenProbe[]): Promise<string[]> {
  const violations: string[] = [];
  const results = await Promise.all(probes.map((p) => t.api('GET', '/me', p.token)));
  probes.forEach((probe, i) => {
    const res = results[i] as HttpResult;
    const mapping = s.clients.find((m) => m['clientId'] === probe.clientId);
    if (mapping?.['status'] === 'active') {
      if (res.status !== 200 || res.body?.userId !== mapping['userId']) {
        violations.push(`I3: active client ${probe.clientId} got ${res.status} (${res.body?.userId ?? res.text}), expected 200 as ${mapping['userId']}`);
      }
    } else if (res.status !== 401 || res.body?.error?.code !== 'unauthorized') {
      violations.push(`I3: ${mapping ? 'revoked' : 'unmapped'} client ${probe.clientId} got ${res.status}, expected 401`);
    }
  });
  return violations;
}

/** No user item still holds the per-user operation lock. */
export function checkLocksReleased(s: TableSnapshot): string[] {
  return s.users
    .filter((u) => u['lockOwner'] !== undefined)
    .map((u) => `lock: user ${u['username']} is still locked by operation ${u['lockOwner']} until ${u['lockExpiresAt']}`);
}

export interface InvariantOptions {
  readonly maxCredentialsPerUser: number;
  /** Client tokens to replay for I3. @default none */
  readonly probes?: readonly ClientTokenProbe[];
  /** Check I4 (run the sweeper first when a fault may have left an orphan). @default true */
  readonly i4?: boolean;
  /** Check that no lock is held. @default true */
  readonly locksReleased?: boolean;
}

/** I1, I2, I3 (for the probes given), I4 and the lock, in one list of violations. */
export async function checkInvariants(t: TestStack, options: InvariantOptions): Promise<string[]> {
  const s = await snapshotTable(t);
  return [
    ...checkI1(s),
    ...checkI2(s, options.maxCredentialsPerUser),
    ...(options.probes ? await checkI3(t, s, options.probes) : []),
    ...(options.i4 === false ? [] : await checkI4(t, s)),
    ...(options.locksReleased === false ? [] : checkLocksReleased(s)),
  ];
}

/** The outcome of one round of concurrent requests, as I6 wants it. */
export interface RoundOutcome {
  readonly winners: number;
  readonly statuses: readonly number[];
  readonly violations: readonly string[];
}

/**
 * I6 for one round of concurrent operations on one user: exactly one request wins (`winStatus`), every other one
 * is refused with 409 and a JSON error body whose code is one of `loserCodes`.
 */
export function checkRound(
  results: readonly HttpResult[],
  winStatus: number,
  loserCodes: readonly string[] = ['conflict', 'limit_exceeded'],
): RoundOutcome {
  const violations: string[] = [];
  const winners = results.filter((r) => r.status === winStatus).length;
  if (winners !== 1) violations.push(`I6: ${winners} requests won the round (${results.length} sent), expected exactly 1`);
  for (const r of results) {
    if (r.status === winStatus) continue;
    if (r.status !== 409 || !loserCodes.includes(r.body?.error?.code)) {
      violations.push(`I6: a loser got ${r.status} ${r.text.slice(0, 120)}, expected 409 (${loserCodes.join('/')})`);
    }
  }
  return { winners, statuses: results.map((r) => r.status), violations };
}
