/**
 * The constructs on their own, in small stacks: what they refuse, and the extension points the stack does not
 * use yet (the scheduled sweeper).
 */
import { Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import type * as iam from 'aws-cdk-lib/aws-iam';
import { describe, expect, it } from 'vitest';
import { taskPolicyStatements, taskStates } from '../../infra/aws/constructs/credential-workflow';
import { type ConfigValue, HouseFunction, bind } from '../../infra/aws/constructs/house-function';
import { toEventPattern } from '../../infra/aws/constructs/product-events';
import { CREDENTIAL_EVENTS_PATTERN } from '../../lambdas/shared/contract/events';
import { logicalId, testApp } from './synth';

const newStack = () => new Stack(testApp(), 'Test');

describe('HouseFunction', () => {
  it('refuses a configuration that lacks a key its FUNCTIONS entry lists', () => {
    const config = {
      IDENTITY_TABLE_NAME: 'identity',
      CORS_ALLOWED_ORIGINS: 'https://app.example.com',
      RESOURCE_SERVER_IDENTIFIER: 'devaccess',
    } as unknown as Record<'IDENTITY_TABLE_NAME' | 'NOTES_TABLE_NAME' | 'CORS_ALLOWED_ORIGINS' | 'RESOURCE_SERVER_IDENTIFIER', ConfigValue>;
    expect(() => new HouseFunction(newStack(), 'Notes', { name: 'notes', config })).toThrow(
      /missing \[NOTES_TABLE_NAME\], extra \[\]/,
    );
  });

  it('refuses a configuration key its FUNCTIONS entry does not list', () => {
    const config = {
      IDENTITY_TABLE_NAME: 'identity',
      CORS_ALLOWED_ORIGINS: 'https://app.example.com',
      RESOURCE_SERVER_IDENTIFIER: 'devaccess',
      USER_POOL_ID: 'us-east-1_abc',
    } as unknown as Record<'IDENTITY_TABLE_NAME' | 'CORS_ALLOWED_ORIGINS' | 'RESOURCE_SERVER_IDENTIFIER', ConfigValue>;
    expect(() => new HouseFunction(newStack(), 'Profile', { name: 'profile', config })).toThrow(
      /missing \[\], extra \[USER_POOL_ID\]/,
    );
  });

  it('refuses a literal value the function would refuse at cold start', () => {
    expect(
      () =>
        new HouseFunction(newStack(), 'Tasks', {
          name: 'credentialTasks',
          config: { USER_POOL_ID: 'us-east-1_abc', CLIENT_TOKEN_VALIDITY_MINUTES: '2', RESOURCE_SERVER_IDENTIFIER: 'devaccess' },
        }),
    ).toThrow(/CLIENT_TOKEN_VALIDITY_MINUTES="2" is invalid/);
  });

  it('refuses a CORS origin with a path, which no browser would ever send', () => {
    expect(
      () => new HouseFunction(newStack(), 'OpenApi', { name: 'openapi', config: { CORS_ALLOWED_ORIGINS: 'https://app.example.com/', TOKEN_URL: 'https://auth.example.com/oauth2/token', RESOURCE_SERVER_IDENTIFIER: 'devaccess' } }),
    ).toThrow(/CORS_ALLOWED_ORIGINS="https:\/\/app.example.com\/" is invalid: must be an origin/);
  });

  it('applies the grant bound to a configuration value to the function role', () => {
    // Prepare
    const stack = newStack();
    const granted: iam.IGrantable[] = [];
    // Act
    const fn = new HouseFunction(stack, 'Profile', {
      name: 'profile',
      config: {
        IDENTITY_TABLE_NAME: bind('identity', (grantee) => granted.push(grantee)),
        CORS_ALLOWED_ORIGINS: 'https://app.example.com',
        RESOURCE_SERVER_IDENTIFIER: 'devaccess',
      },
    });
    // Assess
    expect(granted).toEqual([fn.function]);
    expect(granted[0]?.grantPrincipal).toBe(fn.role);
  });

  it('runs a function on a schedule from the default bus (the place for the sweeper)', () => {
    // Prepare
    const stack = newStack();
    const fn = new HouseFunction(stack, 'OpenApi', { name: 'openapi', config: { CORS_ALLOWED_ORIGINS: 'https://app.example.com', TOKEN_URL: 'https://auth.example.com/oauth2/token', RESOURCE_SERVER_IDENTIFIER: 'devaccess' } });
    // Act
    fn.runOnSchedule('Schedule', events.Schedule.rate(Duration.hours(1)), 'hourly');
    // Assess
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 hour)',
      Targets: [{ Arn: { 'Fn::GetAtt': [logicalId(stack, fn.function), 'Arn'] }, Id: 'Target0', RetryPolicy: { MaximumRetryAttempts: 2 } }],
    });
    const rule = Object.values(template.findResources('AWS::Events::Rule'))[0] as { Properties: Record<string, unknown> };
    expect(rule.Properties['EventBusName']).toBeUndefined();
    template.hasResourceProperties('AWS::Lambda::Permission', { Principal: 'events.amazonaws.com' });
  });
});

describe('credential workflow permissions', () => {
  const targets = { tableArn: 'table', userPoolArn: 'pool', functionArn: 'fn', busArn: 'bus' };
  const grants = (definition: unknown) =>
    taskPolicyStatements(definition, targets).map((st) => st.toJSON() as { Action: string | string[]; Resource: string });

  it('refuses a Task integration it grants nothing for', () => {
    const definition = { States: { S: { Type: 'Task', Resource: 'arn:aws:states:::sqs:sendMessage' } } };
    expect(() => grants(definition)).toThrow(/sqs:sendMessage/);
  });

  it('grants only the item actions a literal transaction holds', () => {
    const definition = {
      States: {
        T: {
          Type: 'Task',
          Resource: 'arn:aws:states:::aws-sdk:dynamodb:transactWriteItems',
          Parameters: { TransactItems: [{ Update: {} }, { ConditionCheck: {} }] },
        },
      },
    };
    expect(grants(definition)).toEqual([
      { Action: ['dynamodb:ConditionCheckItem', 'dynamodb:UpdateItem'], Effect: 'Allow', Resource: 'table' },
    ]);
  });

  it('grants every item action when the transaction items are computed at run time', () => {
    const definition = {
      States: {
        T: { Type: 'Task', Resource: 'arn:aws:states:::aws-sdk:dynamodb:transactWriteItems', Parameters: { 'TransactItems.$': '$.items' } },
      },
    };
    expect(grants(definition)[0]?.Action).toEqual([
      'dynamodb:ConditionCheckItem',
      'dynamodb:DeleteItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
    ]);
  });

  it('finds Task states inside Parallel branches and Map processors', () => {
    const definition = {
      States: {
        P: {
          Type: 'Parallel',
          Branches: [{ States: { A: { Type: 'Task', Resource: 'arn:aws:states:::events:putEvents' } } }],
        },
        M: {
          Type: 'Map',
          ItemProcessor: { States: { B: { Type: 'Task', Resource: 'arn:aws:states:::lambda:invoke' } } },
        },
      },
    };
    expect(taskStates(definition).map((t) => t.Resource)).toEqual([
      'arn:aws:states:::events:putEvents',
      'arn:aws:states:::lambda:invoke',
    ]);
    expect(grants(definition)).toEqual([
      { Action: 'events:PutEvents', Effect: 'Allow', Resource: 'bus' },
      { Action: 'lambda:InvokeFunction', Effect: 'Allow', Resource: 'fn' },
    ]);
  });
});

describe('toEventPattern', () => {
  it('turns the contract pattern into the CDK form that synthesizes back to it', () => {
    expect(toEventPattern(CREDENTIAL_EVENTS_PATTERN)).toEqual({
      source: [...CREDENTIAL_EVENTS_PATTERN.source],
      detailType: [...CREDENTIAL_EVENTS_PATTERN['detail-type']],
    });
  });

  it('refuses a pattern field it would silently drop', () => {
    expect(() => toEventPattern({ source: ['x'], detail: { a: [1] } } as never)).toThrow(/detail/);
  });
});
