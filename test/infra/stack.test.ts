/**
 * The synthesized stack against the shared contract: every function, route, scope, name and event pattern the
 * template holds is compared with what lambdas/shared/contract declares, never with a second hand-written list.
 */
import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { HOUSE_ENVIRONMENT } from '../../infra/aws/constructs/house-function';
import { configSchema } from '../../lambdas/shared/config';
import { ERROR_STATUS } from '../../lambdas/shared/errors';
import { ALL_EVENTS_PATTERN, CREDENTIAL_EVENTS_PATTERN } from '../../lambdas/shared/contract/events';
import { FUNCTIONS, type FunctionName } from '../../lambdas/shared/contract/functions';
import {
  CORS_ALLOW_HEADERS,
  CORS_ALLOW_METHODS,
  CORS_MAX_AGE_SECONDS,
  PREFLIGHT_STATUS,
} from '../../lambdas/shared/contract/cors';
import { GATEWAY_RESPONSES, type GatewayResponseDef, gatewayResponseBody } from '../../lambdas/shared/contract/gateway-responses';
import {
  API_STAGE,
  DEFAULT_CLIENT_TOKEN_VALIDITY_MINUTES,
  DEFAULT_DEVELOPERS_GROUP,
  DEFAULT_MAX_CREDENTIALS_PER_USER,
  DEFAULT_WORKFLOW_WAIT_MS,
  EVENT_SOURCE,
  OPERATION_LOCK_SECONDS,
  RESOURCE_SCOPES,
  RESOURCE_SERVER_IDENTIFIER,
  SERVICE_NAME,
  STATE_MACHINES,
} from '../../lambdas/shared/contract/names';
import { ROUTES, routeScopes } from '../../lambdas/shared/contract/routes';
import { NOTES_KEYS, TABLE_KEYS } from '../../lambdas/shared/contract/table';
import { DEFAULT_CORS_ORIGINS, UI_CLIENT } from '../../lambdas/shared/contract/user-pool';
import { loadDefinition } from '../../statemachines/load';
import {
  type Synthesized,
  type TemplateResource,
  flatten,
  getAtt,
  logicalId,
  ref,
  resourceOf,
  resourcesOf,
  synthStack,
} from './synth';

let s: Synthesized;
beforeAll(() => {
  s = synthStack();
});

const functionNames = Object.keys(FUNCTIONS) as FunctionName[];
const props = (r: TemplateResource): Record<string, any> => r.Properties ?? {};

describe('functions', () => {
  it('deploys exactly one function per FUNCTIONS entry', () => {
    // Prepare
    const deployed = Object.keys(resourcesOf(s.template, 'AWS::Lambda::Function')).sort();
    // Act
    const expected = functionNames.map((name) => logicalId(s.stack, s.stack.functions[name].function)).sort();
    // Assess
    expect(deployed).toEqual(expected);
    expect(deployed).toHaveLength(functionNames.length);
  });

  it.each(functionNames)('runs %s on Node.js 22 or newer, on ARM64, with its FUNCTIONS description', (name) => {
    const fn = props(resourceOf(s.template, s.stack, s.stack.functions[name].function));
    const major = Number(/^nodejs(\d+)\.x$/.exec(fn['Runtime'])?.[1]);
    expect(major).toBeGreaterThanOrEqual(22);
    expect(fn['Architectures']).toEqual(['arm64']);
    expect(fn['Handler']).toBe('index.handler');
    expect(fn['Description']).toBe(FUNCTIONS[name].description);
  });

  it.each(functionNames)('gives %s exactly its configuration keys plus the house variables', (name) => {
    const env = props(resourceOf(s.template, s.stack, s.stack.functions[name].function))['Environment']?.['Variables'] ?? {};
    expect(Object.keys(env).sort()).toEqual([...FUNCTIONS[name].config, ...Object.keys(HOUSE_ENVIRONMENT)].sort());
    expect(env['POWERTOOLS_SERVICE_NAME']).toBe(SERVICE_NAME);
  });

  it.each(functionNames)('logs %s to its own log group with a retention', (name) => {
    const house = s.stack.functions[name];
    const fn = props(resourceOf(s.template, s.stack, house.function));
    const group = props(resourceOf(s.template, s.stack, house.logGroup));
    expect(fn['LoggingConfig']).toEqual({ LogGroup: { Ref: logicalId(s.stack, house.logGroup) } });
    expect(group['RetentionInDays']).toBeGreaterThan(0);
  });

  it('waits for the workflow as long by default as the function itself would without the variable', () => {
    const vars = props(resourceOf(s.template, s.stack, s.stack.functions.credentials.function))['Environment']['Variables'];
    expect(vars['WORKFLOW_WAIT_MS']).toBe(String(configSchema.shape.WORKFLOW_WAIT_MS.parse(undefined)));
    expect(configSchema.shape.WORKFLOW_WAIT_MS.parse(undefined)).toBe(DEFAULT_WORKFLOW_WAIT_MS);
  });

  it('gives resource-naming variables the names of the stack resources', () => {
    const envOf = (name: FunctionName): Record<string, string> => {
      const vars = props(resourceOf(s.template, s.stack, s.stack.functions[name].function))['Environment']['Variables'];
      return Object.fromEntries(Object.entries(vars as Record<string, unknown>).map(([k, v]) => [k, flatten(v)]));
    };
    const table = ref(s.stack, s.stack.tables.identity);
    const pool = ref(s.stack, s.stack.directory.userPool);
    expect(envOf('credentials')).toMatchObject({
      IDENTITY_TABLE_NAME: table,
      USER_POOL_ID: pool,
      CREDENTIAL_STATE_MACHINE_ARN: ref(s.stack, s.stack.workflow.stateMachine),
      DEVELOPERS_GROUP: DEFAULT_DEVELOPERS_GROUP,
      MAX_CREDENTIALS_PER_USER: String(DEFAULT_MAX_CREDENTIALS_PER_USER),
      OPERATION_LOCK_SECONDS: String(OPERATION_LOCK_SECONDS),
      WORKFLOW_WAIT_MS: String(DEFAULT_WORKFLOW_WAIT_MS),
      TOKEN_URL: `https://${ref(s.stack, s.stack.directory.domain)}.auth.<Ref AWS::Region>.amazoncognito.com/oauth2/token`,
    });
    expect(envOf('credentialTasks')).toEqual({
      ...HOUSE_ENVIRONMENT,
      USER_POOL_ID: pool,
      CLIENT_TOKEN_VALIDITY_MINUTES: String(DEFAULT_CLIENT_TOKEN_VALIDITY_MINUTES),
      RESOURCE_SERVER_IDENTIFIER,
    });
    expect(envOf('postConfirmation')).toMatchObject({
      IDENTITY_TABLE_NAME: table,
      EVENT_BUS_NAME: ref(s.stack, s.stack.events.bus),
    });
    expect(envOf('notes')).toMatchObject({
      IDENTITY_TABLE_NAME: table,
      NOTES_TABLE_NAME: ref(s.stack, s.stack.tables.notes),
    });
  });

  it('lets the post-confirmation trigger finish within the 5 seconds Cognito waits', () => {
    const fn = props(resourceOf(s.template, s.stack, s.stack.functions.postConfirmation.function));
    expect(fn['Timeout']).toBeLessThanOrEqual(5);
  });
});

describe('user pool', () => {
  const pool = () => props(resourceOf(s.template, s.stack, s.stack.directory.userPool));

  it('wires the post-confirmation trigger to FUNCTIONS.postConfirmation and lets Cognito invoke it', () => {
    const trigger = s.stack.functions.postConfirmation.function;
    expect(flatten(pool()['LambdaConfig']['PostConfirmation'])).toBe(getAtt(s.stack, trigger));
    s.template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'cognito-idp.amazonaws.com',
      FunctionName: { 'Fn::GetAtt': [logicalId(s.stack, trigger), 'Arn'] },
      SourceArn: { 'Fn::GetAtt': [logicalId(s.stack, s.stack.directory.userPool), 'Arn'] },
    });
  });

  it('allows self sign-up with email as a verified sign-in alias', () => {
    const p = pool();
    expect(p['AdminCreateUserConfig']).toEqual({ AllowAdminCreateUserOnly: false });
    expect(p['AliasAttributes']).toEqual(['email']);
    expect(p['AutoVerifiedAttributes']).toEqual(['email']);
  });

  it('requires long passwords with all character classes', () => {
    const policy = pool()['Policies']['PasswordPolicy'];
    expect(policy['MinimumLength']).toBeGreaterThanOrEqual(12);
    expect(policy).toMatchObject({ RequireLowercase: true, RequireUppercase: true, RequireNumbers: true, RequireSymbols: true });
  });

  it('offers TOTP MFA and is protected from deletion and kept on stack removal by default', () => {
    const p = pool();
    expect(p['MfaConfiguration']).toBe('OPTIONAL');
    expect(p['EnabledMfas']).toEqual(['SOFTWARE_TOKEN_MFA']);
    expect(p['DeletionProtection']).toBe('ACTIVE');
    expect(resourceOf(s.template, s.stack, s.stack.directory.userPool).DeletionPolicy).toBe('Retain');
  });

  it('has the developers group', () => {
    s.template.hasResourceProperties('AWS::Cognito::UserPoolGroup', {
      GroupName: DEFAULT_DEVELOPERS_GROUP,
      UserPoolId: { Ref: logicalId(s.stack, s.stack.directory.userPool) },
    });
  });

  it('declares the resource server with every contract scope', () => {
    const server = props(resourceOf(s.template, s.stack, s.stack.directory.resourceServer));
    expect(server['Identifier']).toBe(RESOURCE_SERVER_IDENTIFIER);
    expect(server['Scopes']).toEqual(
      Object.entries(RESOURCE_SCOPES).map(([ScopeName, ScopeDescription]) => ({ ScopeName, ScopeDescription })),
    );
  });

  it.each(Object.entries(UI_CLIENT))('gives the UI client %s as UI_CLIENT says (the local bootstrap sends the same)', (field, value) => {
    const client = props(resourceOf(s.template, s.stack, s.stack.directory.uiClient));
    const sorted = (v: unknown) => (Array.isArray(v) ? [...v].sort() : v);
    expect(sorted(client[field])).toEqual(sorted(value));
  });

  it('gives the UI client no settings beyond UI_CLIENT but the pool it belongs to', () => {
    const client = props(resourceOf(s.template, s.stack, s.stack.directory.uiClient));
    expect(Object.keys(client).sort()).toEqual([...Object.keys(UI_CLIENT), 'UserPoolId'].sort());
  });

  it('serves managed login on a Cognito prefix domain, with a branding style for the UI client', () => {
    const domain = props(resourceOf(s.template, s.stack, s.stack.directory.domain));
    expect(flatten(domain['Domain'])).toBe('devaccess-<Ref AWS::AccountId>');
    expect(domain['ManagedLoginVersion']).toBe(2);
    s.template.hasResourceProperties('AWS::Cognito::ManagedLoginBranding', {
      ClientId: { Ref: logicalId(s.stack, s.stack.directory.uiClient) },
      UseCognitoProvidedValues: true,
    });
  });
});

describe('tables', () => {
  const cases = [
    ['identity', () => s.stack.tables.identity, TABLE_KEYS],
    ['notes', () => s.stack.tables.notes, NOTES_KEYS],
  ] as const;

  it.each(cases)('keys the %s table by the contract keys, on demand, with PITR and AWS-managed encryption', (_n, table, keys) => {
    const resource = resourceOf(s.template, s.stack, table());
    const p = props(resource);
    expect(p['KeySchema']).toEqual([
      { AttributeName: keys.partition, KeyType: 'HASH' },
      { AttributeName: keys.sort, KeyType: 'RANGE' },
    ]);
    expect(p['AttributeDefinitions']).toEqual([
      { AttributeName: keys.partition, AttributeType: 'S' },
      { AttributeName: keys.sort, AttributeType: 'S' },
    ]);
    expect(p['BillingMode']).toBe('PAY_PER_REQUEST');
    expect(p['PointInTimeRecoverySpecification']).toEqual({ PointInTimeRecoveryEnabled: true });
    expect(p['SSESpecification']).toEqual({ SSEEnabled: true });
    expect(p['DeletionProtectionEnabled']).toBe(true);
    expect(resource.DeletionPolicy).toBe('Retain');
  });

  it('gives no table a global secondary index (authorizing reads must be strongly consistent)', () => {
    for (const table of Object.values(resourcesOf(s.template, 'AWS::DynamoDB::Table'))) {
      expect(props(table)['GlobalSecondaryIndexes']).toBeUndefined();
    }
  });
});

describe('credential workflow', () => {
  const machine = () => props(resourceOf(s.template, s.stack, s.stack.workflow.stateMachine));

  it('is a STANDARD state machine', () => {
    expect(machine()['StateMachineType']).toBe('STANDARD');
  });

  it('holds the definition inline, with every placeholder filled by the stack resources', () => {
    // Prepare: the definition the loader produces with the template's references as values
    const expected = loadDefinition(STATE_MACHINES.credential, {
      IdentityTableName: ref(s.stack, s.stack.tables.identity),
      UserPoolId: ref(s.stack, s.stack.directory.userPool),
      CredentialTasksFunctionArn: getAtt(s.stack, s.stack.functions.credentialTasks.function),
      EventBusName: ref(s.stack, s.stack.events.bus),
      EventSource: EVENT_SOURCE,
      MaxCredentialsPerUser: String(DEFAULT_MAX_CREDENTIALS_PER_USER),
    });
    // Act
    const deployed = flatten(machine()['DefinitionString']);
    // Assess
    expect(machine()['DefinitionS3Location']).toBeUndefined();
    expect(JSON.parse(deployed)).toEqual(JSON.parse(expected));
    expect(deployed).not.toMatch(/\$\{[A-Za-z]/);
  });

  it('logs ALL events without execution data, and traces with X-Ray', () => {
    const m = machine();
    expect(m['LoggingConfiguration']).toEqual({
      Destinations: [
        { CloudWatchLogsLogGroup: { LogGroupArn: { 'Fn::GetAtt': [logicalId(s.stack, s.stack.workflow.logGroup), 'Arn'] } } },
      ],
      IncludeExecutionData: false,
      Level: 'ALL',
    });
    expect(m['TracingConfiguration']).toEqual({ Enabled: true });
  });
});

describe('events', () => {
  it('archives every product event from the custom bus', () => {
    const archive = props(resourceOf(s.template, s.stack, s.stack.events.archive));
    expect(archive['SourceArn']).toEqual({ 'Fn::GetAtt': [logicalId(s.stack, s.stack.events.bus), 'Arn'] });
    expect(archive['EventPattern']).toEqual(ALL_EVENTS_PATTERN);
    expect(archive['RetentionDays']).toBeGreaterThan(0);
  });

  it('delivers credential events from the bus to the audit log group', () => {
    const rule = props(resourceOf(s.template, s.stack, s.stack.events.auditRule));
    expect(rule['EventBusName']).toEqual({ Ref: logicalId(s.stack, s.stack.events.bus) });
    expect(rule['EventPattern']).toEqual(CREDENTIAL_EVENTS_PATTERN);
    expect(rule['Targets']).toHaveLength(1);
    expect(flatten(rule['Targets'][0]['Arn'])).toBe(
      `arn:<Ref AWS::Partition>:logs:<Ref AWS::Region>:<Ref AWS::AccountId>:log-group:${ref(s.stack, s.stack.events.auditLogGroup)}`,
    );
  });

  it('lets EventBridge write to the audit log group through its resource policy', () => {
    const [policy] = Object.values(resourcesOf(s.template, 'AWS::Logs::ResourcePolicy'));
    const document = JSON.parse(flatten(props(policy!)['PolicyDocument'])) as { Statement: Record<string, any>[] };
    expect(document.Statement).toEqual([
      expect.objectContaining({
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Principal: { Service: expect.arrayContaining(['events.amazonaws.com']) },
        Resource: getAtt(s.stack, s.stack.events.auditLogGroup),
      }),
    ]);
  });
});

describe('REST API', () => {
  /** Full path of every API Gateway resource, by logical id ('/credentials/{clientId}/reset'). */
  const pathsById = (): Map<string, string> => {
    const resources = resourcesOf(s.template, 'AWS::ApiGateway::Resource');
    const rootRef = JSON.stringify({ 'Fn::GetAtt': [logicalId(s.stack, s.stack.api.api), 'RootResourceId'] });
    const pathOf = (id: string): string => {
      const p = props(resources[id]!);
      const parent = JSON.stringify(p['ParentId']) === rootRef ? '' : pathOf(p['ParentId']['Ref']);
      return `${parent}/${p['PathPart']}`;
    };
    return new Map(Object.keys(resources).map((id) => [id, pathOf(id)]));
  };
  const methodFor = (method: string, path: string): Record<string, any> => {
    const paths = pathsById();
    const rootRef = JSON.stringify({ 'Fn::GetAtt': [logicalId(s.stack, s.stack.api.api), 'RootResourceId'] });
    const matches = Object.values(resourcesOf(s.template, 'AWS::ApiGateway::Method'))
      .map(props)
      .filter((m) => m['HttpMethod'] === method)
      .filter((m) => (JSON.stringify(m['ResourceId']) === rootRef ? '/' : paths.get(m['ResourceId']['Ref'])) === path);
    expect(matches, `${method} ${path}`).toHaveLength(1);
    return matches[0]!;
  };

  it('has one method per route and no other besides the CORS preflights', () => {
    const methods = Object.values(resourcesOf(s.template, 'AWS::ApiGateway::Method')).map(props);
    expect(methods.filter((m) => m['HttpMethod'] !== 'OPTIONS')).toHaveLength(ROUTES.length);
    expect(methods.filter((m) => m['HttpMethod'] === 'OPTIONS').every((m) => m['Integration']['Type'] === 'MOCK')).toBe(true);
  });

  it('deploys the stage the contract names, with access logs, error logs without data, and throttling', () => {
    s.template.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: API_STAGE,
      AccessLogSetting: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('\\$context.requestId') },
      MethodSettings: [
        Match.objectLike({
          HttpMethod: '*',
          ResourcePath: '/*',
          LoggingLevel: 'ERROR',
          DataTraceEnabled: false,
          ThrottlingRateLimit: Match.anyValue(),
          ThrottlingBurstLimit: Match.anyValue(),
        }),
      ],
    });
  });

  it('never writes a header into the access log (no token can reach it)', () => {
    const stage = props(Object.values(resourcesOf(s.template, 'AWS::ApiGateway::Stage'))[0]!);
    expect(stage['AccessLogSetting']['Format']).not.toMatch(/header|Authorization/i);
  });

  it('checks tokens with a Cognito user pool authorizer on the pool', () => {
    s.template.hasResourceProperties('AWS::ApiGateway::Authorizer', {
      Type: 'COGNITO_USER_POOLS',
      IdentitySource: 'method.request.header.Authorization',
      ProviderARNs: [{ 'Fn::GetAtt': [logicalId(s.stack, s.stack.directory.userPool), 'Arn'] }],
    });
  });

  it.each(ROUTES.filter((r) => r.access !== 'public'))(
    'requires the authorizer and routeScopes($access) on $method $path',
    (route) => {
      const method = methodFor(route.method, route.path);
      expect(method['AuthorizationType']).toBe('COGNITO_USER_POOLS');
      expect(method['AuthorizerId']).toEqual({ Ref: logicalId(s.stack, s.stack.api.authorizer) });
      expect(method['AuthorizationScopes']).toEqual(routeScopes(route.access));
      expect(method['AuthorizationScopes'].length).toBeGreaterThan(0);
    },
  );

  it.each(ROUTES.filter((r) => r.access === 'public'))('serves $method $path without a token', (route) => {
    const method = methodFor(route.method, route.path);
    expect(method['AuthorizationType']).toBe('NONE');
    expect(method['AuthorizationScopes']).toBeUndefined();
  });

  it.each(ROUTES)('proxies $method $path to the $handler function', (route) => {
    const integration = methodFor(route.method, route.path)['Integration'];
    expect(integration['Type']).toBe('AWS_PROXY');
    expect(integration['IntegrationHttpMethod']).toBe('POST');
    expect(flatten(integration['Uri'])).toContain(getAtt(s.stack, s.stack.functions[route.handler].function));
  });

  it.each(Object.entries(GATEWAY_RESPONSES as Record<string, GatewayResponseDef>))(
    'answers %s with the contract status, JSON error body, headers and CORS headers',
    (_k, def) => {
      const [response] = Object.values(resourcesOf(s.template, 'AWS::ApiGateway::GatewayResponse'))
        .map(props)
        .filter((r) => r['ResponseType'] === def.type);
      expect(response).toBeDefined();
      expect(response!['StatusCode']).toBe(def.status === undefined ? undefined : String(def.status));
      const body = JSON.parse(response!['ResponseTemplates']['application/json'] as string);
      expect(body).toEqual(gatewayResponseBody(def));
      expect(Object.keys(ERROR_STATUS)).toContain(body.error.code);
      expect(response!['ResponseParameters']).toEqual({
        ...Object.fromEntries(Object.entries(def.headers).map(([h, v]) => [`gatewayresponse.header.${h}`, `'${v}'`])),
        'gatewayresponse.header.Access-Control-Allow-Origin': `'${DEFAULT_CORS_ORIGINS[0]}'`,
        'gatewayresponse.header.Vary': "'Origin'",
      });
    },
  );

  it('leaves the status of DEFAULT_4XX and DEFAULT_5XX unset, so every other type keeps its own (504 stays 504)', () => {
    const defaults = Object.values(resourcesOf(s.template, 'AWS::ApiGateway::GatewayResponse'))
      .map(props)
      .filter((r) => r['ResponseType'] === 'DEFAULT_4XX' || r['ResponseType'] === 'DEFAULT_5XX');
    expect(defaults.map((r) => r['ResponseType']).sort()).toEqual(['DEFAULT_4XX', 'DEFAULT_5XX']);
    for (const response of defaults) expect(response).not.toHaveProperty('StatusCode');
  });

  it('tells 401 and 403 callers to use a Bearer token (RFC 6750)', () => {
    const responses = Object.values(resourcesOf(s.template, 'AWS::ApiGateway::GatewayResponse')).map(props);
    for (const type of ['UNAUTHORIZED', 'ACCESS_DENIED']) {
      const response = responses.find((r) => r['ResponseType'] === type);
      expect(response?.['ResponseParameters']['gatewayresponse.header.WWW-Authenticate']).toMatch(/^'Bearer( |')/);
    }
  });
});

describe('CORS', () => {
  /** Every resource the route table makes, with the ones on the way to a route and the root. */
  const resourcePaths = (): string[] => {
    const paths = new Set<string>(['/']);
    for (const route of ROUTES) {
      const parts = route.path.split('/');
      for (let i = 2; i <= parts.length; i++) paths.add(parts.slice(0, i).join('/'));
    }
    return [...paths].sort();
  };
  const optionsMethods = () =>
    s.stack.api.api.methods.filter((m) => m.httpMethod === 'OPTIONS').map((m) => ({ path: m.resource.path, method: m }));

  it('answers a preflight on every resource of the route table, and nowhere else', () => {
    expect(optionsMethods().map((m) => m.path).sort()).toEqual(resourcePaths());
  });

  it.each(resourcePaths())('answers the preflight on %s with the contract headers, without a token or a function', (path) => {
    const found = optionsMethods().find((m) => m.path === path);
    expect(found).toBeDefined();
    const method = props(resourceOf(s.template, s.stack, found!.method));
    expect(method['AuthorizationType']).toBe('NONE');
    expect(method['Integration']['Type']).toBe('MOCK');
    const [response] = method['Integration']['IntegrationResponses'];
    expect(response['StatusCode']).toBe(String(PREFLIGHT_STATUS));
    expect(response['ResponseParameters']).toEqual({
      'method.response.header.Access-Control-Allow-Headers': `'${CORS_ALLOW_HEADERS.join(',')}'`,
      'method.response.header.Access-Control-Allow-Origin': `'${DEFAULT_CORS_ORIGINS[0]}'`,
      'method.response.header.Vary': "'Origin'",
      'method.response.header.Access-Control-Allow-Methods': `'${CORS_ALLOW_METHODS.join(',')}'`,
      'method.response.header.Access-Control-Max-Age': `'${CORS_MAX_AGE_SECONDS}'`,
    });
    // One origin: nothing to choose, so no template overrides the header.
    expect(response['ResponseTemplates']).toBeUndefined();
  });

  it('allows the headers a browser client sends: the token, the JSON body type and the idempotency key', () => {
    expect([...CORS_ALLOW_HEADERS]).toEqual(['Authorization', 'Content-Type', 'Idempotency-Key']);
    expect(new Set(CORS_ALLOW_METHODS)).toEqual(new Set(['OPTIONS', ...ROUTES.map((r) => r.method)]));
  });

  it.each(Object.keys(FUNCTIONS).filter((name) => (FUNCTIONS[name as FunctionName].config as readonly string[]).includes('CORS_ALLOWED_ORIGINS')))(
    'gives the %s function the same allowed origins as the API',
    (name) => {
      const vars = props(resourceOf(s.template, s.stack, s.stack.functions[name as FunctionName].function))['Environment']['Variables'];
      expect(vars['CORS_ALLOWED_ORIGINS']).toBe(DEFAULT_CORS_ORIGINS.join(','));
      expect(s.stack.api.corsOrigins).toEqual(DEFAULT_CORS_ORIGINS);
    },
  );

  it('gives every API handler function the allowed origins', () => {
    const apiFunctions = [...new Set(ROUTES.map((r) => r.handler))].sort();
    const withCors = functionNames.filter((name) => (FUNCTIONS[name].config as readonly string[]).includes('CORS_ALLOWED_ORIGINS'));
    expect(withCors.sort()).toEqual(apiFunctions);
  });
});

describe('outputs', () => {
  it('publishes what a client and an operator need', () => {
    const outputs = s.template.toJSON()['Outputs'] as Record<string, { Value: unknown }>;
    const value = (name: string) => flatten(outputs[name]?.Value);
    expect(value('ApiUrl')).toContain(`${ref(s.stack, s.stack.api.api)}.execute-api.`);
    // The stage reference resolves to API_STAGE (the stage test checks its StageName).
    expect(value('ApiUrl')).toMatch(new RegExp(`/${ref(s.stack, s.stack.api.api.deploymentStage)}/$`));
    expect(value('UserPoolId')).toBe(ref(s.stack, s.stack.directory.userPool));
    expect(value('UiClientId')).toBe(ref(s.stack, s.stack.directory.uiClient));
    expect(value('TokenUrl')).toMatch(/\/oauth2\/token$/);
    expect(value('EventBusName')).toBe(ref(s.stack, s.stack.events.bus));
    expect(value('IdentityTableName')).toBe(ref(s.stack, s.stack.tables.identity));
    expect(value('CredentialStateMachineArn')).toBe(ref(s.stack, s.stack.workflow.stateMachine));
    expect(Object.keys(outputs).sort()).toEqual(
      ['ApiUrl', 'CredentialStateMachineArn', 'EventBusName', 'IdentityTableName', 'NotesTableName', 'TokenUrl',
        'UiClientId', 'UserPoolId'],
    );
  });
});
