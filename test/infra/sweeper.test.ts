/**
 * The reconciliation sweeper in the CDK stack: a scheduled rule every SWEEP_SCHEDULE_MINUTES on the default bus,
 * least privilege (list and delete app clients on the one pool, never describe them; only the table actions the
 * sweep uses; PutEvents on the product bus only, for the CredentialRevoked it publishes), and a grace age that can
 * never be shorter than the credential workflow may run.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SWEEP_GRACE_SECONDS, SWEEP_SCHEDULE_MINUTES } from '../../lambdas/shared/contract/names';
import { credentialWorkflowTimeoutSeconds } from '../../infra/aws/devaccess-stack';
import { type Synthesized, buildStack, flatten, getAtt, logicalId, ref, resourceOf, resourcesOf, synthStack } from './synth';

let s: Synthesized;
beforeAll(() => {
  s = synthStack();
});

/** Every statement of the policies attached to the sweeper's role. */
function sweeperStatements(): { Action: string | string[]; Resource: unknown }[] {
  const roleId = logicalId(s.stack, s.stack.functions.sweeper.role);
  return Object.values(resourcesOf(s.template, 'AWS::IAM::Policy'))
    .filter((p) => JSON.stringify(p.Properties?.['Roles']).includes(roleId))
    .flatMap((p) => (p.Properties?.['PolicyDocument'] as { Statement: { Action: string | string[]; Resource: unknown }[] }).Statement);
}

const sweeperRules = () =>
  Object.entries(resourcesOf(s.template, 'AWS::Events::Rule')).filter(([, r]) =>
    JSON.stringify(r.Properties?.['Targets']).includes(logicalId(s.stack, s.stack.functions.sweeper.function)),
  );

describe('the sweeper schedule', () => {
  it(`runs the sweeper every ${SWEEP_SCHEDULE_MINUTES} minutes from the default bus`, () => {
    // Act
    const rules = sweeperRules();
    // Assess
    expect(rules).toHaveLength(1);
    const props = rules[0]?.[1].Properties ?? {};
    expect(props['ScheduleExpression']).toBe(`rate(${SWEEP_SCHEDULE_MINUTES} minutes)`);
    expect(props['State'] ?? 'ENABLED').toBe('ENABLED');
    expect(props['EventBusName']).toBeUndefined();
    expect(props['Targets']).toEqual([
      expect.objectContaining({ Arn: { 'Fn::GetAtt': [logicalId(s.stack, s.stack.functions.sweeper.function), 'Arn'] } }),
    ]);
  });

  it('lets only that rule invoke the sweeper', () => {
    const [ruleId] = sweeperRules()[0] ?? [];
    const permissions = Object.values(resourcesOf(s.template, 'AWS::Lambda::Permission'))
      .map((p) => p.Properties ?? {})
      .filter((p) => flatten(p['FunctionName']).includes(logicalId(s.stack, s.stack.functions.sweeper.function)));
    expect(permissions).toHaveLength(1);
    expect(permissions[0]?.['Principal']).toBe('events.amazonaws.com');
    expect(flatten(permissions[0]?.['SourceArn'])).toBe(`<GetAtt ${ruleId}.Arn>`);
  });

  it('finishes a run well before the next one starts', () => {
    const fn = resourceOf(s.template, s.stack, s.stack.functions.sweeper.function).Properties ?? {};
    expect(fn['Timeout']).toBeLessThan(SWEEP_SCHEDULE_MINUTES * 60);
  });
});

describe('the sweeper configuration', () => {
  it('names the identity table, the user pool and the product bus, with the default grace age', () => {
    const env = (resourceOf(s.template, s.stack, s.stack.functions.sweeper.function).Properties?.['Environment'] as {
      Variables: Record<string, unknown>;
    }).Variables;
    expect(flatten(env['IDENTITY_TABLE_NAME'])).toBe(ref(s.stack, s.stack.tables.identity));
    expect(flatten(env['USER_POOL_ID'])).toBe(ref(s.stack, s.stack.directory.userPool));
    expect(flatten(env['EVENT_BUS_NAME'])).toBe(ref(s.stack, s.stack.events.bus));
    expect(env['SWEEPER_GRACE_SECONDS']).toBe(String(DEFAULT_SWEEP_GRACE_SECONDS));
  });

  it('may put events on the product bus only, to announce the credentials it revokes', () => {
    const statements = sweeperStatements();
    const putEvents = statements.filter((st) => [st.Action].flat().some((a) => a.startsWith('events:')));
    expect(putEvents.flatMap((st) => [st.Action].flat())).toEqual(['events:PutEvents']);
    expect(putEvents.flatMap((st) => [st.Resource].flat().map(flatten))).toEqual([getAtt(s.stack, s.stack.events.bus)]);
  });

  it('waits longer than the credential workflow may run before it deletes a client', () => {
    expect(DEFAULT_SWEEP_GRACE_SECONDS).toBeGreaterThan(credentialWorkflowTimeoutSeconds());
  });

  it('refuses a grace age shorter than the credential workflow may run', () => {
    expect(() => buildStack({ sweepGraceSeconds: credentialWorkflowTimeoutSeconds() - 1 })).toThrow(/sweepGraceSeconds must be/);
    expect(() => buildStack({ sweepGraceSeconds: credentialWorkflowTimeoutSeconds() })).not.toThrow();
  });

  it('may list and delete the pool\'s app clients and list its users, but never describe a client', () => {
    const pool = getAtt(s.stack, s.stack.directory.userPool);
    const statements = sweeperStatements();
    const cognito = statements.filter((st) => [st.Action].flat().some((a) => a.startsWith('cognito-idp:')));
    expect(cognito.flatMap((st) => [st.Action].flat()).sort()).toEqual([
      'cognito-idp:DeleteUserPoolClient',
      'cognito-idp:ListUserPoolClients',
      'cognito-idp:ListUsers',
    ]);
    for (const st of cognito) expect([st.Resource].flat().map(flatten)).toEqual([pool]);
  });
});
