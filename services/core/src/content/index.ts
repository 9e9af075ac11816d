export {
  analyseClusteredContent,
  analyseContent,
  type ClusteredContentAnalysis,
  type ContentAnalysis,
} from './analyse.ts';
export { callbackNumbers, hasCallbackOtherThanSender } from './callback-numbers.ts';
export {
  CLUSTER_ID_HEX_DIGITS,
  CLUSTER_SKETCH_WORDS,
  type ClusterKey,
  clusterIdOf,
  clusterIdString,
  createClusterKey,
  InvalidClusterIdError,
  MIN_CLUSTER_WORDS,
  MIN_LOWER_CASE_CLUSTER_WORDS,
  parseClusterId,
} from './cluster-key.ts';
export {
  type ContentKey,
  contentFingerprint,
  createContentKey,
  hammingDistance,
  MIN_CONTENT_KEY_BYTES,
  NEAR_DUPLICATE_DISTANCE,
  SHINGLE_CHARS,
} from './fingerprint.ts';
export { normaliseBody, phoneDigits } from './normalise.ts';
export {
  isOptOut,
  MAX_OPT_OUT_COURTESY_WORDS,
  OPT_OUT_COURTESY_WORDS,
  OPT_OUT_KEYWORDS,
} from './opt-out.ts';
export { extractUrls, registrableDomain } from './urls.ts';
