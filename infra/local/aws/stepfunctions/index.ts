/** Local AWS Step Functions emulation: see ./emulator.ts. */
export { createStepFunctionsEmulator } from './emulator';
export type { ExecutionStatus, StepFunctionsEmulator, StepFunctionsEmulatorOptions } from './emulator';
export type { CallIntegration, InvokeLambda, LambdaInvokeResult } from './integrations';
