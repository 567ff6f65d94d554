/**
 * A loopback server around the emulation for tests: the local stack's own AWS endpoint (../endpoint) with only
 * the Cognito service and its OAuth routes behind it, so the Cognito tests exercise the same JSON framing and
 * error writing the stack serves, without starting the rest of the stack.
 */
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAwsEndpoint } from '../endpoint';
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
  const endpoint = createAwsEndpoint({
    services: [emulator.service],
    routes: [emulator.http],
    region: opts.region,
    accountId: opts.accountId,
  });
  const server: Server = createServer((req, res) => {
    endpoint(req, res, new URL(req.url ?? '/', url))
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
