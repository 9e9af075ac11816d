/**
 * Everything the feature engine keeps of a message body, computed in one scan. The body itself is
 * not part of the result and must be dropped by the caller once this returns.
 */
import { otherThanSender } from './callback-numbers.ts';
import type { ClusterKey } from './cluster-key.ts';
import { registrableDomain } from './domains.ts';
import type { ContentKey } from './fingerprint.ts';
import { type BodyScan, scanBody } from './normalise.ts';
import { isOptInNormalised, isOptOutNormalised } from './opt-out.ts';

/** The content features of one message. */
export interface ContentAnalysis {
  /** Keyed simhash of the normalised body (see `contentFingerprint`); 0n when there is no content. */
  readonly fingerprint: bigint;
  /** Registrable domains of the links (see `registrableDomain`), each once, in order of appearance. */
  readonly urlDomains: readonly string[];
  /** The body contains a link, even one whose host could not be read. */
  readonly hasUrl: boolean;
  /** The body contains a phone number other than the sender's (see `callbackNumbers`). */
  readonly hasCallbackNumber: boolean;
  /**
   * Those numbers, as `callbackNumbers` gives them (digits with the country code, each once, in
   * order of appearance). They may be subscribers': hash them before they go anywhere.
   */
  readonly callbackNumbers: readonly string[];
  /** The body is an opt-out request (see `isOptOut`). */
  readonly isOptOut: boolean;
  /** The body is an opt-in (START, UNSTOP) that revokes an earlier opt-out (see `isOptInNormalised`). */
  readonly isOptIn: boolean;
}

/** The content features of one message and its content cluster id. */
export interface ClusteredContentAnalysis extends ContentAnalysis {
  /** The content cluster id (see `clusterIdOf`); null when the body has no cluster. */
  readonly clusterId: number | null;
}

/** Shared by every body without a number (most of them): no array per message. */
const NO_NUMBERS: readonly string[] = Object.freeze([]);

const NO_CONTENT: ContentAnalysis = Object.freeze({
  fingerprint: 0n,
  urlDomains: Object.freeze([]),
  hasUrl: false,
  hasCallbackNumber: false,
  callbackNumbers: NO_NUMBERS,
  isOptOut: false,
  isOptIn: false,
});

/**
 * The content features of a message from `sender`, with the same definitions as
 * `contentFingerprint`, `extractUrls` and `registrableDomain`, `callbackNumbers` and
 * `isOptOut`, from a single scan of the body. A null or empty body gives fingerprint 0n and
 * everything else empty or false.
 */
export function analyseContent(
  body: string | null | undefined,
  sender: string,
  key: ContentKey,
): ContentAnalysis {
  return body ? analyseScan(scanBody(body), sender, key) : NO_CONTENT;
}

/**
 * `analyseContent` and `clusterIdOf` from the same single scan of the body: the engine's call when
 * it also re-keys messages by content cluster.
 */
export function analyseClusteredContent(
  body: string | null | undefined,
  sender: string,
  key: ContentKey,
  clusterKey: ClusterKey,
): ClusteredContentAnalysis {
  if (!body) return { ...NO_CONTENT, clusterId: null };
  const scan = scanBody(body);
  return { ...analyseScan(scan, sender, key), clusterId: clusterKey.clusterIdScanned(scan.normalised, body) };
}

function analyseScan(scan: BodyScan, sender: string, key: ContentKey): ContentAnalysis {
  const callbacks = scan.phoneNumbers.length === 0 ? NO_NUMBERS : otherThanSender(scan.phoneNumbers, sender);
  return {
    fingerprint: key.fingerprintNormalised(scan.normalised),
    urlDomains: [...new Set(scan.hosts.map(registrableDomain))],
    hasUrl: scan.linkCount > 0,
    hasCallbackNumber: callbacks.length > 0,
    callbackNumbers: callbacks,
    isOptOut: isOptOutNormalised(scan.normalised),
    isOptIn: isOptInNormalised(scan.normalised),
  };
}
