/**
 * The devaccess stack: composes the constructs and wires each function's configuration to the resource it names,
 * with the grant next to it. Everything it names comes from the shared contract in lambdas/shared/contract.
 */
import { readFileSync } from 'node:fs';
import { ArnFormat, CfnOutput, Duration, RemovalPolicy, Stack, type StackProps, Tags, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import type { FunctionName } from '../../lambdas/shared/contract/functions';
import {
  DEFAULT_CLIENT_TOKEN_VALIDITY_MINUTES,
  DEFAULT_MAX_CREDENTIALS_PER_USER,
  DEFAULT_SWEEP_GRACE_SECONDS,
  DEFAULT_WORKFLOW_WAIT_MS,
  OPERATION_LOCK_SECONDS,
  RESOURCE_SERVER_IDENTIFIER as DEFAULT_RESOURCE_SERVER_IDENTIFIER,
  RESOURCE_SERVER_IDENTIFIER_PATTERN,
  STATE_MACHINES,
  SWEEP_SCHEDULE_MINUTES,
} from '../../lambdas/shared/contract/names';
import { DEFAULT_UI_CALLBACK_URLS, corsOriginsFor } from '../../lambdas/shared/contract/user-pool';
import { definitionPath } from '../../statemachines/load';
import { CredentialWorkflow } from './constructs/credential-workflow';
import { DataTables } from './constructs/data-tables';
import { HouseFunction, bind } from './constructs/house-function';
import { ProductApi } from './constructs/product-api';
import { ProductEvents } from './constructs/product-events';
import { UserDirectory } from './constructs/user-directory';

export interface DevAccessStackProps extends StackProps {
  /**
   * Most active credentials one user may hold (I2).
   * @default DEFAULT_MAX_CREDENTIALS_PER_USER
   */
  readonly maxCredentialsPerUser?: number;
  /**
   * Access-token validity of the machine clients the workflow creates, in minutes (5 to 1440).
   * @default DEFAULT_CLIENT_TOKEN_VALIDITY_MINUTES
   */
  readonly clientTokenValidityMinutes?: number;
  /**
   * Name of the Cognito group whose members may create credentials.
   * @default DEFAULT_DEVELOPERS_GROUP
   */
  readonly developersGroup?: string;
  /**
   * What happens to stateful resources (user pool, tables, log groups) when they leave the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Deletion protection on the user pool and the tables.
   * @default true
   */
  readonly deletionProtection?: boolean;
  /**
   * Prefix of the Cognito domain that serves managed login and the token endpoint.
   * @default `devaccess-<account id>`
   */
  readonly domainPrefix?: string;
  /**
   * UI client callback URLs.
   * @default ['http://localhost:3000/callback']
   */
  readonly callbackUrls?: readonly string[];
  /**
   * UI client sign-out URLs.
   * @default ['http://localhost:3000/']
   */
  readonly logoutUrls?: readonly string[];
  /**
   * Browser origins allowed to call the API (CORS), for the API's preflight and gateway responses and the API
   * functions' CORS_ALLOWED_ORIGINS.
   * @default the origins of the http(s) callback URLs
   */
  readonly corsOrigins?: readonly string[];
  /**
   * MFA for user sign-in.
   * @default 'optional'
   */
  readonly mfa?: 'optional' | 'required';
  /**
   * Cognito Plus plan with threat protection enforced.
   * @default false
   */
  readonly threatProtection?: boolean;
  /**
   * Identifier of the Cognito resource server: credentials get, and routes require, `<identifier>/read` and
   * `<identifier>/write` (the scope names are contract; the namespace is yours, e.g. `api.example.com`).
   * @default RESOURCE_SERVER_IDENTIFIER ('devaccess')
   */
  readonly resourceServerIdentifier?: string;
  /**
   * Send the user pool's email (sign-up codes) through Amazon SES from this verified address.
   * @default Cognito's default email sender (about 50 emails a day; for testing)
   */
  readonly sesFromEmail?: string;
  /**
   * Region of the SES identity of `sesFromEmail`.
   * @default the stack's region
   */
  readonly sesRegion?: string;
  /**
   * Create the account-wide API Gateway CloudWatch role.
   * @default true
   */
  readonly apiGatewayCloudWatchRole?: boolean;
  /**
   * How long the credentials API waits for a workflow run before answering 503, in milliseconds.
   * @default DEFAULT_WORKFLOW_WAIT_MS (25000)
   */
  readonly workflowWaitMs?: number;
  /**
   * How old, in seconds, a credential app client without an active mapping must be before the sweeper deletes it.
   * At least the credential workflow's TimeoutSeconds, so a running workflow never loses the client it creates.
   * @default DEFAULT_SWEEP_GRACE_SECONDS (15 minutes)
   */
  readonly sweepGraceSeconds?: number;
}

/** The credential workflow's own time limit (TimeoutSeconds of its definition). */
export function credentialWorkflowTimeoutSeconds(): number {
  const definition = JSON.parse(readFileSync(definitionPath(STATE_MACHINES.credential), 'utf8')) as { TimeoutSeconds?: unknown };
  if (typeof definition.TimeoutSeconds !== 'number') throw new Error('The credential workflow must set TimeoutSeconds');
  return definition.TimeoutSeconds;
}

export class DevAccessStack extends Stack {
  readonly tables: DataTables;
  readonly events: ProductEvents;
  readonly directory: UserDirectory;
  readonly workflow: CredentialWorkflow;
  readonly api: ProductApi;
  /** Every function of FUNCTIONS, by name; the type makes a function added to FUNCTIONS a compile error here. */
  readonly functions: Readonly<Record<FunctionName, HouseFunction>>;

  constructor(scope: Construct, id: string, props: DevAccessStackProps = {}) {
    super(scope, id, props);
    Tags.of(this).add('project', 'devaccess');

    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const deletionProtection = props.deletionProtection ?? true;
    const maxCredentialsPerUser = props.maxCredentialsPerUser ?? DEFAULT_MAX_CREDENTIALS_PER_USER;
    const workflowWaitMs = props.workflowWaitMs ?? DEFAULT_WORKFLOW_WAIT_MS;
    const sweepGraceSeconds = props.sweepGraceSeconds ?? DEFAULT_SWEEP_GRACE_SECONDS;
    if (!Number.isInteger(sweepGraceSeconds) || sweepGraceSeconds < credentialWorkflowTimeoutSeconds()) {
      throw new Error(
        `sweepGraceSeconds must be a whole number of at least ${credentialWorkflowTimeoutSeconds()} (the credential ` +
          `workflow's timeout), got ${sweepGraceSeconds}`,
      );
    }
    const functionDefaults = { removalPolicy };
    const corsOrigins = props.corsOrigins ?? corsOriginsFor(props.callbackUrls ?? DEFAULT_UI_CALLBACK_URLS);
    if (corsOrigins.length === 0) {
      throw new Error('No http(s) callback URL to take a CORS origin from: set corsOrigins');
    }
    const CORS_ALLOWED_ORIGINS = corsOrigins.join(',');
    const RESOURCE_SERVER_IDENTIFIER = props.resourceServerIdentifier ?? DEFAULT_RESOURCE_SERVER_IDENTIFIER;
    if (!RESOURCE_SERVER_IDENTIFIER_PATTERN.test(RESOURCE_SERVER_IDENTIFIER)) {
      throw new Error(
        `resourceServerIdentifier must be 1-250 printable characters without spaces, quotes or backslashes, got ${JSON.stringify(RESOURCE_SERVER_IDENTIFIER)}`,
      );
    }
    // What every API function's edge (lambdas/shared/http.ts) reads: the allowed origins and the scopes' namespace.
    const apiEdge = { CORS_ALLOWED_ORIGINS, RESOURCE_SERVER_IDENTIFIER };

    this.tables = new DataTables(this, 'Data', { removalPolicy, deletionProtection });
    const identityTable = this.tables.identity;
    const notesTable = this.tables.notes;
    this.events = new ProductEvents(this, 'Events', { removalPolicy });
    const bus = this.events.bus;

    // Cognito calls the trigger synchronously and gives up after 5 seconds. It gets no grant on the pool: the
    // pool depends on the function, so a policy naming the pool would be a dependency cycle.
    const postConfirmation = new HouseFunction(this, 'PostConfirmation', {
      ...functionDefaults,
      name: 'postConfirmation',
      timeout: Duration.seconds(5),
      config: {
        // Idempotent provisioning reads the username lookup after a conditional write fails.
        IDENTITY_TABLE_NAME: bind(identityTable.tableName, (fn) => identityTable.grantReadWriteData(fn)),
        EVENT_BUS_NAME: bind(bus.eventBusName, (fn) => bus.grantPutEventsTo(fn)),
      },
    });

    this.directory = new UserDirectory(this, 'Users', {
      postConfirmation: postConfirmation.function,
      developersGroup: props.developersGroup,
      domainPrefix: props.domainPrefix,
      callbackUrls: props.callbackUrls,
      logoutUrls: props.logoutUrls,
      mfa: props.mfa,
      threatProtection: props.threatProtection,
      resourceServerIdentifier: RESOURCE_SERVER_IDENTIFIER,
      sesFromEmail: props.sesFromEmail,
      sesRegion: props.sesRegion,
      removalPolicy,
      deletionProtection,
    });
    const userPool = this.directory.userPool;
    const poolGrant =
      (...actions: string[]) =>
      (fn: iam.IGrantable) =>
        iam.Grant.addToPrincipal({ grantee: fn, actions, resourceArns: [userPool.userPoolArn] });

    const credentialTasks = new HouseFunction(this, 'CredentialTasks', {
      ...functionDefaults,
      name: 'credentialTasks',
      timeout: Duration.seconds(30),
      config: {
        // It only creates clients; the workflow deletes them itself (its own role) and the sweeper deletes orphans.
        USER_POOL_ID: bind(userPool.userPoolId, poolGrant('cognito-idp:CreateUserPoolClient')),
        CLIENT_TOKEN_VALIDITY_MINUTES: String(props.clientTokenValidityMinutes ?? DEFAULT_CLIENT_TOKEN_VALIDITY_MINUTES),
        RESOURCE_SERVER_IDENTIFIER,
      },
    });

    this.workflow = new CredentialWorkflow(this, 'CredentialWorkflow', {
      identityTable,
      userPool,
      bus,
      tasksFunction: credentialTasks.function,
      maxCredentialsPerUser,
      removalPolicy,
    });
    const stateMachine = this.workflow.stateMachine;

    // Execution names are chosen per run, so DescribeExecution needs every execution of this state machine.
    const executionsArn = this.formatArn({
      service: 'states',
      resource: 'execution',
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      resourceName: `${stateMachine.stateMachineName}:*`,
    });
    const credentials = new HouseFunction(this, 'Credentials', {
      ...functionDefaults,
      name: 'credentials',
      // API Gateway stops waiting at 29 s; the handler answers 503 after WORKFLOW_WAIT_MS, well before.
      timeout: Duration.seconds(29),
      config: {
        IDENTITY_TABLE_NAME: bind(identityTable.tableName, (fn) => identityTable.grantReadData(fn)),
        // DescribeUserPoolClient returns the client secret: this is the only function allowed to call it, once,
        // after the workflow created the client, to put the secret in the response (I5).
        USER_POOL_ID: bind(
          userPool.userPoolId,
          poolGrant('cognito-idp:DescribeUserPoolClient', 'cognito-idp:AdminListGroupsForUser'),
        ),
        CREDENTIAL_STATE_MACHINE_ARN: bind(stateMachine.stateMachineArn, (fn) => {
          stateMachine.grantStartExecution(fn);
          iam.Grant.addToPrincipal({ grantee: fn, actions: ['states:DescribeExecution'], resourceArns: [executionsArn] });
        }),
        DEVELOPERS_GROUP: this.directory.developersGroupName,
        MAX_CREDENTIALS_PER_USER: String(maxCredentialsPerUser),
        TOKEN_URL: this.directory.tokenUrl,
        WORKFLOW_WAIT_MS: String(workflowWaitMs),
        OPERATION_LOCK_SECONDS: String(OPERATION_LOCK_SECONDS),
        ...apiEdge,
      },
    });
    Validations.of(credentials.role).acknowledge({
      // cdk-nag names the finding by the resource as the template spells it, pseudo parameters in <>.
      id: `AwsSolutions-IAM5[Resource::${nagResource(this, executionsArn)}]`,
      reason:
        'DescribeExecution is granted on the executions of the credential state machine only ' +
        '(execution:<state machine name>:*); execution names are chosen per run, so no fixed ARN exists.',
    });

    const identityRead = () => bind(identityTable.tableName, (fn) => identityTable.grantReadData(fn));
    const profile = new HouseFunction(this, 'Profile', {
      ...functionDefaults,
      name: 'profile',
      config: { IDENTITY_TABLE_NAME: identityRead(), ...apiEdge },
    });
    const notes = new HouseFunction(this, 'Notes', {
      ...functionDefaults,
      name: 'notes',
      config: {
        IDENTITY_TABLE_NAME: identityRead(),
        NOTES_TABLE_NAME: bind(notesTable.tableName, (fn) => notesTable.grantReadWriteData(fn)),
        ...apiEdge,
      },
    });
    const announcements = new HouseFunction(this, 'Announcements', {
      ...functionDefaults,
      name: 'announcements',
      config: { IDENTITY_TABLE_NAME: identityRead(), ...apiEdge },
    });
    const openapi = new HouseFunction(this, 'OpenApi', {
      ...functionDefaults,
      name: 'openapi',
      config: { TOKEN_URL: this.directory.tokenUrl, ...apiEdge },
    });

    // The reconciliation sweeper lists the pool's clients and deletes orphans; it never calls
    // DescribeUserPoolClient (secrets). On the table: consistent reads of mappings, one scan for active mappings
    // and markers, sweep markers (put/delete), and the conditional revoke of a mapping whose client is gone, which
    // it announces on the bus (CredentialRevoked, actor system/sweeper) like every credential state change. On
    // the state machine: it lists failed runs and reads the history of those that committed but could not publish
    // (EventNotPublished), to publish their event again; it never starts or stops a run. It also lists the pool's
    // confirmed users (ListUsers) and provisions any the post-confirmation trigger did not, with the trigger's code.
    const sweeper = new HouseFunction(this, 'Sweeper', {
      ...functionDefaults,
      name: 'sweeper',
      timeout: Duration.minutes(5),
      config: {
        IDENTITY_TABLE_NAME: bind(identityTable.tableName, (fn) =>
          identityTable.grant(fn, 'dynamodb:GetItem', 'dynamodb:Scan', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'),
        ),
        USER_POOL_ID: bind(
          userPool.userPoolId,
          poolGrant('cognito-idp:ListUserPoolClients', 'cognito-idp:DeleteUserPoolClient', 'cognito-idp:ListUsers'),
        ),
        SWEEPER_GRACE_SECONDS: String(sweepGraceSeconds),
        EVENT_BUS_NAME: bind(bus.eventBusName, (fn) => bus.grantPutEventsTo(fn)),
        CREDENTIAL_STATE_MACHINE_ARN: bind(stateMachine.stateMachineArn, (fn) => {
          iam.Grant.addToPrincipal({ grantee: fn, actions: ['states:ListExecutions'], resourceArns: [stateMachine.stateMachineArn] });
          iam.Grant.addToPrincipal({
            grantee: fn,
            actions: ['states:DescribeExecution', 'states:GetExecutionHistory'],
            resourceArns: [executionsArn],
          });
        }),
      },
    });
    Validations.of(sweeper.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${nagResource(this, executionsArn)}]`,
      reason:
        'DescribeExecution and GetExecutionHistory are granted on the executions of the credential state machine ' +
        'only (execution:<state machine name>:*), to find runs that could not publish their event and read it back.',
    });
    sweeper.runOnSchedule(
      'Schedule',
      events.Schedule.rate(Duration.minutes(SWEEP_SCHEDULE_MINUTES)),
      'Reconciliation sweeper: orphaned credential clients, missing events, users the trigger missed',
    );

    this.functions = { postConfirmation, credentialTasks, credentials, profile, notes, announcements, openapi, sweeper };

    this.api = new ProductApi(this, 'Api', {
      userPool,
      handlers: {
        credentials: credentials.function,
        profile: profile.function,
        notes: notes.function,
        announcements: announcements.function,
        openapi: openapi.function,
      },
      cloudWatchRole: props.apiGatewayCloudWatchRole,
      removalPolicy,
      corsOrigins,
      resourceServerIdentifier: RESOURCE_SERVER_IDENTIFIER,
    });

    const output = (id: string, value: string, description: string) => new CfnOutput(this, id, { value, description });
    output('ApiUrl', this.api.api.url, 'Base URL of the API (stage included)');
    output('UserPoolId', userPool.userPoolId, 'Cognito user pool id');
    output('UiClientId', this.directory.uiClient.userPoolClientId, 'App client id of the UI (authorization code + PKCE)');
    output('TokenUrl', this.directory.tokenUrl, 'OAuth 2.0 token endpoint (grant_type=client_credentials)');
    output('EventBusName', bus.eventBusName, 'EventBridge bus of product events');
    output('IdentityTableName', identityTable.tableName, 'DynamoDB identity table');
    output('NotesTableName', notesTable.tableName, 'DynamoDB notes table');
    output('CredentialStateMachineArn', stateMachine.stateMachineArn, 'Credential workflow state machine');
  }
}

/**
 * A resource ARN the way cdk-nag's IAM5 finding ids spell it: Fn::Join flattened, `Ref` and `Fn::GetAtt` as
 * `<Name>` and `<Resource.Attribute>`.
 */
function nagResource(stack: Stack, arn: string): string {
  const visit = (node: unknown): string => {
    if (typeof node === 'string') return node;
    const n = node as Record<string, unknown>;
    if (Array.isArray(n['Fn::Join'])) {
      const [delimiter, items] = n['Fn::Join'] as [string, unknown[]];
      return items.map(visit).join(delimiter);
    }
    if (Array.isArray(n['Fn::GetAtt'])) {
      const [resource, attribute] = n['Fn::GetAtt'] as [unknown, unknown];
      return `<${visit(resource)}.${visit(attribute)}>`;
    }
    if (n['Ref'] !== undefined) return `<${visit(n['Ref'])}>`;
    return JSON.stringify(node);
  };
  return visit(stack.resolve(arn));
}
