package dev.spamgate.bench;

import java.io.File;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.KGroupedStream;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.TimeWindows;
import org.apache.kafka.streams.kstream.Windowed;
import org.apache.kafka.streams.processor.TimestampExtractor;
import org.apache.kafka.streams.state.WindowStore;

/**
 * Kafka Streams contender for spamgate's per-sender window features: per sender and per hopping
 * window (1m/10s, 10m/60s, 1h/300s, grace 30 s, event time), messages, urlShare,
 * distinctRecipients, deliveryFailures, spamReports, subscriberBlocks and lastEventTime, written
 * as JSON to one output topic under the key {@code sender@window}. See README.md.
 *
 * <p>stdout carries exactly two lines for the bench: {@code STREAMS_RUNNING} when the instance
 * first reaches RUNNING, and {@code STREAMS_CLOSED processed=N skipped=N} after SIGTERM. Logs go
 * to stderr.
 */
public final class SenderWindows {
  /** Allowed lateness, as spamgate's. */
  static final Duration GRACE = Duration.ofSeconds(30);

  /** Spamgate's windows and slices, as hopping windows: label, size, advance. */
  static final Object[][] WINDOWS = {
    {"1m", Duration.ofSeconds(60), Duration.ofSeconds(10)},
    {"10m", Duration.ofSeconds(600), Duration.ofSeconds(60)},
    {"1h", Duration.ofSeconds(3600), Duration.ofSeconds(300)},
  };

  private static final String USAGE =
      "usage: SenderWindows --bootstrap HOST:PORT --application-id ID --messages-topic T"
          + " --feedback-topic T --output-topic T --schemas DIR [--state-dir DIR] [--threads N]"
          + " [--commit-interval-ms N] [--cache-bytes N]";

  /**
   * Event time from the decoded payload. An undecodable record (null value, dropped by the
   * topology's filter) gets the partition's time so far: its Kafka timestamp (typically the wall
   * clock) would advance stream time past the event times of historical input and make every
   * later record of the task too late for its windows.
   */
  static final class EventTimeExtractor implements TimestampExtractor {
    @Override
    public long extract(ConsumerRecord<Object, Object> record, long partitionTime) {
      Object v = record.value();
      if (v instanceof Event) return ((Event) v).eventTime;
      return Math.max(partitionTime, 0);
    }
  }

  public static void main(String[] argv) throws Exception {
    // Before any Avro class loads: a corrupt length prefix must fail as a decode error, not by
    // allocating a huge array. Kafka records are far below this anyway.
    System.setProperty("org.apache.avro.limits.string.maxLength", String.valueOf(16 << 20));
    System.setProperty("org.apache.avro.limits.bytes.maxLength", String.valueOf(16 << 20));

    Map<String, String> args = parseArgs(argv);
    for (String required :
        new String[] {"bootstrap", "application-id", "messages-topic", "feedback-topic", "output-topic", "schemas"}) {
      if (!args.containsKey(required)) usage("missing --" + required);
    }

    SingleObjectDecoder decoder =
        new SingleObjectDecoder(new File(args.get("schemas")), "MessageEvent", "FeedbackEvent");
    EventDeserializers deserializers = new EventDeserializers(decoder);
    LongAdder processed = new LongAdder();

    Topology topology =
        buildTopology(
            args.get("messages-topic"), args.get("feedback-topic"), args.get("output-topic"), deserializers, processed);
    KafkaStreams streams = new KafkaStreams(topology, config(args));

    AtomicBoolean announced = new AtomicBoolean();
    AtomicReference<Throwable> failure = new AtomicReference<>();
    CountDownLatch error = new CountDownLatch(1);
    streams.setUncaughtExceptionHandler(
        e -> {
          failure.compareAndSet(null, e);
          return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
        });
    streams.setStateListener(
        (newState, oldState) -> {
          if (newState == KafkaStreams.State.RUNNING && announced.compareAndSet(false, true)) {
            System.out.println("STREAMS_RUNNING");
            System.out.flush();
          } else if (newState == KafkaStreams.State.ERROR) {
            error.countDown();
          }
        });

    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  boolean closed = streams.close(Duration.ofSeconds(30));
                  if (!closed) System.err.println("WARN: Kafka Streams did not close within 30 s");
                  System.out.println(
                      "STREAMS_CLOSED processed=" + processed.sum() + " skipped=" + deserializers.skipped.sum());
                  System.out.flush();
                },
                "streams-shutdown"));

    streams.start();
    error.await();
    Throwable cause = failure.get();
    System.err.println("ERROR: Kafka Streams reached state ERROR" + (cause == null ? "" : ": " + cause));
    if (cause != null) cause.printStackTrace(System.err);
    System.exit(1); // runs the shutdown hook, which closes the instance
  }

  static Topology buildTopology(
      String messagesTopic,
      String feedbackTopic,
      String outputTopic,
      EventDeserializers deserializers,
      LongAdder processed) {
    Serde<String> strings = Serdes.String();
    EventSerde events = new EventSerde();
    AggSerde aggs = new AggSerde();
    EventTimeExtractor eventTime = new EventTimeExtractor();

    StreamsBuilder builder = new StreamsBuilder();
    KStream<String, Event> messages =
        builder.stream(
            messagesTopic,
            Consumed.with(strings, Serdes.serdeFrom(events.serializer(), deserializers.messages()))
                .withTimestampExtractor(eventTime)
                .withName("messages"));
    KStream<String, Event> feedback =
        builder.stream(
            feedbackTopic,
            Consumed.with(strings, Serdes.serdeFrom(events.serializer(), deserializers.feedback()))
                .withTimestampExtractor(eventTime)
                .withName("feedback"));

    KGroupedStream<String, Event> bySender =
        messages
            .merge(feedback)
            .filter(
                (sender, e) -> {
                  if (e == null) return false; // undecodable: counted by the deserializer
                  if (sender == null) {
                    deserializers.countSkipped("a record without a key (sender)");
                    return false;
                  }
                  processed.increment();
                  return true;
                })
            .groupByKey(Grouped.with(strings, events));

    for (Object[] w : WINDOWS) {
      String label = (String) w[0];
      Duration size = (Duration) w[1];
      Duration advance = (Duration) w[2];
      bySender
          .windowedBy(TimeWindows.ofSizeAndGrace(size, GRACE).advanceBy(advance))
          .aggregate(
              Agg::new,
              (sender, e, agg) -> agg.add(e),
              Materialized.<String, Agg, WindowStore<Bytes, byte[]>>as("sender-" + label)
                  .withKeySerde(strings)
                  .withValueSerde(aggs))
          .toStream()
          .filter((k, agg) -> agg != null)
          .map((k, agg) -> KeyValue.pair(k.key() + "@" + label, json(k, label, agg)))
          .to(outputTopic, Produced.with(strings, strings));
    }
    return builder.build();
  }

  static Properties config(Map<String, String> args) {
    Properties p = new Properties();
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, args.get("application-id"));
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, args.get("bootstrap"));
    p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
    p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, Integer.parseInt(args.getOrDefault("threads", "1")));
    p.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, 1); // single broker
    p.put(StreamsConfig.consumerPrefix(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG), "earliest");
    if (args.containsKey("state-dir")) p.put(StreamsConfig.STATE_DIR_CONFIG, args.get("state-dir"));
    if (args.containsKey("commit-interval-ms"))
      p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, Long.parseLong(args.get("commit-interval-ms")));
    if (args.containsKey("cache-bytes"))
      p.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, Long.parseLong(args.get("cache-bytes")));
    return p;
  }

  /** The output value: one compact JSON object. */
  static String json(Windowed<String> key, String label, Agg a) {
    StringBuilder sb = new StringBuilder(256);
    sb.append("{\"sender\":");
    appendJsonString(sb, key.key());
    sb.append(",\"window\":\"").append(label).append('"');
    sb.append(",\"start\":").append(key.window().start());
    sb.append(",\"end\":").append(key.window().end());
    sb.append(",\"messages\":").append(a.messages);
    sb.append(",\"urlShare\":").append(a.urlShare());
    sb.append(",\"distinctRecipients\":").append(a.distinctRecipients());
    sb.append(",\"deliveryFailures\":").append(a.deliveryFailures);
    sb.append(",\"spamReports\":").append(a.spamReports);
    sb.append(",\"subscriberBlocks\":").append(a.subscriberBlocks);
    sb.append(",\"lastEventTime\":").append(a.lastEventTime);
    return sb.append('}').toString();
  }

  static void appendJsonString(StringBuilder sb, String s) {
    sb.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"':
          sb.append("\\\"");
          break;
        case '\\':
          sb.append("\\\\");
          break;
        case '\n':
          sb.append("\\n");
          break;
        case '\r':
          sb.append("\\r");
          break;
        case '\t':
          sb.append("\\t");
          break;
        default:
          if (c < 0x20 || c == 0x2028 || c == 0x2029 || Character.isSurrogate(c) && !validSurrogate(s, i)) {
            sb.append(String.format("\\u%04x", (int) c));
          } else {
            sb.append(c);
          }
      }
    }
    sb.append('"');
  }

  /** Whether the surrogate at i is half of a proper pair (a lone one is escaped). */
  private static boolean validSurrogate(String s, int i) {
    char c = s.charAt(i);
    if (Character.isHighSurrogate(c)) return i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1));
    return i > 0 && Character.isHighSurrogate(s.charAt(i - 1));
  }

  static Map<String, String> parseArgs(String[] argv) {
    Map<String, String> out = new HashMap<>();
    for (int i = 0; i < argv.length; i++) {
      String a = argv[i];
      if (a.equals("--help") || a.equals("-h")) usage(null);
      if (!a.startsWith("--")) usage("unexpected argument " + a);
      String name = a.substring(2);
      String value;
      int eq = name.indexOf('=');
      if (eq >= 0) {
        value = name.substring(eq + 1);
        name = name.substring(0, eq);
      } else {
        if (i + 1 >= argv.length) usage("--" + name + " needs a value");
        value = argv[++i];
      }
      out.put(name, value);
    }
    return out;
  }

  private static void usage(String problem) {
    if (problem != null) System.err.println("error: " + problem);
    System.err.println(USAGE);
    System.exit(problem == null ? 0 : 2);
  }
}
