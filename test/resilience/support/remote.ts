/**
 * Looking at a local stack that runs in a child process from the outside, through its endpoints only: its
 * executions (Step Functions API), its tables (DynamoDB API), and the invariant checkers of test/support/invariants.ts.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import {
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  SFNClient,
  type ExecutionListItem,
  type HistoryEvent,
} from '@aws-sdk/client-sfn';
import type { LocalEndpoints } from '../../../infra/local/walkthrough';
import { localAwsConfig, type StackClient, type TestStack } from '../../support/local-stack';

/**
 * The invariant checkers take a TestStack but read only `stack.endpoints`, `cognito` and `api`: this is a stack in
 * a child process seen through exactly those.
 */
export function invariantTarget(client: StackClient, endpoints: () => LocalEndpoints): TestStack {
  const target = {
    get stack() {
      return { endpoints: endpoints() };
    },
    get cognito() {
      return client.cognito;
    },
    api: client.api,
  };
  return target as unknown as TestStack;
}

export interface ExecutionWithHistory extends ExecutionListItem {
  readonly history: HistoryEvent[];
}

/** Every execution of the stack's state machines, newest first, with its full history. */
export async function executionsWithHistory(endpoints: LocalEndpoints): Promise<ExecutionWithHistory[]> {
  const sfn = new SFNClient(localAwsConfig(endpoints));
  try {
    const out: ExecutionWithHistory[] = [];
    for (const stateMachineArn of Object.values(endpoints.stateMachineArns)) {
      let nextToken: string | undefined;
      do {
        const page = await sfn.send(new ListExecutionsCommand({ stateMachineArn, nextToken, maxResults: 1000 }));
        for (const e of page.executions ?? []) {
          const history: HistoryEvent[] = [];
          let historyToken: string | undefined;
          do {
            const h = await sfn.send(
              new GetExecutionHistoryCommand({ executionArn: e.executionArn, nextToken: historyToken, maxResults: 1000 }),
            );
            history.push(...(h.events ?? []));
            historyToken = h.nextToken;
          } while (historyToken);
          out.push({ ...e, history });
        }
        nextToken = page.nextToken;
      } while (nextToken);
    }
    return out;
  } finally {
    sfn.destroy();
  }
}

/** Resolves once no execution is RUNNING; rejects with the ones still running after `timeoutMs`. */
export async function untilExecutionsSettle(endpoints: LocalEndpoints, timeoutMs = 90_000): Promise<void> {
  const sfn = new SFNClient(localAwsConfig(endpoints));
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const running: string[] = [];
      for (const stateMachineArn of Object.values(endpoints.stateMachineArns)) {
        const page = await sfn.send(new ListExecutionsCommand({ stateMachineArn, statusFilter: 'RUNNING', maxResults: 1000 }));
        running.push(...(page.executions ?? []).map((e) => e.name ?? ''));
      }
      if (running.length === 0) return;
      if (Date.now() > deadline) throw new Error(`executions still RUNNING after ${timeoutMs} ms: ${running.join(', ')}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    sfn.destroy();
  }
}

/** Every item of a table (strongly consistent scan, all pages), in the document client's plain shape. */
export async function scanTable(endpoints: LocalEndpoints, tableName: string): Promise<Record<string, any>[]> {
  const db = DynamoDBDocumentClient.from(new DynamoDBClient(localAwsConfig(endpoints)));
  try {
    const items: Record<string, any>[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await db.send(new ScanCommand({ TableName: tableName, ConsistentRead: true, ExclusiveStartKey: startKey }));
      items.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return items;
  } finally {
    db.destroy();
  }
}

/**
 * When each state of an execution's history last succeeded, by state name: the time of the TaskSucceeded that
 * followed the state's entry (for the credential workflow's CommitReset, the moment the swap is known committed).
 */
export function taskSucceededAt(history: readonly HistoryEvent[]): Map<string, number> {
  const at = new Map<string, number>();
  let state: string | undefined;
  for (const event of history) {
    const name = event.stateEnteredEventDetails?.name;
    if (name !== undefined) state = name;
    if (event.type === 'TaskSucceeded' && state !== undefined && event.timestamp) at.set(state, event.timestamp.getTime());
  }
  return at;
}
