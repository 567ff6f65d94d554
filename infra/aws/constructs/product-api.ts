/**
 * The REST API, built from the route table (lambdas/shared/contract/routes.ts): one method per route on a Lambda
 * proxy integration of the route's handler, a Cognito user pool authorizer with the route's scopes on every
 * non-public method, the gateway responses of lambdas/shared/contract/gateway-responses.ts, and CORS for the
 * browser front end (lambdas/shared/contract/cors.ts): a preflight answer on every resource and the CORS headers
 * on every gateway response.
 */
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import type * as cognito from 'aws-cdk-lib/aws-cognito';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { configSchema } from '../../../lambdas/shared/config';
import {
  CORS_ALLOW_HEADERS,
  CORS_ALLOW_METHODS,
  CORS_MAX_AGE_SECONDS,
  type GatewayHeaderValue,
  gatewayCorsHeaders,
} from '../../../lambdas/shared/contract/cors';
import { GATEWAY_RESPONSES, gatewayResponseBody } from '../../../lambdas/shared/contract/gateway-responses';
import { API_STAGE } from '../../../lambdas/shared/contract/names';
import { type ApiHandlerName, ROUTES, type RouteDef, routeScopes } from '../../../lambdas/shared/contract/routes';
import { DEFAULT_CORS_ORIGINS } from '../../../lambdas/shared/contract/user-pool';

export interface ProductApiProps {
  /** The pool whose access tokens the authorizer accepts. */
  readonly userPool: cognito.IUserPool;
  /** The function behind each handler name of the route table. */
  readonly handlers: Readonly<Record<ApiHandlerName, lambda.IFunction>>;
  /**
   * The resource server whose scopes the methods require (`<identifier>/read`, `<identifier>/write`).
   * @default RESOURCE_SERVER_IDENTIFIER ('devaccess')
   */
  readonly resourceServerIdentifier?: string;
  /**
   * Stage-wide steady-state request rate (requests per second).
   * @default 50
   */
  readonly throttlingRateLimit?: number;
  /**
   * Stage-wide burst (requests).
   * @default 100
   */
  readonly throttlingBurstLimit?: number;
  /**
   * How long the access log group keeps its events.
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly accessLogRetention?: logs.RetentionDays;
  /**
   * Create the account-wide role API Gateway writes CloudWatch logs with. API Gateway refuses a stage with
   * logging in a region whose account settings name no such role; turn this off where one is already set.
   * @default true
   */
  readonly cloudWatchRole?: boolean;
  /**
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Browser origins allowed to call the API (CORS): exact `scheme://host[:port]` values. The API functions must
   * get the same list (CORS_ALLOWED_ORIGINS) for their own responses.
   * @default DEFAULT_CORS_ORIGINS (the origins of the UI client's default callback URLs)
   */
  readonly corsOrigins?: readonly string[];
}

/**
 * One line per request, JSON. Who called (username or client id from the verified token) and what happened;
 * never a header value, so no token reaches the log.
 */
export const ACCESS_LOG_FIELDS: Readonly<Record<string, string>> = {
  requestId: '$context.requestId',
  extendedRequestId: '$context.extendedRequestId',
  requestTime: '$context.requestTime',
  ip: '$context.identity.sourceIp',
  userAgent: '$context.identity.userAgent',
  httpMethod: '$context.httpMethod',
  resourcePath: '$context.resourcePath',
  status: '$context.status',
  protocol: '$context.protocol',
  responseLength: '$context.responseLength',
  responseLatency: '$context.responseLatency',
  integrationLatency: '$context.integrationLatency',
  errorType: '$context.error.responseType',
  clientId: '$context.authorizer.claims.client_id',
  username: '$context.authorizer.claims.username',
};

/** A static header value as API Gateway wants it in gateway responses: single-quoted. */
function staticValue(value: string): string {
  if (value.includes("'")) throw new Error(`Gateway response header value cannot contain a quote: ${value}`);
  return `'${value}'`;
}

/** A gateway response header value as a parameter mapping: a quoted literal or `method.request.header.<name>`. */
function mappingOf(value: GatewayHeaderValue): string {
  if ('literal' in value) return staticValue(value.literal);
  if (!/^[A-Za-z0-9-]+$/.test(value.requestHeader)) throw new Error(`Not a header name: ${value.requestHeader}`);
  return `method.request.header.${value.requestHeader}`;
}

export class ProductApi extends Construct {
  readonly api: apigateway.RestApi;
  readonly authorizer: apigateway.CognitoUserPoolsAuthorizer;
  readonly accessLogGroup: logs.LogGroup;
  /** The method of each route, by route id. */
  readonly methods: Readonly<Record<string, apigateway.Method>>;

  /** The browser origins the preflight and the gateway responses allow. */
  readonly corsOrigins: readonly string[];
  /** The resource server whose scopes the methods require. */
  readonly resourceServerIdentifier: string;

  constructor(scope: Construct, id: string, props: ProductApiProps) {
    super(scope, id);

    // The functions' own config schema, so the API and the functions can never disagree on what an origin is.
    const origins = configSchema.shape.CORS_ALLOWED_ORIGINS.safeParse((props.corsOrigins ?? DEFAULT_CORS_ORIGINS).join(','));
    if (!origins.success) {
      throw new Error(`corsOrigins: ${origins.error.issues[0]?.message ?? 'invalid'} (${(props.corsOrigins ?? []).join(', ')})`);
    }
    this.corsOrigins = origins.data;
    // Also the functions' schema: the methods and the handlers' own scope check require the same scopes.
    const identifier = configSchema.shape.RESOURCE_SERVER_IDENTIFIER.safeParse(props.resourceServerIdentifier);
    if (!identifier.success) {
      throw new Error(`resourceServerIdentifier: ${identifier.error.issues[0]?.message ?? 'invalid'} (${props.resourceServerIdentifier})`);
    }
    this.resourceServerIdentifier = identifier.data;

    this.accessLogGroup = new logs.LogGroup(this, 'AccessLogs', {
      retention: props.accessLogRetention ?? logs.RetentionDays.THREE_MONTHS,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });

    const cloudWatchRole = props.cloudWatchRole ?? true;
    this.api = new apigateway.RestApi(this, 'Api', {
      description: 'devaccess API',
      endpointConfiguration: { types: [apigateway.EndpointType.REGIONAL] },
      cloudWatchRole,
      // Other APIs in the account log with this role too, so it outlives the stack.
      ...(cloudWatchRole ? { cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN } : {}),
      deployOptions: {
        stageName: API_STAGE,
        accessLogDestination: new apigateway.LogGroupLogDestination(this.accessLogGroup),
        accessLogFormat: apigateway.AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
        loggingLevel: apigateway.MethodLoggingLevel.ERROR,
        // Data trace would log full requests, Authorization header included.
        dataTraceEnabled: false,
        metricsEnabled: true,
        throttlingRateLimit: props.throttlingRateLimit ?? 50,
        throttlingBurstLimit: props.throttlingBurstLimit ?? 100,
      },
      // An OPTIONS method with a mock integration on every resource: browsers get their preflight answer without
      // a token and without a function running.
      defaultCorsPreflightOptions: {
        allowOrigins: [...this.corsOrigins],
        allowHeaders: [...CORS_ALLOW_HEADERS],
        allowMethods: [...CORS_ALLOW_METHODS],
        maxAge: Duration.seconds(CORS_MAX_AGE_SECONDS),
      },
    });

    // The stack publishes the URL as its ApiUrl output; RestApi's own Endpoint output would repeat it.
    this.api.node.tryRemoveChild('Endpoint');

    this.authorizer = new apigateway.CognitoUserPoolsAuthorizer(this, 'Authorizer', {
      cognitoUserPools: [props.userPool],
      // No result cache: API Gateway checks a Cognito JWT locally, so a cache saves nothing, and without one
      // every request has its token and the method's scopes checked afresh.
      resultsCacheTtl: Duration.seconds(0),
    });

    const integrations = new Map<ApiHandlerName, apigateway.LambdaIntegration>();
    const integrationOf = (name: ApiHandlerName): apigateway.LambdaIntegration => {
      let integration = integrations.get(name);
      if (!integration) {
        integration = new apigateway.LambdaIntegration(props.handlers[name], { proxy: true, allowTestInvoke: false });
        integrations.set(name, integration);
      }
      return integration;
    };

    const methods: Record<string, apigateway.Method> = {};
    for (const route of ROUTES) {
      const resource = this.api.root.resourceForPath(route.path);
      methods[route.id] = resource.addMethod(route.method, integrationOf(route.handler), this.methodOptions(route));
    }
    this.methods = methods;

    const corsHeaders = Object.entries(gatewayCorsHeaders(this.corsOrigins)).map(([h, v]) => [h, mappingOf(v)]);
    for (const [key, def] of Object.entries(GATEWAY_RESPONSES)) {
      this.api.addGatewayResponse(`GatewayResponse${key[0]?.toUpperCase()}${key.slice(1)}`, {
        type: apigateway.ResponseType.of(def.type),
        // Unset on DEFAULT_4XX/DEFAULT_5XX: there it would replace the status of every type not customised.
        ...('status' in def ? { statusCode: String(def.status) } : {}),
        responseHeaders: Object.fromEntries([
          ...Object.entries(def.headers).map(([h, v]) => [h, staticValue(v)]),
          ...corsHeaders,
        ]),
        templates: { 'application/json': JSON.stringify(gatewayResponseBody(def)) },
      });
    }

    this.suppressNagFindings(cloudWatchRole);
  }

  private methodOptions(route: RouteDef): apigateway.MethodOptions {
    if (route.access === 'public') {
      return { operationName: route.id, authorizationType: apigateway.AuthorizationType.NONE };
    }
    return {
      operationName: route.id,
      authorizationType: apigateway.AuthorizationType.COGNITO,
      authorizer: this.authorizer,
      // With scopes the authorizer wants an access token; without, it would want an ID token.
      authorizationScopes: [...routeScopes(route.access, this.resourceServerIdentifier)],
    };
  }

  private suppressNagFindings(cloudWatchRole: boolean): void {
    Validations.of(this.api).acknowledge({
      id: 'AwsSolutions-APIG2',
      reason:
        'Each handler validates its body against its zod schema and its path parameters against ' +
        'PATH_PARAMS, the same code on AWS and on the local stack; an API Gateway model would be a second, ' +
        'drifting copy (and API Gateway cannot check a parameter against a pattern).',
    });
    Validations.of(this.api.deploymentStage).acknowledge({
      id: 'AwsSolutions-APIG3',
      reason: 'No WAF web ACL by default (it has a monthly cost); stage throttling limits abuse.',
    });
    for (const route of ROUTES.filter((r) => r.access === 'public')) {
      const method = this.methods[route.id];
      if (!method) continue;
      Validations.of(method).acknowledge(
        { id: 'AwsSolutions-APIG4', reason: `${route.method} ${route.path} is public by the route table: ${route.summary}.` },
        { id: 'AwsSolutions-COG4', reason: `${route.method} ${route.path} is public by the route table; it takes no token.` },
      );
    }
    if (cloudWatchRole) {
      const role = this.api.node.tryFindChild('CloudWatchRole');
      if (!role) throw new Error('RestApi no longer names its CloudWatch role CloudWatchRole');
      Validations.of(role).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        reason:
          'The API Gateway CloudWatch role is account-wide (every REST API in the region logs with it), so ' +
          'it keeps the AWS managed policy rather than one scoped to this API.',
      });
    }
  }
}
