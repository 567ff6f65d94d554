export {
  createLocalEventBridge,
  DEFAULT_EVENT_BUS,
  EVENTS_TARGET_PREFIX,
  type EventEnvelope,
  type LambdaInvoker,
  type LocalEventBridge,
  type LocalEventBridgeOptions,
  type PublishedEvent,
} from './service';
export { compileEventPattern, InvalidEventPatternError, matchesEventPattern, type CompiledEventPattern } from './pattern';
