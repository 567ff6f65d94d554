/**
 * What the security suites share on top of test/support/local-stack.ts: a stack tuned for tests (no app-client
 * write quota, short workflow retries), checks every refusal must pass (the status, a JSON body, never a 5xx), the
 * gateway's log line of a request, a snapshot of everything the API can write, and the signing key Cognito itself
 * holds, for tokens Cognito could really have issued (expired, not yet valid) but an attacker cannot forge.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { type JWK, type JWTPayload, SignJWT, decodeJwt, importJWK } from 'jose';
import { expect } from 'vitest';
import { type HttpResult, type TestStack, localAwsConfig, startTestStack } from '../../support/local-stack';

export async function startSecurityStack(options: { maxCredentialsPerUser?: number } = {}): Promise<TestStack> {
  return startTestStack({ clientWriteRatePerSecond: 0, retryIntervalMs: 5, ...options });
}

/** Any response: a status, a content type and a body the client can rely on. */
export interface Answer {
  readonly status: number;
  readonly contentType: string | undefined;
  readonly text: string;
}

export function answerOf(res: HttpResult): Answer {
  return { status: res.status, contentType: res.headers.get('content-type') ?? undefined, text: res.text };
}

/** A refusal: exactly `status`, a JSON object body naming what went wrong, never a 5xx. */
export function expectRefusal(res: Answer, status: number): Record<string, unknown> {
  expect(res.status, `status (body: ${res.text.slice(0, 200)})`).toBe(status);
  expect(res.contentType ?? '').toMatch(/^application\/json/);
  const body = JSON.parse(res.text) as unknown;
  expect(body).toBeTypeOf('object');
  expect(body).not.toBeNull();
  const error = (body as { error?: { code?: unknown; message?: unknown } }).error;
  expect(error?.code).toBeTypeOf('string');
  expect(error?.message).toBeTypeOf('string');
  return body as Record<string, unknown>;
}

/** The structured log lines (Powertools JSON) printed while the stack ran. */
export function logLines(ts: TestStack): Record<string, unknown>[] {
  const lines: Record<string, unknown>[] = [];
  for (const chunk of ts.output) {
    for (const line of chunk.split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // Not one of the logger's lines.
      }
    }
  }
  return lines;
}

/** The gateway's `api request` line of one request, found by the `x-amzn-RequestId` it answered with. */
export function gatewayLogOf(ts: TestStack, requestId: string | null | undefined): Record<string, unknown> | undefined {
  if (!requestId) return undefined;
  return logLines(ts).find((l) => l['message'] === 'api request' && l['requestId'] === requestId);
}

/** Both tables, item by item in a stable order: equal snapshots mean the API wrote nothing. */
export async function snapshotTables(ts: TestStack): Promise<string> {
  const dynamo = new DynamoDBClient(localAwsConfig(ts.stack.endpoints));
  try {
    const tables: Record<string, string[]> = {};
    for (const TableName of [ts.stack.endpoints.tableName, ts.stack.endpoints.notesTableName]) {
      const items: string[] = [];
      let ExclusiveStartKey: Record<string, never> | undefined;
      do {
        const page = await dynamo.send(new ScanCommand({ TableName, ConsistentRead: true, ExclusiveStartKey }));
        for (const item of page.Items ?? []) items.push(JSON.stringify(item, Object.keys(item).sort()));
        ExclusiveStartKey = page.LastEvaluatedKey as Record<string, never> | undefined;
      } while (ExclusiveStartKey);
      tables[TableName] = items.sort();
    }
    return JSON.stringify(tables);
  } finally {
    dynamo.destroy();
  }
}

/**
 * Cognito's own signing key, read from the emulator's data directory. Only for tokens Cognito could have issued
 * itself and that must still be refused (expired, not yet valid, another token_use): an attacker does not have
 * this key, so forgeries in the suites use keys of their own.
 */
export async function poolSigner(ts: TestStack): Promise<(claims: JWTPayload) => Promise<string>> {
  const jwk = JSON.parse(readFileSync(join(ts.dataDir, 'cognito', 'signing-key.json'), 'utf8')) as JWK;
  const key = await importJWK(jwk, 'RS256');
  return (claims) => new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: jwk.kid as string }).sign(key);
}

/** The claims of a token (no verification: the test made or received it). */
export function claimsOf(token: string): JWTPayload & Record<string, unknown> {
  return decodeJwt(token);
}
