/**
 * CDK context -> stack props (what `cdk synth -c key=value` and cdk.json can set), and a stack built from
 * non-default context to show each setting reaches the resources it is meant for.
 */
import { App, RemovalPolicy } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { CONTEXT_KEYS, stackPropsFromContext } from '../../infra/aws/context';
import { DevAccessStack } from '../../infra/aws/devaccess-stack';
import { EVENT_SOURCE, STATE_MACHINES } from '../../lambdas/shared/contract/names';
import { loadDefinition } from '../../statemachines/load';
import { flatten, getAtt, logicalId, ref, resourceOf, resourcesOf, testApp } from './synth';

const propsFrom = (context: Record<string, unknown>) => stackPropsFromContext(new App({ context }).node);

describe('stackPropsFromContext', () => {
  it('leaves every setting to the stack defaults when no context is given', () => {
    const props = propsFrom({});
    expect(Object.entries(props).filter(([k, v]) => k !== 'description' && v !== undefined)).toEqual([]);
  });

  it('reads the string forms `cdk synth -c key=value` passes', () => {
    // Act
    const props = propsFrom({
      maxCredentialsPerUser: '3',
      clientTokenValidityMinutes: '15',
      developersGroup: 'builders',
      removalPolicy: 'destroy',
      deletionProtection: 'false',
      domainPrefix: 'acme-dev',
      callbackUrls: 'https://app.example.com/cb, https://admin.example.com/cb',
      logoutUrls: '["https://app.example.com/"]',
      corsOrigins: 'https://app.example.com,http://localhost:5173',
      mfa: 'required',
      threatProtection: 'true',
      sesFromEmail: 'no-reply@example.com',
      sesRegion: 'eu-west-1',
      resourceServerIdentifier: 'api.acme.example',
      apiGatewayCloudWatchRole: 'false',
      workflowWaitMs: '20000',
      sweepGraceSeconds: '1200',
    });
    // Assess
    expect(props).toMatchObject({
      maxCredentialsPerUser: 3,
      clientTokenValidityMinutes: 15,
      developersGroup: 'builders',
      removalPolicy: RemovalPolicy.DESTROY,
      deletionProtection: false,
      domainPrefix: 'acme-dev',
      callbackUrls: ['https://app.example.com/cb', 'https://admin.example.com/cb'],
      logoutUrls: ['https://app.example.com/'],
      corsOrigins: ['https://app.example.com', 'http://localhost:5173'],
      mfa: 'required',
      threatProtection: true,
      sesFromEmail: 'no-reply@example.com',
      sesRegion: 'eu-west-1',
      resourceServerIdentifier: 'api.acme.example',
      apiGatewayCloudWatchRole: false,
      workflowWaitMs: 20000,
      sweepGraceSeconds: 1200,
    });
  });

  it('reads the workflow wait and the sweeper grace, which the stack props offer too', () => {
    expect(CONTEXT_KEYS).toEqual(expect.arrayContaining(['workflowWaitMs', 'sweepGraceSeconds']));
  });

  it('reads the JSON forms cdk.json holds', () => {
    const props = propsFrom({ maxCredentialsPerUser: 2, deletionProtection: true, callbackUrls: ['https://a.example/cb'] });
    expect(props).toMatchObject({ maxCredentialsPerUser: 2, deletionProtection: true, callbackUrls: ['https://a.example/cb'] });
  });

  it.each([
    [{ maxCredentialsPerUser: 'two' }, /maxCredentialsPerUser.*integer/],
    [{ clientTokenValidityMinutes: 1.5 }, /clientTokenValidityMinutes.*integer/],
    [{ removalPolicy: 'snapshot' }, /removalPolicy.*retain, destroy/],
    [{ deletionProtection: 'yes' }, /deletionProtection.*true or false/],
    [{ callbackUrls: 'https://a/cb,,' }, /callbackUrls/],
    [{ developersGroup: '  ' }, /developersGroup.*non-empty/],
    [{ mfa: 'off' }, /mfa.*optional, required/],
    [{ workflowWaitMs: '25s' }, /workflowWaitMs.*integer/],
    [{ sweepGraceSeconds: 900.5 }, /sweepGraceSeconds.*integer/],
    [{ sweepGraceSeconds: '' }, /sweepGraceSeconds.*integer/],
    [{ sesFromEmail: ' ' }, /sesFromEmail.*non-empty/],
    [{ resourceServerIdentifier: '' }, /resourceServerIdentifier.*non-empty/],
  ])('refuses %j, naming the key', (context, message) => {
    expect(() => propsFrom(context)).toThrow(message);
  });

  it.each([
    [{ sesFromEmail: 'no-reply' , sesRegion: 'eu-west-1' }, /sesFromEmail must be an email address/],
    [{ sesFromEmail: 'no-reply@example.com' }, /sesRegion is required with sesFromEmail/],
    [{ sesRegion: 'eu-west-1' }, /sesRegion is only used with sesFromEmail/],
    [{ resourceServerIdentifier: 'my api' }, /resourceServerIdentifier must be 1-250 printable characters/],
  ])('refuses settings the stack cannot use: %j', (context, message) => {
    const app = testApp(context);
    expect(() => new DevAccessStack(app, 'DevAccess', stackPropsFromContext(app.node))).toThrow(message);
  });
});

describe('a stack built from non-default context', () => {
  let stack: DevAccessStack;
  let template: Template;
  let app: App;
  beforeAll(() => {
    app = testApp({
      maxCredentialsPerUser: '3',
      clientTokenValidityMinutes: '15',
      developersGroup: 'builders',
      removalPolicy: 'destroy',
      deletionProtection: 'false',
      domainPrefix: 'acme-dev',
      callbackUrls: 'https://app.example.com/cb',
      logoutUrls: 'https://app.example.com/',
      mfa: 'required',
      threatProtection: 'true',
      sesFromEmail: 'no-reply@example.com',
      sesRegion: 'eu-west-1',
      resourceServerIdentifier: 'api.acme.example',
      apiGatewayCloudWatchRole: 'false',
      workflowWaitMs: '20000',
      sweepGraceSeconds: '1200',
    });
    stack = new DevAccessStack(app, 'DevAccess', stackPropsFromContext(app.node));
    template = Template.fromStack(stack);
  });
  const envOf = (fn: 'credentials' | 'credentialTasks' | 'sweeper' | 'profile' | 'notes' | 'announcements' | 'openapi') =>
    (resourceOf(template, stack, stack.functions[fn].function).Properties as any).Environment.Variables;

  it('lets stateful resources go with the stack and turns deletion protection off', () => {
    for (const table of [stack.tables.identity, stack.tables.notes]) {
      const resource = resourceOf(template, stack, table);
      expect(resource.DeletionPolicy).toBe('Delete');
      expect(resource.Properties?.['DeletionProtectionEnabled']).toBe(false);
    }
    const pool = resourceOf(template, stack, stack.directory.userPool);
    expect(pool.DeletionPolicy).toBe('Delete');
    expect(pool.Properties?.['DeletionProtection']).toBe('INACTIVE');
    for (const group of Object.values(resourcesOf(template, 'AWS::Logs::LogGroup'))) expect(group.DeletionPolicy).toBe('Delete');
  });

  it('names the resource server as told, and every scope, method and function agrees', () => {
    const server = Object.values(resourcesOf(template, 'AWS::Cognito::UserPoolResourceServer'))[0];
    expect(server?.Properties?.['Identifier']).toBe('api.acme.example');
    const methodScopes = Object.values(resourcesOf(template, 'AWS::ApiGateway::Method')).flatMap(
      (m) => (m.Properties?.['AuthorizationScopes'] as string[] | undefined) ?? [],
    );
    expect(methodScopes).toEqual(expect.arrayContaining(['api.acme.example/read', 'api.acme.example/write']));
    expect(methodScopes.filter((scope) => scope.startsWith('devaccess/'))).toEqual([]);
    for (const fn of ['credentials', 'credentialTasks', 'profile', 'notes', 'announcements', 'openapi'] as const) {
      expect(envOf(fn)['RESOURCE_SERVER_IDENTIFIER']).toBe('api.acme.example');
    }
  });

  it('sends the user pool\'s email through SES from the given address', () => {
    const pool = resourceOf(template, stack, stack.directory.userPool);
    expect(pool.Properties?.['EmailConfiguration']).toMatchObject({
      EmailSendingAccount: 'DEVELOPER',
      From: 'no-reply@example.com',
      SourceArn: { 'Fn::Join': ['', expect.arrayContaining([expect.stringContaining(':ses:eu-west-1:')])] },
    });
  });

  it('passes the credential limit to the API and to the workflow condition', () => {
    expect(envOf('credentials')['MAX_CREDENTIALS_PER_USER']).toBe('3');
    const definition = flatten((resourceOf(template, stack, stack.workflow.stateMachine).Properties as any).DefinitionString);
    expect(JSON.parse(definition)).toEqual(
      JSON.parse(loadDefinition(STATE_MACHINES.credential, {
        IdentityTableName: ref(stack, stack.tables.identity),
        UserPoolId: ref(stack, stack.directory.userPool),
        CredentialTasksFunctionArn: getAtt(stack, stack.functions.credentialTasks.function),
        EventBusName: ref(stack, stack.events.bus),
        EventSource: EVENT_SOURCE,
        MaxCredentialsPerUser: '3',
      })),
    );
  });

  it('uses the token validity, group and domain given', () => {
    expect(envOf('credentialTasks')['CLIENT_TOKEN_VALIDITY_MINUTES']).toBe('15');
    expect(envOf('credentials')['DEVELOPERS_GROUP']).toBe('builders');
    template.hasResourceProperties('AWS::Cognito::UserPoolGroup', { GroupName: 'builders' });
    template.hasResourceProperties('AWS::Cognito::UserPoolDomain', { Domain: 'acme-dev' });
    // The domain resource's Ref is its prefix; referencing it also orders the function after the domain.
    expect(flatten(envOf('credentials')['TOKEN_URL'])).toBe(
      `https://${ref(stack, stack.directory.domain)}.auth.<Ref AWS::Region>.amazoncognito.com/oauth2/token`,
    );
    expect(resourceOf(template, stack, stack.directory.domain).Properties?.['Domain']).toBe('acme-dev');
  });

  it('gives the credentials API the workflow wait and the sweeper the grace age given', () => {
    expect(envOf('credentials')['WORKFLOW_WAIT_MS']).toBe('20000');
    expect(envOf('sweeper')['SWEEPER_GRACE_SECONDS']).toBe('1200');
  });

  it('gives the UI client the callback and sign-out URLs given', () => {
    template.hasResourceProperties('AWS::Cognito::UserPoolClient', {
      CallbackURLs: ['https://app.example.com/cb'],
      LogoutURLs: ['https://app.example.com/'],
    });
  });

  it('allows CORS from the origin of the callback URLs given when no corsOrigins is set', () => {
    expect(stack.api.corsOrigins).toEqual(['https://app.example.com']);
    expect(envOf('credentials')['CORS_ALLOWED_ORIGINS']).toBe('https://app.example.com');
    template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: 'UNAUTHORIZED',
      ResponseParameters: Match.objectLike({ 'gatewayresponse.header.Access-Control-Allow-Origin': "'https://app.example.com'" }),
    });
  });

  it('requires MFA and enforces threat protection on the Plus plan', () => {
    const pool = resourceOf(template, stack, stack.directory.userPool).Properties as any;
    expect(pool.MfaConfiguration).toBe('ON');
    expect(pool.UserPoolTier).toBe('PLUS');
    expect(pool.UserPoolAddOns).toEqual({ AdvancedSecurityMode: 'ENFORCED' });
  });

  it('leaves the account-wide API Gateway CloudWatch role alone', () => {
    template.resourceCountIs('AWS::ApiGateway::Account', 0);
    expect(logicalId(stack, stack.api.api)).toBeDefined();
  });

  it('still passes cdk-nag, with fewer acknowledgments needed', () => {
    const report = new AwsSolutionsChecks(app).validateScope(app);
    expect(report.violations.map((v) => v.ruleName)).toEqual([]);
  });

  it('refuses a CORS origin that is not an exact origin', () => {
    const bad = testApp({ corsOrigins: 'https://app.example.com/app' });
    expect(() => new DevAccessStack(bad, 'DevAccess', stackPropsFromContext(bad.node))).toThrow(/must be an origin/);
  });

  it('refuses to guess a CORS origin when no callback URL is a web address', () => {
    const bad = testApp({ callbackUrls: 'myapp://callback' });
    expect(() => new DevAccessStack(bad, 'DevAccess', stackPropsFromContext(bad.node))).toThrow(/set corsOrigins/);
  });

  it('refuses a credential limit the functions would refuse at cold start', () => {
    const bad = testApp({ maxCredentialsPerUser: '0' });
    expect(() => new DevAccessStack(bad, 'DevAccess', stackPropsFromContext(bad.node))).toThrow(
      /MAX_CREDENTIALS_PER_USER="0" is invalid/,
    );
  });

  it('refuses a workflow wait the credentials function would refuse at cold start', () => {
    const bad = testApp({ workflowWaitMs: '29000' });
    expect(() => new DevAccessStack(bad, 'DevAccess', stackPropsFromContext(bad.node))).toThrow(
      /WORKFLOW_WAIT_MS="29000" is invalid/,
    );
  });

  it('refuses a sweeper grace shorter than the credential workflow may run', () => {
    const bad = testApp({ sweepGraceSeconds: '60' });
    expect(() => new DevAccessStack(bad, 'DevAccess', stackPropsFromContext(bad.node))).toThrow(
      /sweepGraceSeconds must be a whole number of at least \d+ .*got 60/,
    );
  });
});

describe('a stack allowing several CORS origins', () => {
  const origins = ['https://app.example.com', 'https://admin.example.com'];
  let app: App;
  let stack: DevAccessStack;
  let template: Template;
  beforeAll(() => {
    app = testApp({ corsOrigins: origins.join(',') });
    stack = new DevAccessStack(app, 'DevAccess', stackPropsFromContext(app.node));
    template = Template.fromStack(stack);
  });

  it('answers a preflight from the second origin with that origin, through the mock integration template', () => {
    const preflight = stack.api.api.methods.find((m) => m.httpMethod === 'OPTIONS' && m.resource.path === '/notes');
    const method = resourceOf(template, stack, preflight!).Properties as any;
    const [response] = method.Integration.IntegrationResponses;
    expect(response.ResponseParameters['method.response.header.Access-Control-Allow-Origin']).toBe(`'${origins[0]}'`);
    expect(response.ResponseTemplates['application/json']).toContain(`$origin == "${origins[1]}"`);
    expect(response.ResponseTemplates['application/json']).toContain('$context.responseOverride.header.Access-Control-Allow-Origin');
  });

  it('echoes the request Origin on gateway responses, which cannot choose among literals', () => {
    for (const response of Object.values(resourcesOf(template, 'AWS::ApiGateway::GatewayResponse'))) {
      expect(response.Properties?.['ResponseParameters']).toMatchObject({
        'gatewayresponse.header.Access-Control-Allow-Origin': 'method.request.header.Origin',
        'gatewayresponse.header.Vary': "'Origin'",
      });
    }
  });

  it('gives the API functions the whole list', () => {
    const vars = (resourceOf(template, stack, stack.functions.notes.function).Properties as any).Environment.Variables;
    expect(vars['CORS_ALLOWED_ORIGINS']).toBe(origins.join(','));
  });

  it('passes cdk-nag, which recognises the preflights as CORS', () => {
    const report = new AwsSolutionsChecks(app).validateScope(app);
    expect(report.violations.map((v) => v.ruleName)).toEqual([]);
  });
});
