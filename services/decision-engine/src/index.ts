export {
  type ClusterGroup,
  CREW_SHARED_SAMPLE,
  createGroupIndex,
  crewGroupOf,
  domainGroupOf,
  type GroupIndex,
  type GroupWindow,
  groupValue,
  MAX_GROUP_TEMPLATES,
} from './cluster-groups.ts';
export { clusterSignature } from './cluster-signature.ts';
export {
  type DecisionEngineConfig,
  decisionEngineSettings,
  decisionEngineTopics,
  policyPath,
} from './config.ts';
export {
  type ContentContext,
  type ContentOverrideView,
  type ContentState,
  contentDueAt,
  decideContent,
  groupsOf,
  type JudgedGroups,
  judgeCluster,
  matchKeys,
} from './content-decider.ts';
export {
  type ContentOverrideTable,
  checkContentOverride,
  contentOverrideKey,
  createContentOverrideTable,
  InvalidContentOverrideError,
} from './content-overrides.ts';
export { type ContentPolicy, parseContentPolicy } from './content-policy.ts';
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
  type ContentInForce,
  capRate,
  clusterValue,
  contentInForce,
  type Evaluation,
  type EvaluationInput,
  evaluate,
  type ThrottleLimits,
} from './evaluate.ts';
export { checkClusterFeatures, checkSenderFeatures, InvalidFeaturesError } from './inputs.ts';
export { type AddressList, EMPTY_LIST, loadAddressList, parseAddressList } from './lists.ts';
export { checkOverride, createOverrideTable, InvalidOverrideError, type OverrideTable } from './overrides.ts';
export {
  createPartitionDecider,
  type DeciderOutput,
  type DeciderTables,
  type PartitionDecider,
  standaloneTables,
} from './partition-decider.ts';
export {
  CLUSTER_FEATURES,
  loadPolicy,
  type Policy,
  PROFILE_NAMES,
  parsePolicy,
  profileOf,
  type Rule,
  SENDER_FEATURES,
  type ThrottleScope,
  type ThrottleSpec,
} from './policy.ts';
export {
  CLOCK_KEY,
  CONTENT_KEY_PREFIX,
  decodeEntry,
  encodeEntry,
  type SenderEntry,
  StateCodecError,
} from './state.ts';
