package dev.spamgate.bench;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import java.io.File;
import org.apache.avro.generic.GenericRecord;
import org.junit.Test;

/** Small checks of the pieces the topology is built from; the topology itself is tried on a broker. */
public class SenderWindowsTest {
  /** Bytes spamgate's codec (schemas/src/codec.ts) wrote: its header must be read little-endian. */
  private static final String SPAMGATE_MESSAGE =
      "c30120839368ed654cf8046d3180fce7a7c768182b313535353030303030303102182b31373737303030303030310224676f20746f206269742e6c792f586b3239610000";
  private static final String SPAMGATE_FEEDBACK =
      "c301eaed2371fbf3361404663182fce7a7c76804182b31353535303030303030310002046d3100";

  private static final File SCHEMAS = new File("../../../schemas/avro");

  private static byte[] hex(String s) {
    byte[] b = new byte[s.length() / 2];
    for (int i = 0; i < b.length; i++) b[i] = (byte) Integer.parseInt(s.substring(2 * i, 2 * i + 2), 16);
    return b;
  }

  @Test
  public void decodesWhatSpamgateWrites() throws Exception {
    SingleObjectDecoder d = new SingleObjectDecoder(SCHEMAS, "MessageEvent", "FeedbackEvent");
    GenericRecord m = d.decode("MessageEvent", hex(SPAMGATE_MESSAGE));
    assertEquals(1796277600000L, m.get("eventTime"));
    assertEquals("go to bit.ly/Xk29a", m.get("body").toString());
    GenericRecord f = d.decode("FeedbackEvent", hex(SPAMGATE_FEEDBACK));
    assertEquals("SPAM_REPORT", f.get("kind").toString());

    EventDeserializers des = new EventDeserializers(d);
    Event e = des.messages().deserialize("t", hex(SPAMGATE_MESSAGE));
    assertTrue(e.hasUrl);
    assertNull(des.messages().deserialize("t", hex(SPAMGATE_FEEDBACK))); // wrong record
    assertNull(des.messages().deserialize("t", new byte[] {(byte) 0xc3, 1, 2}));
    byte[] truncated = hex(SPAMGATE_MESSAGE.substring(0, SPAMGATE_MESSAGE.length() - 8));
    assertNull(des.messages().deserialize("t", truncated));
    assertEquals(3, des.skipped.sum());
  }

  @Test
  public void detectsLinks() {
    assertTrue(UrlDetector.hasUrl("Win now http://x.example/abc"));
    assertTrue(UrlDetector.hasUrl("visit WWW.deal.biz"));
    assertTrue(UrlDetector.hasUrl("go to bit.ly/Xk29a"));
    assertTrue(UrlDetector.hasUrl("paypal-secure.com now"));
    assertFalse(UrlDetector.hasUrl("call.me later"));
    assertFalse(UrlDetector.hasUrl("mail bob@example.com"));
    assertFalse(UrlDetector.hasUrl("ok. see you at 5"));
  }

  @Test
  public void countsRecipientsExactlyThenWithHll() {
    Agg a = new Agg();
    for (int i = 0; i < 100; i++) a.addRecipient(Hashing.hash64(("+1" + (i % 50)).getBytes(), 0, ("+1" + (i % 50)).length()));
    assertEquals(50, a.distinctRecipients());
    Agg b = new Agg();
    for (int i = 0; i < 20000; i++) {
      byte[] r = ("+1777" + i).getBytes();
      b.addRecipient(Hashing.hash64(r, 0, r.length));
    }
    assertEquals(20000, b.distinctRecipients(), 20000 * 0.05);
    AggSerde serde = new AggSerde();
    for (Agg x : new Agg[] {a, b}) {
      Agg y = serde.deserializer().deserialize("t", serde.serializer().serialize("t", x));
      assertEquals(x.distinctRecipients(), y.distinctRecipients());
    }
  }

  @Test
  public void escapesSenderInJson() {
    StringBuilder sb = new StringBuilder();
    SenderWindows.appendJsonString(sb, "Promo\"\\\n\u0001");
    assertEquals("\"Promo\\\"\\\\\\n\\u0001\"", sb.toString());
  }
}
