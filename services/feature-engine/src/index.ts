export { createClusterProcessor } from './clusters/cluster-processor.ts';
export {
  type ClusterFeaturesRecord,
  type ClusterProcessor,
  type ClusterProcessorOptions,
  DEFAULT_CLUSTER_PROCESSOR_OPTIONS,
  EventTimeInvalidError,
} from './clusters/cluster-processor-api.ts';
export { createFactKeys, type FactKeys, keyedProcessorOptions } from './engine/facts.ts';
export {
  createInputHandlers,
  drainPartition,
  type InputHandlers,
  InvalidAddressError,
  type PartitionOutputs,
  type PartitionProcessors,
  type Rekeyed,
} from './engine/input-handlers.ts';
export { createPartitionProcessor } from './engine/partition-processor.ts';
export {
  DEFAULT_PROCESSOR_OPTIONS,
  EventTimeSkewError,
  type MessageFlags,
  type PartitionProcessor,
  type ProcessorOptions,
  type ProcessorOutput,
} from './engine/processor-api.ts';
export { FEATURES, type FeatureDefinition, featuresDocument } from './features/catalog.ts';
export { DEFAULT_RELATION_OPTIONS, type RelationOptions } from './relations/relation-book.ts';
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
export { decodeSenderState, encodeSenderState } from './windows/state-codec.ts';
export { DEFAULT_WINDOWS, sliceStart, validateWindows, type WindowSpec } from './windows/window-spec.ts';
