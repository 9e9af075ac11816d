export { registrationsPath } from './config.ts';
export { FEATURES, type FeatureDefinition, featuresDocument } from './features/catalog.ts';
export {
  capOf,
  loadRegistrations,
  NO_REGISTRATIONS,
  parseRegistrations,
  type Registrations,
  type ThroughputCap,
} from './registration.ts';
export {
  createDistinctCounter,
  DEFAULT_PRECISION,
  type DistinctCounter,
  deserializeDistinctCounter,
  mergeDistinctCounters,
  SPARSE_LIMIT,
} from './sketches/distinct-counter.ts';
export { SketchError } from './sketches/errors.ts';
export {
  addFeedback,
  addMessage,
  createSenderState,
  DEFAULT_FEATURE_OPTIONS,
  type FeatureOptions,
  type FeedbackKind,
  featuresAt,
  isIdle,
  type MessageFacts,
  type SenderState,
  type WindowFeatures,
} from './windows/sender-state.ts';
export { decodeSenderState, encodeSenderState, StateCodecError } from './windows/state-codec.ts';
export { DEFAULT_WINDOWS, sliceStart, validateWindows, type WindowSpec } from './windows/window-spec.ts';
