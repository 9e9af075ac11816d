export { analyseContent, type ContentAnalysis } from './analyse.ts';
export { callbackNumbers, hasCallbackOtherThanSender } from './callback-numbers.ts';
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
