/**
 * The DynamoDB tables: the identity table (users, username and client lookups, credential lists; layout in
 * lambdas/shared/contract/table.ts) and the notes table (sample per-user data).
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { NOTES_KEYS, TABLE_KEYS } from '../../../lambdas/shared/contract/table';

export interface DataTablesProps {
  /**
   * What happens to the tables when they leave the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * DynamoDB deletion protection on both tables.
   * @default true
   */
  readonly deletionProtection?: boolean;
}

export class DataTables extends Construct {
  /** Authorizing lookups are strongly consistent reads of base-table items, so this table has no GSI. */
  readonly identity: dynamodb.Table;
  readonly notes: dynamodb.Table;

  constructor(scope: Construct, id: string, props: DataTablesProps = {}) {
    super(scope, id);
    const common = {
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      deletionProtection: props.deletionProtection ?? true,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    } satisfies Partial<dynamodb.TableProps>;

    this.identity = new dynamodb.Table(this, 'IdentityTable', {
      ...common,
      partitionKey: { name: TABLE_KEYS.partition, type: dynamodb.AttributeType.STRING },
      sortKey: { name: TABLE_KEYS.sort, type: dynamodb.AttributeType.STRING },
    });

    this.notes = new dynamodb.Table(this, 'NotesTable', {
      ...common,
      partitionKey: { name: NOTES_KEYS.partition, type: dynamodb.AttributeType.STRING },
      sortKey: { name: NOTES_KEYS.sort, type: dynamodb.AttributeType.STRING },
    });
  }
}
