package dev.spamgate.bench;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.util.Utf8;
import org.apache.kafka.common.serialization.Deserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Value deserialisers of the two input topics. Each decodes spamgate's single-object encoded
 * record and reduces it to an {@link Event}; bytes that do not decode (bad marker, unknown
 * fingerprint, wrong record, corrupt body) give null, are counted in {@link #skipped}, and the
 * topology filters them out, so a bad record never stops the application.
 */
public final class EventDeserializers {
  private static final Logger LOG = LoggerFactory.getLogger(EventDeserializers.class);
  /** How many skipped records are logged one by one before the rest are only counted. */
  private static final int LOGGED_SKIPS = 5;

  public final LongAdder skipped = new LongAdder();
  private final AtomicInteger logged = new AtomicInteger();
  private final SingleObjectDecoder decoder;

  public EventDeserializers(SingleObjectDecoder decoder) {
    this.decoder = decoder;
  }

  public Deserializer<Event> messages() {
    return (topic, bytes) -> {
      try {
        GenericRecord r = decoder.decode("MessageEvent", bytes);
        long eventTime = (Long) r.get("eventTime");
        long recipientHash = hash((CharSequence) r.get("recipient"));
        boolean hasUrl = UrlDetector.hasUrl((CharSequence) r.get("body"));
        return new Event(Event.MESSAGE, eventTime, recipientHash, hasUrl);
      } catch (SingleObjectDecoder.DecodeException | RuntimeException e) {
        return skip(topic, e);
      }
    };
  }

  public Deserializer<Event> feedback() {
    return (topic, bytes) -> {
      try {
        GenericRecord r = decoder.decode("FeedbackEvent", bytes);
        long eventTime = (Long) r.get("eventTime");
        byte kind;
        switch (r.get("kind").toString()) {
          case "DELIVERY_FAILURE":
            kind = Event.DELIVERY_FAILURE;
            break;
          case "SPAM_REPORT":
            kind = Event.SPAM_REPORT;
            break;
          case "SUBSCRIBER_BLOCK":
            kind = Event.SUBSCRIBER_BLOCK;
            break;
          default:
            kind = Event.OTHER_FEEDBACK;
        }
        return new Event(kind, eventTime, 0L, false);
      } catch (SingleObjectDecoder.DecodeException | RuntimeException e) {
        return skip(topic, e);
      }
    };
  }

  /** Counts a record that the topology drops for another reason (no key). */
  public void countSkipped(String why) {
    skipped.increment();
    if (logged.getAndIncrement() < LOGGED_SKIPS) LOG.warn("skipping a record: {}", why);
  }

  private Event skip(String topic, Exception e) {
    countSkipped(topic + ": " + e.getMessage());
    return null;
  }

  private static long hash(CharSequence s) {
    if (s instanceof Utf8) {
      Utf8 u = (Utf8) s;
      return Hashing.hash64(u.getBytes(), 0, u.getByteLength());
    }
    byte[] b = s.toString().getBytes(StandardCharsets.UTF_8);
    return Hashing.hash64(b, 0, b.length);
  }
}
