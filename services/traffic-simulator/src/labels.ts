/**
 * Ground truth of one simulator run, written beside the traffic (a JSON file the pipeline never
 * reads): which senders belong to which scenario, whether that scenario is unwanted traffic,
 * and what spamgate is expected to do about it. The report scores decisions against it.
 */

/** What spamgate must do with a scenario's senders. */
export interface Expectation {
  /** A legitimate scenario: no sender of it may ever be BLOCKed (THROTTLE may be fine, see below). */
  readonly neverBlock: boolean;
  /** THROTTLE is acceptable for a legitimate scenario (e.g. a registered sender over its cap). */
  readonly throttleAcceptable: boolean;
  /** Spam: every sender must end THROTTLEd or BLOCKed ('THROTTLE_OR_BLOCK'), or BLOCKed ('BLOCK'). 'NONE' for legitimate traffic. */
  readonly actionRequired: 'NONE' | 'THROTTLE_OR_BLOCK' | 'BLOCK';
  /** When set, the scenario's first BLOCK must come within this many ms of its first message (event time). */
  readonly blockWithinMs: number | null;
}

export interface SenderLabel {
  /** The sender address exactly as in MessageEvent.sender. */
  readonly sender: string;
  /** Event time of its first message, ms since the epoch. */
  readonly firstMessageAt: number;
  /** Messages it sent in the run (replies and opt-outs sent to it are not counted). */
  readonly messages: number;
}

export interface ScenarioLabel {
  /** Stable id, e.g. 'p2p-registered'. */
  readonly id: string;
  /**
   * The scenario kind, e.g. 'p2p-campaign' ('answering-recipients' for the people answering).
   * Files written before kinds were labelled lack it; their readers take the id instead.
   */
  readonly kind: string;
  /** One line for people, e.g. 'Registered political campaign, peer-to-peer texting'. */
  readonly title: string;
  /** Ground truth: is this scenario's traffic unwanted (spam, phishing, abuse)? */
  readonly spam: boolean;
  readonly expect: Expectation;
  readonly senders: readonly SenderLabel[];
}

export interface Labels {
  readonly version: 1;
  readonly seed: number;
  /** Event time of the first and last event generated, ms since the epoch. */
  readonly startedAt: number;
  readonly endedAt: number;
  /**
   * The run's target rate, MessageEvents per second: all scenarios together, except those sized
   * by their team, which add their own rate to it.
   */
  readonly ratePerSecond: number;
  /** Topic prefix the traffic went to ('' for none). */
  readonly topicPrefix: string;
  readonly scenarios: readonly ScenarioLabel[];
}
