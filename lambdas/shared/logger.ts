/**
 * The one Powertools logger. Structured: `logger.info('credential reset', { userId, clientId })`. Never log a
 * token, a secret, a password or a whole request/response; log ids.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { SERVICE_NAME } from './contract/names';

export const logger = new Logger({ serviceName: SERVICE_NAME });
