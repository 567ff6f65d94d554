/**
 * Local EventBridge (AWS JSON 1.1, target prefix `AWSEvents`): event buses, rules with event patterns, targets,
 * archives, PutEvents and TestEventPattern, faithful to the EventBridge API reference where the local stack
 * touches it. Definitions persist in `<dataDir>/eventbridge/state.json`; archived events are appended to
 * `<dataDir>/events.jsonl` (one event envelope per line, fsynced); a CloudWatch Logs target appends to
 * `<dataDir>/logs/<log-group-name>.jsonl`; a Lambda target is invoked in process, asynchronously.
 *
 * Deliberate differences from AWS, each loud rather than silent:
 * - Only Lambda function and CloudWatch Logs log group targets are supported; PutTargets reports any other
 *   target (or an InputTransformer) as a failed entry instead of accepting something it cannot deliver.
 * - Schedule expressions are refused (nothing here would fire them).
 * - All archives share the one archive file (an event is written once even if several archives match).
 * Where AWS itself is silent, so is this emulation, but it warns: PutEvents to a bus that does not exist
 * succeeds and the event goes nowhere (verified AWS behaviour), unless `strictEventBus` is set.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ARCHIVE_FILE } from '../../datadir';
import { writeFileAtomic } from '../../files';
import { AwsServiceError, type AwsJsonService } from '../types';
import { LineAppender } from './files';
import { compileEventPattern, InvalidEventPatternError, type CompiledEventPattern } from './pattern';

export const EVENTS_TARGET_PREFIX = 'AWSEvents';
export const DEFAULT_EVENT_BUS = 'default';
/** PutEvents limits (API reference / quotas): entries per request and total entry size. */
export const MAX_PUT_EVENTS_ENTRIES = 10;
export const MAX_PUT_EVENTS_BYTES = 256 * 1024;
/** Targets per rule (EventBridge quota). */
export const MAX_TARGETS_PER_RULE = 5;

/** The event envelope EventBridge delivers to targets and archives. */
export interface EventEnvelope {
  readonly version: '0';
  readonly id: string;
  readonly 'detail-type': string;
  readonly source: string;
  readonly account: string;
  readonly time: string;
  readonly region: string;
  readonly resources: readonly string[];
  readonly detail: Record<string, unknown>;
}

export interface PublishedEvent {
  readonly eventBusName: string;
  readonly event: EventEnvelope;
}

/** What a Lambda target needs: lambda.ts's LocalLambda satisfies it. */
export interface LambdaInvoker {
  invoke(nameOrArn: string, payload: unknown): Promise<{ payload: unknown } | { error: { errorType: string; errorMessage: string } }>;
}

export interface LocalEventBridgeOptions {
  readonly dataDir: string;
  readonly region: string;
  readonly accountId: string;
  /** Runs Lambda targets. Without it, PutTargets refuses Lambda targets. */
  readonly lambda?: LambdaInvoker;
  /** Fail PutEvents entries for a bus that does not exist instead of dropping them as AWS does. @default false */
  readonly strictEventBus?: boolean;
  /**
   * Delays before retrying a Lambda target whose invocation failed. Asynchronous Lambda invocations retry a
   * failed function twice (after about 1 and 2 minutes); the local default keeps the count, not the wait.
   * @default [1000, 2000]
   */
  readonly lambdaRetryDelaysMs?: readonly number[];
  /** Where delivery problems are reported. @default console.warn */
  readonly warn?: (message: string) => void;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

export interface LocalEventBridge {
  readonly service: AwsJsonService;
  /** Path of the archive file (`<dataDir>/events.jsonl`). */
  readonly archivePath: string;
  /** Calls `listener` for every event accepted onto an existing bus; returns the unsubscribe function. */
  onEvent(listener: (published: PublishedEvent) => void): () => void;
  /** Resolves when every delivery started so far (and any retry it scheduled) has finished. */
  whenIdle(): Promise<void>;
  close(): Promise<void>;
}

interface BusRecord {
  name: string;
  description?: string;
  creationTime: number;
  lastModifiedTime: number;
}

interface TargetRecord {
  Id: string;
  Arn: string;
  Input?: string;
  InputPath?: string;
  RoleArn?: string;
}

interface RuleRecord {
  name: string;
  busName: string;
  eventPattern?: string;
  state: string;
  description?: string;
  roleArn?: string;
  createdBy: string;
  targets: TargetRecord[];
}

interface ArchiveRecord {
  name: string;
  busName: string;
  description?: string;
  eventPattern?: string;
  retentionDays: number;
  creationTime: number;
  eventCount: number;
  sizeBytes: number;
}

interface PersistedState {
  readonly version: 1;
  readonly buses: BusRecord[];
  readonly rules: RuleRecord[];
  readonly archives: ArchiveRecord[];
}

const RULE_STATES = new Set(['ENABLED', 'DISABLED', 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS']);
const NAME_PATTERN = /^[.\-_A-Za-z0-9]+$/;

export async function createLocalEventBridge(options: LocalEventBridgeOptions): Promise<LocalEventBridge> {
  const bridge = new EventBridgeEmulator(options);
  await bridge.load();
  return bridge;
}

class EventBridgeEmulator implements LocalEventBridge {
  readonly service: AwsJsonService;
  readonly archivePath: string;
  private readonly statePath: string;
  private readonly logsDir: string;
  private readonly files = new LineAppender();
  private readonly buses = new Map<string, BusRecord>();
  /** Keyed by `<bus>\u0000<rule>`. */
  private readonly rules = new Map<string, RuleRecord>();
  private readonly archives = new Map<string, ArchiveRecord>();
  private readonly patterns = new Map<string, CompiledEventPattern>();
  private readonly listeners = new Set<(published: PublishedEvent) => void>();
  private readonly pending = new Set<Promise<void>>();
  private saving: Promise<void> = Promise.resolve();
  private saveTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly warn: (message: string) => void;
  private readonly now: () => Date;

  constructor(private readonly options: LocalEventBridgeOptions) {
    this.archivePath = join(options.dataDir, ARCHIVE_FILE);
    this.statePath = join(options.dataDir, 'eventbridge', 'state.json');
    this.logsDir = join(options.dataDir, 'logs');
    this.warn = options.warn ?? ((m) => console.warn(`[eventbridge] ${m}`));
    this.now = options.now ?? (() => new Date());
    this.service = {
      targetPrefix: EVENTS_TARGET_PREFIX,
      jsonVersion: '1.1',
      handle: (action, input) => this.handle(action, input),
    };
  }

  // ---- lifecycle -------------------------------------------------------------------------------------------

  async load(): Promise<void> {
    let state: PersistedState | undefined;
    try {
      state = JSON.parse(await readFile(this.statePath, 'utf8')) as PersistedState;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new Error(`Cannot read the local EventBridge state at ${this.statePath}`, { cause: err });
      }
    }
    const created = this.now().getTime();
    this.buses.set(DEFAULT_EVENT_BUS, { name: DEFAULT_EVENT_BUS, creationTime: created, lastModifiedTime: created });
    for (const bus of state?.buses ?? []) this.buses.set(bus.name, bus);
    for (const rule of state?.rules ?? []) {
      this.rules.set(ruleKey(rule.busName, rule.name), rule);
      if (rule.eventPattern !== undefined) this.patterns.set(`rule\u0000${ruleKey(rule.busName, rule.name)}`, compileEventPattern(rule.eventPattern));
    }
    for (const archive of state?.archives ?? []) {
      this.archives.set(archive.name, archive);
      if (archive.eventPattern !== undefined) this.patterns.set(`archive\u0000${archive.name}`, compileEventPattern(archive.eventPattern));
    }
  }

  onEvent(listener: (published: PublishedEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async whenIdle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.whenIdle();
    clearTimeout(this.saveTimer);
    await this.save();
    await this.files.close();
  }

  private save(): Promise<void> {
    clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    const state: PersistedState = {
      version: 1,
      buses: [...this.buses.values()].filter((b) => b.name !== DEFAULT_EVENT_BUS),
      rules: [...this.rules.values()],
      archives: [...this.archives.values()],
    };
    const text = `${JSON.stringify(state, null, 2)}\n`;
    this.saving = this.saving
      .catch(() => undefined)
      .then(async () => {
        await mkdir(dirname(this.statePath), { recursive: true });
        await writeFileAtomic(this.statePath, text, { fsync: true });
      });
    return this.saving;
  }

  /** Archive counters change with every event; they are saved a moment later rather than once per event. */
  private saveSoon(): void {
    if (this.saveTimer !== undefined || this.closed) return;
    this.saveTimer = setTimeout(() => {
      this.saveTimer = undefined;
      this.save().catch((err: unknown) => this.warn(`saving state failed: ${String(err)}`));
    }, 200);
    this.saveTimer.unref();
  }

  // ---- dispatch --------------------------------------------------------------------------------------------

  private async handle(action: string, input: Record<string, unknown>): Promise<unknown> {
    if (this.closed) throw new AwsServiceError('InternalException', 'The local EventBridge is shutting down', 500);
    switch (action) {
      case 'CreateEventBus':
        return this.createEventBus(input);
      case 'DescribeEventBus':
        return this.describeEventBus(input);
      case 'ListEventBuses':
        return this.listEventBuses(input);
      case 'PutEvents':
        return this.putEvents(input);
      case 'PutRule':
        return this.putRule(input);
      case 'DescribeRule':
        return this.describeRule(input);
      case 'ListRules':
        return this.listRules(input);
      case 'DeleteRule':
        return this.deleteRule(input);
      case 'PutTargets':
        return this.putTargets(input);
      case 'ListTargetsByRule':
        return this.listTargetsByRule(input);
      case 'RemoveTargets':
        return this.removeTargets(input);
      case 'CreateArchive':
        return this.createArchive(input);
      case 'DescribeArchive':
        return this.describeArchive(input);
      case 'ListArchives':
        return this.listArchives(input);
      case 'TestEventPattern':
        return this.testEventPattern(input);
      default:
        throw new AwsServiceError('UnknownOperationException', `The local EventBridge does not implement ${action}`);
    }
  }

  // ---- ARNs and lookups ------------------------------------------------------------------------------------

  private arn(resource: string): string {
    return `arn:aws:events:${this.options.region}:${this.options.accountId}:${resource}`;
  }

  private busArn(name: string): string {
    return this.arn(`event-bus/${name}`);
  }

  private ruleArn(rule: RuleRecord): string {
    return this.arn(rule.busName === DEFAULT_EVENT_BUS ? `rule/${rule.name}` : `rule/${rule.busName}/${rule.name}`);
  }

  /** EventBusName parameters take a name or an ARN. */
  private busNameOf(value: unknown): string {
    if (value === undefined || value === null || value === '') return DEFAULT_EVENT_BUS;
    if (typeof value !== 'string') throw validation('EventBusName must be a string');
    const arnPrefix = this.arn('event-bus/');
    if (value.startsWith('arn:')) return value.startsWith(arnPrefix) ? value.slice(arnPrefix.length) : value;
    return value;
  }

  private existingBus(value: unknown): BusRecord {
    const name = this.busNameOf(value);
    const bus = this.buses.get(name);
    if (!bus) throw new AwsServiceError('ResourceNotFoundException', `Event bus ${name} does not exist.`);
    return bus;
  }

  private existingRule(input: Record<string, unknown>, nameField: 'Name' | 'Rule'): RuleRecord {
    const bus = this.existingBus(input['EventBusName']);
    const name = requiredString(input, nameField);
    const rule = this.rules.get(ruleKey(bus.name, name));
    if (!rule) throw new AwsServiceError('ResourceNotFoundException', `Rule ${name} does not exist on EventBus ${bus.name}.`);
    return rule;
  }

  // ---- event buses -----------------------------------------------------------------------------------------

  private async createEventBus(input: Record<string, unknown>) {
    const name = requiredString(input, 'Name');
    if (name.length > 256 || !/^[/.\-_A-Za-z0-9]+$/.test(name)) {
      throw validation(
        `1 validation error detected: Value '${name}' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [/\\.\\-_A-Za-z0-9]+`,
      );
    }
    if (name.includes('/')) throw validation('Event bus name must not contain \'/\'.');
    if (this.buses.has(name)) throw new AwsServiceError('ResourceAlreadyExistsException', `Event bus ${name} already exists.`);
    const now = this.now().getTime();
    const description = optionalString(input, 'Description');
    this.buses.set(name, { name, ...(description === undefined ? {} : { description }), creationTime: now, lastModifiedTime: now });
    await this.save();
    return { EventBusArn: this.busArn(name), ...(description === undefined ? {} : { Description: description }) };
  }

  private describeEventBus(input: Record<string, unknown>) {
    const bus = this.existingBus(input['Name']);
    return this.busView(bus);
  }

  private busView(bus: BusRecord) {
    return {
      Name: bus.name,
      Arn: this.busArn(bus.name),
      ...(bus.description === undefined ? {} : { Description: bus.description }),
      CreationTime: bus.creationTime / 1000,
      LastModifiedTime: bus.lastModifiedTime / 1000,
    };
  }

  private listEventBuses(input: Record<string, unknown>) {
    const prefix = optionalString(input, 'NamePrefix') ?? '';
    const all = [...this.buses.values()].filter((b) => b.name.startsWith(prefix)).sort(byName);
    const page = paginate(all, input);
    return { EventBuses: page.items.map((b) => this.busView(b)), ...page.next };
  }

  // ---- PutEvents -------------------------------------------------------------------------------------------

  private async putEvents(input: Record<string, unknown>) {
    const entries = input['Entries'];
    if (!Array.isArray(entries) || entries.length < 1 || entries.length > MAX_PUT_EVENTS_ENTRIES) {
      throw validation(
        `1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length ${
          Array.isArray(entries) && entries.length > 0 ? `less than or equal to ${MAX_PUT_EVENTS_ENTRIES}` : 'greater than or equal to 1'
        }`,
      );
    }
    const total = entries.reduce<number>((sum, e) => sum + entrySize(e), 0);
    if (total > MAX_PUT_EVENTS_BYTES) throw validation('Total size of the entries in the request is over the limit.');

    const results: Array<Record<string, string>> = [];
    const accepted: PublishedEvent[] = [];
    for (const entry of entries as unknown[]) {
      const outcome = this.acceptEntry(entry);
      if ('error' in outcome) {
        results.push({ ErrorCode: outcome.error[0], ErrorMessage: outcome.error[1] });
      } else {
        results.push({ EventId: outcome.event.id });
        if (outcome.busExists) accepted.push({ eventBusName: outcome.busName, event: outcome.event });
      }
    }
    // Archived before the call returns, so whoever reads the archive next sees the event.
    for (const published of accepted) await this.archive(published);
    for (const published of accepted) this.route(published);
    return { FailedEntryCount: results.filter((r) => r['ErrorCode'] !== undefined).length, Entries: results };
  }

  private acceptEntry(
    raw: unknown,
  ): { error: [string, string] } | { event: EventEnvelope; busName: string; busExists: boolean } {
    const entry = (raw !== null && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
    const required = (field: string) => {
      const value = entry[field];
      return typeof value === 'string' && value.length > 0 ? value : undefined;
    };
    const source = required('Source');
    if (source === undefined) return invalidArgument('Source');
    const detailType = required('DetailType');
    if (detailType === undefined) return invalidArgument('DetailType');
    const detailText = required('Detail');
    if (detailText === undefined) return invalidArgument('Detail');
    let detail: unknown;
    try {
      detail = JSON.parse(detailText);
    } catch {
      detail = undefined;
    }
    if (detail === null || typeof detail !== 'object' || Array.isArray(detail)) {
      return { error: ['MalformedDetail', 'Detail is malformed.'] };
    }
    if (source.startsWith('aws.')) {
      return { error: ['NotAuthorizedForSourceException', 'Not authorized for the source.'] };
    }
    const resources = entry['Resources'];
    if (resources !== undefined && (!Array.isArray(resources) || !resources.every((r) => typeof r === 'string'))) {
      return { error: ['InvalidArgument', 'Parameter Resources is not valid. Reason: Resources must be a list of strings.'] };
    }
    const time = eventTime(entry['Time'], this.now());
    if (time === undefined) return { error: ['InvalidArgument', 'Parameter Time is not valid.'] };
    const busName = this.busNameOf(entry['EventBusName']);
    const busExists = this.buses.has(busName);
    if (!busExists) {
      if (this.options.strictEventBus) return { error: ['InvalidArgument', `Event bus ${busName} does not exist.`] };
      this.warn(`PutEvents to event bus ${busName}, which does not exist: accepted and dropped, as AWS does`);
    }
    const event: EventEnvelope = {
      version: '0',
      id: randomUUID(),
      'detail-type': detailType,
      source,
      account: this.options.accountId,
      time,
      region: this.options.region,
      resources: (resources as string[] | undefined) ?? [],
      detail: detail as Record<string, unknown>,
    };
    return { event, busName, busExists };
  }

  private async archive(published: PublishedEvent): Promise<void> {
    const matching = [...this.archives.values()].filter(
      (a) => a.busName === published.eventBusName && this.matches(`archive\u0000${a.name}`, published.event),
    );
    if (matching.length === 0) return;
    const line = JSON.stringify(published.event);
    await this.files.append(this.archivePath, line);
    for (const archive of matching) {
      archive.eventCount += 1;
      archive.sizeBytes += Buffer.byteLength(line);
    }
    this.saveSoon();
  }

  /** A rule or archive without a pattern matches every event on its bus. */
  private matches(patternKey: string, event: EventEnvelope): boolean {
    const pattern = this.patterns.get(patternKey);
    return pattern === undefined || pattern.matches(event);
  }

  private route(published: PublishedEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(published);
      } catch (err) {
        this.warn(`an onEvent listener threw: ${String(err)}`);
      }
    }
    for (const rule of this.rules.values()) {
      if (rule.busName !== published.eventBusName || rule.state === 'DISABLED') continue;
      if (!this.matches(`rule\u0000${ruleKey(rule.busName, rule.name)}`, published.event)) continue;
      for (const target of rule.targets) this.track(this.deliver(rule, target, published.event));
    }
  }

  private track(delivery: Promise<void>): void {
    const tracked = delivery.catch((err: unknown) => this.warn(`delivery failed: ${String(err)}`));
    this.pending.add(tracked);
    void tracked.finally(() => this.pending.delete(tracked));
  }

  private async deliver(rule: RuleRecord, target: TargetRecord, event: EventEnvelope): Promise<void> {
    const payload = targetInput(target, event);
    const what = `rule ${rule.name} target ${target.Id}`;
    if (target.Arn.startsWith('arn:aws:logs:')) {
      await this.files.append(this.logPath(target.Arn), JSON.stringify(payload));
      return;
    }
    const lambda = this.options.lambda;
    if (!lambda) return; // PutTargets refuses Lambda targets without a Lambda service; unreachable
    const delays = this.options.lambdaRetryDelaysMs ?? [1000, 2000];
    for (let attempt = 0; ; attempt += 1) {
      let failure: string;
      try {
        const result = await lambda.invoke(target.Arn, payload);
        if (!('error' in result)) return;
        failure = `${result.error.errorType}: ${result.error.errorMessage}`;
      } catch (err) {
        failure = String(err);
      }
      const delay = delays[attempt];
      if (delay === undefined) {
        this.warn(`${what}: Lambda ${target.Arn} failed after ${attempt + 1} attempt(s), event ${event.id} dropped (${failure})`);
        return;
      }
      await new Promise((r) => setTimeout(r, delay));
    }
  }

  /** `<dataDir>/logs/<log-group-name>.jsonl`; the name's `/` become directories, never climbing out of logs/. */
  private logPath(arn: string): string {
    const name = logGroupName(arn) ?? 'unknown';
    const segments = name
      .split('/')
      .filter((s) => s !== '')
      .map((s) => (s === '.' || s === '..' ? encodeURIComponent(s).replaceAll('.', '%2E') : s));
    return `${join(this.logsDir, ...(segments.length > 0 ? segments : ['unknown']))}.jsonl`;
  }

  // ---- rules -----------------------------------------------------------------------------------------------

  private async putRule(input: Record<string, unknown>) {
    const name = requiredString(input, 'Name');
    checkName(name, 'name', 64);
    const bus = this.existingBus(input['EventBusName']);
    if (input['ScheduleExpression'] !== undefined) {
      throw validation('ScheduleExpression is not supported by the local EventBridge emulation (nothing would fire it)');
    }
    const eventPattern = optionalString(input, 'EventPattern');
    if (eventPattern === undefined) throw validation('Parameter(s) EventPattern or ScheduleExpression must be specified.');
    if (eventPattern.length > 4096) throw validation('EventPattern must be at most 4096 characters');
    const compiled = compilePatternOrThrow(eventPattern);
    const state = optionalString(input, 'State') ?? 'ENABLED';
    if (!RULE_STATES.has(state)) throw validation(`Invalid State: ${state}`);
    const key = ruleKey(bus.name, name);
    const existing = this.rules.get(key);
    const description = optionalString(input, 'Description');
    const roleArn = optionalString(input, 'RoleArn');
    const rule: RuleRecord = {
      name,
      busName: bus.name,
      eventPattern,
      state,
      ...(description === undefined ? {} : { description }),
      ...(roleArn === undefined ? {} : { roleArn }),
      createdBy: this.options.accountId,
      targets: existing?.targets ?? [],
    };
    this.rules.set(key, rule);
    this.patterns.set(`rule\u0000${key}`, compiled);
    await this.save();
    return { RuleArn: this.ruleArn(rule) };
  }

  private ruleView(rule: RuleRecord) {
    return {
      Name: rule.name,
      Arn: this.ruleArn(rule),
      ...(rule.eventPattern === undefined ? {} : { EventPattern: rule.eventPattern }),
      State: rule.state,
      ...(rule.description === undefined ? {} : { Description: rule.description }),
      ...(rule.roleArn === undefined ? {} : { RoleArn: rule.roleArn }),
      EventBusName: rule.busName,
    };
  }

  private describeRule(input: Record<string, unknown>) {
    const rule = this.existingRule(input, 'Name');
    return { ...this.ruleView(rule), CreatedBy: rule.createdBy };
  }

  private listRules(input: Record<string, unknown>) {
    const bus = this.existingBus(input['EventBusName']);
    const prefix = optionalString(input, 'NamePrefix') ?? '';
    const all = [...this.rules.values()]
      .filter((r) => r.busName === bus.name && r.name.startsWith(prefix))
      .sort(byName);
    const page = paginate(all, input);
    return { Rules: page.items.map((r) => this.ruleView(r)), ...page.next };
  }

  private async deleteRule(input: Record<string, unknown>) {
    const bus = this.existingBus(input['EventBusName']);
    const name = requiredString(input, 'Name');
    const key = ruleKey(bus.name, name);
    const rule = this.rules.get(key);
    if (!rule) return {}; // deleting a rule that does not exist succeeds, as in AWS
    if (rule.targets.length > 0) throw validation("Rule can't be deleted since it has targets.");
    this.rules.delete(key);
    this.patterns.delete(`rule\u0000${key}`);
    await this.save();
    return {};
  }

  // ---- targets ---------------------------------------------------------------------------------------------

  private async putTargets(input: Record<string, unknown>) {
    const rule = this.existingRule(input, 'Rule');
    const targets = input['Targets'];
    if (!Array.isArray(targets) || targets.length < 1 || targets.length > 10) {
      throw validation("1 validation error detected: Value at 'targets' failed to satisfy constraint: Member must have length between 1 and 10");
    }
    targets.forEach((t, i) => {
      const id = (t as Record<string, unknown> | null)?.['Id'];
      if (typeof id !== 'string' || id.length < 1 || id.length > 64 || !NAME_PATTERN.test(id)) {
        const constraint =
          typeof id === 'string' && id.length > 64
            ? 'Member must have length less than or equal to 64'
            : 'Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+';
        throw validation(
          `1 validation error detected: Value '${String(id)}' at 'targets.${i + 1}.member.id' failed to satisfy constraint: ${constraint}`,
        );
      }
    });
    const failed: Array<{ TargetId: string; ErrorCode: string; ErrorMessage: string }> = [];
    const next = [...rule.targets];
    for (const raw of targets as Array<Record<string, unknown>>) {
      const id = raw['Id'] as string;
      const problem = this.targetProblem(raw);
      if (problem) {
        failed.push({ TargetId: id, ErrorCode: 'ValidationException', ErrorMessage: problem });
        continue;
      }
      const record: TargetRecord = { Id: id, Arn: raw['Arn'] as string };
      for (const field of ['Input', 'InputPath', 'RoleArn'] as const) {
        if (typeof raw[field] === 'string') record[field] = raw[field] as string;
      }
      const at = next.findIndex((t) => t.Id === id);
      if (at >= 0) next[at] = record;
      else next.push(record);
    }
    if (next.length > MAX_TARGETS_PER_RULE) {
      throw new AwsServiceError('LimitExceededException', 'The requested resource exceeds the maximum number allowed.');
    }
    rule.targets = next;
    await this.save();
    return { FailedEntryCount: failed.length, FailedEntries: failed };
  }

  private targetProblem(raw: Record<string, unknown>): string | undefined {
    const arn = raw['Arn'];
    if (typeof arn !== 'string' || arn.length === 0) return 'Target Arn is required';
    if (raw['InputTransformer'] !== undefined) return 'InputTransformer is not supported by the local EventBridge emulation';
    if (raw['Input'] !== undefined && raw['InputPath'] !== undefined) {
      return 'Only one of Input, InputPath, or InputTransformer may be specified';
    }
    if (typeof raw['Input'] === 'string') {
      try {
        JSON.parse(raw['Input']);
      } catch {
        return 'Input is not valid JSON';
      }
    }
    if (typeof raw['InputPath'] === 'string' && parseJsonPath(raw['InputPath']) === undefined) {
      return `InputPath ${raw['InputPath']} is not a supported JSONPath (use $, $.a.b, $.a[0], $['a'])`;
    }
    if (arn.startsWith('arn:aws:logs:')) {
      return logGroupName(arn) === undefined ? `Not a CloudWatch Logs log group ARN: ${arn}` : undefined;
    }
    if (arn.startsWith('arn:aws:lambda:')) {
      if (!this.options.lambda) return 'Lambda targets need the local Lambda service, which this EventBridge was started without';
      return undefined;
    }
    return `Target ${arn}: the local EventBridge delivers only to AWS Lambda functions and CloudWatch Logs log groups`;
  }

  private listTargetsByRule(input: Record<string, unknown>) {
    const rule = this.existingRule(input, 'Rule');
    const page = paginate(rule.targets, input);
    return { Targets: page.items.map((t) => ({ ...t })), ...page.next };
  }

  private async removeTargets(input: Record<string, unknown>) {
    const rule = this.existingRule(input, 'Rule');
    const ids = input['Ids'];
    if (!Array.isArray(ids) || ids.length < 1 || ids.length > 100 || !ids.every((i) => typeof i === 'string')) {
      throw validation("1 validation error detected: Value at 'ids' failed to satisfy constraint: Member must have length between 1 and 100");
    }
    rule.targets = rule.targets.filter((t) => !ids.includes(t.Id));
    await this.save();
    return { FailedEntryCount: 0, FailedEntries: [] };
  }

  // ---- archives --------------------------------------------------------------------------------------------

  private async createArchive(input: Record<string, unknown>) {
    const name = requiredString(input, 'ArchiveName');
    checkName(name, 'archiveName', 48);
    const sourceArn = requiredString(input, 'EventSourceArn');
    const busPrefix = this.arn('event-bus/');
    const busName = sourceArn.startsWith(busPrefix) ? sourceArn.slice(busPrefix.length) : sourceArn;
    if (!this.buses.has(busName)) throw new AwsServiceError('ResourceNotFoundException', `Event bus ${busName} does not exist.`);
    if (this.archives.has(name)) throw new AwsServiceError('ResourceAlreadyExistsException', `Archive ${name} already exists.`);
    const eventPattern = optionalString(input, 'EventPattern');
    const compiled = eventPattern === undefined ? undefined : compilePatternOrThrow(eventPattern);
    const retention = input['RetentionDays'];
    if (retention !== undefined && (!Number.isInteger(retention) || (retention as number) < 0)) {
      throw validation('RetentionDays must be a non-negative integer');
    }
    const description = optionalString(input, 'Description');
    const archive: ArchiveRecord = {
      name,
      busName,
      ...(description === undefined ? {} : { description }),
      ...(eventPattern === undefined ? {} : { eventPattern }),
      retentionDays: (retention as number | undefined) ?? 0,
      creationTime: this.now().getTime(),
      eventCount: 0,
      sizeBytes: 0,
    };
    this.archives.set(name, archive);
    if (compiled) this.patterns.set(`archive\u0000${name}`, compiled);
    await this.save();
    return { ArchiveArn: this.arn(`archive/${name}`), State: 'ENABLED', CreationTime: archive.creationTime / 1000 };
  }

  private archiveView(archive: ArchiveRecord) {
    return {
      ArchiveName: archive.name,
      EventSourceArn: this.busArn(archive.busName),
      State: 'ENABLED',
      RetentionDays: archive.retentionDays,
      SizeBytes: archive.sizeBytes,
      EventCount: archive.eventCount,
      CreationTime: archive.creationTime / 1000,
    };
  }

  private describeArchive(input: Record<string, unknown>) {
    const name = requiredString(input, 'ArchiveName');
    const archive = this.archives.get(name);
    if (!archive) throw new AwsServiceError('ResourceNotFoundException', `Archive ${name} does not exist.`);
    return {
      ArchiveArn: this.arn(`archive/${archive.name}`),
      ...this.archiveView(archive),
      ...(archive.description === undefined ? {} : { Description: archive.description }),
      ...(archive.eventPattern === undefined ? {} : { EventPattern: archive.eventPattern }),
    };
  }

  private listArchives(input: Record<string, unknown>) {
    const prefix = optionalString(input, 'NamePrefix') ?? '';
    const source = optionalString(input, 'EventSourceArn');
    const state = optionalString(input, 'State');
    const all = [...this.archives.values()]
      .filter(
        (a) =>
          a.name.startsWith(prefix) &&
          (source === undefined || this.busArn(a.busName) === source) &&
          (state === undefined || state === 'ENABLED'),
      )
      .sort(byName);
    const page = paginate(all, input);
    return { Archives: page.items.map((a) => this.archiveView(a)), ...page.next };
  }

  private testEventPattern(input: Record<string, unknown>) {
    const pattern = compilePatternOrThrow(requiredString(input, 'EventPattern'));
    let event: unknown;
    try {
      event = JSON.parse(requiredString(input, 'Event'));
    } catch (err) {
      if (err instanceof AwsServiceError) throw err;
      throw validation('Parameter Event is not valid.');
    }
    return { Result: pattern.matches(event) };
  }
}

// ---- helpers -------------------------------------------------------------------------------------------------

function ruleKey(busName: string, ruleName: string): string {
  return `${busName}\u0000${ruleName}`;
}

function byName(a: { name: string }, b: { name: string }): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

function validation(message: string): AwsServiceError {
  return new AwsServiceError('ValidationException', message);
}

function invalidArgument(field: string): { error: [string, string] } {
  return { error: ['InvalidArgument', `Parameter ${field} is not valid. Reason: ${field} is a required argument.`] };
}

function requiredString(input: Record<string, unknown>, field: string): string {
  const value = input[field];
  if (typeof value !== 'string' || value.length === 0) {
    throw validation(
      `1 validation error detected: Value null at '${field.charAt(0).toLowerCase()}${field.slice(1)}' failed to satisfy constraint: Member must not be null`,
    );
  }
  return value;
}

function optionalString(input: Record<string, unknown>, field: string): string | undefined {
  const value = input[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw validation(`${field} must be a string`);
  return value;
}

function checkName(name: string, member: string, max: number): void {
  if (name.length > max) {
    throw validation(
      `1 validation error detected: Value '${name}' at '${member}' failed to satisfy constraint: Member must have length less than or equal to ${max}`,
    );
  }
  if (!NAME_PATTERN.test(name)) {
    throw validation(
      `1 validation error detected: Value '${name}' at '${member}' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+`,
    );
  }
}

function compilePatternOrThrow(pattern: string): CompiledEventPattern {
  try {
    return compileEventPattern(pattern);
  } catch (err) {
    if (err instanceof InvalidEventPatternError) throw new AwsServiceError('InvalidEventPatternException', err.message);
    throw err;
  }
}

/** Offset pagination with an opaque token, `Limit` 1..100 as in the List* APIs. */
function paginate<T>(all: readonly T[], input: Record<string, unknown>): { items: T[]; next: { NextToken?: string } } {
  const limit = input['Limit'];
  if (limit !== undefined && (!Number.isInteger(limit) || (limit as number) < 1 || (limit as number) > 100)) {
    throw validation('Limit must be an integer between 1 and 100');
  }
  const token = input['NextToken'];
  let start = 0;
  if (token !== undefined) {
    start = typeof token === 'string' ? Number(Buffer.from(token, 'base64url').toString('utf8')) : Number.NaN;
    if (!Number.isInteger(start) || start < 0) throw validation('The NextToken is not valid.');
  }
  const end = limit === undefined ? all.length : start + (limit as number);
  const items = all.slice(start, end);
  return { items, next: end < all.length ? { NextToken: Buffer.from(String(end), 'utf8').toString('base64url') } : {} };
}

/** Entry size as EventBridge computes it: Time 14 bytes, then the UTF-8 bytes of Source, DetailType, Detail, Resources. */
function entrySize(raw: unknown): number {
  const entry = (raw !== null && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
  const bytes = (v: unknown) => (typeof v === 'string' ? Buffer.byteLength(v, 'utf8') : 0);
  let size = entry['Time'] === undefined || entry['Time'] === null ? 0 : 14;
  size += bytes(entry['Source']) + bytes(entry['DetailType']) + bytes(entry['Detail']);
  if (Array.isArray(entry['Resources'])) for (const r of entry['Resources']) size += bytes(r);
  return size;
}

/** The envelope's time: the entry's Time (epoch seconds on the JSON 1.1 wire) or now, to the second, in UTC. */
function eventTime(time: unknown, now: Date): string | undefined {
  let date = now;
  if (typeof time === 'number') date = new Date(time * 1000);
  else if (typeof time === 'string') date = new Date(time);
  else if (time !== undefined && time !== null) return undefined;
  if (Number.isNaN(date.getTime())) return undefined;
  return `${date.toISOString().slice(0, 19)}Z`;
}

function logGroupName(arn: string): string | undefined {
  // arn:aws:logs:<region>:<account>:log-group:<name>[:*]
  const match = /^arn:aws:logs:[^:]*:[^:]*:log-group:([.\-_/#A-Za-z0-9]+)(?::\*)?$/.exec(arn);
  return match?.[1];
}

type PathStep = string | number;

/** The JSONPath subset InputPath uses in practice: `$`, `$.a.b`, `$.a[0]`, `$['a-b']`. */
function parseJsonPath(path: string): PathStep[] | undefined {
  if (!path.startsWith('$')) return undefined;
  const steps: PathStep[] = [];
  const re = /\.([A-Za-z0-9_\-$]+)|\[(\d+)\]|\['([^']*)'\]/y;
  re.lastIndex = 1;
  while (re.lastIndex < path.length) {
    const m = re.exec(path);
    if (!m) return undefined;
    if (m[1] !== undefined) steps.push(m[1]);
    else if (m[2] !== undefined) steps.push(Number(m[2]));
    else steps.push(m[3] as string);
  }
  return steps;
}

function targetInput(target: TargetRecord, event: EventEnvelope): unknown {
  if (target.Input !== undefined) return JSON.parse(target.Input) as unknown;
  if (target.InputPath !== undefined) {
    let value: unknown = event;
    for (const step of parseJsonPath(target.InputPath) ?? []) {
      value = value !== null && typeof value === 'object' ? (value as Record<string | number, unknown>)[step] : undefined;
    }
    return value ?? null;
  }
  return event;
}
