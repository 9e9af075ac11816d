/**
 * What an SMS firewall computes from a message body in-line to match it against content decisions
 * (sms.content-decisions): the content cluster id, the registrable URL domains and the keyed
 * hashes of the call-back numbers, by the same algorithms and keys as the feature engine. The body
 * is read here and nothing of it is kept but these keys. docs/contract.md, "Matching content
 * decisions".
 */
import { otherThanSender } from '../content/callback-numbers.ts';
import { type ClusterKey, clusterIdString, createClusterKey } from '../content/cluster-key.ts';
import { registrableDomain } from '../content/domains.ts';
import { scanBody } from '../content/normalise.ts';
import { createSubscriberHasher } from '../privacy.ts';

/** Most call-back numbers hashed per message (a body listing more is matched on its first ones). */
export const MAX_CALLBACK_NUMBERS = 4;

/** A message's content as a firewall matches it. */
export interface ContentMatchKeys {
  /** Content cluster id (14 hex digits), null when the body has none (short or generic texts). */
  readonly clusterId: string | null;
  /** Registrable domains of its links, each once, lower case. */
  readonly urlDomains: readonly string[];
  /** Keyed hashes (unsigned 64-bit decimal) of the phone numbers in it other than the sender's. */
  readonly callbackNumbers: readonly string[];
}

export const NO_CONTENT_KEYS: ContentMatchKeys = Object.freeze({
  clusterId: null,
  urlDomains: Object.freeze([]),
  callbackNumbers: Object.freeze([]),
});

/** The cluster-id key a deployment's secret gives; the feature engine derives its key the same way. */
export function contentClusterKey(secret: string): ClusterKey {
  return createClusterKey(`${secret}/cluster`);
}

export interface ContentMatcher {
  /** The match keys of a message from `sender`; one scan of the body. */
  keysOf(body: string | null | undefined, sender: string): ContentMatchKeys;
}

/**
 * A matcher for a deployment: `secret` is its SPAMGATE_HASH_KEY (at least 16 bytes), which keys the
 * call-back numbers' hashes; `contentSecret` its SPAMGATE_CONTENT_KEY when set, which keys the
 * cluster ids (docs/key-rotation.md).
 */
export function createContentMatcher(secret: string, contentSecret: string = secret): ContentMatcher {
  const clusterKey = contentClusterKey(contentSecret);
  const hasher = createSubscriberHasher(secret);
  return {
    keysOf(body, sender) {
      if (!body) return NO_CONTENT_KEYS;
      const scan = scanBody(body);
      const id = clusterKey.clusterIdScanned(scan.normalised, body);
      return {
        clusterId: id === null ? null : clusterIdString(id),
        urlDomains: [...new Set(scan.hosts.map(registrableDomain))],
        callbackNumbers: otherThanSender(scan.phoneNumbers, sender)
          .slice(0, MAX_CALLBACK_NUMBERS)
          .map((n) => hasher.hash(n)),
      };
    },
  };
}
