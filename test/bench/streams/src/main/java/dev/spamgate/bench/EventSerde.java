package dev.spamgate.bench;

import java.nio.ByteBuffer;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serializer;

/**
 * Fixed 18-byte encoding of {@link Event}: kind (1), eventTime (8), recipientHash (8), hasUrl (1).
 * Used only if Kafka Streams has to move an Event through a topic or store; the topology needs no
 * repartition, so in practice this is a fallback, but the DSL wants a value serde for the merged
 * stream.
 */
public final class EventSerde implements Serde<Event> {
  static final int SIZE = 18;

  @Override
  public Serializer<Event> serializer() {
    return (topic, e) -> {
      if (e == null) return null;
      ByteBuffer b = ByteBuffer.allocate(SIZE);
      b.put(e.kind).putLong(e.eventTime).putLong(e.recipientHash).put((byte) (e.hasUrl ? 1 : 0));
      return b.array();
    };
  }

  @Override
  public Deserializer<Event> deserializer() {
    return (topic, bytes) -> {
      if (bytes == null) return null;
      ByteBuffer b = ByteBuffer.wrap(bytes);
      return new Event(b.get(), b.getLong(), b.getLong(), b.get() != 0);
    };
  }
}
