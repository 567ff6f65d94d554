/**
 * A minimal loopback server around the emulation for tests: `POST /` with `X-Amz-Target:
 * AWSCognitoIdentityProviderService.<Action>` goes to the service (AWS JSON 1.1 framing and errors, as the real
 * endpoint writes them), everything else to the OAuth routes. The local stack's real endpoint is
 * infra/local/aws/endpoint.ts; this exists so the Cognito tests need nothing but this directory.
 */
import { randomUUID } from 'node:crypto';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AwsServiceError } from '../types';
import { type CognitoEmulator, createCognitoEmulator } from './index';
import type { CognitoEmulatorOptions } from './types';

export interface CognitoTestServer {
  readonly emulator: CognitoEmulator;
  readonly url: string;
  close(): Promise<void>;
}

export async function startCognitoTestServer(
  opts: Omit<CognitoEmulatorOptions, 'baseUrl'>,
): Promise<CognitoTestServer> {
  let url = '';
  const emulator = await createCognitoEmulator({ ...opts, baseUrl: () => url });
  const server: Server = createServer((req, res) => {
    const requestId = randomUUID();
    const reqUrl = new URL(req.url ?? '/', url);
    const target = req.headers['x-amz-target'];
    if (req.method === 'POST' && reqUrl.pathname === '/' && typeof target === 'string') {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const write = (status: number, body: unknown, headers: Record<string, string> = {}) => {
          const text = JSON.stringify(body);
          res.writeHead(status, {
            'Content-Type': 'application/x-amz-json-1.1',
            'x-amzn-RequestId': requestId,
            ...headers,
          });
          res.end(text);
        };
        const [prefix, action] = target.split('.');
        if (prefix !== emulator.service.targetPrefix || !action) {
          write(400, { __type: 'UnknownOperationException', message: `Unknown target ${target}` }, { 'x-amzn-ErrorType': 'UnknownOperationException' });
          return;
        }
        let input: Record<string, unknown>;
        try {
          input = chunks.length === 0 ? {} : (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>);
        } catch {
          write(400, { __type: 'SerializationException', message: 'Malformed JSON' }, { 'x-amzn-ErrorType': 'SerializationException' });
          return;
        }
        emulator.service
          .handle(action, input, { region: opts.region, accountId: opts.accountId })
          .then((out) => write(200, out ?? {}))
          .catch((err: unknown) => {
            if (err instanceof AwsServiceError) {
              write(err.status, { __type: err.type, message: err.message }, { 'x-amzn-ErrorType': err.type });
            } else {
              write(500, { __type: 'InternalErrorException', message: 'Internal error' }, { 'x-amzn-ErrorType': 'InternalErrorException' });
            }
          });
      });
      return;
    }
    emulator
      .http(req, res, reqUrl)
      .then((handled) => {
        if (!handled) {
          res.writeHead(404, { 'Content-Type': 'application/json' });
          res.end(JSON.stringify({ message: 'Not Found' }));
        }
      })
      .catch(() => {
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    emulator,
    url,
    async close() {
      await new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
      await emulator.flush();
    },
  };
}
