/**
 * Least privilege and cdk-nag: every policy in the template is scanned, and the AwsSolutions pack must find
 * nothing that is not acknowledged, with every acknowledgment reasoned and actually needed.
 */
import { Validations } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { FUNCTIONS, type FunctionName } from '../../lambdas/shared/contract/functions';
import { type Synthesized, buildStack, flatten, getAtt, logicalId, resourcesOf, synthStack } from './synth';

interface Statement {
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource?: unknown;
  readonly Principal?: unknown;
}

/** Every policy statement in the template, with the logical id of the resource that holds it. */
function allStatements(s: Synthesized): { holder: string; statement: Statement }[] {
  const out: { holder: string; statement: Statement }[] = [];
  const add = (holder: string, document: unknown) => {
    const doc = typeof document === 'string' ? (JSON.parse(document) as unknown) : document;
    for (const statement of (doc as { Statement: Statement[] }).Statement) out.push({ holder, statement });
  };
  for (const [id, r] of Object.entries(resourcesOf(s.template, 'AWS::IAM::Policy'))) add(id, r.Properties?.['PolicyDocument']);
  for (const [id, r] of Object.entries(resourcesOf(s.template, 'AWS::IAM::ManagedPolicy'))) add(id, r.Properties?.['PolicyDocument']);
  for (const [id, r] of Object.entries(resourcesOf(s.template, 'AWS::IAM::Role'))) {
    add(id, r.Properties?.['AssumeRolePolicyDocument']);
    for (const p of (r.Properties?.['Policies'] as { PolicyDocument: unknown }[] | undefined) ?? []) add(id, p.PolicyDocument);
  }
  // Resource policies are JSON strings with references joined in; flattened, they parse.
  for (const [id, r] of Object.entries(resourcesOf(s.template, 'AWS::Logs::ResourcePolicy'))) {
    add(id, flatten(r.Properties?.['PolicyDocument']));
  }
  return out;
}

const actionsOf = (st: Statement): string[] => (Array.isArray(st.Action) ? st.Action : [st.Action]);
const resourcesOfStatement = (st: Statement): string[] =>
  st.Resource === undefined ? [] : (Array.isArray(st.Resource) ? st.Resource : [st.Resource]).map((r) => flatten(r));

/** The statements of one function role's policy. */
function functionStatements(s: Synthesized, name: FunctionName): Statement[] {
  const roleId = logicalId(s.stack, s.stack.functions[name].role);
  return Object.values(resourcesOf(s.template, 'AWS::IAM::Policy'))
    .filter((p) => (p.Properties?.['Roles'] as unknown[]).some((r) => JSON.stringify(r) === JSON.stringify({ Ref: roleId })))
    .flatMap((p) => (p.Properties?.['PolicyDocument'] as { Statement: Statement[] }).Statement);
}

/** `{ resource: sorted actions }` of a set of statements. */
function grantsByResource(statements: Statement[]): Record<string, string[]> {
  const out: Record<string, Set<string>> = {};
  for (const st of statements) {
    for (const r of resourcesOfStatement(st)) {
      out[r] ??= new Set();
      actionsOf(st).forEach((a) => out[r]!.add(a));
    }
  }
  return Object.fromEntries(Object.entries(out).map(([r, a]) => [r, [...a].sort()]));
}

let s: Synthesized;
beforeAll(() => {
  s = synthStack();
});

describe('IAM', () => {
  it('has no wildcard in any action of any policy', () => {
    const statements = allStatements(s);
    expect(statements.length).toBeGreaterThan(20);
    const wildcards = statements.flatMap(({ holder, statement }) =>
      actionsOf(statement).filter((a) => a.includes('*')).map((a) => `${holder}: ${a}`),
    );
    expect(wildcards).toEqual([]);
  });

  it('uses Resource "*" only for the logging and tracing actions that support no resource', () => {
    const starred = allStatements(s).filter(({ statement }) => resourcesOfStatement(statement).includes('*'));
    const holders = new Set(starred.map((x) => x.holder));
    expect([...holders]).toEqual([logicalId(s.stack, s.stack.workflow.stateMachine.role.node.findChild('DefaultPolicy'))]);
    // Vended-log delivery (Step Functions logging) and X-Ray actions have no resource-level permissions.
    const noResourceLevel = new Set([
      'logs:CreateLogDelivery', 'logs:GetLogDelivery', 'logs:UpdateLogDelivery', 'logs:DeleteLogDelivery',
      'logs:ListLogDeliveries', 'logs:PutResourcePolicy', 'logs:DescribeResourcePolicies', 'logs:DescribeLogGroups',
      'xray:PutTraceSegments', 'xray:PutTelemetryRecords', 'xray:GetSamplingRules', 'xray:GetSamplingTargets',
    ]);
    const actions = starred.flatMap(({ statement }) => actionsOf(statement));
    expect(actions.filter((a) => !noResourceLevel.has(a))).toEqual([]);
  });

  it('lets only the credentials function call DescribeUserPoolClient (it returns the secret)', () => {
    const holders = allStatements(s)
      .filter(({ statement }) => actionsOf(statement).includes('cognito-idp:DescribeUserPoolClient'))
      .map((x) => x.holder);
    expect(holders).toEqual([logicalId(s.stack, s.stack.functions.credentials.role.node.findChild('DefaultPolicy'))]);
  });

  it('scopes every Cognito action to the user pool', () => {
    const pool = getAtt(s.stack, s.stack.directory.userPool);
    const cognito = allStatements(s).filter(({ statement }) => actionsOf(statement).some((a) => a.startsWith('cognito-idp:')));
    expect(cognito.length).toBeGreaterThan(0);
    for (const { statement } of cognito) expect(resourcesOfStatement(statement)).toEqual([pool]);
  });

  it('gives each function exactly the grants its configuration serves', () => {
    // Prepare
    const table = getAtt(s.stack, s.stack.tables.identity);
    const notesTable = getAtt(s.stack, s.stack.tables.notes);
    const pool = getAtt(s.stack, s.stack.directory.userPool);
    const bus = getAtt(s.stack, s.stack.events.bus);
    const machine = `<Ref ${logicalId(s.stack, s.stack.workflow.stateMachine)}>`;
    const executions = `arn:<Ref AWS::Partition>:states:<Ref AWS::Region>:<Ref AWS::AccountId>:execution:${getAtt(s.stack, s.stack.workflow.stateMachine, 'Name')}:*`;
    const read = ['dynamodb:BatchGetItem', 'dynamodb:ConditionCheckItem', 'dynamodb:DescribeTable', 'dynamodb:GetItem',
      'dynamodb:GetRecords', 'dynamodb:GetShardIterator', 'dynamodb:Query', 'dynamodb:Scan'];
    const readWrite = [...read, 'dynamodb:BatchWriteItem', 'dynamodb:DeleteItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'].sort();
    const logs = (name: FunctionName) => ({
      [getAtt(s.stack, s.stack.functions[name].logGroup)]: ['logs:CreateLogStream', 'logs:PutLogEvents'],
    });
    const expected: Record<FunctionName, Record<string, string[]>> = {
      postConfirmation: { ...logs('postConfirmation'), [table]: readWrite, [bus]: ['events:PutEvents'] },
      // Creates clients only: deleting them is the workflow's and the sweeper's job.
      credentialTasks: { ...logs('credentialTasks'), [pool]: ['cognito-idp:CreateUserPoolClient'] },
      credentials: {
        ...logs('credentials'),
        [table]: read,
        [pool]: ['cognito-idp:AdminListGroupsForUser', 'cognito-idp:DescribeUserPoolClient'],
        [machine]: ['states:StartExecution'],
        [executions]: ['states:DescribeExecution'],
      },
      profile: { ...logs('profile'), [table]: read },
      notes: { ...logs('notes'), [table]: read, [notesTable]: readWrite },
      announcements: { ...logs('announcements'), [table]: read },
      openapi: { ...logs('openapi') },
      // Lists and deletes app clients, never describes them (DescribeUserPoolClient returns the secret); announces
      // the mappings it revokes (CredentialRevoked) and publishes again the events runs could not.
      sweeper: {
        ...logs('sweeper'),
        [table]: ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Scan', 'dynamodb:UpdateItem'],
        [pool]: ['cognito-idp:DeleteUserPoolClient', 'cognito-idp:ListUserPoolClients', 'cognito-idp:ListUsers'],
        [bus]: ['events:PutEvents'],
        // Reads failed runs back to publish the events of those that committed but could not (never starts one).
        [machine]: ['states:ListExecutions'],
        [executions]: ['states:DescribeExecution', 'states:GetExecutionHistory'],
      },
    };
    // Act / Assess
    for (const name of Object.keys(FUNCTIONS) as FunctionName[]) {
      expect(grantsByResource(functionStatements(s, name)), name).toEqual(expected[name]);
    }
  });

  it('gives function roles no managed policy (not even AWSLambdaBasicExecutionRole)', () => {
    for (const name of Object.keys(FUNCTIONS) as FunctionName[]) {
      const role = s.template.toJSON()['Resources'][logicalId(s.stack, s.stack.functions[name].role)];
      expect(role.Properties.ManagedPolicyArns, name).toBeUndefined();
    }
  });

  it('keeps the post-confirmation role free of any reference to the user pool (no dependency cycle)', () => {
    const statements = functionStatements(s, 'postConfirmation');
    expect(JSON.stringify(statements)).not.toContain(logicalId(s.stack, s.stack.directory.userPool));
  });

  it('grants the state machine exactly what its Task states call, each on its one resource', () => {
    // Prepare
    const policy = s.stack.workflow.stateMachine.role.node.findChild('DefaultPolicy');
    const statements = (s.template.toJSON()['Resources'][logicalId(s.stack, policy)].Properties.PolicyDocument as {
      Statement: Statement[];
    }).Statement.filter((st) => !resourcesOfStatement(st).includes('*'));
    // Act
    const grants = grantsByResource(statements);
    // Assess
    expect(grants).toEqual({
      [getAtt(s.stack, s.stack.tables.identity)]: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
      [getAtt(s.stack, s.stack.functions.credentialTasks.function)]: ['lambda:InvokeFunction'],
      [getAtt(s.stack, s.stack.directory.userPool)]: ['cognito-idp:DeleteUserPoolClient'],
      [getAtt(s.stack, s.stack.events.bus)]: ['events:PutEvents'],
    });
  });

  it('lets API Gateway invoke each function only through its own methods of the deployed stage', () => {
    const permissions = Object.values(resourcesOf(s.template, 'AWS::Lambda::Permission'))
      .map((p) => p.Properties ?? {})
      .filter((p) => p['Principal'] === 'apigateway.amazonaws.com');
    expect(permissions.length).toBeGreaterThan(0);
    for (const p of permissions) {
      const arn = flatten(p['SourceArn']);
      expect(arn).toMatch(/^arn:<Ref AWS::Partition>:execute-api:/);
      expect(arn).not.toContain('test-invoke-stage');
      expect(arn).toContain(`/<Ref ${logicalId(s.stack, s.stack.api.api.deploymentStage)}>/`);
    }
  });
});

describe('cdk-nag AwsSolutions', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('finds nothing unacknowledged, error or warning', () => {
    // Act
    const report = new AwsSolutionsChecks(s.app).validateScope(s.app);
    // Assess
    const found = report.violations.map(
      (v) => `${v.severity} ${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`,
    );
    expect(found).toEqual([]);
    expect(report.success).toBe(true);
  });

  it('leaves no CDK error or warning annotation on the stack', () => {
    const annotations = Annotations.fromStack(s.stack);
    expect(annotations.findError('*', Match.anyValue())).toEqual([]);
    expect(annotations.findWarning('*', Match.anyValue())).toEqual([]);
  });

  it('acknowledges only findings that occur, each on the construct it concerns, with a reason', () => {
    // Prepare: the acknowledgments the stack records, as (construct path, rule id)
    const acknowledged: { path: string; id: string; reason: string }[] = [];
    const visit = (c: IConstruct) => {
      for (const entry of c.node.metadata) {
        if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
        for (const [key, reason] of Object.entries(entry.data as Record<string, string>)) {
          const id = key.replace(/^annotation::/i, '');
          if (!acknowledged.some((a) => a.path === c.node.path && a.id === id)) acknowledged.push({ path: c.node.path, id, reason });
        }
      }
      c.node.children.forEach(visit);
    };
    visit(s.app);
    // Act: the same stack built with every acknowledgment ignored
    vi.spyOn(Validations.prototype, 'acknowledge').mockImplementation(() => undefined);
    const bare = buildStack();
    const findings = new AwsSolutionsChecks(bare.app)
      .validateScope(bare.app)
      .violations.flatMap((v) => v.violatingResources.map((r) => ({ id: v.ruleName, path: r.constructPath ?? '' })));
    // Assess
    expect(acknowledged.length).toBeGreaterThan(0);
    for (const ack of acknowledged) {
      expect(ack.reason.length, `${ack.id} on ${ack.path}`).toBeGreaterThan(40);
      const silenced = findings.filter((f) => f.id === ack.id && (f.path === ack.path || f.path.startsWith(`${ack.path}/`)));
      expect(silenced.length, `${ack.id} on ${ack.path} silences nothing`).toBeGreaterThan(0);
    }
    for (const f of findings) {
      const covering = acknowledged.filter((a) => a.id === f.id && (f.path === a.path || f.path.startsWith(`${a.path}/`)));
      expect(covering.length, `${f.id} on ${f.path}`).toBeGreaterThan(0);
    }
  });
});
