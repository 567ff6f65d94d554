/**
 * The credential workflow: a STANDARD state machine whose definition is statemachines/credential-workflow.asl.json
 * (filled by the one loader, inline in the template). Its role gets exactly the service actions its Task states
 * call, each on the one resource it is meant for; an integration this construct does not know fails the synth.
 */
import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type * as cognito from 'aws-cdk-lib/aws-cognito';
import { Construct } from 'constructs';
import { EVENT_SOURCE, STATE_MACHINES } from '../../../lambdas/shared/contract/names';
import { loadDefinition } from '../../../statemachines/load';

export interface CredentialWorkflowProps {
  readonly identityTable: dynamodb.ITable;
  readonly userPool: cognito.IUserPool;
  readonly bus: events.IEventBus;
  /** FUNCTIONS.credentialTasks: creates the Cognito app client and returns only its id. */
  readonly tasksFunction: lambda.IFunction;
  /** maxCredentialsPerUser (I2), used in a DynamoDB condition of the workflow. */
  readonly maxCredentialsPerUser: number;
  /**
   * How long the execution log group keeps its events.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/** The resources a Task state may act on. */
interface TaskTargets {
  readonly tableArn: string;
  readonly userPoolArn: string;
  readonly functionArn: string;
  readonly busArn: string;
}

interface TaskState {
  readonly Type: 'Task';
  readonly Resource: string;
  readonly Parameters?: Record<string, unknown>;
  readonly Arguments?: Record<string, unknown>;
}

const TRANSACT_ITEM_ACTIONS: Readonly<Record<string, string>> = {
  Put: 'dynamodb:PutItem',
  Update: 'dynamodb:UpdateItem',
  Delete: 'dynamodb:DeleteItem',
  ConditionCheck: 'dynamodb:ConditionCheckItem',
};

/** TransactWriteItems is authorized per item: the action of each item kind the transaction holds. */
function transactWriteActions(task: TaskState): string[] {
  const items = (task.Parameters ?? task.Arguments)?.['TransactItems'];
  // Items computed at run time (`TransactItems.$` or a JSONata expression): allow every item kind.
  if (!Array.isArray(items)) return Object.values(TRANSACT_ITEM_ACTIONS);
  const actions = new Set<string>();
  for (const item of items as unknown[]) {
    for (const kind of Object.keys(item as object)) {
      const action = TRANSACT_ITEM_ACTIONS[kind];
      if (!action) throw new Error(`Unknown TransactWriteItems item kind '${kind}'`);
      actions.add(action);
    }
  }
  return [...actions];
}

/** Service integration (the part of the Resource after `arn:<partition>:states:::`) -> the permission it needs. */
const INTEGRATIONS: Readonly<Record<string, (t: TaskTargets, task: TaskState) => { actions: string[]; resource: string }>> = {
  'lambda:invoke': (t) => ({ actions: ['lambda:InvokeFunction'], resource: t.functionArn }),
  'dynamodb:getItem': (t) => ({ actions: ['dynamodb:GetItem'], resource: t.tableArn }),
  'dynamodb:putItem': (t) => ({ actions: ['dynamodb:PutItem'], resource: t.tableArn }),
  'dynamodb:updateItem': (t) => ({ actions: ['dynamodb:UpdateItem'], resource: t.tableArn }),
  'dynamodb:deleteItem': (t) => ({ actions: ['dynamodb:DeleteItem'], resource: t.tableArn }),
  'aws-sdk:dynamodb:transactWriteItems': (t, task) => ({ actions: transactWriteActions(task), resource: t.tableArn }),
  'aws-sdk:cognitoidentityprovider:deleteUserPoolClient': (t) => ({
    actions: ['cognito-idp:DeleteUserPoolClient'],
    resource: t.userPoolArn,
  }),
  'events:putEvents': (t) => ({ actions: ['events:PutEvents'], resource: t.busArn }),
};

/** Every Task state of a definition, including those inside Parallel branches and Map processors. */
export function taskStates(definition: unknown): TaskState[] {
  const out: TaskState[] = [];
  const visit = (machine: unknown): void => {
    const states = (machine as { States?: Record<string, Record<string, unknown>> } | undefined)?.States ?? {};
    for (const state of Object.values(states)) {
      if (state['Type'] === 'Task') out.push(state as unknown as TaskState);
      if (state['Type'] === 'Parallel') for (const branch of (state['Branches'] as unknown[]) ?? []) visit(branch);
      if (state['Type'] === 'Map') visit(state['ItemProcessor'] ?? state['Iterator']);
    }
  };
  visit(definition);
  return out;
}

/** The policy statements a definition's Task states need, one per (resource, actions) pair. */
export function taskPolicyStatements(definition: unknown, targets: TaskTargets): iam.PolicyStatement[] {
  const byResource = new Map<string, Set<string>>();
  for (const task of taskStates(definition)) {
    const integration = /^arn:[^:]+:states:::(.+)$/.exec(task.Resource)?.[1];
    const permission = integration === undefined ? undefined : INTEGRATIONS[integration];
    if (!permission) {
      throw new Error(`The credential workflow uses '${task.Resource}', which CredentialWorkflow grants nothing for`);
    }
    const { actions, resource } = permission(targets, task);
    const set = byResource.get(resource) ?? new Set<string>();
    actions.forEach((a) => set.add(a));
    byResource.set(resource, set);
  }
  return [...byResource].map(
    ([resource, actions]) => new iam.PolicyStatement({ actions: [...actions].sort(), resources: [resource] }),
  );
}

export class CredentialWorkflow extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly logGroup: logs.LogGroup;
  /** The definition as deployed (placeholders filled; resource names are CloudFormation tokens). */
  readonly definition: string;

  constructor(scope: Construct, id: string, props: CredentialWorkflowProps) {
    super(scope, id);

    this.definition = loadDefinition(STATE_MACHINES.credential, {
      IdentityTableName: props.identityTable.tableName,
      UserPoolId: props.userPool.userPoolId,
      CredentialTasksFunctionArn: props.tasksFunction.functionArn,
      EventBusName: props.bus.eventBusName,
      EventSource: EVENT_SOURCE,
      MaxCredentialsPerUser: String(props.maxCredentialsPerUser),
    });

    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });

    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromString(this.definition),
      comment: 'Create, reset or revoke a credential (Cognito app client bound to a user)',
      tracingEnabled: true,
      // Execution data would copy every state's input and output (user ids, usernames, client ids) into a log
      // group with wider readers than the execution history; event types and timings are enough to operate.
      logs: { destination: this.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
    });

    for (const statement of taskPolicyStatements(JSON.parse(this.definition), {
      tableArn: props.identityTable.tableArn,
      userPoolArn: props.userPool.userPoolArn,
      functionArn: props.tasksFunction.functionArn,
      busArn: props.bus.eventBusArn,
    })) {
      this.stateMachine.addToRolePolicy(statement);
    }

    Validations.of(this.stateMachine.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'CDK adds these for logging and tracing: the CloudWatch Logs vended-delivery actions ' +
        '(CreateLogDelivery, PutResourcePolicy, ...) and X-Ray PutTraceSegments/PutTelemetryRecords/' +
        'GetSampling* support no resource-level permissions, so AWS requires Resource "*".',
    });
  }
}
