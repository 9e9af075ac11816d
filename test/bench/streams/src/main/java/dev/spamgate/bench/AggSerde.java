package dev.spamgate.bench;

import java.nio.ByteBuffer;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serializer;

/**
 * Compact binary form of {@link Agg} for the window stores and their changelogs:
 * five counts as unsigned varints, lastEventTime (8 bytes), then either 0 + varint n + n hashes
 * (8 bytes each) for the exact recipient set, or 1 + the 4,096 HyperLogLog register bytes.
 */
public final class AggSerde implements Serde<Agg> {
  @Override
  public Serializer<Agg> serializer() {
    return (topic, a) -> {
      if (a == null) return null;
      int size = 5 * 10 + 8 + 1 + (a.hll != null ? Hll.M : 5 + 8 * a.exactSize);
      ByteBuffer b = ByteBuffer.allocate(size);
      putVarLong(b, a.messages);
      putVarLong(b, a.urlMessages);
      putVarLong(b, a.deliveryFailures);
      putVarLong(b, a.spamReports);
      putVarLong(b, a.subscriberBlocks);
      b.putLong(a.lastEventTime);
      if (a.hll != null) {
        b.put((byte) 1).put(a.hll);
      } else {
        b.put((byte) 0);
        putVarLong(b, a.exactSize);
        for (int i = 0; i < a.exactSize; i++) b.putLong(a.exact[i]);
      }
      byte[] out = new byte[b.position()];
      System.arraycopy(b.array(), 0, out, 0, out.length);
      return out;
    };
  }

  @Override
  public Deserializer<Agg> deserializer() {
    return (topic, bytes) -> {
      if (bytes == null) return null;
      ByteBuffer b = ByteBuffer.wrap(bytes);
      Agg a = new Agg();
      a.messages = getVarLong(b);
      a.urlMessages = getVarLong(b);
      a.deliveryFailures = getVarLong(b);
      a.spamReports = getVarLong(b);
      a.subscriberBlocks = getVarLong(b);
      a.lastEventTime = b.getLong();
      if (b.get() == 1) {
        a.hll = new byte[Hll.M];
        b.get(a.hll);
        a.exact = null;
      } else {
        int n = (int) getVarLong(b);
        a.exact = new long[Math.max(8, n)];
        for (int i = 0; i < n; i++) a.exact[i] = b.getLong();
        a.exactSize = n;
      }
      return a;
    };
  }

  static void putVarLong(ByteBuffer b, long v) {
    while ((v & ~0x7fL) != 0) {
      b.put((byte) ((v & 0x7f) | 0x80));
      v >>>= 7;
    }
    b.put((byte) v);
  }

  static long getVarLong(ByteBuffer b) {
    long v = 0;
    for (int shift = 0; ; shift += 7) {
      byte x = b.get();
      v |= (long) (x & 0x7f) << shift;
      if ((x & 0x80) == 0) return v;
    }
  }
}
