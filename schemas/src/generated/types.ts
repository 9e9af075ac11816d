// Generated from schemas/avro/*.avsc by schemas/scripts/generate-types.ts. Do not edit.

/** A message, or a recipient outcome, attributed to a content cluster (one template across senders), re-keyed by the cluster. Internal topic spamgate.feature-engine.by-cluster, key = the cluster id (14 hex digits). Carries no body and no number in clear. */
export interface ClusterEvent {
  /** When the message was sent or the outcome happened, ms since the epoch. */
  eventTime: number;
  /** MESSAGE: a message of the cluster was sent; OPT_OUT: a recipient opted out in answer to one; SPAM_REPORT: a recipient reported one (7726); REPLY: a recipient answered one (any message back that is not an opt-out); DELIVERY_FAILURE: one could not be delivered; OPT_OUT_IGNORED: the sender texted a recipient again, past the one confirmation allowed, after the recipient opted out in answer to one (the message itself goes to its own cluster as a MESSAGE). */
  kind: ClusterEventKind;
  /** Keyed hash of the sender of the message (for an outcome: the sender it answers). */
  senderHash: Hash64;
  /** Keyed hash of the message's recipient (for an outcome: who answered or reported). */
  recipientHash: Hash64;
  /** Registered campaign of the message; null when unregistered or for an outcome. */
  campaignId: null | string;
  /** Registrable domains of the links in the message; empty for an outcome. */
  urlDomains: string[];
  /** The message the event is about, if known. */
  messageId: null | string;
  /** MESSAGE only: the recipient is at most 10 numbers from the recipient of the same sender's previous message (number walking, as the sender feature sequentialShare counts it). */
  sequential: boolean;
  /** MESSAGE only: keyed hashes (as senderHash) of the phone numbers in the body other than the sender's (call-back numbers), at most 4. */
  callbackHashes: Hash64[];
  /** MESSAGE only: the message went to a recipient who had opted out from its sender, past the one confirmation allowed (what the sender feature postOptOutSends counts). */
  afterOptOut: boolean;
  /** MESSAGE only: its sender has sent to someone who had opted out from it, past the one confirmation allowed, within the hour up to this message (this one included): what the cluster feature optOutIgnoringSenders counts. */
  senderIgnoresOptOuts: boolean;
  /** MESSAGE only: keyed hash of the sender's number block (its number without the last digit, so ten consecutive numbers share it), with a key of its own derived from the deployment secret; null when the sender is not a number of 8 digits or more. Templates sent from the same blocks are one crew's: a SIM box's consecutive SIMs. */
  senderBlockHash: null | Hash64;
}

/** What happened. Readers map symbols they do not know to MESSAGE. */
export type ClusterEventKind = 'MESSAGE' | 'OPT_OUT' | 'SPAM_REPORT' | 'REPLY' | 'DELIVERY_FAILURE' | 'OPT_OUT_IGNORED';

/** Keyed 64-bit hash (HMAC-SHA-256, first 8 bytes, big-endian) of a subscriber address. */
export type Hash64 = Buffer;

/** A content cluster's features at a point in event time: one template (near-duplicate content with personalisation removed) across every sender that sent it. Topic sms.cluster-features (compacted), key = cluster id. Published only for clusters with at least two distinct senders in 24 h. */
export interface ClusterFeatures {
  /** The cluster id: 14 lower-case hex digits of a keyed hash of the template's words (docs/content-clusters.md). */
  clusterId: string;
  /** Event time the windows are evaluated at, ms since the epoch. */
  asOf: number;
  /** Wall-clock time the feature engine emitted this record, ms since the epoch. */
  emittedAt: number;
  /** One entry per window, shortest first. */
  windows: ClusterWindowFeatures[];
}

/** Features over one sliding window ending at asOf. */
export interface ClusterWindowFeatures {
  /** Window name: 15m, 1h, 24h. */
  window: string;
  /** Window length in milliseconds. */
  windowMs: number;
  /** Messages of the cluster sent in the window. */
  messages: number;
  /** Distinct sender numbers that sent it (exact up to 128, then HyperLogLog). */
  distinctSenders: number;
  /** Distinct recipients it reached (exact up to 128, then HyperLogLog). */
  distinctRecipients: number;
  /** Opt-outs answering messages of the cluster, counted when they arrive. */
  optOuts: number;
  /** Spam reports (7726) about messages of the cluster, counted when they arrive. */
  spamReports: number;
  /** optOuts / distinctRecipients; 0 when there are none. */
  optOutRate: number;
  /** Share of the window's messages sent under a registered campaign id. */
  registeredShare: number;
  /** The most frequent registered campaign ids, at most 8, by count then id. */
  campaignIds: string[];
  /** Distinct registered campaign ids seen. */
  distinctCampaigns: number;
  /** Share of the window's messages sent by its busiest sender: 1 for one number, small when spread over many (snowshoe, or peer-to-peer volunteers). */
  topSenderShare: number;
  /** The most frequent URL domains, at most 8, by count then name. */
  urlDomains: string[];
  /** Distinct URL domains seen. */
  distinctUrlDomains: number;
  /** Recipients' answers (messages back that are not opt-outs) to messages of the cluster, counted when they arrive. */
  replies: number;
  /** Delivery failures of messages of the cluster, counted when they arrive. */
  deliveryFailures: number;
  /** Share of the window's messages whose recipient is at most 10 numbers from the same sender's previous recipient: number walking across the cluster's senders. */
  sequentialShare: number;
  /** The most frequent call-back numbers in the cluster's messages, at most 8, by count then value, as keyed hashes (the unsigned 64-bit decimal of the first 8 bytes of HMAC-SHA-256 under the deployment's hash key, as every subscriber hash): a firewall matches them by hashing the numbers it finds in a body the same way. */
  callbackNumbers: string[];
  /** Messages of the cluster sent to recipients who had opted out from their sender, past the one confirmation allowed: the compliance violation, across every sender of the template. */
  postOptOutSends: number;
  /** How long the window has held messages of the cluster: from its first message to asOf, at most the window; how long the template's first recipients have had to answer. Clusters kept from before engines recorded first message times count from the end of that message's slice, a lower bound. */
  sendingForMs: number;
  /** Distinct senders of the window whose messages of the cluster came while they were ignoring opt-outs: each had sent to someone who had opted out from it, past the one confirmation allowed, within the hour before (exact up to 128, then HyperLogLog). Several of a template's numbers doing so is a crew that ignores STOP, whoever of them was told. */
  optOutIgnoringSenders: number;
  /** Distinct senders of the window told STOP about the cluster: a recipient opted out in answer to one of their messages of it, or they sent past such an opt-out (exact up to 128, then HyperLogLog). */
  optedOutSenders: number;
  /** Distinct senders of the window that sent past an opt-out the cluster drew: a recipient opted out in answer to their message of the cluster, and they texted that recipient again, past the one confirmation allowed, with any content (exact up to 128, then HyperLogLog; at most optedOutSenders). Over optedOutSenders: how the template's numbers treat STOP, a crew that ignores it near all, volunteers who honour it near none. */
  optOutIgnoredSenders: number;
  /** A bottom-k sample of the window's sender number blocks (a number without its last digit, keyed hash; ClusterEvent.senderBlockHash): the 8 smallest of their 52-bit fingerprints, ascending, gathered like senderSample. Templates sent from the same blocks of consecutive numbers (a SIM box) share these values before any one number has sent several of them. */
  senderBlockSample: number[];
  /** A bottom-k sample of the window's senders: the 8 smallest of their keyed 52-bit fingerprints (the top 52 bits of each sender's keyed hash), ascending: the smallest of its slices' smallest, so a window of any size has one while each of its slices counts its senders exactly (at most 128); empty once one has more. Templates that the same numbers send share these values, which is how the decision engine finds a crew's other templates. */
  senderSample: number[];
}

/** What the carrier's SMS firewall should do with messages of one content cluster (one template across senders), whoever sends them, and why. Topic sms.content-decisions (compacted), key = cluster id (UTF-8): the latest record per cluster is the one in force. docs/contract.md says how a firewall matches a message to it. */
export interface ContentDecision {
  /** Deterministic id: the same cluster, inputs and policy version give the same id, so replays and duplicates are harmless. */
  decisionId: string;
  /** The content cluster id (14 lower-case hex digits, docs/content-clusters.md); equals the record key. */
  clusterId: string;
  /** The action to enforce on matching messages. */
  action: ContentAction;
  /** Registrable domains (lower case) of the cluster's links that a firewall may match on alone: a message linking to one of them matches. Public link shorteners, domains shared by unrelated senders and operator-allowed domains are never listed. */
  urlDomains: string[];
  /** Call-back numbers of the cluster's messages as keyed hashes (as ClusterFeatures.callbackNumbers): a message containing a number that hashes to one of them matches. */
  callbackNumbers: string[];
  /** Combined evidence score, 0 (clean) to 1 (certain abuse). */
  score: number;
  /** Evidence, strongest first. */
  reasons: Reason[];
  /** Version of the policy that decided. */
  policyVersion: string;
  /** The operator content override that decided, if one applied. */
  overrideId: null | string;
  /** Registered campaign ids seen sending the cluster (most frequent first), for review. */
  campaignIds: string[];
  /** Distinct senders of the cluster in the evidence's longest window. */
  distinctSenders: number;
  /** Distinct recipients of the cluster in that window. */
  distinctRecipients: number;
  /** Event time of the cluster features the decision is based on, ms since the epoch. */
  basedOnEventTime: number;
  /** Wall-clock time of the decision, ms since the epoch. */
  decidedAt: number;
  /** When the decision lapses unless re-issued (every BLOCK expires), ms since the epoch, on the time base of the evidence (event time); null for no expiry. */
  expiresAt: null | number;
  /** The action in force for the cluster before this decision; null for the cluster's first. */
  previousAction: null | ContentAction;
  /** What caused this decision. */
  trigger: ContentDecisionTrigger;
}

/** ALLOW: deliver the cluster's messages (a lifted block, or an operator allow); MONITOR: deliver, an operator should review (a registered campaign with bad outcomes, whose senders are throttled instead); BLOCK: do not deliver a message that matches, from any sender, until expiresAt. A reader that does not know a newer symbol reads MONITOR (deliver). */
export type ContentAction = 'ALLOW' | 'MONITOR' | 'BLOCK';

/** One piece of evidence behind the decision. */
export interface Reason {
  /** Stable rule code, e.g. CONTENT_SPAM_REPORTS, CONTENT_SILENCE, OPERATOR_BLOCK. */
  code: string;
  /** Cluster feature the rule looked at; null for rules that use no feature (an operator override). */
  feature: null | string;
  /** Window of the feature, e.g. 15m, 1h, 24h; null if none. */
  window: null | string;
  /** The feature's value. */
  observed: null | number;
  /** The threshold it was compared with. */
  threshold: null | number;
}

/** What made the engine decide: CLUSTER (new cluster features), OVERRIDE (an operator content override added, changed, removed or lapsed), EXPIRY (the decision in force lapsed). A reader that does not know a newer symbol reads CLUSTER. */
export type ContentDecisionTrigger = 'CLUSTER' | 'OVERRIDE' | 'EXPIRY';

/** An operator's allow or block of a content cluster or of a URL domain, whoever sends it. Topic sms.content-overrides (compacted), key = '<scope>:<target>' (e.g. 'CLUSTER:0a1b2c3d4e5f60', 'DOMAIN:example.com'); a tombstone (null value) removes the override. */
export interface ContentOverride {
  /** Unique id of the override, quoted by the decisions it changes. */
  overrideId: string;
  /** What the target names. */
  scope: ContentOverrideScope;
  /** The cluster id or the domain, normalised (lower case). */
  target: string;
  /** What the override forces. */
  action: ContentOverrideAction;
  /** Why, in the operator's words (appeal ticket, complaint reference). */
  reason: string;
  /** Who created it. */
  author: string;
  /** When it was created, ms since the epoch. */
  createdAt: number;
  /** When it lapses, ms since the epoch; null for never. */
  expiresAt: null | number;
}

/** CLUSTER: target is a content cluster id; DOMAIN: target is a registrable URL domain (lower case). */
export type ContentOverrideScope = 'CLUSTER' | 'DOMAIN';

/** ALLOW: never block the cluster's messages (CLUSTER), or never match or block on the domain (DOMAIN); BLOCK: block the cluster's messages, or every message linking to the domain. */
export type ContentOverrideAction = 'ALLOW' | 'BLOCK';

/** A record a service could not process: where it is and why, never what it held (no body, no clear number). Topic sms.dead-letters, key = keyHash of the original key. */
export interface DeadLetter {
  /** Topic the record was read from. */
  originalTopic: string;
  /** Its partition. */
  originalPartition: number;
  /** Its offset. */
  originalOffset: number;
  /** The original key bytes, as releases before v2 wrote them; always null since: the key may be a subscriber's number (see keyHash). */
  key: null | Buffer;
  /** The original value bytes, as releases before v2 wrote them; always null since: the value may hold a message body. Read it at originalTopic/originalPartition@originalOffset. */
  value: null | Buffer;
  /** Name of the error, e.g. SchemaDecodeError. */
  errorClass: string;
  /** Machine-readable code, e.g. UNKNOWN_FINGERPRINT. */
  errorCode: string;
  /** Human-readable reason; never contains a message body. */
  errorMessage: string;
  /** Service and instance that gave up on the record. */
  service: string;
  /** When, ms since the epoch. */
  failedAt: number;
  /** Keyed hash of the original key (the subscriber hasher's, under SPAMGATE_HASH_KEY: an unsigned 64-bit decimal that joins the recipient hashes in ClickHouse); null when it had none. */
  keyHash: null | string;
  /** Size of the original value in bytes; 0 when it had none. */
  valueBytes: number;
  /** Hex SHA-256 of the original value, to match it at its topic, partition and offset; null when it had none. */
  valueSha256: null | string;
  /** The writer schema's fingerprint (16 hex digits after C3 01) when the value is single-object encoded; null otherwise. */
  writerFingerprint: null | string;
}

/** What the carrier's SMSC and SMS firewall should do with a sender's traffic, and why. Topic sms.decisions (compacted), key = sender (UTF-8): the latest record per sender is the one in force. */
export interface Decision {
  /** Deterministic id: the same sender, inputs and policy version give the same id, so replays and duplicates are harmless. */
  decisionId: string;
  /** The sender the decision applies to. */
  sender: string;
  /** The action to enforce. */
  action: Action;
  /** For THROTTLE: at most this many messages (of throttleScope) in any sliding minute: a registered sender's cap, or a rate that binds at the sender's own pace; null otherwise. */
  throttleRatePerMinute: null | number;
  /** Combined evidence score from the policy, 0 (clean) to 1 (certain spam). */
  score: number;
  /** Evidence, strongest first. */
  reasons: Reason[];
  /** Version of the policy that decided. */
  policyVersion: string;
  /** The operator override that decided, if one applied. */
  overrideId: null | string;
  /** Event time of the features the decision is based on, ms since the epoch. */
  basedOnEventTime: number;
  /** Wall-clock time of the decision, ms since the epoch. */
  decidedAt: number;
  /** When the decision lapses unless re-issued (every BLOCK expires), ms since the epoch; null for no expiry. */
  expiresAt: null | number;
  /** What the policy alone decided; differs from action when an operator override or the Do-Not-Originate list decided. null on records written before this field. */
  policyAction: null | Action;
  /** The action in force for the sender before this decision; null for the sender's first. */
  previousAction: null | Action;
  /** What caused this evaluation. */
  trigger: DecisionTrigger;
  /** true for an evaluation by a shadow policy: written to sms.decision-evaluations for comparison, never to sms.decisions, never enforced. */
  shadow: boolean;
  /** true when this evaluation changed what is in force and was published to sms.decisions (always true on sms.decisions itself). */
  published: boolean;
  /** For THROTTLE: at most this many messages (of throttleScope) in any sliding hour, beside throttleRatePerMinute; null for no hourly limit. A reader that ignores it enforces only the per-minute rate, which lets more through, never less. */
  throttleRatePerHour: null | number;
  /** What the THROTTLE's limits apply to; ALL_RECIPIENTS for every other action. */
  throttleScope: ThrottleScope;
}

/** ALLOW: deliver; MONITOR: deliver and watch; THROTTLE: deliver at most throttleRatePerMinute; BLOCK: do not deliver until expiresAt. A reader that does not know a newer symbol reads MONITOR (deliver, no enforcement). */
export type Action = 'ALLOW' | 'MONITOR' | 'THROTTLE' | 'BLOCK';

/** What made the decision engine evaluate: FEATURES (a new SenderFeatures), CLUSTER (new features of a content cluster the sender sends), OVERRIDE (an operator override added, changed, removed or lapsed), LIST (the Do-Not-Originate list changed), EXPIRY (the decision in force lapsed), CONTENT (a content decision about a cluster the sender sends changed). A reader that does not know a newer symbol reads FEATURES. */
export type DecisionTrigger = 'FEATURES' | 'CLUSTER' | 'OVERRIDE' | 'LIST' | 'EXPIRY' | 'CONTENT';

/** Which messages a THROTTLE counts and stops. ALL_RECIPIENTS: every message. NEW_CONTACTS: only messages to recipients who have not messaged the sender within the contact look-back (30 days); messages to two-way contacts pass. A reader that does not know a newer symbol reads ALL_RECIPIENTS. */
export type ThrottleScope = 'ALL_RECIPIENTS' | 'NEW_CONTACTS';

/** Something the network or a subscriber reported about a sender: a delivery failure, a spam report forwarded to 7726, or a subscriber blocking the sender. Topic sms.feedback-events, key = the sender concerned (UTF-8). */
export interface FeedbackEvent {
  /** Unique id of this feedback event; the same id on a redelivered event. */
  feedbackId: string;
  /** When the feedback happened (the failure, the report, the block), milliseconds since the Unix epoch, UTC. */
  eventTime: number;
  /** DELIVERY_FAILURE: the message could not be delivered; SPAM_REPORT: the recipient forwarded it to 7726; SUBSCRIBER_BLOCK: the recipient blocked the sender. */
  kind: FeedbackKind;
  /** The sender the feedback is about, in the same form as MessageEvent.sender. */
  sender: string;
  /** The subscriber concerned, E.164, if known. Read in-stream only; stored only as a keyed hash. */
  recipient: null | string;
  /** The message the feedback is about, if known. */
  messageId: null | string;
  /** Delivery failure error code as the network reported it (for DELIVERY_FAILURE); null otherwise. */
  errorCode: null | string;
}

/** What happened. Readers map symbols they do not know to UNKNOWN. */
export type FeedbackKind = 'UNKNOWN' | 'DELIVERY_FAILURE' | 'SPAM_REPORT' | 'SUBSCRIBER_BLOCK';

/** One mobile-originated or application-originated SMS as the SMSC or SMS firewall saw it. Topic sms.message-events, key = sender address (UTF-8). */
export interface MessageEvent {
  /** Unique id of the message assigned by the SMSC; the same id on a redelivered event. */
  messageId: string;
  /** When the SMSC accepted the message, milliseconds since the Unix epoch, UTC. */
  eventTime: number;
  /** Sender address as routed: E.164 with leading + for long codes and toll-free numbers, digits for short codes, text for alphanumeric senders. */
  sender: string;
  /** Kind of the sender address: E.164 long code, short code, toll-free number or alphanumeric sender id. */
  senderKind: AddressKind;
  /** Recipient address, E.164. Read in-stream only: spamgate stores and forwards it only as a keyed hash. */
  recipient: string;
  /** Message text, if the feed carries it. Read in-stream only (fingerprints, URL domains, opt-out keywords); never stored, logged or forwarded. */
  body: null | string;
  /** Registration of the sender: 10DLC campaign id or toll-free verification id; null for unregistered senders. */
  campaignId: null | string;
  /** Id of the network (carrier, aggregator or interconnect) the message came from; null if unknown. */
  originNetwork: null | string;
}

/** Kind of sender address. Readers map symbols they do not know to UNKNOWN. */
export type AddressKind = 'UNKNOWN' | 'LONG_CODE' | 'SHORT_CODE' | 'TOLL_FREE' | 'ALPHANUMERIC';

/** An operator's allow or block of a sender or a whole registered campaign. Topic sms.policy-overrides (compacted), key = sender address or campaign id (UTF-8); a tombstone (null value) removes the override. */
export interface PolicyOverride {
  /** Unique id of the override, quoted by the decisions it changes. */
  overrideId: string;
  /** What the target names. */
  scope: OverrideScope;
  /** The sender address or campaign id; equals the record key. */
  target: string;
  /** What the override forces. */
  action: OverrideAction;
  /** Why, in the operator's words (appeal ticket, complaint reference). */
  reason: string;
  /** Who created it. */
  author: string;
  /** When it was created, ms since the epoch. */
  createdAt: number;
  /** When it lapses, ms since the epoch; null for never. */
  expiresAt: null | number;
}

/** SENDER: target is a sender address; CAMPAIGN: target is a registered campaign id. */
export type OverrideScope = 'SENDER' | 'CAMPAIGN';

/** ALLOW: never throttle or block; BLOCK: always block. */
export type OverrideAction = 'ALLOW' | 'BLOCK';

/** A message re-keyed by its recipient, so that it reaches the partition of the sender it may answer. Internal topic spamgate.feature-engine.by-recipient, key = the recipient's relation-book id (UTF-8; see recipient), written to the partition Kafka's default partitioner gives the recipient's address, where that address's own messages are. Carries no body and no number in clear: the recipient as a book id, the sender as a keyed hash. A record of a release before book ids (recipientHashed false) carries and is keyed by the clear address. */
export interface ReceivedMessage {
  /** The original message's id (MessageEvent.messageId). */
  messageId: string;
  /** The original message's event time, ms since the epoch. */
  eventTime: number;
  /** The recipient's relation-book id when recipientHashed (16 lower-case hex digits of the keyed 64-bit hash Hash64 holds), else its clear address: the book it updates, and the record key. */
  recipient: string;
  /** Keyed hash of the address that sent the message: the counterpart, never in clear. */
  fromHash: Hash64;
  /** OPT_OUT: an opt-out request (STOP, ...); OPT_IN: START or UNSTOP, which revokes an earlier opt-out; MESSAGE: anything else. */
  kind: ReceivedKind;
  /** Whether recipient is a book id (every release since book ids) or, false, a clear address (records of an earlier release, read the old way). */
  recipientHashed: boolean;
  /** During a rotation of the hash key only: the recipient's relation-book id under the previous key, so that its book still under that key is found and moved (docs/key-rotation.md); null otherwise. */
  previousRecipient: null | string;
  /** During a rotation of the hash key only: the sender's keyed hash under the previous key, so that its entries in the recipient's book still under that key are found and moved; null otherwise. */
  previousFromHash: null | Hash64;
}

/** What the message is to its recipient. Readers map symbols they do not know to MESSAGE. */
export type ReceivedKind = 'MESSAGE' | 'OPT_OUT' | 'OPT_IN';

/** A sender's feature vector at a point in event time, over several sliding windows. Topic sms.sender-features, key = sender (UTF-8). New features are added as fields with defaults, so older and newer readers keep working. */
export interface SenderFeatures {
  /** The sender the features describe. */
  sender: string;
  /** Kind of the sender address. */
  senderKind: AddressKind;
  /** Registered campaign seen on the sender's latest message; null when unregistered. */
  campaignId: null | string;
  /** Event time the features are computed at (the partition's watermark or the latest event), ms since the epoch. */
  asOf: number;
  /** Wall-clock time the feature engine emitted this record, ms since the epoch. */
  emittedAt: number;
  /** One entry per configured window, shortest first. */
  windows: WindowFeatures[];
  /** The sender's dominant content clusters: by recipients whose latest message from the sender in the longest window was of the cluster, at most 3, most first. Join with sms.cluster-features to see a template's spread across senders. */
  clusters: SenderCluster[];
  /** Registrable domains of the URLs in the sender's messages in the longest window (event time), most recently seen first, at most 16; the decision engine checks them against the policy's deny list. */
  urlDomains: string[];
}

/** Features over one sliding window ending at asOf. */
export interface WindowFeatures {
  /** Window name: 1m, 10m, 1h, 24h. */
  window: string;
  /** Window length in milliseconds (60000, 600000, 3600000, 86400000 by default). */
  windowMs: number;
  /** Messages sent by the sender in the window. */
  messages: number;
  /** Distinct recipients in the window (estimate; exact below a small count). */
  distinctRecipients: number;
  /** Most messages the sender sent within one clock second that starts in the window. (messages) */
  peak1s: number;
  /** Most messages the sender sent within one 10-second bucket (aligned to the clock) that starts in the window. (messages) */
  peak10s: number;
  /** distinctRecipients / messages; 0 when there are no messages. (0-1) */
  fanOut: number;
  /** Share of messages whose recipient is not a contact and was not messaged by the sender in the 24 h before (up to 10,000 recipients remembered per sender). (0-1) */
  newContactShare: number;
  /** Share of messages to contacts: recipients who messaged the sender in the 30 days before (the message completes a two-way exchange); they never count as new contacts. (0-1) */
  contactShare: number;
  /** Share of consecutive message pairs (arrival order) whose recipients are different numbers at most 10 apart: number walking. (0-1) */
  sequentialShare: number;
  /** Shannon entropy of the recipients’ 6-digit national prefixes over the window’s messages (up to 64 prefixes per slice, the rest pooled). (bits) */
  prefixEntropy: number;
  /** Share of messages with a body that belong to the sender’s most used content template (fingerprints within the near-duplicate distance). (0-1) */
  topTemplateShare: number;
  /** Content templates seen in the window (the sender’s 16 most recently used templates are tracked). (count) */
  distinctTemplates: number;
  /** Share of messages containing a URL. (0-1) */
  urlShare: number;
  /** Distinct registrable domains of URLs in the window’s messages (exact up to 128, then HyperLogLog). (count) */
  distinctUrlDomains: number;
  /** Share of messages containing a phone number other than the sender’s (a call-back number). (0-1) */
  callbackShare: number;
  /** Coefficient of variation (standard deviation / mean) of the gaps between consecutive messages; near 0 for metronomic scripts, 0 with fewer than two gaps. (ratio) */
  timingCv: number;
  /** Share of messages sent between 21:00 and 08:00 at the recipient (time zone approximated by configuration). (0-1) */
  quietHourShare: number;
  /** Delivery failures reported for the sender’s messages in the window. (count) */
  deliveryFailures: number;
  /** deliveryFailures / messages; can exceed 1 when failures arrive for messages sent before the window. (ratio) */
  deliveryFailureRate: number;
  /** Spam reports (forwarded to 7726) about the sender received in the window. (count) */
  spamReports: number;
  /** Subscribers who blocked the sender in the window. (count) */
  subscriberBlocks: number;
  /** messages / the most the sender's campaign tier allows in a window this long (per-minute cap x minutes, at most the daily cap x days; registrations file); above 1 the sender is over its registered rate; 0 without a metered campaign. (ratio) */
  registeredCapShare: number;
  /** Recipients messaged in the window who answered one of the window's messages, within 72 h and not with an opt-out, by asOf; lagged: a message sent x before asOf has had x to be answered. (count) */
  repliedRecipients: number;
  /** repliedRecipients / recipients messaged in the window (of the sender's 10,000 most recently active counterparts); lagged like repliedRecipients. (0-1) */
  replyRate: number;
  /** Recipients messaged in the window who answered one of the window's messages with an opt-out within 72 h, by asOf; lagged like repliedRecipients. (count) */
  optOuts: number;
  /** optOuts / recipients messaged in the window; lagged like repliedRecipients. (0-1) */
  optOutRate: number;
  /** Messages sent in the window to a recipient who had opted out from the sender and not opted back in, except one confirmation within 5 min of the opt-out. (count) */
  postOptOutSends: number;
}

/** A content cluster the sender sends. */
export interface SenderCluster {
  /** The cluster id (14 hex digits), the key of its ClusterFeatures on sms.cluster-features. */
  clusterId: string;
  /** Recipients messaged in the longest window whose latest message from the sender was of this cluster. */
  recipients: number;
}

/** A sender's aggregates over one closed minute of event time, emitted once when the partition's watermark passes the minute's end. Topic sms.sender-minutes, key = sender (UTF-8); the ClickHouse sink writes them to sender_minute. */
export interface SenderMinute {
  /** The sender. */
  sender: string;
  /** Kind of the sender address, from the minute's messages; UNKNOWN for a minute with only feedback. */
  senderKind: AddressKind;
  /** Registered campaign on the sender's latest message in the minute; null when unregistered or when the minute has only feedback. */
  campaignId: null | string;
  /** Start of the minute, ms since the epoch (a multiple of 60000). */
  minute: number;
  /** Messages sent in the minute (on time). */
  messages: number;
  /** Distinct recipients in the minute (exact up to 128, then HyperLogLog). */
  distinctRecipients: number;
  /** Messages containing a URL. */
  urlMessages: number;
  /** Delivery failures with event time in the minute. */
  deliveryFailures: number;
  /** Spam reports with event time in the minute. */
  spamReports: number;
  /** Subscriber blocks with event time in the minute. */
  subscriberBlocks: number;
  /** Events of this sender that arrived while this minute was open at the watermark but belonged to an already closed minute (counted here, never dropped). */
  lateEvents: number;
  /** Emission version of this sender-minute; a re-emission carries a higher one and replaces the row. */
  version: number;
}

/** Every top-level record, by name. */
export interface Records {
  ClusterEvent: ClusterEvent;
  ClusterFeatures: ClusterFeatures;
  ContentDecision: ContentDecision;
  ContentOverride: ContentOverride;
  DeadLetter: DeadLetter;
  Decision: Decision;
  FeedbackEvent: FeedbackEvent;
  MessageEvent: MessageEvent;
  PolicyOverride: PolicyOverride;
  ReceivedMessage: ReceivedMessage;
  SenderFeatures: SenderFeatures;
  SenderMinute: SenderMinute;
}

export type RecordName = keyof Records;

export const RECORD_NAMES: readonly RecordName[] = ['ClusterEvent', 'ClusterFeatures', 'ContentDecision', 'ContentOverride', 'DeadLetter', 'Decision', 'FeedbackEvent', 'MessageEvent', 'PolicyOverride', 'ReceivedMessage', 'SenderFeatures', 'SenderMinute'];
