export {
  type DecisionEngineConfig,
  decisionEngineSettings,
  decisionEngineTopics,
  policyPath,
} from './config.ts';
export {
  type ActiveOverride,
  advance,
  type DecideContext,
  decide,
  decisionId,
  dueAt,
  EMPTY_STATE,
  type InForce,
  type Outcome,
  type SenderDecisionState,
  type Track,
  type Trigger,
} from './decider.ts';
export { createDecisionEngine, type DecisionEngine, type DecisionEngineMetrics } from './engine.ts';
export {
  ACTION_RANK,
  type CapOf,
  capRate,
  type Evaluation,
  type EvaluationInput,
  evaluate,
} from './evaluate.ts';
export { checkClusterFeatures, checkSenderFeatures, InvalidFeaturesError } from './inputs.ts';
export { type AddressList, EMPTY_LIST, loadAddressList, parseAddressList } from './lists.ts';
export { checkOverride, createOverrideTable, InvalidOverrideError, type OverrideTable } from './overrides.ts';
export {
  CLUSTER_FEATURES,
  loadPolicy,
  type Policy,
  PROFILE_NAMES,
  parsePolicy,
  profileOf,
  type Rule,
  SENDER_FEATURES,
} from './policy.ts';
export { decodeEntry, encodeEntry, type SenderEntry, StateCodecError } from './state.ts';
