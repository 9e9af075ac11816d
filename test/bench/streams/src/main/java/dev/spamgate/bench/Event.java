package dev.spamgate.bench;

/**
 * One input record reduced to what the window aggregates need: a message or a feedback event
 * of some kind, its event time, the 64-bit hash of its recipient (messages only) and whether its
 * body holds a link. Messages and feedback share this type so that both streams can be merged
 * and aggregated by one aggregator per window size.
 */
public final class Event {
  public static final byte MESSAGE = 0;
  public static final byte DELIVERY_FAILURE = 1;
  public static final byte SPAM_REPORT = 2;
  public static final byte SUBSCRIBER_BLOCK = 3;
  /** Feedback of a kind spamgate does not count (UNKNOWN, or a newer writer's symbol). */
  public static final byte OTHER_FEEDBACK = 4;

  public final byte kind;
  public final long eventTime;
  public final long recipientHash;
  public final boolean hasUrl;

  public Event(byte kind, long eventTime, long recipientHash, boolean hasUrl) {
    this.kind = kind;
    this.eventTime = eventTime;
    this.recipientHash = recipientHash;
    this.hasUrl = hasUrl;
  }
}
