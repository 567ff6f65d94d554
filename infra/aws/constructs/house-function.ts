/**
 * The house Lambda function: one place that decides runtime, architecture, bundling, logging and configuration
 * for every function in FUNCTIONS (lambdas/shared/contract/functions.ts).
 */
import { Duration, RemovalPolicy, Token, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { LogLevel, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { join } from 'node:path';
import { type ConfigKey, configSchema } from '../../../lambdas/shared/config';
import { FUNCTIONS, type FunctionDef, type FunctionName } from '../../../lambdas/shared/contract/functions';
import { SERVICE_NAME } from '../../../lambdas/shared/contract/names';
import { LAMBDAS_DIR, REPO_ROOT } from '../paths';

/** The Lambda runtime of every function. */
export const FUNCTION_RUNTIME = lambda.Runtime.NODEJS_24_X;

/** Environment variables the house construct sets on every function, besides the function's config keys. */
export const HOUSE_ENVIRONMENT: Readonly<Record<string, string>> = {
  // The logger names the service itself; this also names it for any Powertools utility that reads the variable.
  POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
  // The bundle ships a source map; without this flag stack traces point into minified code.
  NODE_OPTIONS: '--enable-source-maps',
};

/**
 * The value of one configuration variable and, when the value names a resource, the grant the function needs
 * on it. Keeping the grant beside the value means a function can never get a resource name without the
 * permission to use it, nor a permission for a resource it was not told about.
 */
export interface ConfigBinding {
  readonly value: string;
  readonly grant: (grantee: iam.IGrantable) => void;
}

/** A configuration value that needs no permission. */
export type ConfigValue = string | ConfigBinding;

/** Binds a configuration value to the grant that serves it. */
export function bind(value: string, grant: (grantee: iam.IGrantable) => void): ConfigBinding {
  return { value, grant };
}

/** The configuration keys FUNCTIONS lists for function `N`. */
export type FunctionConfigKey<N extends FunctionName> = (typeof FUNCTIONS)[N]['config'][number];

export interface HouseFunctionProps<N extends FunctionName = FunctionName> {
  /** Which function of FUNCTIONS this is; it decides the entry (`lambdas/<entry>`) and the description. */
  readonly name: N;
  /**
   * One value for every configuration key FUNCTIONS[name].config lists, and no other key (checked by the
   * compiler and again at synth), so the deployed environment is exactly what the function reads. Values that
   * are known at synth are also parsed with the functions' own config schema.
   */
  readonly config: Readonly<Record<FunctionConfigKey<N>, ConfigValue>>;
  /**
   * @default Duration.seconds(10)
   */
  readonly timeout?: Duration;
  /**
   * @default 512
   */
  readonly memorySize?: number;
  /**
   * How long the function's log group keeps its events.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * What happens to the log group when it leaves the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * A NodejsFunction from FUNCTIONS with the house settings: Node.js 24 on ARM64, an ESM bundle (minified, with
 * a source map), its own log group with a retention, its own role that may write only to that log group, and
 * an environment of exactly its configuration keys plus the Powertools service name.
 */
export class HouseFunction<N extends FunctionName = FunctionName> extends Construct {
  readonly function: NodejsFunction;
  readonly logGroup: logs.LogGroup;
  readonly role: iam.Role;
  readonly name: N;

  constructor(scope: Construct, id: string, props: HouseFunctionProps<N>) {
    super(scope, id);
    const def: FunctionDef = FUNCTIONS[props.name];
    this.name = props.name;
    const config = props.config as Readonly<Partial<Record<ConfigKey, ConfigValue>>>;

    const expected: ConfigKey[] = [...def.config].sort();
    const given = Object.keys(config).sort();
    const missing = expected.filter((k) => !given.includes(k));
    const extra = given.filter((k) => !(expected as string[]).includes(k));
    if (missing.length > 0 || extra.length > 0) {
      throw new Error(
        `Function '${props.name}': configuration does not match FUNCTIONS.config: ` +
          `missing [${missing.join(', ')}], extra [${extra.join(', ')}]`,
      );
    }
    const values = Object.fromEntries(
      expected.map((key) => {
        const binding = config[key] as ConfigValue;
        return [key, typeof binding === 'string' ? binding : binding.value];
      }),
    ) as Record<ConfigKey, string>;
    // A bad literal (maxCredentialsPerUser=0, a malformed URL) fails here, not at the function's cold start.
    for (const key of expected) {
      if (Token.isUnresolved(values[key])) continue;
      const parsed = configSchema.shape[key].safeParse(values[key]);
      if (!parsed.success) {
        const problem = parsed.error.issues[0]?.message ?? 'invalid';
        throw new Error(`Function '${props.name}': ${key}=${JSON.stringify(values[key])} is invalid: ${problem}`);
      }
    }

    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });

    // An own role instead of AWSLambdaBasicExecutionRole: that managed policy may write to every log group.
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `devaccess ${props.name} function`,
    });
    this.logGroup.grantWrite(this.role);

    const environment: Record<string, string> = { ...HOUSE_ENVIRONMENT, ...values };

    this.function = new NodejsFunction(this, 'Function', {
      entry: join(LAMBDAS_DIR, def.entry),
      handler: 'handler',
      description: def.description,
      runtime: FUNCTION_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(10),
      role: this.role,
      logGroup: this.logGroup,
      environment,
      projectRoot: REPO_ROOT,
      depsLockFilePath: join(REPO_ROOT, 'package-lock.json'),
      bundling: {
        format: OutputFormat.ESM,
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        mainFields: ['module', 'main'],
        logLevel: LogLevel.WARNING,
        // The SDK is bundled, not taken from the runtime: the deployed code then runs the versions the tests ran.
        externalModules: [],
        // Some bundled CommonJS dependencies call require() for Node built-ins; an ESM bundle has no require.
        banner: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
      },
    });

    for (const key of expected) {
      const binding = config[key] as ConfigValue;
      if (typeof binding !== 'string') binding.grant(this.function);
    }

    Validations.of(this.function).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'nodejs24.x is the newest Node.js runtime aws-cdk-lib lists as available in every region ' +
        '(Runtime.NODEJS_LATEST); a newer one would fail to deploy where Lambda does not offer it yet.',
    });
  }

  /**
   * Runs the function on a schedule (for example the credential sweeper that removes orphaned app clients).
   * The rule is on the account's default bus, so product events on the custom bus never trigger it.
   */
  runOnSchedule(id: string, schedule: events.Schedule, description?: string): events.Rule {
    const rule = new events.Rule(this, id, { schedule, description });
    rule.addTarget(new targets.LambdaFunction(this.function, { retryAttempts: 2 }));
    return rule;
  }
}
