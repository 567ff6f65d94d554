/**
 * The AWS side of credential management: Step Functions (the workflow engine) and the Cognito user pool
 * (group membership, a client's secret). Small on purpose; the rules live in service.ts and run-workflow.ts.
 */
import {
  AdminListGroupsForUserCommand,
  type CognitoIdentityProviderClient,
  DescribeUserPoolClientCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { DescribeExecutionCommand, type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { awsErrorName } from '../shared/aws-errors';
import type { CredentialWorkflowInput } from '../shared/contract/workflow';
import type { ExecutionState, ExecutionStatus, WorkflowEngine } from './run-workflow';
import { EXECUTION_NAME_PATTERN } from './run-workflow';
import type { UserDirectory } from './service';

const STATE_MACHINE_ARN = /^arn:[\w-]+:states:[\w-]+:\d{12}:stateMachine:[^:\s]{1,80}$/;

/**
 * The ARN of an execution of a state machine, from its name:
 * `arn:aws:states:<region>:<account>:stateMachine:<sm>` -> `arn:aws:states:<region>:<account>:execution:<sm>:<name>`.
 */
export function executionArn(stateMachineArn: string, name: string): string {
  if (!STATE_MACHINE_ARN.test(stateMachineArn)) throw new Error(`Not a state machine ARN: ${stateMachineArn}`);
  if (!EXECUTION_NAME_PATTERN.test(name)) throw new Error(`Not a valid execution name: ${name}`);
  return `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
}

const STATUSES: readonly ExecutionStatus[] = ['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED', 'PENDING_REDRIVE'];

export class StepFunctionsEngine implements WorkflowEngine {
  constructor(
    private readonly client: SFNClient,
    private readonly stateMachineArn: string,
  ) {
    // Fail the cold start, not the first request, on a malformed ARN.
    executionArn(stateMachineArn, 'probe');
  }

  async start(name: string, input: CredentialWorkflowInput): Promise<'started' | 'exists'> {
    try {
      await this.client.send(
        new StartExecutionCommand({ stateMachineArn: this.stateMachineArn, name, input: JSON.stringify(input) }),
      );
      return 'started';
    } catch (err) {
      if (awsErrorName(err) === 'ExecutionAlreadyExists') return 'exists';
      throw err;
    }
  }

  async describe(name: string): Promise<ExecutionState | undefined> {
    try {
      const out = await this.client.send(
        new DescribeExecutionCommand({ executionArn: executionArn(this.stateMachineArn, name) }),
      );
      const status = STATUSES.find((s) => s === out.status);
      if (!status) throw new Error(`Unknown execution status ${String(out.status)}`);
      return {
        status,
        ...(out.output !== undefined ? { output: out.output } : {}),
        ...(out.error !== undefined ? { error: out.error } : {}),
        ...(out.input !== undefined ? { input: out.input } : {}),
      };
    } catch (err) {
      if (awsErrorName(err) === 'ExecutionDoesNotExist') return undefined;
      throw err;
    }
  }
}

/** AdminListGroupsForUser returns at most 60 groups a page. */
const GROUPS_PAGE_SIZE = 60;

export class CognitoDirectory implements UserDirectory {
  constructor(
    private readonly client: CognitoIdentityProviderClient,
    private readonly userPoolId: string,
  ) {}

  async isMemberOf(username: string, group: string): Promise<boolean> {
    let nextToken: string | undefined;
    try {
      do {
        const out = await this.client.send(
          new AdminListGroupsForUserCommand({
            UserPoolId: this.userPoolId,
            Username: username,
            Limit: GROUPS_PAGE_SIZE,
            NextToken: nextToken,
          }),
        );
        if (out.Groups?.some((g) => g.GroupName === group)) return true;
        nextToken = out.NextToken;
      } while (nextToken);
      return false;
    } catch (err) {
      // A user deleted from the pool (their token lives on until it expires) is in no group.
      if (awsErrorName(err) === 'UserNotFoundException') return false;
      throw err;
    }
  }

  async clientSecret(clientId: string): Promise<string | undefined> {
    try {
      const out = await this.client.send(
        new DescribeUserPoolClientCommand({ UserPoolId: this.userPoolId, ClientId: clientId }),
      );
      return out.UserPoolClient?.ClientSecret;
    } catch (err) {
      if (awsErrorName(err) === 'ResourceNotFoundException') return undefined;
      throw err;
    }
  }
}
