/**
 * App-client secrets at rest. DescribeUserPoolClient and the token endpoint need the secret itself (Cognito
 * returns it, and client authentication compares it), so it cannot be hashed like passwords; instead it is sealed
 * with AES-256-GCM under a key of the data directory's own (`<dataDir>/cognito/secret-key`, 32 random bytes,
 * mode 0600, generated on first start). state.json then holds no secret in clear: a copied, committed or backed-up
 * state file gives nothing away without the key file next to it.
 *
 * Each seal has a fresh random 96-bit IV (NIST SP 800-38D §8.2.2: random IVs stay safe far beyond the number of
 * secrets a local pool ever holds) and binds the client id as additional authenticated data, so a sealed secret
 * moved onto another client in the state file fails to open instead of authenticating that client.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../files';
import type { CognitoState } from './types';

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Format marker of a sealed secret: `aes256gcm.<iv>.<ciphertext>.<tag>`, each part base64url. */
const PREFIX = 'aes256gcm';

export const SECRET_KEY_FILE = 'secret-key';

export class SealedSecretError extends Error {
  override readonly name = 'SealedSecretError';
}

export class SecretBox {
  private constructor(private readonly key: Buffer) {}

  /** Reads `<dir>/secret-key`, or creates it (mode 0600) when there is none yet. */
  static async loadOrCreate(dir: string): Promise<SecretBox> {
    const file = join(dir, SECRET_KEY_FILE);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      text = `${randomBytes(KEY_BYTES).toString('base64')}\n`;
      await writeFileAtomic(file, text, { mode: 0o600 });
    }
    const key = Buffer.from(text.trim(), 'base64');
    if (key.length !== KEY_BYTES) throw new Error(`${file} does not hold a ${KEY_BYTES}-byte key in base64`);
    return new SecretBox(key);
  }

  /** A key that lives in memory only (tests of this module). */
  static ephemeral(): SecretBox {
    return new SecretBox(randomBytes(KEY_BYTES));
  }

  /** Seals `secret` for the client `clientId`. */
  seal(secret: string, clientId: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(clientId, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
    const parts = [iv, ciphertext, cipher.getAuthTag()].map((p) => p.toString('base64url'));
    return [PREFIX, ...parts].join('.');
  }

  /** Opens what `seal` produced for the same client; anything else (tampered, other key, other client) throws. */
  open(sealed: string, clientId: string): string {
    const parts = sealed.split('.');
    if (parts.length !== 4 || parts[0] !== PREFIX) {
      throw new SealedSecretError(`The secret of client ${clientId} is not sealed`);
    }
    const [iv, ciphertext, tag] = parts.slice(1).map((p) => Buffer.from(p, 'base64url')) as [Buffer, Buffer, Buffer];
    if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) {
      throw new SealedSecretError(`The sealed secret of client ${clientId} is malformed`);
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(Buffer.from(clientId, 'utf8'));
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
    } catch {
      throw new SealedSecretError(
        `The secret of client ${clientId} does not open with ${SECRET_KEY_FILE} ` +
          '(the key file was replaced, or state.json was edited)',
      );
    }
  }
}

/**
 * Brings a loaded state up to date with the box: seals every secret an older emulator stored in clear (the
 * `clientSecret` member) and checks that every sealed one opens, so a state file that does not match its key
 * stops the start instead of failing client authentication later. Returns how many secrets it sealed; the caller
 * persists the state when that is more than zero, so the clear-text copy on disk is replaced at once.
 */
export function sealClearSecrets(state: CognitoState, box: SecretBox): number {
  let sealed = 0;
  for (const pool of Object.values(state.pools)) {
    for (const client of Object.values(pool.clients)) {
      const legacy = client as typeof client & { clientSecret?: unknown };
      if (typeof legacy.clientSecret === 'string') {
        client.sealedSecret = box.seal(legacy.clientSecret, client.clientId);
        delete legacy.clientSecret;
        sealed += 1;
      } else if (client.sealedSecret !== undefined) {
        box.open(client.sealedSecret, client.clientId);
      }
    }
  }
  return sealed;
}
