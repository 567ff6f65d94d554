/**
 * Reads the stack's settings from CDK context (`cdk.json` "context", or `-c key=value` on the command line) and
 * nothing else: infra/aws never reads the environment. Values given with `-c` arrive as strings, so each reader
 * also accepts the string form (`-c deletionProtection=false`, `-c callbackUrls=https://a/cb,https://b/cb`,
 * `-c corsOrigins=https://app.example.com`).
 */
import { RemovalPolicy, type StackProps } from 'aws-cdk-lib';
import type { Node } from 'constructs';
import type { DevAccessStackProps } from './devaccess-stack';

function fail(key: string, expected: string, value: unknown): never {
  throw new Error(`Context '${key}' must be ${expected}, got ${JSON.stringify(value)}`);
}

function integer(key: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n)) fail(key, 'an integer', value);
  return n;
}

function boolean(key: string, value: unknown): boolean | undefined {
  if (value === undefined || typeof value === 'boolean') return value;
  if (value === 'true') return true;
  if (value === 'false') return false;
  return fail(key, 'true or false', value);
}

function text(key: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.trim() === '') fail(key, 'a non-empty string', value);
  return value.trim();
}

/** A list from cdk.json (a JSON array) or from `-c` (a JSON array or a comma-separated string). */
function list(key: string, value: unknown): string[] | undefined {
  if (value === undefined) return undefined;
  let items: unknown = value;
  if (typeof value === 'string') {
    items = value.trim().startsWith('[') ? (JSON.parse(value) as unknown) : value.split(',');
  }
  if (!Array.isArray(items)) fail(key, 'a list of strings', value);
  const out = items.map((item) => (typeof item === 'string' ? item.trim() : fail(key, 'a list of strings', value)));
  if (out.length === 0 || out.some((item) => item === '')) fail(key, 'a non-empty list of non-empty strings', value);
  return out;
}

function oneOf<T extends string>(key: string, value: unknown, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  return fail(key, `one of ${allowed.join(', ')}`, value);
}

/** The settings context can give: every DevAccessStackProps key the stack adds to StackProps. */
type ContextProps = Omit<DevAccessStackProps, keyof StackProps>;
export type ContextKey = keyof ContextProps;

/**
 * One reader per context key. The mapped type makes a key added to DevAccessStackProps without a reader here a
 * compile error, so no setting silently stays out of reach of `cdk.json` and `-c`.
 */
const READERS: { readonly [K in ContextKey]-?: (key: K, value: unknown) => ContextProps[K] } = {
  removalPolicy: (key, value) => {
    const removal = oneOf(key, value, ['retain', 'destroy'] as const);
    return removal === undefined ? undefined : removal === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;
  },
  maxCredentialsPerUser: integer,
  clientTokenValidityMinutes: integer,
  developersGroup: text,
  deletionProtection: boolean,
  domainPrefix: text,
  callbackUrls: list,
  logoutUrls: list,
  corsOrigins: list,
  threatProtection: boolean,
  mfa: (key, value) => oneOf(key, value, ['optional', 'required'] as const),
  resourceServerIdentifier: text,
  sesFromEmail: text,
  sesRegion: text,
  apiGatewayCloudWatchRole: boolean,
  // Ranges are the stack's to check (WORKFLOW_WAIT_MS by the functions' config schema, the grace against the
  // workflow's timeout), so a bad value fails the synth with the same message whatever set it.
  workflowWaitMs: integer,
  sweepGraceSeconds: integer,
};

/** The context keys the app reads; every one is optional. */
export const CONTEXT_KEYS = Object.keys(READERS) as readonly ContextKey[];

/** Builds the stack's props from context; throws one error naming the first bad value. */
export function stackPropsFromContext(node: Node): DevAccessStackProps {
  const props: Record<string, unknown> = {};
  for (const key of CONTEXT_KEYS) {
    const read = READERS[key] as (key: ContextKey, value: unknown) => unknown;
    props[key] = read(key, node.tryGetContext(key) as unknown);
  }
  return {
    description: 'devaccess: developer API access (OAuth 2.0 client credentials bound to a user)',
    ...(props as ContextProps),
  };
}
