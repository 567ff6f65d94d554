/**
 * An in-memory stand-in for the DynamoDB document client, wired in through aws-sdk-client-mock. It understands
 * exactly the expressions lambdas/ uses and throws on any other, so a changed query fails a test loudly instead
 * of silently matching nothing. Conditions behave as DynamoDB's: a failed one throws
 * ConditionalCheckFailedException (TransactionCanceledException inside a transaction) and writes nothing.
 */
import { ConditionalCheckFailedException, DynamoDBClient, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';

export type Item = Record<string, unknown>;

interface TableDef {
  readonly partition: string;
  readonly sort: string;
}

export class FakeDynamo {
  readonly tables = new Map<string, { def: TableDef; items: Map<string, Item> }>();
  readonly mock = mockClient(DynamoDBDocumentClient);

  constructor(defs: Record<string, TableDef>) {
    for (const [name, def] of Object.entries(defs)) this.tables.set(name, { def, items: new Map() });
    this.mock.on(GetCommand).callsFake((input) => this.get(input));
    this.mock.on(PutCommand).callsFake((input) => this.put(input));
    this.mock.on(DeleteCommand).callsFake((input) => this.delete(input));
    this.mock.on(QueryCommand).callsFake((input) => this.query(input));
    this.mock.on(UpdateCommand).callsFake((input) => this.update(input));
    this.mock.on(TransactWriteCommand).callsFake((input) => this.transact(input));
  }

  /** A real document client whose calls land here. */
  client(): DynamoDBDocumentClient {
    return DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
  }

  restore(): void {
    this.mock.restore();
  }

  private table(name: unknown) {
    const table = this.tables.get(String(name));
    if (!table) throw Object.assign(new Error(`Requested resource not found: ${String(name)}`), { name: 'ResourceNotFoundException' });
    return table;
  }

  private keyOf(def: TableDef, item: Item): string {
    const p = item[def.partition];
    const s = item[def.sort];
    if (typeof p !== 'string' || typeof s !== 'string') throw new Error(`Item lacks its key: ${JSON.stringify(item)}`);
    return JSON.stringify([p, s]);
  }

  /** Reads an item directly (for assertions). */
  item(tableName: string, key: Item): Item | undefined {
    const table = this.table(tableName);
    const found = table.items.get(this.keyOf(table.def, key));
    return found ? structuredClone(found) : undefined;
  }

  /** Writes an item directly (for arranging). */
  seed(tableName: string, item: Item): void {
    const table = this.table(tableName);
    table.items.set(this.keyOf(table.def, item), structuredClone(item));
  }

  all(tableName: string): Item[] {
    return [...this.table(tableName).items.values()].map((i) => structuredClone(i));
  }

  private get(input: { TableName?: string; Key?: Item; ProjectionExpression?: string }) {
    const item = this.item(String(input.TableName), input.Key ?? {});
    return { Item: item };
  }

  private checkCondition(expression: string | undefined, existing: Item | undefined): boolean {
    if (expression === undefined) return true;
    const single = /^attribute_(not_)?exists\((\w+)\)$/.exec(expression.trim());
    if (!single) throw new Error(`FakeDynamo does not understand the condition ${expression}`);
    const attribute = single[2] as string;
    const present = existing?.[attribute] !== undefined;
    return single[1] ? !present : present;
  }

  private conditionFailed(): ConditionalCheckFailedException {
    return new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });
  }

  private put(input: { TableName?: string; Item?: Item; ConditionExpression?: string }) {
    const table = this.table(input.TableName);
    const item = input.Item ?? {};
    const key = this.keyOf(table.def, item);
    if (!this.checkCondition(input.ConditionExpression, table.items.get(key))) throw this.conditionFailed();
    table.items.set(key, structuredClone(item));
    return {};
  }

  private delete(input: { TableName?: string; Key?: Item; ConditionExpression?: string }) {
    const table = this.table(input.TableName);
    const key = this.keyOf(table.def, input.Key ?? {});
    if (!this.checkCondition(input.ConditionExpression, table.items.get(key))) throw this.conditionFailed();
    table.items.delete(key);
    return {};
  }

  private query(input: {
    TableName?: string;
    KeyConditionExpression?: string;
    ExpressionAttributeValues?: Item;
    ConsistentRead?: boolean;
  }) {
    const table = this.table(input.TableName);
    const values = input.ExpressionAttributeValues ?? {};
    const expression = input.KeyConditionExpression ?? '';
    let match: (item: Item) => boolean;
    const withPrefix = /^(\w+) = (:\w+) AND begins_with\((\w+), (:\w+)\)$/.exec(expression);
    const exact = /^(\w+) = (:\w+)$/.exec(expression);
    if (withPrefix) {
      const [, p, pv, s, sv] = withPrefix as unknown as [string, string, string, string, string];
      match = (item) => item[p] === values[pv] && String(item[s]).startsWith(String(values[sv]));
    } else if (exact) {
      const [, p, pv] = exact as unknown as [string, string, string];
      match = (item) => item[p] === values[pv];
    } else {
      throw new Error(`FakeDynamo does not understand the key condition ${expression}`);
    }
    const items = [...table.items.values()].filter(match).map((i) => structuredClone(i));
    items.sort((a, b) => String(a[table.def.sort]).localeCompare(String(b[table.def.sort])));
    return { Items: items, Count: items.length };
  }

  private update(input: {
    TableName?: string;
    Key?: Item;
    UpdateExpression?: string;
    ConditionExpression?: string;
    ExpressionAttributeValues?: Item;
  }) {
    const table = this.table(input.TableName);
    const key = this.keyOf(table.def, input.Key ?? {});
    const existing = table.items.get(key);
    if (!this.checkCondition(input.ConditionExpression, existing)) throw this.conditionFailed();
    const ifNotExists = /^SET (\w+) = if_not_exists\((\w+), (:\w+)\)$/.exec(input.UpdateExpression ?? '');
    if (!ifNotExists || ifNotExists[1] !== ifNotExists[2]) {
      throw new Error(`FakeDynamo does not understand the update ${input.UpdateExpression}`);
    }
    const attribute = ifNotExists[1] as string;
    const next: Item = { ...(existing ?? structuredClone(input.Key ?? {})) };
    if (next[attribute] === undefined) next[attribute] = (input.ExpressionAttributeValues ?? {})[ifNotExists[3] as string];
    table.items.set(key, next);
    return {};
  }

  private transact(input: { TransactItems?: Array<{ Put?: { TableName?: string; Item?: Item; ConditionExpression?: string } }> }) {
    const puts = (input.TransactItems ?? []).map((t) => {
      if (!t.Put) throw new Error('FakeDynamo transactions support Put only');
      return t.Put;
    });
    const reasons = puts.map((put) => {
      const table = this.table(put.TableName);
      const existing = table.items.get(this.keyOf(table.def, put.Item ?? {}));
      return this.checkCondition(put.ConditionExpression, existing) ? 'None' : 'ConditionalCheckFailed';
    });
    if (reasons.some((r) => r !== 'None')) {
      throw new TransactionCanceledException({
        message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${reasons.join(', ')}]`,
        $metadata: {},
        CancellationReasons: reasons.map((Code) => ({ Code })),
      });
    }
    for (const put of puts) this.put({ TableName: put.TableName, Item: put.Item });
    return {};
  }
}
