export { type ContactBook, createContactBook, DEFAULT_CONTACT_LOOKBACK_MS } from './contact-book.ts';
export {
  type ContentDecisionView,
  createFirewall,
  type Firewall,
  type FirewallOptions,
  type MessageView,
  type SenderDecisionView,
  type StoppedBy,
  type Verdict,
} from './firewall.ts';
export {
  type ContentMatcher,
  type ContentMatchKeys,
  contentClusterKey,
  createContentMatcher,
  MAX_CALLBACK_NUMBERS,
  NO_CONTENT_KEYS,
} from './match-keys.ts';
export { type ReplayInput, replayEnforcement, type Timed } from './replay.ts';
export { createSlidingCount, type SlidingCount } from './sliding-count.ts';
export {
  createEnforcementTally,
  type EnforcementCounts,
  type EnforcementFigures,
  type EnforcementTally,
  type ThrottleBinding,
} from './tally.ts';
