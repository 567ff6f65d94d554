/**
 * Writes API Gateway's own answers (gateway responses) exactly as the contract declares them, so a client sees the
 * same status, JSON body and headers here as from the RestApi the CDK stack configures with the same table.
 */
import type { ServerResponse } from 'node:http';
import { type GatewayResponseDef, gatewayResponseBody } from '../../../lambdas/shared/contract/gateway-responses';
import type { RequestIds } from './proxy';

// The `x-amzn-ErrorType` API Gateway sets on its own error responses, by response type.
const ERROR_TYPES: Readonly<Record<string, string>> = {
  UNAUTHORIZED: 'UnauthorizedException',
  ACCESS_DENIED: 'AccessDeniedException',
  MISSING_AUTHENTICATION_TOKEN: 'MissingAuthenticationTokenException',
  THROTTLED: 'TooManyRequestsException',
  BAD_REQUEST_BODY: 'BadRequestException',
  DEFAULT_4XX: 'BadRequestException',
  DEFAULT_5XX: 'InternalServerErrorException',
};

export interface GatewayResponseOptions {
  /** Ask the client to close the connection (used when the request body is left unread). */
  readonly close?: boolean;
}

/** Writes a gateway response and returns its status. */
export function writeGatewayResponse(
  res: ServerResponse,
  def: GatewayResponseDef,
  ids: RequestIds,
  options: GatewayResponseOptions = {},
): number {
  const body = JSON.stringify(gatewayResponseBody(def));
  const headers: Record<string, string> = {
    'Content-Type': 'application/json',
    'Content-Length': String(Buffer.byteLength(body)),
    ...def.headers,
    'x-amzn-RequestId': ids.requestId,
    'x-amz-apigw-id': ids.extendedRequestId,
  };
  const errorType = ERROR_TYPES[def.type];
  if (errorType) headers['x-amzn-ErrorType'] = errorType;
  if (options.close) headers['Connection'] = 'close';
  res.writeHead(def.status, headers);
  res.end(body);
  return def.status;
}
