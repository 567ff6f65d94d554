/**
 * The product's EventBridge bus (lambdas/shared/contract/events.ts), an archive of every event it carries (so
 * consumers can replay) and an example audit rule that writes every credential event to a log group.
 */
import { Duration, RemovalPolicy, Stack, ArnFormat } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ALL_EVENTS_PATTERN, CREDENTIAL_EVENTS_PATTERN } from '../../../lambdas/shared/contract/events';

/** An event pattern in EventBridge's JSON form, as the contract declares it. */
export interface ContractEventPattern {
  readonly source?: readonly string[];
  readonly 'detail-type'?: readonly string[];
}

/** The CDK form of a contract event pattern (`detail-type` becomes `detailType`; nothing else is allowed). */
export function toEventPattern(pattern: ContractEventPattern): events.EventPattern {
  const known = new Set(['source', 'detail-type']);
  const unknown = Object.keys(pattern).filter((k) => !known.has(k));
  if (unknown.length > 0) throw new Error(`Unsupported event pattern fields: ${unknown.join(', ')}`);
  return {
    ...(pattern.source ? { source: [...pattern.source] } : {}),
    ...(pattern['detail-type'] ? { detailType: [...pattern['detail-type']] } : {}),
  };
}

export interface ProductEventsProps {
  /**
   * How long the archive keeps events for replay.
   * @default Duration.days(365)
   */
  readonly archiveRetention?: Duration;
  /**
   * How long the audit log group keeps credential events.
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly auditLogRetention?: logs.RetentionDays;
  /**
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * A log group as a rule target, with a native resource policy. (The aws-events-targets CloudWatchLogGroup
 * target installs its policy through a custom-resource Lambda function, which this stack does not need.)
 */
class LogGroupTarget implements events.IRuleTarget {
  constructor(private readonly logGroup: logs.LogGroup) {}

  bind(): events.RuleTargetConfig {
    const stack = Stack.of(this.logGroup);
    return {
      arn: stack.formatArn({
        service: 'logs',
        resource: 'log-group',
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        resourceName: this.logGroup.logGroupName,
      }),
    };
  }
}

export class ProductEvents extends Construct {
  readonly bus: events.EventBus;
  readonly archive: events.Archive;
  readonly auditRule: events.Rule;
  readonly auditLogGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: ProductEventsProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;

    this.bus = new events.EventBus(this, 'Bus', { description: 'devaccess product events' });

    this.archive = new events.Archive(this, 'Archive', {
      sourceEventBus: this.bus,
      eventPattern: toEventPattern(ALL_EVENTS_PATTERN),
      retention: props.archiveRetention ?? Duration.days(365),
      description: 'Every devaccess event, for replay',
    });

    this.auditLogGroup = new logs.LogGroup(this, 'AuditLogGroup', {
      retention: props.auditLogRetention ?? logs.RetentionDays.ONE_YEAR,
      removalPolicy,
    });
    // EventBridge writes to CloudWatch Logs under the log group's resource policy, not under a role.
    this.auditLogGroup.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [
          new iam.ServicePrincipal('events.amazonaws.com'),
          new iam.ServicePrincipal('delivery.logs.amazonaws.com'),
        ],
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.auditLogGroup.logGroupArn],
      }),
    );

    this.auditRule = new events.Rule(this, 'AuditRule', {
      eventBus: this.bus,
      eventPattern: toEventPattern(CREDENTIAL_EVENTS_PATTERN),
      description: 'Example audit consumer: every credential event to a log group',
      targets: [new LogGroupTarget(this.auditLogGroup)],
    });
  }
}
