/**
 * Child process for the transaction crash test: opens the local DynamoDB on a data directory and commits
 * TransactWriteItems in a tight loop, each writing generation `g` to the same ITEMS items (Puts and Updates, so
 * both write paths are exercised) under ClientRequestToken `gen-<g>`. The parent SIGKILLs it at a random moment
 * and checks, on the same directory, that the items never disagree (a transaction is on disk whole or not at all).
 *
 * Usage: node --import tsx test/resilience/support/transaction-writer.ts <dataDir>
 * Prints `READY` once the table exists, then `COMMITTED <g>` after each commit.
 */
import { pathToFileURL } from 'node:url';
import { LOCAL_ACCOUNT_ID, LOCAL_REGION } from '../../../infra/local/aws/types';
import { ensureTable, startDynamoDb } from '../../../infra/local/aws/dynamodb';

export const TRANSACTION_TABLE = 'crash-transactions';
export const TRANSACTION_ITEMS = 12;

async function main(): Promise<void> {
  const dataDir = process.argv[2];
  if (!dataDir) throw new Error('usage: transaction-writer.ts <dataDir>');
  const db = await startDynamoDb({ dataDir });
  await ensureTable(db, {
    TableName: TRANSACTION_TABLE,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: 'pk', AttributeType: 'S' },
      { AttributeName: 'sk', AttributeType: 'S' },
    ],
    KeySchema: [
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ],
  });
  const context = { region: LOCAL_REGION, accountId: LOCAL_ACCOUNT_ID };
  // Resume from the generation on disk, so a restarted writer keeps counting up.
  const first = (await db.service.handle(
    'GetItem',
    { TableName: TRANSACTION_TABLE, Key: { pk: { S: 'ITEM#0' }, sk: { S: 'ITEM' } }, ConsistentRead: true },
    context,
  )) as { Item?: { gen?: { N?: string } } };
  let gen = Number(first.Item?.gen?.N ?? '0');
  process.stdout.write('READY\n');
  for (;;) {
    gen += 1;
    const g = { N: String(gen) };
    await db.service.handle(
      'TransactWriteItems',
      {
        ClientRequestToken: `gen-${gen}`,
        TransactItems: Array.from({ length: TRANSACTION_ITEMS }, (_, i) => {
          const key = { pk: { S: `ITEM#${i}` }, sk: { S: 'ITEM' } };
          return i % 2 === 0
            ? { Put: { TableName: TRANSACTION_TABLE, Item: { ...key, gen: g, payload: { S: 'x'.repeat(512) } } } }
            : {
                Update: {
                  TableName: TRANSACTION_TABLE,
                  Key: key,
                  UpdateExpression: 'SET gen = :g',
                  ExpressionAttributeValues: { ':g': g },
                },
              };
        }),
      },
      context,
    );
    process.stdout.write(`COMMITTED ${gen}\n`);
  }
}

// Run only as a process of its own; the test imports the constants above.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
