// aws-local-stepfunctions needs Promise.withResolvers, which Node 20 lacks.
import '../infra/local/stepfunctions/polyfill';

// Quiet, deterministic logging in tests: the logger still runs, it just does not flood the output.
process.env['POWERTOOLS_LOG_LEVEL'] ??= 'SILENT';
