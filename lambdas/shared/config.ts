/**
 * Configuration: one zod schema over the environment, parsed once at cold start. Nothing else in lambdas/ reads
 * `process.env`. Each function asks for the keys it needs with `loadConfig([...])`, so a missing variable fails
 * the cold start with a message naming it instead of failing a request later.
 */
import { z } from 'zod';
import {
  DEFAULT_CLIENT_TOKEN_VALIDITY_MINUTES,
  DEFAULT_DEVELOPERS_GROUP,
  DEFAULT_MAX_CREDENTIALS_PER_USER,
  DEFAULT_SWEEP_GRACE_SECONDS,
  DEFAULT_WORKFLOW_WAIT_MS,
  OPERATION_LOCK_SECONDS,
  RESOURCE_SERVER_IDENTIFIER,
  RESOURCE_SERVER_IDENTIFIER_PATTERN,
} from './contract/names';
import { DEFAULT_CORS_ORIGINS, originOf } from './contract/user-pool';

const nonEmpty = z.string().trim().min(1);

/** An exact browser origin, `scheme://host[:port]` (no path, no wildcard): what a browser sends in `Origin`. */
const origin = z.string().refine((value) => {
  try {
    return originOf(value) === value;
  } catch {
    return false;
  }
}, 'must be an origin like https://app.example.com');

export const configSchema = z.object({
  AWS_REGION: nonEmpty.default('us-east-1'),
  IDENTITY_TABLE_NAME: nonEmpty,
  NOTES_TABLE_NAME: nonEmpty,
  USER_POOL_ID: z.string().regex(/^[\w-]+_[0-9a-zA-Z]+$/, 'must look like <region>_<id>'),
  EVENT_BUS_NAME: nonEmpty,
  CREDENTIAL_STATE_MACHINE_ARN: z.string().startsWith('arn:'),
  DEVELOPERS_GROUP: nonEmpty.default(DEFAULT_DEVELOPERS_GROUP),
  MAX_CREDENTIALS_PER_USER: z.coerce.number().int().min(1).max(100).default(DEFAULT_MAX_CREDENTIALS_PER_USER),
  CLIENT_TOKEN_VALIDITY_MINUTES: z.coerce
    .number()
    .int()
    .min(5)
    .max(24 * 60)
    .default(DEFAULT_CLIENT_TOKEN_VALIDITY_MINUTES),
  TOKEN_URL: z.url(),
  /** The resource server whose `read`/`write` scopes routes require and credentials get. */
  RESOURCE_SERVER_IDENTIFIER: z
    .string()
    .regex(RESOURCE_SERVER_IDENTIFIER_PATTERN, 'must be 1-250 printable characters without spaces, quotes or backslashes')
    .default(RESOURCE_SERVER_IDENTIFIER),
  /** How long the credentials API waits for a workflow run before answering 503 (API Gateway stops at 29 s). */
  WORKFLOW_WAIT_MS: z.coerce.number().int().min(100).max(28_000).default(DEFAULT_WORKFLOW_WAIT_MS),
  OPERATION_LOCK_SECONDS: z.coerce.number().int().min(30).max(3600).default(OPERATION_LOCK_SECONDS),
  /**
   * Minimum age of an unmapped credential client before the sweeper deletes it. 0 is for local tests only; the
   * CDK stack refuses anything shorter than the credential workflow's timeout.
   */
  SWEEPER_GRACE_SECONDS: z.coerce.number().int().min(0).max(7 * 24 * 3600).default(DEFAULT_SWEEP_GRACE_SECONDS),
  /**
   * Browser origins whose requests may read API responses (CORS), comma-separated. The CDK stack sets it from the
   * `corsOrigins` context; both stacks default to the origins of the UI client's callback URLs.
   */
  CORS_ALLOWED_ORIGINS: z
    .string()
    .transform((text) => text.split(',').map((item) => item.trim()).filter((item) => item !== ''))
    .pipe(z.array(origin).min(1, 'must name at least one origin'))
    .default(() => [...DEFAULT_CORS_ORIGINS]),
});

export type Config = z.infer<typeof configSchema>;
export type ConfigKey = keyof Config;

/** Parses the environment for the given keys; throws one error naming every missing or invalid variable. */
export function loadConfig<K extends ConfigKey>(
  keys: readonly K[],
  env: Record<string, string | undefined> = process.env,
): Pick<Config, K> {
  const mask = Object.fromEntries(keys.map((k) => [k, true])) as Record<ConfigKey, true>;
  const result = configSchema.pick(mask).safeParse(env);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`Invalid configuration: ${problems}`);
  }
  return result.data as unknown as Pick<Config, K>;
}
