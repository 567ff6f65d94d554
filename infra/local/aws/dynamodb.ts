/**
 * Local DynamoDB for the one-machine stack: dynalite's storage engine, request validation and item actions, in
 * process, persisted under `<dataDir>/dynamodb` (LevelDB; the classic-level binding loads from the prebuilt
 * binary that ships inside its npm package, so a clean `npm ci` needs no compiler and no download).
 *
 * Why not dynalite's own http.Server: dynalite 4 has no TransactWriteItems/TransactGetItems, and both the
 * identity store and the credential workflow commit through TransactWriteItems. A transaction must see and lock
 * the same store as every single-item request, so this module creates the store itself (`dynalite/db`) and
 * dispatches the operations dynalite supports to dynalite's own validation and action modules, exactly as its
 * HTTP handler does, and implements the two transaction operations on top of the same store.
 *
 * Isolation: single-item operations run concurrently (dynalite locks per item); a transaction takes the store
 * exclusively (a readers-writer gate), checks every condition against the current items, then applies its writes.
 * No request can observe a half-applied transaction.
 *
 * Crash atomicity: dynalite writes an item and each of its index entries with separate LevelDB writes, so applying
 * a transaction item by item could leave it half-applied on disk when the process is killed (measured: SIGKILL in
 * a loop of 12-item transactions tore most of them). A transaction therefore runs dynalite's own actions against
 * a store whose writes are captured instead of applied (`capturingStore`), then commits every captured item and
 * index entry, plus its ClientRequestToken, in ONE LevelDB batch: LevelDB appends a batch to its log as one
 * record and drops an incomplete record on recovery, so after a crash the transaction is on disk whole or not at
 * all (test/resilience/crash.test.ts kills a writer mid-transaction to check it). Durable against a process
 * crash, not against power loss (writes are not fsync'ed, like dynalite's own).
 *
 * ClientRequestToken: remembered in the same LevelDB (same batch as the writes it made idempotent), for the 10
 * minutes the API reference promises, so a retry after a restart (a workflow resumed after a crash re-runs its
 * commit step) still succeeds without writing twice.
 */
import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  type CreateTableCommandInput,
} from '@aws-sdk/client-dynamodb';
import { AwsServiceError, LOCAL_ACCOUNT_ID, LOCAL_REGION, type AwsJsonService } from './types';

const require = createRequire(import.meta.url);

/** `X-Amz-Target` prefix of the DynamoDB API version the AWS SDK v3 speaks. */
export const DYNAMODB_TARGET_PREFIX = 'DynamoDB_20120810';

/** DynamoDB's HTTP request size limit (16 MB). */
export const DYNAMODB_MAX_REQUEST_BYTES = 16 * 1024 * 1024;

/** Items per TransactWriteItems / TransactGetItems request (raised from 25 to 100 in 2022). */
export const MAX_TRANSACTION_ITEMS = 100;

/** How long a ClientRequestToken makes TransactWriteItems idempotent (per the API reference: 10 minutes). */
const CLIENT_TOKEN_TTL_MS = 10 * 60 * 1000;

/**
 * LevelDB key prefixes. dynalite keeps each sub-database under `<name>~` in one LevelDB (`getSubDb` in
 * dynalite/db/index.js): items under `item-<table>~`, index entries under `index-<local|global>~<table>~<index>~`.
 * Captured writes are committed under the same keys. The client tokens live beside them under a name dynalite
 * never uses.
 */
const itemPrefix = (table: string) => `item-${table}~`;
const indexPrefix = (indexType: string, table: string, index: string) => `index-${indexType.toLowerCase()}~${table}~${index}~`;
const CLIENT_TOKEN_PREFIX = 'devaccess-client-request-token~';

// ---- the parts of dynalite's internals this module uses (it ships no types) ----

interface DynaliteError extends Error {
  statusCode?: number;
  body?: { __type?: string; message?: string; Message?: string };
}
type Callback<T> = (err: DynaliteError | null | undefined, result?: T) => void;
type AttributeValue = Record<string, unknown>;
type Item = Record<string, AttributeValue>;
interface KeySchemaElement {
  AttributeName: string;
  KeyType: 'HASH' | 'RANGE';
}
interface TableDescription {
  TableName: string;
  KeySchema: KeySchemaElement[];
  TableStatus: string;
}
interface ItemDb {
  get(key: string, cb: Callback<Item | undefined>): void;
  put(key: string, value: unknown, cb: Callback<void>): void;
  del(key: string, cb: Callback<void>): void;
  /** dynalite's per-item lock (the `lock` package): `lock(key, (release) => ...)`. */
  lock: unknown;
}
interface IndexDb {
  put(key: string, value: unknown, cb: Callback<void>): void;
  del(key: string, cb: Callback<void>): void;
}
type BatchOperation = { type: 'put'; key: string; value: unknown } | { type: 'del'; key: string };
interface LevelDb {
  open(): Promise<void>;
  close(cb: (err?: Error | null) => void): void;
  /** Without a callback: level's promise API (dynalite wraps the callback form around it). */
  get(key: string): Promise<unknown>;
  batch(operations: BatchOperation[]): Promise<void>;
  iterator(options: { gte: string; lt: string }): AsyncIterable<[string, unknown]> & { close(): Promise<void> };
}
interface DynaliteStore {
  options: { maxItemSize: number };
  db: LevelDb;
  tableDb: { awsAccountId: string; awsRegion: string };
  getTable(name: string, cb: Callback<TableDescription>): void;
  getItemDb(name: string): ItemDb;
  getIndexDb(indexType: string, tableName: string, indexName: string): IndexDb;
}
interface DynaliteDbModule {
  create(options: Record<string, unknown>): DynaliteStore;
  createKey(itemOrKey: Item, table: TableDescription): string;
  checkConditional(data: Record<string, unknown>, existing: Item | undefined): DynaliteError | null | undefined;
  validateKey(key: Item, table: TableDescription): DynaliteError | null | undefined;
  validateItem(item: Item, table: TableDescription): DynaliteError | null | undefined;
  itemSize(item: Item): number;
}
interface ValidationsModule {
  checkTypes(data: Record<string, unknown>, types: unknown): Record<string, unknown>;
  checkValidations(data: Record<string, unknown>, types: unknown, custom: unknown, store: DynaliteStore): void;
}
interface ActionValidation {
  types: unknown;
  custom?: unknown;
}
type DynaliteAction = (store: DynaliteStore, data: Record<string, unknown>, cb: Callback<Record<string, unknown>>) => void;

const dynaliteDb = require('dynalite/db') as DynaliteDbModule;
const validations = require('dynalite/validations') as ValidationsModule;

/** The operations dynalite 4 implements (its own `validOperations` list). */
const DYNALITE_OPERATIONS = [
  'BatchGetItem',
  'BatchWriteItem',
  'CreateTable',
  'DeleteItem',
  'DeleteTable',
  'DescribeTable',
  'DescribeTimeToLive',
  'GetItem',
  'ListTables',
  'PutItem',
  'Query',
  'Scan',
  'TagResource',
  'UntagResource',
  'ListTagsOfResource',
  'UpdateItem',
  'UpdateTable',
] as const;
type DynaliteOperation = (typeof DYNALITE_OPERATIONS)[number];
const DYNALITE_OPERATION_SET: ReadonlySet<string> = new Set(DYNALITE_OPERATIONS);

const lowerFirst = (s: string) => s.charAt(0).toLowerCase() + s.slice(1);
const actionCache = new Map<string, { run: DynaliteAction; validation: ActionValidation }>();
function dynaliteAction(operation: DynaliteOperation) {
  let entry = actionCache.get(operation);
  if (!entry) {
    const name = lowerFirst(operation);
    entry = {
      run: require(`dynalite/actions/${name}`) as DynaliteAction,
      validation: require(`dynalite/validations/${name}`) as ActionValidation,
    };
    actionCache.set(operation, entry);
  }
  return entry;
}

/** dynalite error bodies carry `__type: 'com.amazonaws.dynamodb.v20120810#Name'`; the wire name is the part after '#'. */
function toAwsError(err: unknown): unknown {
  const e = err as DynaliteError;
  if (e && typeof e === 'object' && typeof e.statusCode === 'number' && e.body) {
    const type = (e.body.__type ?? 'ValidationException').split('#').pop() as string;
    return new AwsServiceError(type, e.body.message ?? e.body.Message ?? '', e.statusCode);
  }
  return err;
}

const validationError = (message: string) => new AwsServiceError('ValidationException', message);

/**
 * A readers-writer gate, first come first served: shared holders run together; an exclusive holder waits for the
 * shared ones before it and blocks everything after it until it is done.
 */
class ReadWriteGate {
  private shared = 0;
  private exclusiveHeld = false;
  private readonly waiting: Array<{ exclusive: boolean; grant: () => void }> = [];

  async run<T>(exclusive: boolean, fn: () => Promise<T>): Promise<T> {
    await this.acquire(exclusive);
    try {
      return await fn();
    } finally {
      this.release(exclusive);
    }
  }

  private canGrant(exclusive: boolean): boolean {
    return exclusive ? !this.exclusiveHeld && this.shared === 0 : !this.exclusiveHeld;
  }

  private acquire(exclusive: boolean): Promise<void> {
    if (this.waiting.length === 0 && this.canGrant(exclusive)) {
      this.take(exclusive);
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push({ exclusive, grant: resolve }));
  }

  private take(exclusive: boolean): void {
    if (exclusive) this.exclusiveHeld = true;
    else this.shared += 1;
  }

  private release(exclusive: boolean): void {
    if (exclusive) this.exclusiveHeld = false;
    else this.shared -= 1;
    while (this.waiting.length > 0 && this.canGrant((this.waiting[0] as { exclusive: boolean }).exclusive)) {
      const next = this.waiting.shift() as { exclusive: boolean; grant: () => void };
      this.take(next.exclusive);
      next.grant();
    }
  }
}

type TransactKind = 'ConditionCheck' | 'Put' | 'Delete' | 'Update';
const TRANSACT_KINDS: readonly TransactKind[] = ['ConditionCheck', 'Put', 'Delete', 'Update'];
/** Which dynalite action validates (and, for writes, applies) each kind. ConditionCheck has the members of DeleteItem. */
const ACTION_OF: Record<TransactKind, DynaliteOperation> = {
  ConditionCheck: 'DeleteItem',
  Put: 'PutItem',
  Delete: 'DeleteItem',
  Update: 'UpdateItem',
};

interface TransactOp {
  readonly kind: TransactKind;
  readonly data: Record<string, unknown>;
  readonly table: TableDescription;
  readonly key: string;
  readonly keyAttributes: Item;
  readonly returnOldOnFailure: boolean;
}

interface ParsedTransactItem {
  readonly kind: string;
  /** The validated request of the item (expressions parsed by dynalite). */
  readonly data: Record<string, unknown>;
  readonly table: TableDescription;
  readonly key: string;
  readonly returnOldOnFailure: boolean;
}

interface CancellationReason {
  Code: string;
  Message?: string;
  Item?: Item;
}

export interface LocalDynamoDbOptions {
  /** Data directory of the local stack; the tables live in `<dataDir>/dynamodb`. Omit for an in-memory store. */
  readonly dataDir?: string;
  /** @default LOCAL_REGION */
  readonly region?: string;
  /** @default LOCAL_ACCOUNT_ID */
  readonly accountId?: string;
}

export interface LocalDynamoDb {
  /** The AWS JSON 1.0 service the endpoint dispatches `DynamoDB_20120810.*` to. */
  readonly service: AwsJsonService;
  /** Largest request body this service accepts (DynamoDB's 16 MB). */
  readonly maxRequestBytes: number;
  /** Where the tables are persisted, or undefined when in memory. */
  readonly path: string | undefined;
  close(): Promise<void>;
}

/** Opens (creating if needed) the local DynamoDB store. Fails fast if the directory is locked by another process. */
export async function startDynamoDb(options: LocalDynamoDbOptions = {}): Promise<LocalDynamoDb> {
  const path = options.dataDir === undefined ? undefined : join(options.dataDir, 'dynamodb');
  if (path !== undefined) await mkdir(path, { recursive: true });
  const store = dynaliteDb.create({
    ...(path === undefined ? {} : { path }),
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  });
  // dynalite takes these from AWS_REGION / AWS_ACCOUNT_ID; the local stack's own values keep table ARNs consistent.
  store.tableDb.awsRegion = options.region ?? LOCAL_REGION;
  store.tableDb.awsAccountId = options.accountId ?? LOCAL_ACCOUNT_ID;
  try {
    await store.db.open();
  } catch (err) {
    throw new Error(`Cannot open the local DynamoDB store at ${path ?? '(memory)'}: is another local stack using it?`, {
      cause: err,
    });
  }
  const engine = new DynaliteEngine(store, path);
  await engine.pruneClientTokens();
  return engine;
}

class DynaliteEngine implements LocalDynamoDb {
  readonly maxRequestBytes = DYNAMODB_MAX_REQUEST_BYTES;
  readonly service: AwsJsonService;
  private readonly gate = new ReadWriteGate();
  private closing: Promise<void> | undefined;

  constructor(
    private readonly store: DynaliteStore,
    readonly path: string | undefined,
  ) {
    this.service = {
      targetPrefix: DYNAMODB_TARGET_PREFIX,
      jsonVersion: '1.0',
      handle: (action, input) => this.handle(action, input),
    };
  }

  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve, reject) => {
      this.store.db.close((err) => (err ? reject(err) : resolve()));
    });
    return this.closing;
  }

  private async handle(action: string, input: Record<string, unknown>): Promise<unknown> {
    if (this.closing) throw new AwsServiceError('ServiceUnavailable', 'The local DynamoDB is shutting down', 503);
    if (action === 'TransactWriteItems') return this.gate.run(true, () => this.transactWrite(input));
    if (action === 'TransactGetItems') return this.gate.run(true, () => this.transactGet(input));
    if (!DYNALITE_OPERATION_SET.has(action)) {
      throw new AwsServiceError('UnknownOperationException', `The local DynamoDB does not implement ${action}`);
    }
    const operation = action as DynaliteOperation;
    // dynalite never returns the item on a failed condition; reading it afterwards is only right if nothing can
    // write in between, so these requests take the store exclusively.
    if (input['ReturnValuesOnConditionCheckFailure'] === 'ALL_OLD' && isSingleWrite(operation)) {
      return this.gate.run(true, () => this.runReturningOldItem(operation, input));
    }
    return this.gate.run(false, () => this.run(operation, this.validate(operation, input)));
  }

  /** dynalite's type checks and validations; they also parse expressions into `_condition` / `_updates`. */
  private validate(operation: DynaliteOperation, input: Record<string, unknown>): Record<string, unknown> {
    const { validation } = dynaliteAction(operation);
    try {
      const data = validations.checkTypes(structuredClone(input), validation.types);
      validations.checkValidations(data, validation.types, validation.custom, this.store);
      return data;
    } catch (err) {
      throw toAwsError(err);
    }
  }

  private run(
    operation: DynaliteOperation,
    data: Record<string, unknown>,
    store: DynaliteStore = this.store,
  ): Promise<Record<string, unknown>> {
    const { run } = dynaliteAction(operation);
    return new Promise((resolve, reject) => {
      try {
        run(store, data, (err, out) => (err ? reject(toAwsError(err)) : resolve(out ?? {})));
      } catch (err) {
        reject(toAwsError(err));
      }
    });
  }

  private async runReturningOldItem(
    operation: 'PutItem' | 'UpdateItem' | 'DeleteItem',
    input: Record<string, unknown>,
  ): Promise<unknown> {
    const data = this.validate(operation, input);
    try {
      return await this.run(operation, data);
    } catch (err) {
      if (!(err instanceof AwsServiceError) || err.type !== 'ConditionalCheckFailedException') throw err;
      const table = await this.table(data['TableName'] as string);
      const keySource = (operation === 'PutItem' ? data['Item'] : data['Key']) as Item;
      const old = await this.readItem(table, dynaliteDb.createKey(keySource, table));
      if (old === undefined) throw err;
      throw new AwsServiceError(err.type, err.message, err.status, { Item: old });
    }
  }

  private table(name: string): Promise<TableDescription> {
    return new Promise((resolve, reject) => {
      this.store.getTable(name, (err, table) => (err || !table ? reject(toAwsError(err)) : resolve(table)));
    });
  }

  private readItem(table: TableDescription, key: string): Promise<Item | undefined> {
    return new Promise((resolve, reject) => {
      this.store.getItemDb(table.TableName).get(key, (err, item) => {
        if (err && err.name !== 'NotFoundError') reject(err);
        else resolve(err ? undefined : (item ?? undefined));
      });
    });
  }

  /** Parses and validates every entry of a transaction, the way DynamoDB refuses a malformed one: as a whole. */
  private async parseTransaction(
    input: Record<string, unknown>,
    allowed: readonly string[],
  ): Promise<ParsedTransactItem[]> {
    const items = input['TransactItems'];
    if (!Array.isArray(items)) {
      throw validationError(
        "1 validation error detected: Value null at 'transactItems' failed to satisfy constraint: Member must not be null",
      );
    }
    if (items.length < 1 || items.length > MAX_TRANSACTION_ITEMS) {
      const bound = items.length < 1 ? 'greater than or equal to 1' : `less than or equal to ${MAX_TRANSACTION_ITEMS}`;
      throw validationError(
        `1 validation error detected: Value at 'transactItems' failed to satisfy constraint: Member must have length ${bound}`,
      );
    }
    const parsed = [];
    const seen = new Set<string>();
    for (const [index, entry] of items.entries()) {
      const present = allowed.filter((k) => entry && typeof entry === 'object' && (entry as Record<string, unknown>)[k] != null);
      if (present.length !== 1) {
        throw validationError(
          allowed.length === 1
            ? `TransactItems[${index}] must contain ${allowed[0]}`
            : 'TransactItems can only contain one of Check, Put, Update or Delete',
        );
      }
      const kind = present[0] as string;
      const raw = { ...((entry as Record<string, Record<string, unknown>>)[kind] as Record<string, unknown>) };
      const member = `transactItems.${index + 1}.member.${lowerFirst(kind)}`;
      if (kind === 'ConditionCheck' && typeof raw['ConditionExpression'] !== 'string') {
        throw validationError(
          `1 validation error detected: Value null at '${member}.conditionExpression' failed to satisfy constraint: Member must not be null`,
        );
      }
      if (kind === 'Update' && typeof raw['UpdateExpression'] !== 'string') {
        throw validationError(
          `1 validation error detected: Value null at '${member}.updateExpression' failed to satisfy constraint: Member must not be null`,
        );
      }
      const onFailure = raw['ReturnValuesOnConditionCheckFailure'];
      if (onFailure !== undefined && onFailure !== 'ALL_OLD' && onFailure !== 'NONE') {
        throw validationError(
          `1 validation error detected: Value '${String(onFailure)}' at '${member}.returnValuesOnConditionCheckFailure' failed to satisfy constraint: Member must satisfy enum value set: [ALL_OLD, NONE]`,
        );
      }
      delete raw['ReturnValuesOnConditionCheckFailure'];
      const operation = kind === 'Get' ? 'GetItem' : ACTION_OF[kind as TransactKind];
      const data = this.validate(operation, raw);
      const table = await this.table(data['TableName'] as string);
      const invalid =
        kind === 'Put'
          ? dynaliteDb.validateItem(data['Item'] as Item, table)
          : dynaliteDb.validateKey(data['Key'] as Item, table);
      if (invalid) throw toAwsError(invalid);
      const key = dynaliteDb.createKey((kind === 'Put' ? data['Item'] : data['Key']) as Item, table);
      const identity = `${table.TableName}\u0000${key}`;
      if (seen.has(identity)) throw validationError('Transaction request cannot include multiple operations on one item');
      seen.add(identity);
      parsed.push({ kind, data, table, key, returnOldOnFailure: onFailure === 'ALL_OLD' });
    }
    return parsed;
  }

  private async transactWrite(input: Record<string, unknown>): Promise<unknown> {
    const parsed = await this.parseTransaction(input, TRANSACT_KINDS);
    const ops: TransactOp[] = parsed.map((p) => ({
      kind: p.kind as TransactKind,
      data: p.data,
      table: p.table,
      key: p.key,
      keyAttributes: keyAttributesOf((p.kind === 'Put' ? p.data['Item'] : p.data['Key']) as Item, p.table),
      returnOldOnFailure: p.returnOldOnFailure,
    }));

    const token = input['ClientRequestToken'];
    const requestHash = createHash('sha256').update(JSON.stringify(input['TransactItems'])).digest('hex');
    if (typeof token === 'string') {
      const previous = await this.clientToken(token);
      if (previous) {
        if (previous.hash !== requestHash) {
          throw new AwsServiceError(
            'IdempotentParameterMismatchException',
            'The request uses the same client token as a previous, but non-identical request.',
          );
        }
        return consumedCapacity(input, ops); // already committed: succeed without writing again
      }
    }

    const olds = await Promise.all(ops.map((op) => this.readItem(op.table, op.key)));
    const reasons: CancellationReason[] = ops.map((op, i) => {
      const failed = dynaliteDb.checkConditional(op.data, olds[i]);
      if (!failed) return { Code: 'None' };
      const old = olds[i];
      return {
        Code: 'ConditionalCheckFailed',
        Message: 'The conditional request failed',
        ...(op.returnOldOnFailure && old !== undefined ? { Item: old } : {}),
      };
    });
    if (reasons.some((r) => r.Code !== 'None')) throw transactionCanceled(reasons);

    // dynalite's actions compute each new item and its index entries; nothing reaches the disk until the batch.
    // Every item of a transaction is a different item, so each action reads its own item's committed state.
    const writes: BatchOperation[] = [];
    const capture = capturingStore(this.store, writes);
    for (const [i, op] of ops.entries()) {
      if (op.kind === 'ConditionCheck') continue;
      try {
        await this.run(ACTION_OF[op.kind], withoutCondition(op.data), capture);
      } catch (err) {
        if (err instanceof AwsServiceError && err.type === 'ValidationException') {
          throw transactionCanceled(
            ops.map((_, j) => (j === i ? { Code: 'ValidationError', Message: err.message } : { Code: 'None' })),
          );
        }
        throw err;
      }
    }
    if (typeof token === 'string') {
      const record: ClientTokenRecord = { hash: requestHash, expiresAt: Date.now() + CLIENT_TOKEN_TTL_MS };
      writes.push({ type: 'put', key: CLIENT_TOKEN_PREFIX + token, value: record });
    }
    await this.store.db.batch(writes);
    return consumedCapacity(input, ops);
  }

  /** The unexpired record of a ClientRequestToken (expired ones are treated as never seen, as on DynamoDB). */
  private async clientToken(token: string): Promise<ClientTokenRecord | undefined> {
    const value = (await this.store.db.get(CLIENT_TOKEN_PREFIX + token)) as ClientTokenRecord | undefined;
    return value !== undefined && value !== null && value.expiresAt > Date.now() ? value : undefined;
  }

  /** Drops expired client tokens (at start, so the store does not grow with every transaction ever made). */
  async pruneClientTokens(): Promise<void> {
    const expired: BatchOperation[] = [];
    const now = Date.now();
    const iterator = this.store.db.iterator({ gte: CLIENT_TOKEN_PREFIX, lt: `${CLIENT_TOKEN_PREFIX}\xff` });
    try {
      for await (const [key, value] of iterator) {
        const expiresAt = (value as ClientTokenRecord | undefined)?.expiresAt;
        if (typeof expiresAt !== 'number' || expiresAt <= now) expired.push({ type: 'del', key });
      }
    } finally {
      await iterator.close();
    }
    if (expired.length > 0) await this.store.db.batch(expired);
  }

  private async transactGet(input: Record<string, unknown>): Promise<unknown> {
    const parsed = await this.parseTransaction(input, ['Get']);
    const responses = [];
    for (const p of parsed) {
      const out = await this.run('GetItem', p.data);
      responses.push(out['Item'] === undefined ? {} : { Item: out['Item'] });
    }
    return { Responses: responses };
  }
}

/** What a ClientRequestToken committed: the request's hash, and until when a repeat is answered from it. */
interface ClientTokenRecord {
  readonly hash: string;
  readonly expiresAt: number;
}

/**
 * The store as dynalite's actions see it, except that item and index writes are appended to `writes` (as LevelDB
 * batch operations under dynalite's own keys) instead of being applied. Reads, table lookups and item locks are
 * the real store's.
 */
function capturingStore(store: DynaliteStore, writes: BatchOperation[]): DynaliteStore {
  const capture = (prefix: string) => ({
    put(key: string, value: unknown, cb: Callback<void>) {
      writes.push({ type: 'put', key: prefix + key, value });
      setImmediate(cb, null);
    },
    del(key: string, cb: Callback<void>) {
      writes.push({ type: 'del', key: prefix + key });
      setImmediate(cb, null);
    },
  });
  return {
    ...store,
    getItemDb(name) {
      const real = store.getItemDb(name);
      return { get: (key, cb) => real.get(key, cb), lock: real.lock, ...capture(itemPrefix(name)) };
    },
    getIndexDb(indexType, tableName, indexName) {
      return capture(indexPrefix(indexType, tableName, indexName));
    },
  };
}

function isSingleWrite(operation: DynaliteOperation): operation is 'PutItem' | 'UpdateItem' | 'DeleteItem' {
  return operation === 'PutItem' || operation === 'UpdateItem' || operation === 'DeleteItem';
}

function keyAttributesOf(itemOrKey: Item, table: TableDescription): Item {
  const key: Item = {};
  for (const { AttributeName } of table.KeySchema) {
    const value = itemOrKey[AttributeName];
    if (value !== undefined) key[AttributeName] = value;
  }
  return key;
}

/** The conditions were already checked for the whole transaction; the apply step must not check them again. */
function withoutCondition(data: Record<string, unknown>): Record<string, unknown> {
  const { _condition, ConditionExpression, Expected, ConditionalOperator, ...rest } = data;
  void _condition;
  void ConditionExpression;
  void Expected;
  void ConditionalOperator;
  return rest;
}

function transactionCanceled(reasons: CancellationReason[]): AwsServiceError {
  return new AwsServiceError(
    'TransactionCanceledException',
    `Transaction cancelled, please refer cancellation reasons for specific reasons [${reasons.map((r) => r.Code).join(', ')}]`,
    400,
    { CancellationReasons: reasons },
  );
}

/** Transactional writes cost 2 write units per KB of each item (DynamoDB pricing model), reported per table. */
function consumedCapacity(input: Record<string, unknown>, ops: TransactOp[]): Record<string, unknown> {
  const mode = input['ReturnConsumedCapacity'];
  if (mode !== 'TOTAL' && mode !== 'INDEXES') return {};
  const perTable = new Map<string, number>();
  for (const op of ops) {
    const item = (op.kind === 'Put' ? op.data['Item'] : op.keyAttributes) as Item;
    const units = 2 * Math.max(1, Math.ceil(dynaliteDb.itemSize(item) / 1024));
    perTable.set(op.table.TableName, (perTable.get(op.table.TableName) ?? 0) + units);
  }
  return {
    ConsumedCapacity: [...perTable].map(([TableName, units]) => ({
      TableName,
      CapacityUnits: units,
      WriteCapacityUnits: units,
      ...(mode === 'INDEXES' ? { Table: { CapacityUnits: units, WriteCapacityUnits: units } } : {}),
    })),
  };
}

/**
 * Creates a table unless it exists (ResourceInUseException counts as done), then waits until it is ACTIVE.
 * Works against the in-process store or any DynamoDB endpoint through the SDK client.
 * @returns whether this call created the table.
 */
export async function ensureTable(
  target: LocalDynamoDb | DynamoDBClient,
  input: CreateTableCommandInput,
  options: { timeoutMs?: number } = {},
): Promise<{ created: boolean }> {
  const call = async (action: 'CreateTable' | 'DescribeTable', body: Record<string, unknown>) => {
    if (target instanceof DynamoDBClient) {
      return action === 'CreateTable'
        ? target.send(new CreateTableCommand(body as unknown as CreateTableCommandInput))
        : target.send(new DescribeTableCommand({ TableName: body['TableName'] as string }));
    }
    return target.service.handle(action, structuredClone(body), {
      region: LOCAL_REGION,
      accountId: LOCAL_ACCOUNT_ID,
    }) as Promise<{ Table?: { TableStatus?: string }; TableDescription?: unknown }>;
  };
  let created = true;
  try {
    await call('CreateTable', input as unknown as Record<string, unknown>);
  } catch (err) {
    const name = err instanceof AwsServiceError ? err.type : (err as { name?: string }).name;
    if (name !== 'ResourceInUseException') throw err;
    created = false;
  }
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  for (;;) {
    try {
      const out = (await call('DescribeTable', { TableName: input.TableName })) as { Table?: { TableStatus?: string } };
      if (out.Table?.TableStatus === 'ACTIVE') return { created };
    } catch (err) {
      const name = err instanceof AwsServiceError ? err.type : (err as { name?: string }).name;
      if (name !== 'ResourceNotFoundException') throw err;
    }
    if (Date.now() > deadline) throw new Error(`Table ${input.TableName} did not become ACTIVE in time`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
