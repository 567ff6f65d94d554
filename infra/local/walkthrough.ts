/**
 * What `npm start` prints once the local stack is ready: the endpoints (also written to
 * `<data-dir>/endpoints.json`) and a walkthrough that can be pasted into a shell, step by step, to go from sign-up
 * to an API call made with a client-credentials token. It needs only curl and node.
 */
export interface LocalEndpoints {
  readonly apiUrl: string;
  readonly awsEndpoint: string;
  readonly region: string;
  readonly userPoolId: string;
  readonly uiClientId: string;
  readonly developersGroup: string;
  readonly resourceServer: string;
  readonly tokenUrl: string;
  readonly jwksUrl: string;
  readonly issuer: string;
  readonly eventBusName: string;
  readonly tableName: string;
  readonly notesTableName: string;
  readonly stateMachineArns: Readonly<Record<string, string>>;
  readonly dataDir: string;
}

export function endpointsTable(e: LocalEndpoints): string {
  const rows: [string, string][] = [
    ['API', e.apiUrl],
    ['AWS endpoint', e.awsEndpoint],
    ['Region', e.region],
    ['User pool', e.userPoolId],
    ['UI client', e.uiClientId],
    ['Developers group', e.developersGroup],
    ['Resource server', e.resourceServer],
    ['Token URL', e.tokenUrl],
    ['JWKS', e.jwksUrl],
    ['Issuer', e.issuer],
    ['Event bus', e.eventBusName],
    ['Identity table', e.tableName],
    ['Notes table', e.notesTableName],
    ...Object.entries(e.stateMachineArns).map(([name, arn]): [string, string] => [`State machine ${name}`, arn]),
    ['Data directory', e.dataDir],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`).join('\n');
}

/** Shell-quotes a value for the walkthrough (single quotes). */
function q(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

export function walkthrough(e: LocalEndpoints): string {
  const cognito = (action: string) =>
    `curl -s ${e.awsEndpoint}/ -H 'Content-Type: application/x-amz-json-1.1' ` +
    `-H 'X-Amz-Target: AWSCognitoIdentityProviderService.${action}'`;
  // Reads one field of a JSON response; when it is missing, prints the whole response (the error) and fails, so a
  // step that went wrong says why instead of handing `undefined` to the next one.
  const json = (path: string) =>
    `node -e 'const r=JSON.parse(require("fs").readFileSync(0,"utf8")); const v=r?.${path.split('.').join('?.')}; ` +
    `if (v === undefined) { console.error(JSON.stringify(r)); process.exit(1); } console.log(v)'`;
  return [
    '# Already signed up? Start at step 4. Already at your credential limit? Revoke or reset the one you have:',
    `#   curl -s ${e.apiUrl}/credentials -H "Authorization: Bearer $USER_TOKEN"   (lists them)`,
    '',
    `# 1. Sign up (the confirmation code is printed by the stack and kept in ${e.dataDir}/outbox.jsonl)`,
    `${cognito('SignUp')} -d '{"ClientId":"${e.uiClientId}","Username":"alice","Password":"Passw0rd!2345","UserAttributes":[{"Name":"email","Value":"alice@example.com"}]}'; echo`,
    '',
    '# 2. Confirm with the code from the outbox (this provisions the internal user id)',
    `CODE=$(tail -n 1 ${q(`${e.dataDir}/outbox.jsonl`)} | ${json('code')})`,
    `${cognito('ConfirmSignUp')} -d '{"ClientId":"${e.uiClientId}","Username":"alice","ConfirmationCode":"'"$CODE"'"}'; echo`,
    '',
    `# 3. Join the ${e.developersGroup} group (an administrator's step; only members may create credentials)`,
    `${cognito('AdminAddUserToGroup')} -d '{"UserPoolId":"${e.userPoolId}","Username":"alice","GroupName":"${e.developersGroup}"}'; echo`,
    '',
    '# 4. Sign in',
    `USER_TOKEN=$(${cognito('InitiateAuth')} -d '{"ClientId":"${e.uiClientId}","AuthFlow":"USER_PASSWORD_AUTH","AuthParameters":{"USERNAME":"alice","PASSWORD":"Passw0rd!2345"}}' | ${json('AuthenticationResult.AccessToken')})`,
    '',
    '# 5. Create a credential (the secret is shown once, in this response)',
    `CRED=$(curl -s -X POST ${e.apiUrl}/credentials -H "Authorization: Bearer $USER_TOKEN" -H 'Content-Type: application/json' -d '{"name":"my script","scopes":["read","write"]}'); echo "$CRED"`,
    `CLIENT_ID=$(echo "$CRED" | ${json('clientId')}); CLIENT_SECRET=$(echo "$CRED" | ${json('clientSecret')})`,
    '',
    '# 6. Get a token for the program (OAuth 2.0 client credentials)',
    `CLIENT_TOKEN=$(curl -s -X POST ${e.tokenUrl} -u "$CLIENT_ID:$CLIENT_SECRET" -d grant_type=client_credentials | ${json('access_token')})`,
    '',
    '# 7. Call the API as alice, from the program',
    `curl -s ${e.apiUrl}/me -H "Authorization: Bearer $CLIENT_TOKEN"; echo`,
    `curl -s -X POST ${e.apiUrl}/notes -H "Authorization: Bearer $CLIENT_TOKEN" -H 'Content-Type: application/json' -d '{"text":"hello"}'; echo`,
    '',
    '# 8. Watch the audit events (in another terminal)',
    `npm run events -- --follow --data-dir ${q(e.dataDir)}`,
  ].join('\n');
}
