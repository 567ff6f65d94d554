/**
 * Classifies errors thrown by AWS SDK calls. A throttled or failing dependency is the caller's cue to retry
 * (429/503 with Retry-After), not an internal error: the edge turns such errors into an UpstreamError whose body
 * never carries the SDK's message (which can name tables, pools and ARNs).
 *
 * The name lists follow the SDK's own retry classification (@smithy service-error-classification), so what the
 * SDK already retried and gave up on is what we report as throttled or unavailable.
 */
import { UpstreamError } from './errors';

const THROTTLING_NAMES = new Set([
  'BandwidthLimitExceeded',
  'EC2ThrottledException',
  'KmsThrottlingException',
  'LimitExceededException',
  'PriorRequestNotComplete',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
  'ThrottledException',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'TransactionInProgressException',
]);

const TRANSIENT_NAMES = new Set([
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'InternalServerError',
  'InternalServerException',
  'InternalErrorException',
  'InternalFailure',
  'ServiceUnavailable',
  'ServiceUnavailableException',
]);

const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

interface SdkErrorShape {
  readonly name?: unknown;
  readonly code?: unknown;
  readonly $fault?: unknown;
  readonly $metadata?: { readonly httpStatusCode?: unknown };
  readonly $retryable?: { readonly throttling?: unknown };
}

function shape(err: unknown): SdkErrorShape | undefined {
  return typeof err === 'object' && err !== null ? (err as SdkErrorShape) : undefined;
}

/** The AWS error name (`ConditionalCheckFailedException`, ...) of an SDK error, if it has one. */
export function awsErrorName(err: unknown): string | undefined {
  const name = shape(err)?.name;
  return typeof name === 'string' ? name : undefined;
}

export function isThrottlingError(err: unknown): boolean {
  const e = shape(err);
  if (!e) return false;
  return (
    e.$metadata?.httpStatusCode === 429 ||
    e.$retryable?.throttling === true ||
    (typeof e.name === 'string' && THROTTLING_NAMES.has(e.name))
  );
}

export function isTransientError(err: unknown): boolean {
  const e = shape(err);
  if (!e) return false;
  const status = e.$metadata?.httpStatusCode;
  return (
    e.$fault === 'server' ||
    (typeof status === 'number' && status >= 500) ||
    (typeof e.name === 'string' && TRANSIENT_NAMES.has(e.name)) ||
    (typeof e.code === 'string' && NETWORK_CODES.has(e.code))
  );
}

/**
 * The UpstreamError to answer for an SDK error that means "try again later", or `undefined` for anything else
 * (a validation error from AWS is our bug and stays a 500).
 */
export function upstreamErrorFor(err: unknown): UpstreamError | undefined {
  if (err instanceof UpstreamError) return err;
  if (isThrottlingError(err)) return new UpstreamError('The service is busy; retry shortly', err, 'throttled');
  if (isTransientError(err)) return new UpstreamError('A dependency is unavailable; retry shortly', err, 'unavailable');
  return undefined;
}
