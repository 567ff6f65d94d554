/**
 * The contract both stacks read for what the gateway answers itself: which status and body a response type gets
 * (the customised ones, and the rest through DEFAULT_4XX/DEFAULT_5XX with their own status), and the CORS values.
 */
import { describe, expect, it } from 'vitest';
import { allowedOrigin, gatewayCorsHeaders, preflightHeaders } from '../../lambdas/shared/contract/cors';
import {
  API_GATEWAY_DEFAULT_STATUS,
  GATEWAY_RESPONSES,
  type GatewayResponseDef,
  gatewayAnswer,
} from '../../lambdas/shared/contract/gateway-responses';
import { DEFAULT_CORS_ORIGINS, DEFAULT_UI_CALLBACK_URLS, corsOriginsFor } from '../../lambdas/shared/contract/user-pool';

describe('gatewayAnswer', () => {
  it.each(Object.values(GATEWAY_RESPONSES as Record<string, GatewayResponseDef>).filter((d) => d.status !== undefined))(
    'answers the customised $type with its own definition and status $status',
    (def) => {
      expect(gatewayAnswer(def.type)).toEqual({ type: def.type, status: def.status, def });
    },
  );

  it.each([
    ['INTEGRATION_TIMEOUT', 504, GATEWAY_RESPONSES.default5xx],
    ['QUOTA_EXCEEDED', 429, GATEWAY_RESPONSES.default4xx],
    ['UNSUPPORTED_MEDIA_TYPE', 415, GATEWAY_RESPONSES.default4xx],
    ['AUTHORIZER_CONFIGURATION_ERROR', 500, GATEWAY_RESPONSES.default5xx],
  ])('answers %s, which is not customised, with its own status %i and the default body', (type, status, def) => {
    expect(API_GATEWAY_DEFAULT_STATUS[type]).toBe(status);
    expect(gatewayAnswer(type)).toEqual({ type, status, def });
  });

  it('answers a failed Lambda function as INTEGRATION_FAILURE with 502 and the 5xx body', () => {
    expect(gatewayAnswer('INTEGRATION_FAILURE', 502)).toEqual({
      type: 'INTEGRATION_FAILURE',
      status: 502,
      def: GATEWAY_RESPONSES.default5xx,
    });
  });

  it('keeps a customised status even when the occurrence names another', () => {
    expect(gatewayAnswer('UNAUTHORIZED', 403).status).toBe(401);
  });

  it('refuses a type it has no status for', () => {
    expect(() => gatewayAnswer('DEFAULT_4XX')).toThrow(/No status/);
    expect(() => gatewayAnswer('NOT_A_TYPE')).toThrow(/No status/);
  });

  it('gives DEFAULT_4XX and DEFAULT_5XX no status of their own', () => {
    expect(GATEWAY_RESPONSES.default4xx).not.toHaveProperty('status');
    expect(GATEWAY_RESPONSES.default5xx).not.toHaveProperty('status');
  });
});

describe('CORS contract', () => {
  const APP = 'https://app.example.com';
  const ADMIN = 'https://admin.example.com';

  it('derives the default allowed origin from the UI client callback URLs', () => {
    expect(DEFAULT_UI_CALLBACK_URLS).toEqual(['http://localhost:3000/callback']);
    expect(DEFAULT_CORS_ORIGINS).toEqual(['http://localhost:3000']);
  });

  it('takes one origin per web callback URL and skips native app schemes', () => {
    expect(corsOriginsFor(['https://app.example.com/cb', 'https://app.example.com/other', 'myapp://callback', 'http://localhost:5173/cb'])).toEqual([
      APP,
      'http://localhost:5173',
    ]);
  });

  it('allows an origin only on an exact match', () => {
    expect(allowedOrigin(APP, [APP])).toBe(APP);
    expect(allowedOrigin(`${APP}/`, [APP])).toBeUndefined();
    expect(allowedOrigin('HTTPS://APP.EXAMPLE.COM', [APP])).toBeUndefined();
    expect(allowedOrigin(undefined, [APP])).toBeUndefined();
  });

  it('answers a preflight with the matching origin, else the first, as the CDK mock integration does', () => {
    expect(preflightHeaders(ADMIN, [APP, ADMIN])['Access-Control-Allow-Origin']).toBe(ADMIN);
    expect(preflightHeaders('https://evil.example', [APP, ADMIN])['Access-Control-Allow-Origin']).toBe(APP);
    expect(preflightHeaders(undefined, [APP])).toMatchObject({ 'Access-Control-Allow-Origin': APP, Vary: 'Origin' });
    expect(() => preflightHeaders(APP, [])).toThrow(/at least one/);
  });

  it('maps one allowed origin as a literal on gateway responses and several as the request Origin', () => {
    expect(gatewayCorsHeaders([APP])).toEqual({
      'Access-Control-Allow-Origin': { literal: APP },
      Vary: { literal: 'Origin' },
    });
    expect(gatewayCorsHeaders([APP, ADMIN])['Access-Control-Allow-Origin']).toEqual({ requestHeader: 'Origin' });
  });
});
