/**
 * The default destination of confirmation codes and invitations: Cognito would send an email or an SMS; locally
 * the message is printed and appended to `<dataDir>/outbox.jsonl` (one JSON object per line), where a developer
 * or a test reads the code.
 */
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CodeDelivery, DeliverCode } from './types';

export function outboxPath(dataDir: string): string {
  return join(dataDir, 'outbox.jsonl');
}

export function createOutbox(dataDir: string, log: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): DeliverCode {
  const file = outboxPath(dataDir);
  // Appends are chained so concurrent deliveries land as whole lines, in order.
  let tail: Promise<void> = Promise.resolve();
  return (message: CodeDelivery) => {
    const line = JSON.stringify(message);
    const what =
      message.kind === 'confirmation'
        ? `confirmation code ${message.code ?? ''}`
        : 'invitation with a temporary password (see the outbox file)';
    log(`[cognito] ${message.medium.toLowerCase()} to ${message.to} (user ${message.username}): ${what}`);
    tail = tail.then(async () => {
      await mkdir(dataDir, { recursive: true });
      await appendFile(file, `${line}\n`, { mode: 0o600 });
    });
    return tail;
  };
}

/** Reads the outbox (tests, the CLI). */
export async function readOutbox(dataDir: string): Promise<CodeDelivery[]> {
  try {
    const text = await readFile(outboxPath(dataDir), 'utf8');
    return text
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as CodeDelivery);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}
