/**
 * Writes API Gateway's own answers (gateway responses) exactly as the contract declares them, so a client sees the
 * same status, JSON body and headers here as from the RestApi the CDK stack configures with the same table, and
 * API Gateway's answer to a CORS preflight (the mock integration CDK puts on every resource).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type GatewayHeaderValue, PREFLIGHT_STATUS, preflightHeaders } from '../../../lambdas/shared/contract/cors';
import { type GatewayAnswer, gatewayResponseBody } from '../../../lambdas/shared/contract/gateway-responses';
import { type RequestIds, headerValues } from './proxy';

// The `x-amzn-ErrorType` API Gateway sets on its own error responses, by response type.
const ERROR_TYPES: Readonly<Record<string, string>> = {
  UNAUTHORIZED: 'UnauthorizedException',
  ACCESS_DENIED: 'AccessDeniedException',
  MISSING_AUTHENTICATION_TOKEN: 'MissingAuthenticationTokenException',
  THROTTLED: 'TooManyRequestsException',
  BAD_REQUEST_BODY: 'BadRequestException',
  DEFAULT_4XX: 'BadRequestException',
  DEFAULT_5XX: 'InternalServerErrorException',
  INTEGRATION_FAILURE: 'InternalServerErrorException',
  INTEGRATION_TIMEOUT: 'InternalServerErrorException',
};

export interface GatewayResponseOptions {
  /** Ask the client to close the connection (used when the request body is left unread). */
  readonly close?: boolean;
  /** Headers every gateway response carries besides its own (the CORS headers), resolved against the request. */
  readonly extraHeaders?: Readonly<Record<string, GatewayHeaderValue>>;
}

/** A gateway response header as API Gateway fills it in: a literal, or the request header (absent if not sent). */
function resolveHeader(value: GatewayHeaderValue, req: IncomingMessage): string | undefined {
  return 'literal' in value ? value.literal : headerValues(req.rawHeaders, value.requestHeader).at(-1);
}

/** Writes a gateway response and returns its status. */
export function writeGatewayResponse(
  req: IncomingMessage,
  res: ServerResponse,
  answer: GatewayAnswer,
  ids: RequestIds,
  options: GatewayResponseOptions = {},
): number {
  const body = JSON.stringify(gatewayResponseBody(answer.def));
  const headers: Record<string, string> = {
    'Content-Type': 'application/json',
    'Content-Length': String(Buffer.byteLength(body)),
    ...answer.def.headers,
  };
  for (const [name, value] of Object.entries(options.extraHeaders ?? {})) {
    const resolved = resolveHeader(value, req);
    if (resolved !== undefined) headers[name] = resolved;
  }
  headers['x-amzn-RequestId'] = ids.requestId;
  headers['x-amz-apigw-id'] = ids.extendedRequestId;
  const errorType = ERROR_TYPES[answer.type];
  if (errorType) headers['x-amzn-ErrorType'] = errorType;
  if (options.close) headers['Connection'] = 'close';
  res.writeHead(answer.status, headers);
  res.end(body);
  return answer.status;
}

/** Answers a CORS preflight as the RestApi's OPTIONS mock integration does, and returns the status. */
export function writePreflight(req: IncomingMessage, res: ServerResponse, allowedOrigins: readonly string[], ids: RequestIds): number {
  const origin = headerValues(req.rawHeaders, 'origin').at(-1);
  res.writeHead(PREFLIGHT_STATUS, {
    ...preflightHeaders(origin, allowedOrigins),
    // A mock integration's response is labelled JSON, like every API Gateway REST response without a type.
    'Content-Type': 'application/json',
    'x-amzn-RequestId': ids.requestId,
    'x-amz-apigw-id': ids.extendedRequestId,
  });
  res.end();
  return PREFLIGHT_STATUS;
}
