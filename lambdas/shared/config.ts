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
  OPERATION_LOCK_SECONDS,
} from './contract/names';

const nonEmpty = z.string().trim().min(1);

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
  /** How long the credentials API waits for a workflow run before answering 503 (API Gateway stops at 29 s). */
  WORKFLOW_WAIT_MS: z.coerce.number().int().min(100).max(28_000).default(25_000),
  OPERATION_LOCK_SECONDS: z.coerce.number().int().min(30).max(3600).default(OPERATION_LOCK_SECONDS),
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
