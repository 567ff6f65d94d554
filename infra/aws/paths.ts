/** Where the deployable code lives, independent of the directory the CDK app is started from. */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (holds package.json and package-lock.json). */
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** `lambdas/`: every FUNCTIONS entry is a path below it. */
export const LAMBDAS_DIR = join(REPO_ROOT, 'lambdas');
