/**
 * Fault injection for the local stack: what a flaky network or a struggling AWS service would do, on demand.
 * The AWS endpoint consults the injector around every JSON-protocol call (matched by service and action, from
 * `X-Amz-Target`), and the stack around every in-process Lambda invoke (matched by function name), so a fault
 * reaches the handlers' SDK calls and the Step Functions emulation's task calls alike.
 *
 * Effects:
 * - `error`: answer with an AWS error (`TooManyRequestsException`, `InternalFailure`,
 *   `ProvisionedThroughputExceededException`, ...) without performing the call;
 * - `lose-response`: perform the call, then lose its response: the caller sees a 500 InternalFailure (or, with
 *   `as: 'reset'`, a connection reset) although the action happened, and usually retries it. A call that failed
 *   by itself (a real throttle, a function error) is answered as it is and does not count: the fault waits for a
 *   call that acts;
 * - `delay`: wait, then perform the call (a slow dependency, or a way to make two requests overlap);
 * - `hang`: hold the call until `release()` (or the stack closes), to stop a workflow between two steps.
 *
 * A fault applies to `times` matching calls (1 unless told; `Infinity` for a permanent failure) after letting
 * `skip` matching calls through, then stays installed but inert. Not for production: the local stack only.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { DroppedResponse, type DispatchInterceptor, type InterceptedCall } from './aws/endpoint';
import { AwsServiceError } from './aws/types';

/** Short service names for X-Amz-Target prefixes (the prefix itself also matches). */
export const SERVICE_OF_TARGET_PREFIX: Readonly<Record<string, string>> = {
  DynamoDB_20120810: 'dynamodb',
  AWSCognitoIdentityProviderService: 'cognito-idp',
  AWSStepFunctions: 'states',
  AWSEvents: 'events',
};

export type FaultEffect =
  | {
      readonly kind: 'error';
      /** AWS error name, e.g. `TooManyRequestsException`. */
      readonly error: string;
      readonly message?: string;
      /** @default 500 for InternalFailure/InternalServerError/ServiceException, 503 for ServiceUnavailable, else 400 */
      readonly status?: number;
    }
  | { readonly kind: 'lose-response'; readonly as?: 'error' | 'reset' }
  | { readonly kind: 'delay'; readonly ms: number }
  | { readonly kind: 'hang' };

export interface FaultMatch {
  /** `dynamodb`, `cognito-idp`, `states`, `events` (or the X-Amz-Target prefix), or `lambda`. */
  readonly service: string;
  /** The API action (`UpdateItem`, `CreateUserPoolClient`, ...); for `lambda`, the function name. Any when absent. */
  readonly action?: string;
  /** Narrows the match by the request (the parsed JSON body, or the Lambda payload). */
  readonly where?: (input: Record<string, unknown>) => boolean;
}

export interface FaultSpec {
  readonly match: FaultMatch;
  readonly effect: FaultEffect;
  /** @default 1 */
  readonly times?: number;
  /** Matching calls to let through before the fault applies. @default 0 */
  readonly skip?: number;
  /** Shown in `injected` (what the test is about). */
  readonly label?: string;
}

export interface Fault {
  readonly spec: FaultSpec;
  /** Matching calls the fault was applied to. */
  readonly hits: number;
  /** Resolves at the first call the fault is applied to. */
  readonly reached: Promise<void>;
  /** Lets the calls a `hang` fault holds go on (and makes the fault inert). */
  release(): void;
  /** Uninstalls the fault; calls it holds go on. */
  remove(): void;
}

/** One applied fault, for assertions and for the test's own log. */
export interface InjectedFault {
  readonly label?: string;
  readonly service: string;
  readonly action: string;
  readonly effect: FaultEffect['kind'];
  readonly at: number;
}

export interface LambdaInvokeCall {
  readonly functionName: string;
  readonly payload: unknown;
}

const SERVER_ERRORS: Readonly<Record<string, number>> = {
  InternalFailure: 500,
  InternalServerError: 500,
  InternalServerException: 500,
  InternalErrorException: 500,
  ServiceException: 500,
  ServiceUnavailable: 503,
  ServiceUnavailableException: 503,
};

/** Thrown at the caller of a Lambda invoke whose result a `lose-response` fault dropped (Lambda's own 500). */
export class LambdaServiceError extends Error {
  override readonly name = 'ServiceException';
}

interface Installed {
  readonly spec: FaultSpec;
  seen: number;
  hits: number;
  removed: boolean;
  released: boolean;
  readonly holds: Set<(outcome: 'go' | 'drop') => void>;
  readonly reached: Promise<void>;
  readonly reach: () => void;
}

export class FaultInjector implements DispatchInterceptor {
  private readonly faults: Installed[] = [];
  private closed = false;
  /** Every fault applied so far, in order. */
  readonly injected: InjectedFault[] = [];

  /** Installs a fault; the newest matching fault that still applies wins. */
  add(spec: FaultSpec): Fault {
    let reach!: () => void;
    const reached = new Promise<void>((resolve) => (reach = resolve));
    const installed: Installed = { spec, seen: 0, hits: 0, removed: false, released: false, holds: new Set(), reached, reach };
    this.faults.push(installed);
    const releaseHolds = (outcome: 'go' | 'drop') => {
      for (const hold of installed.holds) hold(outcome);
      installed.holds.clear();
    };
    return {
      spec,
      get hits() {
        return installed.hits;
      },
      reached,
      release: () => {
        installed.released = true;
        releaseHolds('go');
      },
      remove: () => {
        installed.removed = true;
        releaseHolds('go');
        const index = this.faults.indexOf(installed);
        if (index >= 0) this.faults.splice(index, 1);
      },
    };
  }

  /** Uninstalls every fault and lets held calls go on. */
  clear(): void {
    for (const f of [...this.faults]) {
      f.removed = true;
      for (const hold of f.holds) hold('go');
      f.holds.clear();
    }
    this.faults.length = 0;
  }

  /**
   * For the stack's shutdown: held calls are dropped (their callers see a failure, as when a process dies) and no
   * fault applies any more.
   */
  close(): void {
    this.closed = true;
    for (const f of this.faults) {
      for (const hold of f.holds) hold('drop');
      f.holds.clear();
    }
    this.faults.length = 0;
  }

  /** The endpoint's hook: runs `dispatch` for an AWS JSON-protocol call, or fails, delays or holds it. */
  async intercept(call: InterceptedCall, dispatch: () => Promise<unknown>): Promise<unknown> {
    const service = SERVICE_OF_TARGET_PREFIX[call.targetPrefix] ?? call.targetPrefix;
    const taken = this.take(service, call.targetPrefix, call.action, call.input);
    if (!taken) return dispatch();
    const fault = taken.installed;
    const { effect } = fault.spec;
    switch (effect.kind) {
      case 'error':
        throw new AwsServiceError(
          effect.error,
          effect.message ?? `Injected fault: ${effect.error}`,
          effect.status ?? SERVER_ERRORS[effect.error] ?? 400,
        );
      case 'lose-response':
        try {
          await dispatch();
        } catch (err) {
          // The call did not act (a real throttle, say): nothing to lose, so the fault waits for the next call.
          this.unhit(taken);
          throw err;
        }
        throw new DroppedResponse(effect.as ?? 'error');
      case 'delay':
        await sleep(effect.ms);
        return dispatch();
      case 'hang':
        if ((await this.hold(fault)) === 'drop') throw new DroppedResponse('reset');
        return dispatch();
    }
  }

  /** Wraps a Lambda invoker (function name or ARN, payload) with the faults matching `lambda` and its name. */
  wrapInvoke<R>(invoke: (nameOrArn: string, payload: unknown) => Promise<R>): (nameOrArn: string, payload: unknown) => Promise<R> {
    return async (nameOrArn, payload) => {
      const functionName = nameOrArn.split(':function:').pop()?.split(':')[0] ?? nameOrArn;
      const input = payload !== null && typeof payload === 'object' ? (payload as Record<string, unknown>) : {};
      const taken = this.take('lambda', 'lambda', functionName, input);
      if (!taken) return invoke(nameOrArn, payload);
      const fault = taken.installed;
      const { effect } = fault.spec;
      switch (effect.kind) {
        case 'error':
          // A Lambda service error (the function never ran): Step Functions names it Lambda.<error>.
          throw Object.assign(new Error(effect.message ?? `Injected fault: ${effect.error}`), {
            name: effect.error,
            $metadata: { httpStatusCode: effect.status ?? SERVER_ERRORS[effect.error] ?? 429 },
          });
        case 'lose-response': {
          const result = await invoke(nameOrArn, payload).catch((err: unknown) => {
            this.unhit(taken);
            throw err;
          });
          if (result !== null && typeof result === 'object' && 'error' in result) {
            // The function failed: its answer says so already, and losing it would hide that nothing was done.
            this.unhit(taken);
            return result;
          }
          throw new LambdaServiceError('Injected fault: the function ran but its response was lost');
        }
        case 'delay':
          await sleep(effect.ms);
          return invoke(nameOrArn, payload);
        case 'hang':
          if ((await this.hold(fault)) === 'drop') throw new LambdaServiceError('Injected fault: the stack stopped');
          return invoke(nameOrArn, payload);
      }
    };
  }

  private take(
    service: string,
    prefix: string,
    action: string,
    input: Record<string, unknown>,
  ): { readonly installed: Installed; readonly entry: InjectedFault } | undefined {
    if (this.closed) return undefined;
    for (let i = this.faults.length - 1; i >= 0; i--) {
      const f = this.faults[i] as Installed;
      const m = f.spec.match;
      if (f.removed || f.released) continue;
      if (m.service !== service && m.service !== prefix) continue;
      if (m.action !== undefined && m.action !== action) continue;
      if (m.where && !safeWhere(m.where, input)) continue;
      f.seen += 1;
      if (f.seen <= (f.spec.skip ?? 0)) continue;
      if (f.hits >= (f.spec.times ?? 1)) continue;
      f.hits += 1;
      const entry: InjectedFault = {
        ...(f.spec.label === undefined ? {} : { label: f.spec.label }),
        service,
        action,
        effect: f.spec.effect.kind,
        at: Date.now(),
      };
      this.injected.push(entry);
      f.reach();
      return { installed: f, entry };
    }
    return undefined;
  }

  /** Takes back the application of a lose-response fault to a call that did not act. */
  private unhit(taken: { readonly installed: Installed; readonly entry: InjectedFault }): void {
    taken.installed.hits -= 1;
    taken.installed.seen -= 1;
    const index = this.injected.indexOf(taken.entry);
    if (index >= 0) this.injected.splice(index, 1);
  }

  private hold(f: Installed): Promise<'go' | 'drop'> {
    if (this.closed) return Promise.resolve('drop');
    return new Promise((resolve) => f.holds.add(resolve));
  }
}

function safeWhere(where: (input: Record<string, unknown>) => boolean, input: Record<string, unknown>): boolean {
  try {
    return where(input);
  } catch {
    return false;
  }
}
