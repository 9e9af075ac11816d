package dev.spamgate.bench;

import java.util.Arrays;

/**
 * A sender's aggregate for one window: counts, the latest event time, and the distinct recipients
 * (an exact set of 64-bit hashes up to {@link #EXACT_LIMIT}, then HyperLogLog registers, as
 * spamgate's distinctRecipients). Mutable: the aggregator updates the instance it was handed,
 * which Kafka Streams has just deserialised from the store or cache.
 */
public final class Agg {
  public static final int EXACT_LIMIT = 128;

  public long messages;
  public long urlMessages;
  public long deliveryFailures;
  public long spamReports;
  public long subscriberBlocks;
  public long lastEventTime = Long.MIN_VALUE;
  /** Exact recipient hashes in [0, exactSize) while {@link #hll} is null. */
  long[] exact = new long[8];
  int exactSize;
  /** HyperLogLog registers once more than EXACT_LIMIT distinct recipients were seen. */
  byte[] hll;

  public Agg add(Event e) {
    if (e.eventTime > lastEventTime) lastEventTime = e.eventTime;
    switch (e.kind) {
      case Event.MESSAGE:
        messages++;
        if (e.hasUrl) urlMessages++;
        addRecipient(e.recipientHash);
        break;
      case Event.DELIVERY_FAILURE:
        deliveryFailures++;
        break;
      case Event.SPAM_REPORT:
        spamReports++;
        break;
      case Event.SUBSCRIBER_BLOCK:
        subscriberBlocks++;
        break;
      default:
        break;
    }
    return this;
  }

  void addRecipient(long hash) {
    if (hll != null) {
      Hll.add(hll, hash);
      return;
    }
    for (int i = 0; i < exactSize; i++) if (exact[i] == hash) return;
    if (exactSize == EXACT_LIMIT) {
      hll = new byte[Hll.M];
      for (int i = 0; i < exactSize; i++) Hll.add(hll, exact[i]);
      Hll.add(hll, hash);
      exact = null;
      exactSize = 0;
      return;
    }
    if (exactSize == exact.length) exact = Arrays.copyOf(exact, Math.min(EXACT_LIMIT, exactSize * 2));
    exact[exactSize++] = hash;
  }

  public long distinctRecipients() {
    return hll == null ? exactSize : Math.round(Hll.estimate(hll));
  }

  public double urlShare() {
    return messages == 0 ? 0.0 : (double) urlMessages / messages;
  }
}
