/**
 * What every emulated AWS service of the local stack implements. The endpoint (infra/local/aws/endpoint.ts)
 * receives `POST /` with `X-Amz-Target: <targetPrefix>.<Action>` (AWS JSON 1.0/1.1 protocols), parses the body
 * and calls `handle`. Errors are thrown as AwsServiceError and written the way AWS writes them: status 400 (or
 * the given one), body `{ "__type": "<Name>", "message": "..." }`, header `x-amzn-ErrorType: <Name>`, so the
 * AWS SDK v3 raises an exception with that `name`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface AwsRequestContext {
  readonly region: string;
  readonly accountId: string;
}

export interface AwsJsonService {
  /** e.g. `AWSCognitoIdentityProviderService`, `AWSStepFunctions`, `AWSEvents`. */
  readonly targetPrefix: string;
  /** AWS JSON protocol version the SDK client speaks (`1.0` or `1.1`); sets the response Content-Type. */
  readonly jsonVersion: '1.0' | '1.1';
  handle(action: string, input: Record<string, unknown>, ctx: AwsRequestContext): Promise<unknown>;
}

export class AwsServiceError extends Error {
  constructor(
    /** The AWS error name, e.g. `ResourceNotFoundException`. */
    readonly type: string,
    message: string,
    readonly status = 400,
    /** Extra members of the error body, e.g. DynamoDB's `CancellationReasons` or the `Item` of a failed condition. */
    readonly fields?: Readonly<Record<string, unknown>>,
  ) {
    super(message);
    this.name = type;
  }
}

/** A plain HTTP handler for non-JSON-protocol routes (token endpoint, JWKS, Lambda invoke). Returns false if the route is not its own. */
export type HttpRoute = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<boolean>;

/** Local account id and region (the values LocalStack and the AWS docs use for examples). */
export const LOCAL_ACCOUNT_ID = '000000000000';
export const LOCAL_REGION = 'us-east-1';
